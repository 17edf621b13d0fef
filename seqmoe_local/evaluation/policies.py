"""Routing policies scored against the outcome table, without generating anything (RouterBench style).

A policy maps an item's routing record to an assignment (the expert of each task segment);
its outcome on the item is the table's cell for that assignment. Policies:

- ``native``: each segment to its role's native expert; a kind without one (a question the
  segmenter could not type) to the profile's first expert. No scoring.
- one per expert: that expert answers every segment.
- a loss router with any `RouterConfig` (tau, margin, per-expert loss factors): the very
  decision functions the live router uses (`router.stage1_active`, `router.assign_segment`),
  run on the recorded losses.
- ``oracle``: per item, the single expert that got it right (the cheapest such), if any: the
  ceiling any per-item choice of one expert can reach.

All policies of one report are scored on the same items: those with a routing record, every
single-expert cell, and a cell for every assignment the policies chose (a router's mixed
choice on a multi-part item needs its own cell; `eval` computes those). Costs per item:
new tokens, tokens scored for routing (routers only), model loads simulated with the pool's
LRU over the item stream (routers score every expert on every item), and seconds: generation
plus routing plus the loads, at each expert's median measured load time.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..config import Profile, RouterConfig
from ..router import assign_segment, scoring_order, stage1_active
from .checks import recheck_text
from .suites import Item
from .table import Cell, OutcomeTable, RoutingRecord

Assignment = tuple[str, ...]
NATIVE = "native"
ORACLE = "oracle"
BOOTSTRAP_SAMPLES = 2000


@dataclass(frozen=True)
class Policy:
    """A way of choosing experts for an item."""

    name: str
    kind: Literal["native", "expert", "router", "oracle"]
    description: str
    expert: str | None = None
    router: RouterConfig | None = None


def native_policy() -> Policy:
    return Policy(NATIVE, "native", "each segment to its role's native expert, no scoring")


def expert_policy(name: str) -> Policy:
    return Policy(name, "expert", f"every segment to {name}", expert=name)


def router_policy(name: str, settings: RouterConfig, description: str) -> Policy:
    return Policy(name, "router", description, router=settings)


def oracle_policy() -> Policy:
    return Policy(ORACLE, "oracle", "per item, the best single expert (the ceiling)")


def describe_router(settings: RouterConfig) -> str:
    """tau, margin and the factors in one line."""
    text = f"tau {settings.tau:g}, margin {settings.min_relative_gain:g}"
    if settings.loss_scale:
        factors = "; ".join(f"{e} " + ", ".join(f"{k} {v:.3g}" for k, v in sorted(f.items()))
                            for e, f in sorted(settings.loss_scale.items()))
        text += f", factors: {factors}"
    return text


def standard_policies(profile: Profile, configured: RouterConfig) -> list[Policy]:
    """native, each expert, the router with the shipped settings, the pure lowest loss, the configured router
    (when it differs from the shipped one), and the oracle."""
    shipped = RouterConfig()
    policies = [native_policy(), *[expert_policy(e) for e in profile.experts],
                router_policy("router", shipped, f"loss router, shipped settings ({describe_router(shipped)})"),
                router_policy("lowest-loss", RouterConfig(tau=1e9, min_relative_gain=0.0),
                              "lowest raw bits per byte wins, no stage 1, no native preference")]
    if configured.model_dump(exclude={"scoring"}) != shipped.model_dump(exclude={"scoring"}):
        policies.append(router_policy("configured", configured, f"loss router, your models.toml "
                                                                f"({describe_router(configured)})"))
    return [*policies, oracle_policy()]


def first_expert(profile: Profile) -> str:
    return next(iter(profile.experts))


def route_record(record: RoutingRecord, settings: RouterConfig) -> Assignment:
    """What the live router would assign with `settings`, from the recorded losses."""
    _, _, active = stage1_active(record.stage1, record.order, settings)
    chosen = []
    for kind, native, losses in zip(record.kinds, record.natives, record.losses, strict=False):
        among = {e: v for e, v in losses.items() if e in active}
        chosen.append(assign_segment(kind, among, native, active, settings)[0])
    return tuple(chosen)


def assignment(policy: Policy, record: RoutingRecord, profile: Profile) -> Assignment | None:
    """The policy's assignment for the item (None for the oracle, which picks among single experts)."""
    if policy.kind == "expert":
        assert policy.expert is not None
        return tuple(policy.expert for _ in record.kinds)
    if policy.kind == "native":
        return tuple(native or first_expert(profile) for native in record.natives)
    if policy.kind == "router":
        assert policy.router is not None
        return route_record(record, policy.router)
    return None


