"""Benchmark conversations: prefix reuse against re-reading, layout vs bare routing, and the loop guard.

Run from the repository root (the demo GGUFs must be in the models directory):

    .venv/bin/python scripts/bench_conversation.py [--max-tokens N] [--parts conversation,layout,loops]

1. conversation: a scripted 5-turn conversation (a three-part first turn, then short
   follow-ups) on the demo profile with the shipped ``[pool] max_resident``, run
   twice in this process: with the shipped layout and KV reuse (prefix kept, evicted
   experts' state restored), and re-reading everything (``ModelPool(reuse_prefix=False)``:
   every scoring and generation call reads its whole prompt). Both runs use the
   same prompts, so they generate the same greedy answers; only what is read again
   differs. Per turn: time to first token (from the question to the first streamed
   token: routing, loads and prefill), total time, and prompt tokens evaluated
   (routing and generation). Targets: tokens prefilled on turns 2-5 at most 0.35x
   of re-reading; time to first token on turn 5 at most 0.5x.
2. layout: how much routing changes when every expert scores the question inside
   its prompt layout (system text, chat template) instead of as a bare text:
   assignment agreement and stage-1 winners on scripts/questions_3part.jsonl.
3. loops: the loop guard's effect on the same 12 questions: tokens generated and
   wall time of ``ask``, with and without it, and how many segments it cut.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import print_table  # scripts/ is on sys.path when a script runs

from seqmoe_local.config import AppConfig, load_config
from seqmoe_local.pipeline import AskResult, Event, Pipeline, TokenGenerated, answer_text
from seqmoe_local.pool import ModelPool
from seqmoe_local.prompts import Exchange
from seqmoe_local.router import route
from seqmoe_local.segmenter import segment

PROFILE = "demo"
QUESTIONS = Path(__file__).with_name("questions_3part.jsonl")
CONVERSATION = [
    "A train travels 120 km in 1.5 hours. Find its average speed, explain how you got it, "
    "then write a Python function that computes average speed.",
    "Now make the function take a list of (distance, hours) pairs and return the average speeds.",
    "Why did you divide the distance by the time?",
    "What about a trip of 300 km in 2.5 hours?",
    "Rewrite the function so it raises ValueError when the hours are zero.",
]
PREFILL_TARGET = 0.35
FIRST_TOKEN_TARGET = 0.5


@dataclass
class TurnFigures:
    first_token: float
    total: float
    prefilled: int
    answer: str
    left_out: int


@dataclass
class FirstToken:
    """Records when the first token of an answer streamed."""

    started: float = 0.0
    at: float | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, TokenGenerated) and self.at is None:
            self.at = time.perf_counter()


def converse(config: AppConfig, reuse: bool, max_tokens: int) -> list[TurnFigures]:
    """Run the scripted conversation once; figures per turn."""
    profile = config.profile(PROFILE)
    watch = FirstToken()
    pipeline = Pipeline(config, profile, pool=ModelPool(config, profile, reuse_prefix=reuse), on_event=watch)
    history: list[Exchange] = []
    figures = []
    try:
        for question in CONVERSATION:
            watch.started, watch.at = time.perf_counter(), None
            result = pipeline.ask(question, history=history, max_new_tokens=max_tokens)
            total = time.perf_counter() - watch.started
            answer = answer_text(result.outputs)
            first = (watch.at or time.perf_counter()) - watch.started
            figures.append(TurnFigures(first, total, result.prefilled_tokens, answer, result.history.left_out))
            history.append(Exchange(question, answer))
    finally:
        pipeline.close()
    return figures


def conversation_part(config: AppConfig, max_tokens: int) -> bool:
    print(f"\n== 1. a 5-turn conversation, max {max_tokens} new tokens per segment, "
          f"max_resident {config.pool.max_resident} ==")
    reuse = converse(config, True, max_tokens)
    reread = converse(config, False, max_tokens)
    rows = []
    for turn, (a, b) in enumerate(zip(reuse, reread, strict=False), start=1):
        rows.append([str(turn), f"{a.first_token:.1f}", f"{b.first_token:.1f}", f"{a.first_token / b.first_token:.2f}",
                     f"{a.total:.1f}", f"{b.total:.1f}", str(a.prefilled), str(b.prefilled),
                     f"{a.prefilled / b.prefilled:.2f}", "same" if a.answer == b.answer else "DIFFERENT"])
    print_table(["turn", "ttft reuse s", "ttft reread s", "ratio", "total reuse s", "total reread s",
                 "prefilled reuse", "prefilled reread", "ratio", "answers"], rows)
    later = sum(f.prefilled for f in reuse[1:]) / sum(f.prefilled for f in reread[1:])
    ttft5 = reuse[4].first_token / reread[4].first_token
    ok_prefill, ok_ttft = later <= PREFILL_TARGET, ttft5 <= FIRST_TOKEN_TARGET
    print(f"tokens prefilled, turns 2-5: {later:.2f}x of re-reading (target <= {PREFILL_TARGET}: "
          f"{'met' if ok_prefill else 'MISSED'})")
    print(f"time to first token, turn 5: {ttft5:.2f}x (target <= {FIRST_TOKEN_TARGET}: "
        f"{'met' if ok_ttft else 'MISSED'})")
    return ok_prefill and ok_ttft


def layout_part(config: AppConfig) -> None:
    print("\n== 2. routing in the prompt layout vs the bare question ==")
    profile = config.profile(PROFILE)
    roomy = config.model_copy(update={"pool": config.pool.model_copy(update={"max_resident": 3})})
    pipeline = Pipeline(roomy, profile)
    questions = [json.loads(line)["query"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    same = total = same_best = 0
    rows = []
    try:
        for question in questions:
            layout = pipeline.route(question)
            bare = route(question, segment(question, pipeline.cues), profile, config.router,
                         lambda name, text: pipeline.pool.get(name).score(text), pipeline.pool.resident)
            pairs = list(zip(layout.assignments, bare.assignments, strict=False))
            same += sum(a.expert == b.expert for a, b in pairs)
            total += len(pairs)
            same_best += layout.best == bare.best
            rows.append([question[:40], " ".join(a.expert[:5] for a, _ in pairs),
                         " ".join(b.expert[:5] for _, b in pairs), f"{layout.best} / {bare.best}"])
    finally:
        pipeline.close()
    print_table(["question", "layout", "bare", "stage-1 best (layout / bare)"], rows)
    print(f"assignment agreement: {same}/{total} segments ({same / total:.0%}); "
          f"same stage-1 best on {same_best}/{len(questions)} questions")


def loops_part(config: AppConfig, max_tokens: int) -> None:
    print(f"\n== 3. the loop guard on {QUESTIONS.name}, max {max_tokens} new tokens per segment ==")
    questions = [json.loads(line)["query"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    results: dict[bool, list[AskResult]] = {}
    seconds: dict[bool, float] = {}
    for guard in (True, False):
        guarded = config.model_copy(update={"pipeline": config.pipeline.model_copy(update={"loop_guard": guard})})
        profile = guarded.profile(PROFILE)
        pipeline = Pipeline(guarded, profile)
        started = time.perf_counter()
        try:
            results[guard] = [pipeline.ask(q, max_new_tokens=max_tokens) for q in questions]
        finally:
            pipeline.close()
        seconds[guard] = time.perf_counter() - started
    tokens = {g: sum(o.tokens for r in rs for o in r.outputs) for g, rs in results.items()}
    cut = sum(o.finish_reason == "repetition" for r in results[True] for o in r.outputs)
    segments = sum(len(r.outputs) for r in results[True])
    at_limit = {g: sum(o.finish_reason == "length" for r in rs for o in r.outputs) for g, rs in results.items()}
    print_table(["", "tokens generated", "wall s", "segments at max tokens"], [
        ["with the guard", str(tokens[True]), f"{seconds[True]:.0f}", str(at_limit[True])],
        ["without", str(tokens[False]), f"{seconds[False]:.0f}", str(at_limit[False])],
    ])
    print(f"the guard cut {cut} of {segments} segments; tokens {tokens[True] / tokens[False]:.2f}x, "
          f"wall time {seconds[True] / seconds[False]:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-tokens", type=int, default=128, help="new tokens per segment (default 128)")
    parser.add_argument("--parts", default="conversation,layout,loops", help="which parts to run, comma-separated")
    args = parser.parse_args()
    config = load_config(use_user_file=False)
    parts = set(args.parts.split(","))
    started = time.perf_counter()
    met = True
    if "conversation" in parts:
        met = conversation_part(config, args.max_tokens)
    if "layout" in parts:
        layout_part(config)
    if "loops" in parts:
        loops_part(config, args.max_tokens)
    print(f"\n[{time.perf_counter() - started:.0f} s]")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
