"""Two-stage loss-based routing of a segmented question to the profile's experts.

Stage 1 keeps the experts whose loss on the whole question is within (1 + tau) of
the best. Stage 2 gives each task segment to the active expert with the lowest
loss on it; the role's native expert keeps it unless another beats it by at least
min_relative_gain. Losses are bits per byte over the same bytes for every expert,
so experts with different tokenizers compare fairly. Both stages compare losses
times per-expert factors (``loss_scale``, 1.0 unless `seqmoe-local calibrate` fitted
them), which is how a calibrated router corrects for "the bigger model has the lower
loss on everything"; the Routing keeps the raw losses.

``single_pass`` scoring runs ONE forward pass per expert over the question and
reads each segment's loss off the per-token NLLs inside its span (in context).
``templated`` is the reference implementation's method, kept for comparison: one
extra pass per segment over a role template such as "Problem: {task}".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Literal

from .config import OTHER_KIND, Profile, RouterConfig, StrictModel
from .scores import LN2, Score
from .segmenter import Segment

Reason = Literal["lowest_loss", "native_kept", "native_overridden", "forced", "only_active", "unscored"]

#: how each reason reads in the CLI and the TUI
REASON_LABELS: dict[str, str] = {
    "lowest_loss": "lowest loss",
    "native_kept": "native kept",
    "native_overridden": "native overridden",
    "forced": "forced",
    "only_active": "only active expert",
    "unscored": "too short to score",
}


class SegmentInfo(StrictModel):
    """A typed part of the question; offsets are characters, byte offsets UTF-8."""

    index: int
    kind: str
    text: str
    start: int
    end: int
    byte_start: int
    byte_end: int


class Assignment(StrictModel):
    """Who takes one task segment, and why."""

    segment: int
    kind: str
    expert: str
    reason: Reason
    native: str | None
    losses: dict[str, float]  # bits per byte of each active expert on this segment
    detail: str


class Routing(StrictModel):
    """Everything the router decided for one question, as `route --json` prints it."""

    question: str
    profile: str
    scoring: Literal["single_pass", "templated", "forced"]
    tau: float
    min_relative_gain: float
    segments: list[SegmentInfo]
    stage1: dict[str, float]  # bits per byte on the whole question, every expert scored
    best: str | None
    cutoff: float | None
    active: list[str]
    excluded: list[str]
    assignments: list[Assignment]
    common_start_byte: int  # bytes before this are skipped for every expert (unpredicted first token)
    tokens_scored: dict[str, int]
    seconds: float


Scorer = Callable[[str, str], Score]  # (expert name, text) -> Score


def _bpb(nats: float, n_bytes: float) -> float:
    return nats / LN2 / n_bytes if n_bytes > 0 else float("nan")


def segment_infos(question: str, segments: Sequence[Segment]) -> list[SegmentInfo]:
    """Attach UTF-8 byte offsets to the segmenter's character offsets."""
    return [
        SegmentInfo(
            index=i, kind=s.kind, text=s.text, start=s.start, end=s.end,
            byte_start=len(question[: s.start].encode()), byte_end=len(question[: s.end].encode()),
        )
        for i, s in enumerate(segments)
    ]


def task_segments(segments: Sequence[SegmentInfo]) -> list[SegmentInfo]:
    """The segments that get an expert: the non-context ones, or all of them when none is a task.

    A question the segmenter could not type (another language, say) is one
    "other" segment; it is still answered, by the expert with the lowest loss.
    """
    return [s for s in segments if s.kind != OTHER_KIND] or list(segments)


def scoring_order(profile: Profile, resident: Sequence[str], segments: Sequence[SegmentInfo]) -> list[str]:
    """Experts in the order to score them so each loads once per query.

    Resident experts go first (free). The others follow, those that will likely
    generate first (natives of early segments) last, so they are still resident
    when generation starts.
    """
    first_use: dict[str, int] = {}
    for position, seg in enumerate(segments):
        native = profile.natives.get(seg.kind)
        if native is not None:
            first_use.setdefault(native, position)
    others = [e for e in profile.experts if e not in resident]
    others.sort(key=lambda e: -first_use.get(e, len(segments)))
    return [e for e in resident if e in profile.experts] + others


def choose(
    kind: str, losses: dict[str, float], native: str | None, min_relative_gain: float, unit: str = "bpb"
) -> tuple[str, Reason, str]:
    """Stage 2 for one segment: (expert, reason, human detail); `unit` names the losses in the detail."""
    lowest = min(losses, key=lambda e: (losses[e], e))
    if len(losses) == 1:
        return lowest, "only_active", f"{lowest} is the only active expert"
    if native is None or native not in losses:
        why = "no native expert" if native is None else f"native {native} is not active"
        return lowest, "lowest_loss", f"{why}; {lowest} has the lowest loss ({losses[lowest]:.3f} {unit})"
    if lowest == native:
        return native, "lowest_loss", f"native {native} has the lowest loss ({losses[native]:.3f} {unit})"
    gain = 1.0 - losses[lowest] / losses[native] if losses[native] > 0 else 0.0
    versus = f"{lowest} {losses[lowest]:.3f} vs native {native} {losses[native]:.3f} {unit} ({gain:+.0%} gain"
    if gain >= min_relative_gain - 1e-9:  # "at least": 1 - 0.8/1.0 is 0.19999999999999996 in floats
        return lowest, "native_overridden", f"{versus} >= {min_relative_gain:.0%})"
    return native, "native_kept", f"{versus} < {min_relative_gain:.0%})"


