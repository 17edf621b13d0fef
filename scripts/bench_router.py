"""Benchmark single-pass against templated router scoring on 3-part questions.

Run from the repository root (the demo GGUFs must be in the models directory):

    SEQMOE_MODELS_DIR=/tmp/models-dev .venv/bin/python scripts/bench_router.py [--reps N] [--limit N]

The questions are ``scripts/questions_3part.jsonl``: maths and CS questions of
three tasks each (solve / explain / code), some with a context sentence first,
some as a numbered list. Each is routed through ``Pipeline.route`` with the demo
profile, once per scoring method:

- ``single_pass`` (shipped): one forward pass per expert over the question; each
  segment's loss is read off the per-token losses inside its span.
- ``templated`` (the reference's method): the same stage-1 pass, plus one pass per
  active expert per task segment over a role template ("Problem: {task}", ...),
  which also repeats the question's context for every segment.

Per query it measures, side by side in one run:

- tokens evaluated: the sum of ``Routing.tokens_scored`` over the experts (work
  done by llama.cpp, deterministic);
- routing wall time: ``Routing.seconds`` (segment byte offsets, every scoring
  pass, both stages);
- model loads: pool load events during the call;
- process CPU time of the call (all threads), printed in the summary as a
  cross-check: on a shared machine wall time also counts waiting for a core.

Fairness. Both methods share one pool with ``max_resident=3``, so all three experts
stay loaded and routing time compares scoring work, not loading; the experts are
loaded, and each method routes one question, before any timing. Methods are
interleaved per question (A B, then B A on the next, so neither always runs
first) and every question is repeated ``--reps`` times; the median per question
is kept, because this small machine is noisy. The time ratio is that of the mean
of the per-question medians (templated / single-pass), i.e. of total time.

Loads are then measured again with the shipped ``[pool] max_resident`` (2 of 3
experts): each method gets its own fresh pool, routes the first question once to
reach a steady state, then routes the first LOADS_QUESTIONS questions once each,
as consecutive ``ask`` calls would (the routing time printed there includes the
loads). Single-pass scores each expert once per query; templated goes through the
active experts once per segment, which an LRU pool of two cannot hold. The count
depends on the number of segments and of active experts, not on the wording, so
a few questions suffice (the whole run takes about 4.5 minutes on 2 cores;
``--reps 2`` or ``--limit`` shorten it).

Assignments. "Agreement" is the fraction of task segments that both methods give
to the same expert. Since "same or better" needs a yardstick, each method's
"native agreement" is also printed: the fraction of segments assigned to the
question file's ``expected_expert`` for the segment's role, which is the demo
profile's native expert for that role. Native agreement is a convention, not
ground truth: a non-native expert that really fits a segment better loses points.
The target counts as met when single-pass assigns every segment as templated does,
or when its native agreement is at least templated's.

Targets: templated evaluates >= 2.5x the tokens of single-pass, and takes >= 2x
its routing time, with the same or better assignments.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import positive, print_table  # scripts/ is on sys.path when a script runs

from seqmoe_local.config import AppConfig, Profile, load_config
from seqmoe_local.pipeline import Pipeline
from seqmoe_local.pool import ModelPool
from seqmoe_local.router import Routing

PROFILE = "demo"
QUESTIONS = Path(__file__).with_name("questions_3part.jsonl")
METHODS = ("single_pass", "templated")
TOKEN_TARGET = 2.5
TIME_TARGET = 2.0
LOADS_QUESTIONS = 3


@dataclass(frozen=True)
class Question:
    id: str
    query: str
    expected: dict[str, str]  # role -> expected expert


@dataclass
class Runs:
    """One method's results on one question, over the repetitions."""

    tokens: int = 0
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU seconds, all threads
    loads: list[int] = field(default_factory=list)
    assignments: list[tuple[tuple[str, str], ...]] = field(default_factory=list)  # per rep: (kind, expert)

    def add(self, routing: Routing, loads: int, cpu: float) -> None:
        self.tokens = sum(routing.tokens_scored.values())
        self.seconds.append(routing.seconds)
        self.cpu.append(cpu)
        self.loads.append(loads)
        self.assignments.append(tuple((a.kind, a.expert) for a in routing.assignments))

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    @property
    def stable(self) -> bool:
        return len(set(self.assignments)) == 1


def read_questions(path: Path, limit: int | None) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            questions.append(Question(data["id"], data["query"], data.get("expected_expert", {})))
    return questions[:limit]


