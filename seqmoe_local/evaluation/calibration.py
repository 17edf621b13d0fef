"""Fit the router's settings to outcomes: tau, the native margin and per-expert loss factors.

Three signals are compared, each fitted on the training part of the outcome table and
checked on the held-out rest (items split by a hash of their id, so the split is stable as
the table grows):

- ``raw``: bits per byte as they are; only tau and the margin are fitted (a grid).
- ``normalised``: each expert's bits per byte divided by its own typical loss (the median
  over the training items, per role, and on whole questions for stage 1), which removes the
  "bigger model has the lower loss on everything" offset; then the same grid.
- ``fitted``: the normalised factors adjusted one at a time over a small grid of multipliers
  (coordinate ascent, three passes), re-fitting tau and the margin after each pass.

The objective is the number of training items answered right; ties go to fewer generated
tokens, then to the setting met first in a grid that starts at the shipped defaults. A
mixed assignment without a cell counts as wrong while fitting (`eval` computes it later).
Nothing here generates: it all runs on the table in seconds.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import RouterConfig
from ..errors import ConfigError
from .policies import ItemData, route_record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TAUS = (0.5, 0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 1.0, 1e9)
MARGINS = (0.2, 0.0, 0.05, 0.1, 0.15, 0.3, 0.4, 0.5, 0.6, 0.8, 0.95)
MULTIPLIERS = (1.0, 0.6, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.4, 1.7)
SIGNALS = ("raw", "normalised", "fitted")
STAGE1 = "*"


def held_out(item_id: str, fraction: float) -> bool:
    """Whether an item belongs to the held-out part: a stable hash of its id, not its position."""
    digest = hashlib.sha256(item_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def split(items: Sequence[ItemData], fraction: float) -> tuple[list[ItemData], list[ItemData]]:
    """(training, held-out) items."""
    train = [i for i in items if not held_out(i.item, fraction)]
    test = [i for i in items if held_out(i.item, fraction)]
    return train, test


def objective(items: Sequence[ItemData], settings: RouterConfig) -> tuple[int, float]:
    """(items right, minus mean new tokens) of the router with `settings`: higher is better."""
    right = 0
    tokens = 0
    for item in items:
        cell = item.cells.get(route_record(item.record, settings))
        if cell is not None:
            right += cell.correct
            tokens += cell.tokens
    return right, -tokens / max(len(items), 1)


def typical_factors(items: Sequence[ItemData], experts: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per expert, 1 / its median loss per role (and on whole questions, key "*"), scaled so that
    the factors of one role multiply to 1 across experts (the losses keep their overall size)."""
    per: dict[str, dict[str, list[float]]] = {e: {} for e in experts}
    for item in items:
        for expert, value in item.record.stage1.items():
            if expert in per:
                per[expert].setdefault(STAGE1, []).append(value)
        for kind, losses in zip(item.record.kinds, item.record.losses, strict=False):
            for expert, value in losses.items():
                if expert in per:
                    per[expert].setdefault(kind, []).append(value)
    kinds = {k for by_kind in per.values() for k in by_kind}
    factors: dict[str, dict[str, float]] = {e: {} for e in experts}
    for kind in sorted(kinds):
        medians = {e: statistics.median(per[e][kind]) for e in experts if per[e].get(kind)}
        medians = {e: m for e, m in medians.items() if m > 0}
        if len(medians) < 2:
            continue
        mean_log = sum(math.log(m) for m in medians.values()) / len(medians)
        for expert, median in medians.items():
            factors[expert][kind] = round(math.exp(mean_log) / median, 4)
    return {e: f for e, f in factors.items() if f}


def grid(items: Sequence[ItemData], scale: dict[str, dict[str, float]]) -> tuple[RouterConfig, tuple[int, float]]:
    """The best tau and margin for fixed factors."""
    best: tuple[RouterConfig, tuple[int, float]] | None = None
    for tau in TAUS:
        for margin in MARGINS:
            settings = RouterConfig(tau=tau, min_relative_gain=margin, loss_scale=scale)
            value = objective(items, settings)
            if best is None or value > best[1]:
                best = (settings, value)
    assert best is not None
    return best


