"""Fill the outcome table: route every item once, run every expert on every item, then the routers' mixed picks.

Only what the table lacks is computed (see `table`), in this order per suite, each record
appended as soon as it is made:

1. the routing record of each item: `Pipeline.route` with every expert kept active (a huge
   tau), so every expert's loss on every segment is recorded, whatever tau a policy uses later;
2. for each expert, its answer to each item (`Pipeline.ask(expert=...)`), checked;
3. for each policy in `fill` (native, routers), the items where it picks different experts
   for different segments: that mixed assignment is asked too (`Pipeline.ask(assign=...)`).

All experts stay loaded during a run (the pool holds the whole profile), so loads happen
once; the reports simulate the configured pool instead (see `policies`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypedDict

from ..config import AppConfig, PoolConfig, Profile
from ..errors import EngineError
from ..pipeline import AskResult, Pipeline
from ..pool import ModelPool
from ..router import SegmentInfo
from .checks import check_answer
from .policies import Policy, assignment
from .suites import Item, Suite
from .table import Cell, OutcomeTable, RoutingRecord, finite, generation_key, model_sha256, routing_key

#: stage-1 tolerance while recording: keeps every expert active, so every loss is recorded
RECORD_TAU = 1e9

Say = Callable[[str], object]  # what it returns is ignored (e.g. TextIO.write's count)


class _RecordBase(TypedDict):
    """The fields every RoutingRecord of an item shares."""

    suite: str
    item: str
    fingerprint: str
    sha256: dict[str, str]
    settings: str


class _CellBase(TypedDict):
    """The fields every Cell of an item and assignment shares."""

    suite: str
    item: str
    fingerprint: str
    experts: list[str]
    sha256: list[str]
    settings: str


def suite_tokens(suite: Suite, max_new_tokens: int | None) -> int | None:
    """The cap per segment for a suite: the command's, else the suite's own, else each role's."""
    return max_new_tokens if max_new_tokens is not None else suite.info.max_new_tokens


def _record_config(config: AppConfig, profile: Profile) -> AppConfig:
    router = config.router.model_copy(update={"tau": RECORD_TAU, "loss_scale": {}})
    pool = PoolConfig(max_resident=max(config.pool.max_resident, len(profile.experts)),
                      memory_budget_mb=config.pool.memory_budget_mb)
    return config.model_copy(update={"router": router, "pool": pool})


def _loads(result: AskResult) -> dict[str, float]:
    return {load.expert: load.seconds for load in result.loads if load.kind == "load"}


