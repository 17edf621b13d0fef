"""question -> segments -> losses -> assignments -> outputs, with events for the CLI and TUI.

A question may continue a conversation: the earlier turns (question and assembled
answer) come as `history`. Every expert reads the conversation as chat messages
(prompts.py): the system text, the earlier turns, then the new question. Routing
scores the new question in that context; each task segment is then generated
with the segment's instruction after the question, in the same user turn, so the
expert's KV cache of the routing pass is reused (the engine reads only what
follows it).

Task segments run in question order: each expert sees the answers of the segments
before it in its instruction (explain sees the answer, code sees the
explanation). When the conversation does not fit an expert's context, the oldest
turns are left out for that expert, and the result says how many. Events go out
through one callback as they happen; model loads and evictions from the pool come
through the same callback.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Literal

from .config import OTHER_KIND, AppConfig, Profile, RoleConfig, StrictModel
from .errors import Cancelled, EngineError, UsageError
from .expert import Expert
from .pool import ModelPool, PoolEvent
from .prompts import Exchange, Message, context_messages
from .router import Assignment, Routing, SegmentInfo, forced_routing, route
from .scores import Score
from .segmenter import DEFAULT_CUES, Segment, segment

#: how a question with no recognised task is asked: the question itself is the task
GENERIC_ROLE = RoleConfig(
    description="answer the question",
    prompt="{previous}\n\n{task}",
    system="Answer concisely.",
    max_new_tokens=256,
)
#: room kept in an expert's context for the instruction and earlier segments' answers, beyond new tokens
INSTRUCTION_ROOM = 128


# -- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routed:
    """Routing is done (segments, both stages, assignments)."""

    routing: Routing


# Two index spaces: an assignment's `position` in Routing.assignments (events, the order answers stream in)
# and a segment's index in Routing.segments (Assignment.segment, SegmentOutput.segment). Context segments
# get no assignment, so the two differ as soon as a question has context.


@dataclass(frozen=True)
class SegmentStarted:
    position: int  # in Routing.assignments
    assignment: Assignment


@dataclass(frozen=True)
class TokenGenerated:
    position: int  # in Routing.assignments
    text: str


@dataclass(frozen=True)
class SegmentDone:
    position: int  # in Routing.assignments
    output: SegmentOutput


@dataclass(frozen=True)
class Finished:
    result: AskResult


Event = Routed | SegmentStarted | TokenGenerated | SegmentDone | Finished | PoolEvent


# -- results -----------------------------------------------------------------------------------


OutputStatus = Literal["stop", "length", "cancelled", "repetition", "failed", "skipped"]

#: how each finish reason reads after a segment's text, in the CLI and the TUI ("" for a normal end)
FINISH_NOTES: dict[str, str] = {
    "stop": "", "length": "cut at max tokens", "repetition": "cut: it began repeating itself",
    "cancelled": "cancelled", "failed": "failed", "skipped": "skipped",
}


class SegmentOutput(StrictModel):
    segment: int  # the segment's index in Routing.segments
    kind: str
    expert: str
    text: str
    tokens: int
    finish_reason: OutputStatus
    seconds: float
    prompt_tokens: int = 0  # the generation prompt's length...
    prefilled_tokens: int = 0  # ...and how much of it was evaluated (the rest was in the KV cache)
    first_token_seconds: float | None = None
    error: str | None = None  # why a "failed" segment stopped


class LoadRecord(StrictModel):
    kind: Literal["load", "evict"]
    expert: str
    seconds: float
    state_tokens: int = 0  # KV-cache tokens restored on load, or kept on evict


class Timings(StrictModel):
    routing: float
    loading: float
    generation: float
    total: float


class HistoryUse(StrictModel):
    """How much of the conversation the experts saw."""

    turns: int  # earlier turns in the conversation
    left_out: int  # the oldest turns left out for the expert that had the least room

    def note(self) -> str:
        """What an answer says when the oldest turns did not fit an expert's context; empty when all fit."""
        if self.left_out <= 0:
            return ""
        turns = "turn" if self.left_out == 1 else "turns"
        return (f"{self.left_out} earlier {turns} left out of {self.turns}: the conversation is longer than "
                f"an expert's context")


class AskResult(StrictModel):
    """What `ask --json` prints: the routing plus every output and the costs."""

    routing: Routing
    outputs: list[SegmentOutput]
    loads: list[LoadRecord]
    timings: Timings
    cancelled: bool
    history: HistoryUse = HistoryUse(turns=0, left_out=0)
    prefilled_tokens: int = 0  # prompt tokens evaluated for routing and generation together


# -- the pipeline ------------------------------------------------------------------------------