# -- the data of one suite ---------------------------------------------------------------------


@dataclass
class ItemData:
    """One item's routing record and the cells found for it, by assignment."""

    item: str
    record: RoutingRecord
    cells: dict[Assignment, Cell]


@dataclass
class SuiteData:
    """The usable part of the table for one suite and profile, plus what is missing."""

    suite: str
    experts: list[str]
    items: list[ItemData]
    missing: int  # items without a routing record or without every single-expert cell
    load_s: dict[str, float] = field(default_factory=dict)  # median measured load time per expert


def gather(table: OutcomeTable, suite: str, items: Sequence, profile: Profile, shas: dict[str, str],
           generation: str, routing: str) -> SuiteData:
    """Collect every usable record for `items` (suite `Item`s) from the table, with the given keys."""
    experts = list(profile.experts)
    found: list[ItemData] = []
    missing = 0
    loads: dict[str, list[float]] = {e: [] for e in experts}
    for item in items:
        record = table.routing_record(suite, item.id, item.fingerprint(), shas, routing)
        if record is None:
            missing += 1
            continue
        cells: dict[Assignment, Cell] = {}
        for expert in experts:
            cell = table.cell(suite, item.id, item.fingerprint(), [expert] * len(record.kinds), shas, generation)
            if cell is not None:
                cells[tuple(cell.experts)] = rechecked(item, record, cell)
        if len(cells) < len(experts):
            missing += 1
            continue
        found.append(ItemData(item.id, record, cells))
        sources: list[RoutingRecord | Cell] = [record, *cells.values()]
        for source in sources:
            for expert, seconds in source.load_s.items():
                if expert in loads:
                    loads[expert].append(seconds)
    data = SuiteData(suite, experts, found, missing,
                     {e: statistics.median(v) if v else 0.0 for e, v in loads.items()})
    data_mixed(table, data, items, shas, generation)
    return data


def data_mixed(table: OutcomeTable, data: SuiteData, items: Sequence, shas: dict[str, str], generation: str) -> None:
    """Add the cells of mixed assignments (a router's choice across experts) found in the table."""
    by_id = {item.id: item for item in items}
    wanted = {d.item: d for d in data.items if len(d.record.kinds) > 1}
    if not wanted:
        return
    for cell in table.cells.values():
        d = wanted.get(cell.item)
        if (d is None or cell.suite != data.suite or cell.status != "ok" or len(set(cell.experts)) < 2
                or cell.settings != generation or cell.fingerprint != by_id[cell.item].fingerprint()
                or any(shas.get(e) != s for e, s in zip(cell.experts, cell.sha256, strict=False))):
            continue
        d.cells[tuple(cell.experts)] = rechecked(by_id[cell.item], d.record, cell)


def rechecked(item: Item, record: RoutingRecord, cell: Cell) -> Cell:
    """The cell with its number and regex checks applied again to its texts (see `checks.recheck_text`)."""
    if (item.check.number is None and item.check.regex is None) or len(cell.texts) != len(record.kinds):
        return cell
    checks = recheck_text(item.check, record.kinds, cell.texts, cell.checks)
    correct = bool(checks) and all(checks.values())
    if checks == cell.checks and correct == cell.correct:
        return cell
    return cell.model_copy(update={"checks": checks, "correct": correct})


# -- scoring -------------------------------------------------------------------------------------


@dataclass
class Choice:
    """A policy's pick on one item and what it cost."""

    assignment: Assignment
    cell: Cell | None  # None: no cell for that assignment yet


def choose(policy: Policy, item: ItemData, profile: Profile) -> Choice:
    if policy.kind == "oracle":
        singles = [c for a, c in item.cells.items() if len(set(a)) == 1]
        right = [c for c in singles if c.correct]
        best = min(right or singles, key=lambda c: (c.tokens, c.seconds))
        return Choice(tuple(best.experts), best)
    chosen = assignment(policy, item.record, profile)
    assert chosen is not None
    return Choice(chosen, item.cells.get(chosen))


@dataclass
class PolicyScore:
    """One policy's outcome over a suite's common items."""

    name: str
    description: str
    n: int
    correct: int
    rate: float
    ci: tuple[float, float]  # 95% bootstrap percentile interval of the rate
    tokens_generated: float  # means per item
    tokens_scored: float
    loads: float
    seconds: float
    picks: dict[str, float]  # share of task segments given to each expert
    outcomes: list[bool]  # per common item, in order


@dataclass
class SuiteScores:
    suite: str
    items: list[str]  # the common items scored
    missing: int  # items left out: incomplete table
    uncovered: dict[str, int]  # policy -> items left out because its assignment has no cell yet
    policies: list[PolicyScore]
    best_single: str | None
    oracle_gap: float | None  # oracle rate minus the best single expert's
    seconds: float = 0.0  # time taken to score