class Runner:
    """Owns the pipeline (created on first use) and the table for one command."""

    def __init__(self, config: AppConfig, profile: Profile, table: OutcomeTable, say: Say) -> None:
        self.config = config
        self.profile = profile
        self.table = table
        self.say = say
        self.shas = model_sha256(config, profile)
        self.routing_settings = routing_key(config, profile)
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            recording = _record_config(self.config, self.profile)
            pipeline = Pipeline(recording, self.profile, pool=ModelPool(recording, self.profile))
            for name in self.profile.experts:  # a missing file fails now, before any work
                pipeline.pool.check_file(name)
            self._pipeline = pipeline
        return self._pipeline

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None

    # -- one record ------------------------------------------------------------------------------

    def route(self, item: Item) -> RoutingRecord:
        pool = self.pipeline.pool
        first = len(pool.events)
        started = time.perf_counter()
        base: _RecordBase = {"suite": item.suite, "item": item.id, "fingerprint": item.fingerprint(),
                             "sha256": self.shas, "settings": self.routing_settings}
        try:
            routing = self.pipeline.route(item.query)
        except EngineError as exc:
            return RoutingRecord(**base, status="error", error=str(exc), seconds=time.perf_counter() - started)
        loads = {e.expert: e.seconds for e in pool.events[first:] if e.kind == "load"}
        return RoutingRecord(
            **base, status="ok", segments=[a.segment for a in routing.assignments],
            kinds=[a.kind for a in routing.assignments], natives=[a.native for a in routing.assignments],
            order=list(routing.active) + list(routing.excluded), stage1=finite(routing.stage1),
            losses=[finite(a.losses) for a in routing.assignments],
            tokens_scored=sum(routing.tokens_scored.values()),
            seconds=max(routing.seconds - sum(loads.values()), 0.0), load_s=loads,
        )

    def answer(self, item: Item, experts: Sequence[str], segments: Sequence[int], settings: str,
               max_new_tokens: int | None) -> Cell:
        base: _CellBase = {"suite": item.suite, "item": item.id, "fingerprint": item.fingerprint(),
                           "experts": list(experts), "sha256": [self.shas[e] for e in experts], "settings": settings}
        try:
            if len(set(experts)) == 1:
                result = self.pipeline.ask(item.query, expert=experts[0], max_new_tokens=max_new_tokens)
            else:
                chosen = dict(zip(segments, experts, strict=False))

                def assign(segment: SegmentInfo) -> str:
                    return chosen[segment.index]

                result = self.pipeline.ask(item.query, assign=assign, max_new_tokens=max_new_tokens)
        except EngineError as exc:
            return Cell(**base, status="error", error=str(exc))
        failed = [o for o in result.outputs if o.finish_reason == "failed"]
        if failed:  # llama.cpp failed mid-answer: a fault, not the expert's answer; retried by the next run
            return Cell(**base, status="error", error=getattr(failed[0], "error", None) or "generation failed")
        outputs = [(o.kind, o.text) for o in result.outputs]
        verdict = check_answer(item.check, outputs)
        return Cell(**base, status="ok", correct=verdict.correct, checks=verdict.checks, detail=verdict.detail,
                    tokens=sum(o.tokens for o in result.outputs), seconds=sum(o.seconds for o in result.outputs),
                    finish=[o.finish_reason for o in result.outputs], texts=[o.text[:6000] for o in result.outputs],
                    load_s=_loads(result))

    # -- a suite ---------------------------------------------------------------------------------

    def fill(self, suite: Suite, max_new_tokens: int | None, fill: Sequence[Policy] = ()) -> int:
        """Compute what the table lacks for `suite`; returns how many records were made."""
        tokens = suite_tokens(suite, max_new_tokens)
        settings = generation_key(self.config, self.profile, tokens)
        table, name = self.table, suite.info.name
        for expert, count in table.stale_by_model(name, self.shas).items():
            self.say(f"{name}: {count} cached outcome(s) of {expert} were made with another model file "
                     f"(sha256 now {self.shas[expert][:12]}...); they are computed again")
        stale = table.stale_routing(name, self.shas)
        if stale:
            self.say(f"{name}: {stale} item(s) were routed with other model files; they are routed again")
        made = 0
        records: dict[str, RoutingRecord] = {}
        todo_routing = []
        for item in suite.items:
            record = table.routing_record(name, item.id, item.fingerprint(), self.shas, self.routing_settings)
            if record is None:
                todo_routing.append(item)
            else:
                records[item.id] = record
        for number, item in enumerate(todo_routing, start=1):
            record = self.route(item)
            table.add(record)
            made += 1
            if record.status == "ok":
                records[item.id] = record
            losses = ", ".join(f"{e} {v:.3f}" for e, v in record.stage1.items())
            self.say(f"[{name} routing {number}/{len(todo_routing)}] {item.id} "
                     f"{record.status if record.status == 'error' else losses} {record.seconds:.1f} s")
        experts = list(self.profile.experts)
        for expert in experts:
            todo = [i for i in suite.items if i.id in records
                    and table.cell(name, i.id, i.fingerprint(), [expert] * len(records[i.id].kinds), self.shas,
                                   settings) is None]
            for number, item in enumerate(todo, start=1):
                record = records[item.id]
                made += self._run(item, [expert] * len(record.kinds), record.segments, settings, tokens,
                                  f"[{name} {expert} {number}/{len(todo)}]")
        mixed: dict[tuple[str, tuple[str, ...]], Item] = {}
        for policy in fill:
            for item in suite.items:
                record = records.get(item.id)
                if record is None or len(record.kinds) < 2:
                    continue
                chosen = assignment(policy, record, self.profile)
                if chosen is not None and len(set(chosen)) > 1 and table.cell(
                    name, item.id, item.fingerprint(), chosen, self.shas, settings
                ) is None:
                    mixed[(item.id, chosen)] = item
        for number, ((_, chosen), item) in enumerate(mixed.items(), start=1):
            made += self._run(item, list(chosen), records[item.id].segments, settings, tokens,
                              f"[{name} mixed {number}/{len(mixed)}]")
        return made

    def _run(self, item: Item, experts: list[str], segments: list[int], settings: str, tokens: int | None,
             label: str) -> int:
        cell = self.answer(item, experts, segments, settings, tokens)
        self.table.add(cell)
        verdict = f"error: {cell.error}" if cell.status == "error" else ("right" if cell.correct else "wrong")
        finish = ",".join(dict.fromkeys(cell.finish))
        self.say(f"{label} {item.id} {'+'.join(dict.fromkeys(experts))} {verdict} "
                 f"({cell.tokens} tokens{', ' + finish if finish else ''}) {cell.seconds:.1f} s")
        return 1