def compose_prompt(role: RoleConfig, *, context: str, task: str, previous: str) -> str:
    """Fill a role's prompt template; blank placeholders leave no stray blank lines."""
    text = role.prompt.format(context=context, task=task, previous=previous)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def instruction_for(
    role: RoleConfig, *, question: str, task: str, context: str, outputs: Sequence[SegmentOutput]
) -> str:
    """A segment's instruction: which part to do, the earlier parts' answers, and the role's style.

    When the segment is the whole question, the question already says what to do.
    """
    previous = "\n\n".join(f"{o.kind.capitalize()} ({o.expert}):\n{o.text.strip()}" for o in outputs if o.text.strip())
    if previous:
        previous = f"Earlier parts of this answer:\n\n{previous}"
    part = "" if task.strip() == question.strip() else f"Now do only this part of the question: {task.strip()}"
    text = compose_prompt(role, context=context, task=part, previous=previous)
    return "\n\n".join(piece for piece in (text, role.system.strip()) if piece)


def answer_text(outputs: Sequence[SegmentOutput]) -> str:
    """A turn's answer as later turns see it: the segments' texts in order."""
    return "\n\n".join(o.text.strip() for o in outputs if o.text.strip())


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
        self._partial: tuple[Routing, list[SegmentOutput], dict[int, list[str]]] | None = None
        self._begin_turn("", (), 0, generating=False)

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

    # -- the conversation as each expert sees it -------------------------------------------------

    def _begin_turn(self, question: str, history: Sequence[Exchange], reserve: int, generating: bool) -> None:
        self._question = question
        self._history = tuple(history)
        self._reserve = reserve
        self._generating = generating
        self._contexts: dict[str, tuple[list[Message], int]] = {}
        self._prefilled = 0

    def _context(self, model: Expert, question: str) -> list[Message]:
        """The messages before the question for `model`: oldest turns left out until the turn fits its context.

        Computed once per expert and turn, so routing and generation read the same
        prefix (and generation reuses the KV cache of routing).
        """
        if model.name in self._contexts:
            return self._contexts[model.name][0]
        history = list(self._history)
        while True:
            context = context_messages(self.config.pipeline.system, history)
            needed = model.prompt_tokens(context=context, message=question, instruction="")
            if needed + self._reserve <= model.n_ctx or not history:
                break
            history.pop(0)
        if self._generating and needed + INSTRUCTION_ROOM >= model.n_ctx:
            raise UsageError(
                f"the question is too long for expert {model.name}: {needed} tokens with the system text, and its "
                f"context holds {model.n_ctx}; shorten the question, or raise context_length for {model.name} in "
                f"models.toml (seqmoe-local paths shows where)"
            )
        self._contexts[model.name] = (context, len(self._history) - len(history))
        return context

    def _score(self, name: str, text: str) -> Score:
        # Loading and scoring every expert takes seconds: honour a cancel between experts.
        if self._cancel.is_set():
            raise Cancelled("routing cancelled")
        model = self.pool.get(name)
        # The question is read after the conversation; the templated router's role templates alone, as the
        # reference reads them.
        context = self._context(model, text) if text == self._question else ()
        score = model.score(text, context=context)
        self._prefilled += score.prefilled_tokens
        return score

    def _reserve_for(self, segments: Sequence[Segment], max_new_tokens: int | None) -> int:
        """Context to keep free for the answer: every task segment's new tokens plus its instruction."""
        kinds = [s.kind for s in segments if s.kind != OTHER_KIND] or [OTHER_KIND]
        return sum(
            max_new_tokens or self.profile.roles.get(kind, GENERIC_ROLE).max_new_tokens for kind in kinds
        ) + INSTRUCTION_ROOM

    # -- routing and answering -------------------------------------------------------------------

    def route(
        self,
        question: str,
        *,
        history: Sequence[Exchange] = (),
        expert: str | None = None,
        assign: Callable[[SegmentInfo], str] | None = None,
    ) -> Routing:
        """Segment and route without generating.

        `history` is the conversation so far; the question is scored after it.
        `expert` forces one expert for every segment; `assign` picks each segment's
        expert itself (e.g. the native-only baseline). Either skips the loss scoring.
        """
        return self._route(question, history, expert, assign, max_new_tokens=None, generating=False)

    def _route(
        self,
        question: str,
        history: Sequence[Exchange],
        expert: str | None,
        assign: Callable[[SegmentInfo], str] | None,
        *,
        max_new_tokens: int | None,
        generating: bool,
    ) -> Routing:
        if not question.strip():
            raise UsageError("the question is empty; type a question, e.g. seqmoe-local ask \"What is 17 * 23?\"")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError("the question is not valid text (it holds a lone surrogate, e.g. from undecodable "
                             "bytes); pass it as UTF-8") from exc
        segments = segment(question, self.cues)
        self._begin_turn(question, history, self._reserve_for(segments, max_new_tokens), generating)
        if expert is not None:
            self.pool.expert(expert)  # unknown names fail here, before any work
            routing = forced_routing(question, self.profile, segments, lambda _: expert, "forced with --expert "
                f"{expert}")
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
        history: Sequence[Exchange] = (),
        expert: str | None = None,
        assign: Callable[[SegmentInfo], str] | None = None,
        max_new_tokens: int | None = None,
    ) -> AskResult:
        """Route (see `route`), then run each task segment in order, streaming tokens as events.

        If interrupted (Ctrl-C, a listener raising), `partial_result()` gives what was done.
        """
        self._cancel.clear()
        started = time.perf_counter()
        first_event = len(self.pool.events)
        self._partial = None
        routing = self._route(question, history, expert, assign, max_new_tokens=max_new_tokens, generating=True)
        routing_loads = sum(e.seconds for e in self.pool.events[first_event:])
        # A pinned expert was not loaded to route: a missing or damaged file is reported before any output.
        for name in dict.fromkeys(a.expert for a in routing.assignments):
            if name not in self.pool.resident:
                self.pool.check_file(name)
        context_text = "\n".join(s.text for s in routing.segments if s.kind == OTHER_KIND)
        outputs: list[SegmentOutput] = []
        streaming: dict[int, list[str]] = {}
        self._partial = (routing, outputs, streaming)
        for position, assignment in enumerate(routing.assignments):
            if self._cancel.is_set():
                outputs.append(SegmentOutput(segment=assignment.segment, kind=assignment.kind, expert=assignment.expert,
                                             text="", tokens=0, finish_reason="skipped", seconds=0.0))
                continue
            self._emit(SegmentStarted(position, assignment))
            outputs.append(self._generate(position, assignment, routing, question, context_text, outputs, streaming,
                                          max_new_tokens))
            self._emit(SegmentDone(position, outputs[-1]))
        result = self._result(routing, outputs, first_event, started, routing_loads)
        self._partial = None
        self._emit(Finished(result))
        return result

    def _generate(
        self,
        position: int,
        assignment: Assignment,
        routing: Routing,
        question: str,
        context_text: str,
        outputs: list[SegmentOutput],
        streaming: dict[int, list[str]],
        max_new_tokens: int | None,
    ) -> SegmentOutput:
        """Generate one task segment, streaming its tokens; an engine failure keeps the partial text."""
        role = self.profile.roles.get(assignment.kind, GENERIC_ROLE)
        model = self.pool.get(assignment.expert)
        segment_text = routing.segments[assignment.segment].text
        generation = model.generate(
            context=self._context(model, question), message=question,
            instruction=instruction_for(role, question=question, task=segment_text, context=context_text,
                                        outputs=outputs),
            max_tokens=max_new_tokens or role.max_new_tokens, should_stop=self._cancel.is_set,
        )
        pieces = streaming.setdefault(position, [])
        error: str | None = None
        # closing(): if a listener raises (a broken pipe, Ctrl-C), the stream ends here,
        # releasing the model, before anyone can close the pool under it.
        try:
            with closing(generation.pieces):
                for piece in generation:
                    pieces.append(piece)
                    self._emit(TokenGenerated(position, piece))
        except EngineError as exc:  # a decode failure, a remote server gone: this segment fails, the rest runs
            error = str(exc)
        del streaming[position]
        self._prefilled += generation.prefilled_tokens
        return SegmentOutput(
            segment=assignment.segment, kind=assignment.kind, expert=assignment.expert, text="".join(pieces),
            tokens=generation.n_tokens, finish_reason="failed" if error else generation.finish_reason,
            seconds=generation.seconds, prompt_tokens=generation.prompt_tokens,
            prefilled_tokens=generation.prefilled_tokens, first_token_seconds=generation.first_token_seconds,
            error=error,
        )

    def _result(
        self, routing: Routing, outputs: list[SegmentOutput], first_event: int, started: float, routing_loads: float,
        cancelled: bool | None = None,
    ) -> AskResult:
        loads = [LoadRecord(kind=e.kind, expert=e.expert, seconds=e.seconds, state_tokens=e.state_tokens)
                 for e in self.pool.events[first_event:]]
        left_out = max((left for _, left in self._contexts.values()), default=0)
        return AskResult(
            routing=routing, outputs=outputs, loads=loads,
            cancelled=self._cancel.is_set() if cancelled is None else cancelled,
            timings=Timings(routing=routing.seconds - routing_loads, loading=sum(load.seconds for load in loads),
                            generation=sum(o.seconds for o in outputs), total=time.perf_counter() - started),
            history=HistoryUse(turns=len(self._history), left_out=left_out), prefilled_tokens=self._prefilled,
        )

    def partial_result(self) -> AskResult | None:
        """After `ask` was interrupted: the routing and the outputs so far, the running one marked cancelled."""
        if self._partial is None:
            return None
        routing, outputs, streaming = self._partial
        outputs = list(outputs)
        for position, pieces in streaming.items():
            a = routing.assignments[position]
            outputs.append(SegmentOutput(segment=a.segment, kind=a.kind, expert=a.expert, text="".join(pieces),
                                         tokens=len(pieces), finish_reason="cancelled", seconds=0.0))
        return self._result(routing, outputs, len(self.pool.events), time.perf_counter(), 0.0, cancelled=True)