def coordinate_fit(items: Sequence[ItemData], start: dict[str, dict[str, float]],
                   passes: int = 3) -> tuple[RouterConfig, tuple[int, float]]:
    """Adjust each factor over `MULTIPLIERS` in turn (tau and margin fixed), then re-grid them; `passes` times."""
    settings, value = grid(items, start)
    for _ in range(passes):
        improved = False
        scale = {e: dict(f) for e, f in settings.loss_scale.items()}
        for expert in sorted(scale):
            for kind in sorted(scale[expert]):
                base = scale[expert][kind]
                for multiplier in MULTIPLIERS:
                    trial = {e: dict(f) for e, f in scale.items()}
                    trial[expert][kind] = round(base * multiplier, 4)
                    candidate = settings.model_copy(update={"loss_scale": trial})
                    trial_value = objective(items, candidate)
                    if trial_value > value:
                        scale, value, improved = trial, trial_value, True
                settings = settings.model_copy(update={"loss_scale": scale})
        regridded, revalue = grid(items, scale)
        if revalue > value:
            settings, value, improved = regridded, revalue, True
        if not improved:
            break
    return settings, value


@dataclass(frozen=True)
class SignalFit:
    """One signal's fitted settings and its training objective."""

    signal: str
    settings: RouterConfig
    train_right: int
    train_items: int


def fit(train: Sequence[ItemData], experts: Sequence[str]) -> list[SignalFit]:
    """Fit every signal on the training items (see the module docstring)."""
    typical = typical_factors(train, experts)
    raw, raw_value = grid(train, {})
    normalised, normalised_value = grid(train, typical)
    fitted, fitted_value = coordinate_fit(train, typical)
    return [SignalFit("raw", raw, raw_value[0], len(train)),
            SignalFit("normalised", normalised, normalised_value[0], len(train)),
            SignalFit("fitted", fitted, fitted_value[0], len(train))]


def pick(fits: Sequence[SignalFit]) -> SignalFit:
    """The signal to write: the best on the training items; ties go to the simpler one (raw first)."""
    return max(fits, key=lambda f: (f.train_right, -SIGNALS.index(f.signal)))


# -- writing the user's models.toml --------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")


def _is_router_header(name: str) -> bool:
    first = name.split(".", 1)[0].strip().strip("\"'")
    return first == "router"


def render_router(settings: RouterConfig, keep_scoring: bool) -> str:
    """The [router] section for `settings` in TOML."""
    lines = ["[router]  # fitted by seqmoe-local calibrate",
             f"tau = {settings.tau!r}", f"min_relative_gain = {settings.min_relative_gain!r}"]
    if keep_scoring:
        lines.append(f'scoring = "{settings.scoring}"')
    if settings.loss_scale:
        lines += ["", "[router.loss_scale]  # expert = { role = factor }; \"*\" is stage 1 and unlisted roles"]
        for expert, factors in sorted(settings.loss_scale.items()):
            inner = ", ".join(f'"{k}" = {v!r}' for k, v in sorted(factors.items()))
            lines.append(f"{expert} = {{ {inner} }}")
    return "\n".join(lines) + "\n"


def rewrite_router(text: str, settings: RouterConfig, path: Path) -> str:
    """`text` (a models.toml) with its router tables replaced by `settings`; other tables untouched.

    Raises ConfigError when the file sets router keys some other way (dotted keys, inline).
    """
    kept: list[str] = []
    skipping = False
    had_scoring = False
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            skipping = _is_router_header(header.group(1))
        if skipping:
            had_scoring = had_scoring or re.match(r"^\s*scoring\s*=", line) is not None
            continue
        kept.append(line)
    rest = "\n".join(kept).rstrip()
    try:
        parsed = tomllib.loads(rest)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix it before calibrating") from exc
    if "router" in parsed:
        raise ConfigError(f"{path} sets router keys outside a [router] table; remove them, then run calibrate again")
    section = render_router(settings, keep_scoring=had_scoring or settings.scoring != RouterConfig().scoring)
    return (rest + "\n\n" if rest else "") + section
