"""question -> segments -> losses -> assignments -> outputs, with events for the CLI and TUI.

Task segments run in question order: each expert sees the question's context
segments and the answers of the segments before it (explain sees the answer, code
sees the explanation). Events go out through one callback as they happen; model
loads and evictions from the pool come through the same callback.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from .config import OTHER_KIND, AppConfig, Profile, RoleConfig, StrictModel
from .errors import Cancelled, UsageError
from .pool import ModelPool, PoolEvent
from .router import Assignment, Routing, SegmentInfo, forced_routing, route
from .scores import Score
from .segmenter import DEFAULT_CUES, segment

#: how a context-only question (no task recognised) is asked
GENERIC_ROLE = RoleConfig(
    description="answer the question",
    prompt="{task}",
    system="You are a helpful assistant. Answer concisely.",
    max_new_tokens=256,
)
# A base model has no end-of-turn token: stop it before it invents the next question.
BASE_MODEL_STOPS = ["\n\n\n", "\nQuestion:", "\nProblem:", "\nAnswer:"]


# -- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routed:
    """Routing is done (segments, both stages, assignments)."""

    routing: Routing


@dataclass(frozen=True)
class SegmentStarted:
    index: int  # position in Routing.assignments
    assignment: Assignment


@dataclass(frozen=True)
class TokenGenerated:
    index: int
    text: str


@dataclass(frozen=True)
class SegmentDone:
    index: int
    output: "SegmentOutput"


@dataclass(frozen=True)
class Finished:
    result: "AskResult"


Event = Routed | SegmentStarted | TokenGenerated | SegmentDone | Finished | PoolEvent


# -- results -----------------------------------------------------------------------------------


class SegmentOutput(StrictModel):
    segment: int
    kind: str
    expert: str
    text: str
    tokens: int
    finish_reason: str  # "stop" | "length" | "cancelled" | "skipped"
    seconds: float


class LoadRecord(StrictModel):
    kind: str  # "load" | "evict"
    expert: str
    seconds: float


class Timings(StrictModel):
    routing: float
    loading: float
    generation: float
    total: float


class AskResult(StrictModel):
    """What `ask --json` prints: the routing plus every output and the costs."""

    routing: Routing
    outputs: list[SegmentOutput]
    loads: list[LoadRecord]
    timings: Timings
    cancelled: bool


# -- the pipeline ------------------------------------------------------------------------------


def compose_prompt(role: RoleConfig, *, context: str, task: str, previous: str) -> str:
    """Fill a role's prompt template; blank placeholders leave no stray blank lines."""
    text = role.prompt.format(context=context, task=task, previous=previous)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class Pipeline:
    """Routes and answers questions with one profile's experts. Use one question at a time."""

    def __init__(
        self,
        config: AppConfig,
        profile: Profile,
        pool: ModelPool | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.config = config
        self.profile = profile
        self._listeners: list[Callable[[Event], None]] = [on_event] if on_event else []
        self.pool = pool or ModelPool(config, profile)
        self.pool.on_event = self._emit
        self._cancel = threading.Event()
        self.cues = {
            role: tuple(spec.cues) if spec.cues is not None else DEFAULT_CUES.get(role, ())
            for role, spec in profile.roles.items()
        }

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Also send every event to `listener` (called on the pipeline's thread)."""
        self._listeners.append(listener)

    def _emit(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)

    def cancel(self) -> None:
        """Stop the running answer at the next token; outputs so far are kept."""
        self._cancel.set()

    def close(self) -> None:
        self.pool.close()

    def _score(self, name: str, text: str) -> Score:
        # Loading and scoring every expert takes seconds: honour a cancel between experts.
        if self._cancel.is_set():
            raise Cancelled("routing cancelled")
        return self.pool.get(name).score(text)

    def route(
        self, question: str, *, expert: str | None = None, assign: Callable[[SegmentInfo], str] | None = None
    ) -> Routing:
        """Segment and route without generating.

        `expert` forces one expert for every segment; `assign` picks each segment's
        expert itself (e.g. the native-only baseline). Either skips the loss scoring.
        """
        if not question.strip():
            raise UsageError("the question is empty; type a question, e.g. seqmoe-local ask \"What is 17 * 23?\"")
        segments = segment(question, self.cues)
        if expert is not None:
            self.pool.expert(expert)  # unknown names fail here, before any work
            routing = forced_routing(question, self.profile, segments, lambda _: expert, f"forced with --expert {expert}")
        elif assign is not None:
            routing = forced_routing(question, self.profile, segments, assign, "assigned by the caller")
            for name in routing.active:
                self.pool.expert(name)
        else:
            for name in self.profile.experts:  # every file checked before the first load
                self.pool.check_file(name)
            routing = route(question, segments, self.profile, self.config.router, self._score, self.pool.resident)
        self._emit(Routed(routing))
        return routing

    def ask(
        self,
        question: str,
        *,
        expert: str | None = None,
        assign: Callable[[SegmentInfo], str] | None = None,
        max_new_tokens: int | None = None,
    ) -> AskResult:
        """Route (see `route`), then run each task segment in order, streaming tokens as events."""
        self._cancel.clear()
        started = time.perf_counter()
        first_event = len(self.pool.events)
        routing = self.route(question, expert=expert, assign=assign)
        routing_loads = sum(e.seconds for e in self.pool.events[first_event:])
        context = "\n".join(s.text for s in routing.segments if s.kind == OTHER_KIND)
        outputs: list[SegmentOutput] = []
        for index, assignment in enumerate(routing.assignments):
            segment_info = routing.segments[assignment.segment]
            role = self.profile.roles.get(assignment.kind, GENERIC_ROLE)
            if self._cancel.is_set():
                outputs.append(SegmentOutput(segment=assignment.segment, kind=assignment.kind, expert=assignment.expert,
                                             text="", tokens=0, finish_reason="skipped", seconds=0.0))
                continue
            self._emit(SegmentStarted(index, assignment))
            previous = "\n\n".join(f"{o.kind.capitalize()} ({o.expert}):\n{o.text.strip()}" for o in outputs if o.text)
            is_context_only = assignment.kind == OTHER_KIND
            prompt = compose_prompt(role, context="" if is_context_only else context, task=segment_info.text,
                                    previous=previous)
            model = self.pool.get(assignment.expert)
            generation = model.generate(
                system=role.system, user=prompt, max_tokens=max_new_tokens or role.max_new_tokens,
                stop=None if model.has_chat_template else BASE_MODEL_STOPS, should_stop=self._cancel.is_set,
            )
            # closing(): if a listener raises (a broken pipe, Ctrl-C), the stream ends here,
            # releasing the model, before anyone can close the pool under it.
            with closing(generation.pieces):
                for piece in generation:
                    self._emit(TokenGenerated(index, piece))
            output = SegmentOutput(
                segment=assignment.segment, kind=assignment.kind, expert=assignment.expert,
                text="".join(generation.text), tokens=generation.n_tokens,
                finish_reason=generation.finish_reason or "stop", seconds=generation.seconds,
            )
            outputs.append(output)
            self._emit(SegmentDone(index, output))
        loads = [LoadRecord(kind=e.kind, expert=e.expert, seconds=e.seconds) for e in self.pool.events[first_event:]]
        total = time.perf_counter() - started
        loading = sum(l.seconds for l in loads)
        generating = sum(o.seconds for o in outputs)
        result = AskResult(
            routing=routing, outputs=outputs, loads=loads, cancelled=self._cancel.is_set(),
            timings=Timings(routing=routing.seconds - routing_loads, loading=loading, generation=generating, total=total),
        )
        self._emit(Finished(result))
        return result