def with_scoring(config: AppConfig, scoring: str) -> AppConfig:
    return config.model_copy(update={"router": config.router.model_copy(update={"scoring": scoring})})


def pipelines(config: AppConfig, profile: Profile, pool: ModelPool) -> dict[str, Pipeline]:
    return {m: Pipeline(with_scoring(config, m), profile, pool=pool) for m in METHODS}


def routed(pipeline: Pipeline, question: str) -> tuple[Routing, int, float]:
    """Route once; returns the routing, the model loads it caused and the process CPU seconds it took."""
    before = len(pipeline.pool.events)
    cpu = time.process_time()
    routing = pipeline.route(question)
    cpu = time.process_time() - cpu
    return routing, sum(e.kind == "load" for e in pipeline.pool.events[before:]), cpu


def timed_phase(config: AppConfig, profile: Profile, questions: list[Question], reps: int) -> list[dict[str, Runs]]:
    """Both methods, all experts resident, interleaved per question, `reps` times."""
    with ModelPool(config, profile, max_resident=len(profile.experts)) as pool:
        by_method = pipelines(config, profile, pool)
        for name in profile.experts:
            pool.get(name)
        for pipeline in by_method.values():  # first-use allocations outside the clock
            pipeline.route(questions[0].query)
        results = [{m: Runs() for m in METHODS} for _ in questions]
        for rep in range(reps):
            for i, question in enumerate(questions):
                order = METHODS if (rep + i) % 2 == 0 else METHODS[::-1]
                for method in order:
                    results[i][method].add(*routed(by_method[method], question.query))
    return results


def loads_phase(config: AppConfig, profile: Profile, questions: list[Question]) -> dict[str, tuple[float, float]]:
    """Per method, shipped max_resident, first LOADS_QUESTIONS: (mean loads/query, mean routing s incl. loads)."""
    out = {}
    for method in METHODS:
        with ModelPool(config, profile) as pool:
            pipeline = pipelines(config, profile, pool)[method]
            pipeline.route(questions[0].query)  # steady state: the pool holds what the last query left
            runs = [routed(pipeline, q.query) for q in questions[:LOADS_QUESTIONS]]
        out[method] = (
            statistics.mean(loads for _, loads, _ in runs),
            statistics.mean(routing.seconds for routing, _, _ in runs),
        )
    return out


def abbreviations(names: list[str]) -> dict[str, str]:
    """Shortest prefix of each expert name that no other name starts with."""
    short = {}
    for name in names:
        length = 1
        while any(o != name and o.startswith(name[:length]) for o in names):
            length += 1
        short[name] = name[:length]
    return short