def scaled(losses: dict[str, float], kind: str | None, settings: RouterConfig) -> dict[str, float]:
    """Losses times each expert's calibrated factor (`RouterConfig.loss_scale`); unchanged without one.

    Raw bits per byte mostly rank experts by size and tokenizer; the factors (fitted by
    `seqmoe-local calibrate`) put each expert's loss relative to its own typical loss.
    """
    if not settings.loss_scale:
        return dict(losses)
    return {e: v * settings.scale(e, kind) for e, v in losses.items()}


def stage1_active(
    stage1: dict[str, float], order: Sequence[str], settings: RouterConfig
) -> tuple[str | None, float | None, list[str]]:
    """Stage 1 on (raw) whole-question losses: (best, cutoff, active experts in `order`).

    The comparison is on calibrated losses; with no loss at all (a one-token question)
    every expert stays active.
    """
    if not stage1:
        return None, None, list(order)
    adjusted = scaled(stage1, None, settings)
    best = min(adjusted, key=lambda e: (adjusted[e], e))
    cutoff = (1.0 + settings.tau) * adjusted[best]
    return best, cutoff, [e for e in order if e in adjusted and adjusted[e] <= cutoff]


def assign_segment(
    kind: str, losses: dict[str, float], native: str | None, active: Sequence[str], settings: RouterConfig
) -> tuple[str, Reason, str]:
    """Stage 2 for one segment from its raw losses over the active experts (the router and eval's policies share it)."""
    if losses:
        unit = "scaled bpb" if settings.loss_scale else "bpb"
        return choose(kind, scaled(losses, kind, settings), native, settings.min_relative_gain, unit)
    expert = native if native is not None and native in active else active[0]
    role = "native" if expert == native else "first"
    return expert, "unscored", f"{expert} takes it as the {role} expert: the question is one token for some experts"


def forced_routing(
    question: str,
    profile: Profile,
    segments: Sequence[Segment],
    assign: Callable[[SegmentInfo], str],
    why: str,
) -> Routing:
    """Route without scoring: `assign` picks each task segment's expert (``--expert``, native-only)."""
    infos = segment_infos(question, segments)
    assignments = [
        Assignment(segment=s.index, kind=s.kind, expert=assign(s), reason="forced",
                   native=profile.natives.get(s.kind), losses={}, detail=why)
        for s in task_segments(infos)
    ]
    experts = list(dict.fromkeys(a.expert for a in assignments))
    return Routing(
        question=question, profile=profile.name, scoring="forced", tau=0.0, min_relative_gain=0.0,
        segments=infos, stage1={}, best=None, cutoff=None, active=experts, excluded=[],
        assignments=assignments, common_start_byte=0, tokens_scored={}, seconds=0.0,
    )


def route(
    question: str,
    segments: Sequence[Segment],
    profile: Profile,
    settings: RouterConfig,
    score: Scorer,
    resident: Sequence[str] = (),
) -> Routing:
    """Route the question's task segments to experts (see the module docstring)."""
    started = time.perf_counter()
    infos = segment_infos(question, segments)
    tasks = task_segments(infos)
    order = scoring_order(profile, resident, tasks)
    scores = {name: score(name, question) for name in order}
    tokens = {name: s.n_tokens for name, s in scores.items()}
    # Models without a start token never predict their first token: compare every
    # expert over the bytes that all of them predict.
    common = max(s.first_covered_byte for s in scores.values())
    total = len(question.encode())
    # The question is one token for some expert ("hello"): no bytes to compare on.
    stage1 = {name: _bpb(*s.span_nll(common, total)) for name, s in scores.items()} if common < total else {}
    best, cutoff, active = stage1_active(stage1, order, settings)
    excluded = [e for e in order if e not in active]

    assignments = []
    for seg in tasks:
        if settings.scoring == "single_pass":
            losses = {e: _bpb(*scores[e].span_nll(max(seg.byte_start, common), seg.byte_end)) for e in active}
        else:
            context = " ".join(s.text for s in infos if s.kind == OTHER_KIND)
            role = profile.roles.get(seg.kind)
            text = (role.template if role else "{task}").format(context=context, task=seg.text, previous="").strip()
            templated = {e: score(e, text) for e in active}
            start = max(s.first_covered_byte for s in templated.values())
            end = len(text.encode())
            losses = {e: _bpb(*s.span_nll(start, end)) for e, s in templated.items()}
            for e, s in templated.items():
                tokens[e] += s.n_tokens
        # A segment inside the unpredicted first token has no loss: fall back to stage 1.
        losses = {e: v if math.isfinite(v) else stage1[e] for e, v in losses.items() if math.isfinite(v) or e in stage1}
        native = profile.natives.get(seg.kind)
        expert, reason, detail = assign_segment(seg.kind, losses, native, active, settings)
        assignments.append(Assignment(segment=seg.index, kind=seg.kind, expert=expert, reason=reason,
                                      native=native, losses=losses, detail=detail))
    return Routing(
        question=question, profile=profile.name, scoring=settings.scoring, tau=settings.tau,
        min_relative_gain=settings.min_relative_gain, segments=infos, stage1=stage1, best=best, cutoff=cutoff,
        active=active, excluded=excluded, assignments=assignments, common_start_byte=common,
        tokens_scored=tokens, seconds=time.perf_counter() - started,
    )