def simulate_loads(policy: Policy, picks: Sequence[Assignment], records: Sequence[RoutingRecord],
                   profile: Profile, capacity: int) -> list[list[str]]:
    """The experts loaded for each item of a stream answered in order, with an LRU pool of `capacity`."""
    resident: OrderedDict[str, None] = OrderedDict()
    counts = []
    for chosen, record in zip(picks, records, strict=False):
        loads: list[str] = []
        sequence: list[str] = []
        if policy.kind == "router":
            kinds = [_Kind(k) for k in record.kinds]
            sequence += scoring_order(profile, list(resident), kinds)  # type: ignore[arg-type]
        sequence += list(chosen)
        for expert in sequence:
            if expert in resident:
                resident.move_to_end(expert)
                continue
            loads.append(expert)
            resident[expert] = None
            while len(resident) > capacity:
                resident.popitem(last=False)
        counts.append(loads)
    return counts


@dataclass(frozen=True)
class _Kind:
    kind: str


def bootstrap_intervals(outcomes: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    """95% percentile intervals of each row's mean (rows: policies; columns: items), resampling items jointly."""
    n = outcomes.shape[1]
    if n == 0:
        return np.zeros((outcomes.shape[0], 2))
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(samples, n))
    means = outcomes[:, index].mean(axis=2)  # (policies, samples)
    return np.stack([np.percentile(means, 2.5, axis=1), np.percentile(means, 97.5, axis=1)], axis=1)


def paired_interval(a: Sequence[bool], b: Sequence[bool], samples: int = BOOTSTRAP_SAMPLES,
                    seed: int = 0) -> tuple[float, float, float]:
    """(difference of rates a - b, 95% bootstrap interval) on the same items."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    lo, hi = bootstrap_intervals(diff[None, :], samples, seed)[0]
    return float(diff.mean()), float(lo), float(hi)


def score(policies: Sequence[Policy], data: SuiteData, profile: Profile, pool_capacity: int) -> SuiteScores:
    """Score every policy on the items where all of them have a cell (see the module docstring)."""
    choices = {p.name: [choose(p, item, profile) for item in data.items] for p in policies}
    uncovered = {name: sum(c.cell is None for c in picks) for name, picks in choices.items()}
    keep = [i for i in range(len(data.items)) if all(choices[p.name][i].cell is not None for p in policies)]
    items = [data.items[i] for i in keep]
    records = [item.record for item in items]
    outcomes = np.array([[bool(choices[p.name][i].cell.correct) for i in keep] for p in policies],  # type: ignore[union-attr]
                        dtype=np.float64).reshape(len(policies), len(keep))
    intervals = bootstrap_intervals(outcomes)
    scores = []
    for row, policy in enumerate(policies):
        picks = [choices[policy.name][i] for i in keep]
        cells = [c.cell for c in picks]
        loads = simulate_loads(policy, [c.assignment for c in picks], records, profile, pool_capacity)
        routing = policy.kind == "router"
        seconds = [c.seconds + (r.seconds if routing else 0.0)  # type: ignore[union-attr]
                   + sum(data.load_s.get(e, 0.0) for e in loaded)
                   for c, r, loaded in zip(cells, records, loads, strict=False)]
        segments = [e for c in picks for e in c.assignment]
        n = len(keep)
        scores.append(PolicyScore(
            name=policy.name, description=policy.description, n=n, correct=int(outcomes[row].sum()),
            rate=float(outcomes[row].mean()) if n else 0.0, ci=(float(intervals[row][0]), float(intervals[row][1])),
            tokens_generated=_mean([c.tokens for c in cells]),  # type: ignore[union-attr]
            tokens_scored=_mean([r.tokens_scored for r in records]) if routing else 0.0,
            loads=_mean([len(x) for x in loads]), seconds=_mean(seconds),
            picks={e: segments.count(e) / len(segments) for e in data.experts} if segments else {},
            outcomes=[bool(x) for x in outcomes[row]],
        ))
    singles = [s for s, p in zip(scores, policies, strict=False) if p.kind == "expert"]
    best = max(singles, key=lambda s: s.rate) if singles and keep else None
    oracle = next((s for s, p in zip(scores, policies, strict=False) if p.kind == "oracle"), None)
    gap = oracle.rate - best.rate if oracle is not None and best is not None else None
    return SuiteScores(data.suite, [d.item for d in items], data.missing, uncovered, scores,
                       best.name if best else None, gap)


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