def native_hits(question: Question, assignments: tuple[tuple[str, str], ...]) -> int:
    return sum(question.expected.get(kind) == expert for kind, expert in assignments)


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(
    questions: list[Question],
    results: list[dict[str, Runs]],
    loads: dict[str, tuple[float, float]],
    profile: Profile,
    shipped_resident: int,
) -> None:
    short = abbreviations(list(profile.experts))
    rows = []
    for question, runs in zip(questions, results, strict=False):
        sp, tpl = runs["single_pass"], runs["templated"]
        kinds = "+".join(kind[0] for kind, _ in sp.assignments[0])
        same = sum(a == b for a, b in zip(sp.assignments[0], tpl.assignments[0], strict=False))
        rows.append([
            question.id, kinds,
            str(sp.tokens), str(tpl.tokens), f"{tpl.tokens / sp.tokens:.2f}",
            f"{sp.median_seconds * 1000:.0f}", f"{tpl.median_seconds * 1000:.0f}",
            f"{tpl.median_seconds / sp.median_seconds:.2f}",
            " ".join(short[e] for _, e in sp.assignments[0]), " ".join(short[e] for _, e in tpl.assignments[0]),
            f"{same}/{len(sp.assignments[0])}",
            f"{native_hits(question, sp.assignments[0])}/{native_hits(question, tpl.assignments[0])}",
        ])  # fmt: skip
    print_table(
        ["question", "tasks", "tok sp", "tok tpl", "tok x", "ms sp", "ms tpl", "time x",
         "experts sp", "experts tpl", "same", "native sp/tpl"],
        rows,
    )  # fmt: skip
    print("experts: " + ", ".join(f"{a} = {name}" for name, a in short.items()) + "; tasks: s solve, e explain, c code")

    def mean(method: str, value: str) -> float:
        return statistics.mean(getattr(r[method], value) for r in results)

    tokens = {m: mean(m, "tokens") for m in METHODS}
    seconds = {m: mean(m, "median_seconds") for m in METHODS}
    cpu = {m: mean(m, "median_cpu") for m in METHODS}
    resident_loads = {m: statistics.mean(n for r in results for n in r[m].loads) for m in METHODS}
    n_segments = sum(len(r["single_pass"].assignments[0]) for r in results)
    same = sum(
        a == b
        for r in results
        for a, b in zip(r["single_pass"].assignments[0], r["templated"].assignments[0], strict=False)
    )
    native = {
        m: sum(native_hits(q, r[m].assignments[0]) for q, r in zip(questions, results, strict=False)) for m in METHODS
    }
    unstable = [q.id for q, r in zip(questions, results, strict=False) if not all(r[m].stable for m in METHODS)]
    token_ratio = tokens["templated"] / tokens["single_pass"]
    time_ratio = seconds["templated"] / seconds["single_pass"]
    token_x = [r["templated"].tokens / r["single_pass"].tokens for r in results]
    time_x = [r["templated"].median_seconds / r["single_pass"].median_seconds for r in results]
    n_loads = min(LOADS_QUESTIONS, len(questions))

    print()
    print(f"tokens/query      sp {tokens['single_pass']:.1f}  tpl {tokens['templated']:.1f}"
          f"  (per-question x {min(token_x):.2f}..{max(token_x):.2f})")
    print(f"routing ms/query  sp {seconds['single_pass'] * 1000:.0f}  tpl {seconds['templated'] * 1000:.0f}"
          f"  (per-question x {min(time_x):.2f}..{max(time_x):.2f})")
    print(f"CPU ms/query      sp {cpu['single_pass'] * 1000:.0f}  tpl {cpu['templated'] * 1000:.0f}"
          f"  (x {cpu['templated'] / cpu['single_pass']:.2f}; process CPU time, less disturbed by other processes)")
    print(f"loads/query       max_resident={len(profile.experts)} (timed): "
          f"sp {resident_loads['single_pass']:.2f}  tpl {resident_loads['templated']:.2f}")
    print(f"                  max_resident={shipped_resident} (shipped, first {n_loads} questions once): "
          f"sp {loads['single_pass'][0]:.2f}  tpl {loads['templated'][0]:.2f};  routing ms/query incl. loads "
          f"sp {loads['single_pass'][1] * 1000:.0f}  tpl {loads['templated'][1] * 1000:.0f}")
    print(f"agreement         same expert {same}/{n_segments} = {same / n_segments:.2f};  native agreement "
          f"sp {native['single_pass']}/{n_segments} = {native['single_pass'] / n_segments:.2f}  "
          f"tpl {native['templated']}/{n_segments} = {native['templated'] / n_segments:.2f}")
    if unstable:
        print(f"note: assignments varied across repetitions for {', '.join(unstable)}; the table shows the first")
    assignments_ok = same == n_segments or native["single_pass"] >= native["templated"]
    print(
        f"SUMMARY tokens tpl/sp {token_ratio:.2f} (>= {TOKEN_TARGET}: {mark(token_ratio >= TOKEN_TARGET)})  "
        f"time tpl/sp {time_ratio:.2f} (>= {TIME_TARGET}: {mark(time_ratio >= TIME_TARGET)})  "
        f"agreement {same / n_segments:.2f}, native sp {native['single_pass'] / n_segments:.2f} "
        f"vs tpl {native['templated'] / n_segments:.2f} (same or better: {mark(assignments_ok)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=positive, default=3, help="timed repetitions per question (default 3)")
    parser.add_argument("--limit", type=positive, help="use only the first N questions")
    args = parser.parse_args()

    config = load_config(use_user_file=False)
    profile = config.profile(PROFILE)
    missing = [str(config.model_path(e)) for e in profile.experts.values() if not config.model_path(e).is_file()]
    if missing:
        print("missing model file(s):\n  " + "\n  ".join(missing), file=sys.stderr)
        print(f"fetch them with: seqmoe-local pull --profile {PROFILE}", file=sys.stderr)
        return 1
    questions = read_questions(QUESTIONS, args.limit)

    started = time.perf_counter()
    print(f"{len(questions)} questions from {QUESTIONS.name}, profile {PROFILE}, tau {config.router.tau}, "
          f"min_relative_gain {config.router.min_relative_gain}, median of {args.reps} interleaved reps")
    results = timed_phase(config, profile, questions, args.reps)
    loads = loads_phase(config, profile, questions)
    print()
    report(questions, results, loads, profile, config.pool.max_resident)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
