"""What an empty conversation shows: the team and an example question."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from seqmoe_local.config import Profile

from .badge import ExpertBadge

EXAMPLE = "Find the sum of 17 and 25, explain the method, then write a Python function that adds two numbers."


class Welcome(Vertical):
    """The profile's experts as badges with the roles they are native to, and how to start."""

    def __init__(self, profile: Profile, palette: dict[str, int]) -> None:
        super().__init__(id="welcome")
        self.profile = profile
        self._palette = palette

    def compose(self) -> ComposeResult:
        yield Static(
            "Ask a compound question. Each part (solve, explain, code) goes to the expert with the lowest loss "
            "on it, and the answers stream in below, part by part. Follow-up questions continue the "
            "conversation: ctrl+n starts a new one, F3 reopens an old one.",
            classes="intro", markup=False,
        )
        yield Label(f"Profile {self.profile.name}:", classes="team-title", markup=False)
        for name in self.profile.experts:
            roles = [role for role, expert in sorted(self.profile.natives.items()) if expert == name]
            with Horizontal(classes="team-member"):
                yield ExpertBadge(name, self._palette)
                yield Label(f"native for {', '.join(roles)}" if roles else "no native role", markup=False)
        yield Static(f"Try: {EXAMPLE}", classes="example", markup=False)
