"""An expert's name as a coloured badge, the same colour for the same expert every time."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from textual.widgets import Label

#: number of badge colours; app.tcss maps .palette-N to theme variables so both light and dark themes work
PALETTE_SIZE = 5


def palette_indices(experts: Iterable[str]) -> dict[str, int]:
    """A colour index per expert: crc32 of the name, moved along on a clash within the profile.

    crc32 rather than hash(): Python salts str hashes per process, and a colour must stay
    the same between runs to be recognisable.
    """
    taken: dict[str, int] = {}
    for name in sorted(set(experts)):
        index = zlib.crc32(name.encode()) % PALETTE_SIZE
        for step in range(PALETTE_SIZE):
            candidate = (index + step) % PALETTE_SIZE
            if candidate not in taken.values():
                index = candidate
                break
        taken[name] = index
    return taken


def palette_index(name: str, palette: dict[str, int]) -> int:
    """The colour index of `name`; experts outside the profile (old history) hash directly."""
    return palette.get(name, zlib.crc32(name.encode()) % PALETTE_SIZE)


class ExpertBadge(Label):
    """An expert's name on its colour."""

    def __init__(self, expert: str, palette: dict[str, int], *, id: str | None = None) -> None:
        super().__init__(f" {expert} ", classes=f"badge palette-{palette_index(expert, palette)}", id=id)
        self.expert = expert
