"""Stand-ins for the pipeline and hand-made outcome tables, for the evaluation tests that need no model.

`FakePipeline` routes with the real router on made-up per-byte losses and answers with canned
texts, counting its calls; `make_item_data` builds policy-scoring inputs with known numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.evaluation.policies import ItemData
from seqmoe_local.evaluation.table import Cell, RoutingRecord
from seqmoe_local.pipeline import AskResult, LoadRecord, SegmentOutput, Timings
from seqmoe_local.router import Routing, SegmentInfo, forced_routing, route
from seqmoe_local.scores import Score
from seqmoe_local.segmenter import DEFAULT_CUES, segment

#: bits... nats per byte each fake expert has on every text (the coder lowest, as on the real trio)
RATES = {"smollm2-135m": 0.9, "qwen-coder": 0.7, "gemma3-270m": 0.8}


def fake_score(model: str, text: str) -> Score:
    data = text.encode()
    offsets = np.array([(i, i + 1) for i in range(len(data))], dtype=np.int64).reshape(-1, 2)
    nll = np.full(len(data), RATES[model])
    return Score(model, text, np.zeros(len(data), np.int32), offsets, nll, len(data), 64)


class FakePool:
    def __init__(self, config: AppConfig, profile: Profile) -> None:
        self.events: list = []
        self.on_event = None

    def check_file(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass


class FakePipeline:
    """Routes for real on fake losses; answers with `answer(expert, kind, query)`; records every call."""

    calls: list[tuple[str, str, tuple[str, ...]]] = []  # (what, query, experts), shared by instances of one test
    answer: Callable[[str, str, str], str] = staticmethod(lambda expert, kind, query: "Answer: 4")
    fail_after: int | None = None  # raise KeyboardInterrupt on this many calls (a killed run)

    def __init__(self, config: AppConfig, profile: Profile, pool: FakePool | None = None) -> None:
        self.config, self.profile = config, profile
        self.pool = pool or FakePool(config, profile)

    def close(self) -> None:
        pass

    def _tick(self, what: str, question: str, experts: tuple[str, ...]) -> None:
        if FakePipeline.fail_after is not None and len(FakePipeline.calls) >= FakePipeline.fail_after:
            raise KeyboardInterrupt
        FakePipeline.calls.append((what, question, experts))

    def route(self, question: str) -> Routing:
        self._tick("route", question, ())
        return route(question, segment(question, DEFAULT_CUES), self.profile, self.config.router, fake_score)

    def ask(self, question: str, *, expert: str | None = None, assign: Callable[[SegmentInfo], str] | None = None,
            max_new_tokens: int | None = None) -> AskResult:
        chooser = assign if assign is not None else (lambda _: expert)
        routing = forced_routing(question, self.profile, segment(question, DEFAULT_CUES), chooser, "test")
        experts = tuple(a.expert for a in routing.assignments)
        self._tick("ask", question, experts)
        outputs = [SegmentOutput(segment=a.segment, kind=a.kind, expert=a.expert,
                                 text=FakePipeline.answer(a.expert, a.kind, question), tokens=10,
                                 finish_reason="stop", seconds=0.5) for a in routing.assignments]
        return AskResult(routing=routing, outputs=outputs,
                         loads=[LoadRecord(kind="load", expert=experts[0], seconds=0.25)],
                         timings=Timings(routing=0.0, loading=0.25, generation=0.5, total=0.75), cancelled=False)


def record(item: str, losses: list[dict[str, float]], kinds: list[str], natives: list[str | None],
           stage1: dict[str, float] | None = None, suite: str = "t") -> RoutingRecord:
    """A routing record with the given per-segment losses (stage 1: the mean of each expert's)."""
    experts = list(losses[0])
    stage1 = stage1 or {e: sum(seg[e] for seg in losses) / len(losses) for e in experts}
    return RoutingRecord(suite=suite, item=item, fingerprint="f", sha256=dict.fromkeys(experts, "0" * 64),
                         settings="r", status="ok", segments=list(range(len(kinds))), kinds=kinds, natives=natives,
                         order=experts, stage1=stage1, losses=losses, tokens_scored=30, seconds=1.0)


def cell(item: str, experts: list[str], correct: bool, tokens: int = 10, seconds: float = 1.0,
         suite: str = "t") -> Cell:
    return Cell(suite=suite, item=item, fingerprint="f", experts=experts, sha256=["0" * 64] * len(experts),
                settings="g", status="ok", correct=correct, tokens=tokens, seconds=seconds)


def make_item_data(item: str, rec: RoutingRecord, right: dict[str, bool], tokens: dict[str, int] | None = None,
                   mixed: dict[tuple[str, ...], bool] | None = None) -> ItemData:
    """An item whose single-expert cells are right as `right` says (and optional mixed cells)."""
    n = len(rec.kinds)
    cells = {tuple([e] * n): cell(item, [e] * n, ok, (tokens or {}).get(e, 10)) for e, ok in right.items()}
    for experts, ok in (mixed or {}).items():
        cells[experts] = cell(item, list(experts), ok)
    return ItemData(item, rec, cells)
