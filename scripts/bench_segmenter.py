"""Measure the segmenter on its labelled corpus: accuracy on dev and test, the worst misses, time.

Run from the repository root (pure Python, no models, no CPU lock needed):

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_segmenter.py [--corpus FILE] [--worst N] [--reps N] [--dev-only]

``--dev-only`` prints the dev figures and dev misses only, and never segments a test question:
use it while tuning, so that the test part stays unseen until it is measured once.

The corpus is ``seqmoe_local/data/segmenter_corpus.jsonl`` (labelling rules and the dev/test
split: ``seqmoe_local/data/SEGMENTER_CORPUS.md``). Each question is segmented with the built-in
cue table (``DEFAULT_CUES``, what every role gets unless models.toml sets ``cues``).

Measures, per part of the corpus (a question counts as right or wrong as a whole):

- **set**: the set of task kinds (every kind but "other") equals the expected set;
- **collapsed**: the ordered task kinds, consecutive repeats collapsed, are equal
  ("solve solve explain" and "solve explain" match; "other" parts are left out first);
- **ordered**: the ordered task kinds are equal, repeats included;
- **segments** (for information): kinds and texts both equal, whitespace aside, the
  strictest reading, as ``seqmoe-local eval`` scores it;
- **no task**: questions whose expected segments hold a task but which came back without
  any (the target is none).

Each measure is shown for the segmenter as shipped and for its rules alone (``segment(...,
refine=False)``, without the learned second reading of ``seqmoe_local.segment_model``).

Then the worst misses over the parts shown (largest distance between expected and found task
kinds), every test question that is wrong under set, collapsed or ordered, by id, and the time
per question, for both readings side by side: every question segmented ``--reps`` times by each
after one warm-up pass (the cue table is compiled and the weights read once), the two taking
turns, mean and slowest question (median of its reps), and the ratio of the means.

Targets (issue 13, on the test part): set >= 95%, collapsed >= 90%, no task: 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import print_table  # scripts/ is on sys.path when a script runs

from seqmoe_local.segmenter import OTHER, segment

CORPUS = Path(__file__).resolve().parent.parent / "seqmoe_local" / "data" / "segmenter_corpus.jsonl"
PARTS = ("dev", "test")


@dataclass(frozen=True)
class Outcome:
    """One question's expected and found segments, with the verdict under each measure."""

    qid: str
    part: str
    stratum: str
    expected: tuple[tuple[str, str], ...]  # (kind, text)
    found: tuple[tuple[str, str], ...]

    @property
    def expected_tasks(self) -> list[str]:
        return [k for k, _ in self.expected if k != OTHER]

    @property
    def found_tasks(self) -> list[str]:
        return [k for k, _ in self.found if k != OTHER]

    @property
    def set_ok(self) -> bool:
        return set(self.expected_tasks) == set(self.found_tasks)

    @property
    def collapsed_ok(self) -> bool:
        return _collapse(self.expected_tasks) == _collapse(self.found_tasks)

    @property
    def ordered_ok(self) -> bool:
        return self.expected_tasks == self.found_tasks

    @property
    def segments_ok(self) -> bool:
        return [(k, _squash(t)) for k, t in self.expected] == [(k, _squash(t)) for k, t in self.found]

    @property
    def no_task(self) -> bool:
        return bool(self.expected_tasks) and not self.found_tasks

    @property
    def distance(self) -> tuple[int, int]:
        """How far off: edit distance of the collapsed task kinds, then of the ordered ones."""
        return (_edit(_collapse(self.expected_tasks), _collapse(self.found_tasks)),
                _edit(self.expected_tasks, self.found_tasks))


def _collapse(kinds: list[str]) -> list[str]:
    return [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _edit(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two kind sequences."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def load(path: Path) -> list[dict]:
    """The corpus records, checked for the fields the benchmark reads."""
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            record = json.loads(line)
            if record.get("split") not in PARTS:
                sys.exit(f"{path}:{n}: split must be one of {PARTS}, got {record.get('split')!r}")
            records.append(record)
    return records


def _kinds(pairs: tuple[tuple[str, str], ...]) -> str:
    return " ".join(k for k, _ in pairs) or "-"


def _rate(ok: int, n: int) -> str:
    return f"{ok}/{n} {100 * ok / n:5.1f}%" if n else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--worst", type=int, default=12, help="how many of the worst misses to print")
    parser.add_argument("--reps", type=int, default=20, help="timed passes over the corpus")
    parser.add_argument("--dev-only", action="store_true",
                        help="dev figures and dev misses only; the test part is not even segmented (for tuning)")
    args = parser.parse_args()

    records = load(args.corpus)
    parts = ("dev",) if args.dev_only else PARTS
    if args.dev_only:
        records = [r for r in records if r["split"] == "dev"]
    def read(refine: bool) -> list[Outcome]:
        return [
            Outcome(
                r["id"], r["split"], r["category"] if r["lang"] == "en" else r["lang"],
                tuple((s["kind"], s["text"]) for s in r["segments"]),
                tuple((s.kind, s.text) for s in segment(r["query"], refine=refine)),
            )
            for r in records
        ]

    outcomes = read(refine=True)
    rules_alone = read(refine=False)

    print(f"corpus: {args.corpus} ({len(records)} questions)\n")
    rows = []
    for part in parts:
        for reading, chosen_from in (("segmenter", outcomes), ("rules alone", rules_alone)):
            chosen = [o for o in chosen_from if o.part == part]
            n = len(chosen)
            rows.append([part, reading, str(n)] + [
                _rate(sum(getattr(o, m) for o in chosen), n)
                for m in ("set_ok", "collapsed_ok", "ordered_ok", "segments_ok")
            ] + [str(sum(o.no_task for o in chosen))])
    print_table(["part", "reading", "n", "set", "collapsed", "ordered", "segments", "no task"], rows)

    print(f"\nset / collapsed accuracy per category (English) and language, {' | '.join(parts)}:")
    strata = sorted({o.stratum for o in outcomes}, key=lambda s: (len(s) == 2, s))
    rows = []
    for stratum in strata:
        row = [stratum]
        for part in parts:
            chosen = [o for o in outcomes if o.part == part and o.stratum == stratum]
            row += [_rate(sum(o.set_ok for o in chosen), len(chosen)),
                    _rate(sum(o.collapsed_ok for o in chosen), len(chosen))]
        rows.append(row)
    print_table(["stratum"] + [f"{part} {m}" for part in parts for m in ("set", "collapsed")], rows)

    wrong = [o for o in outcomes if not o.ordered_ok]
    worst = sorted(wrong, key=lambda o: (not o.no_task, o.set_ok, tuple(-d for d in o.distance), o.qid))[: args.worst]
    print(f"\nworst misses ({len(worst)} of {len(wrong)} with ordered kinds wrong, {' and '.join(parts)}):")
    for o in worst:
        print(f"  {o.qid} [{o.part}] expected: {_kinds(o.expected)} | found: {_kinds(o.found)}")

    shown = "dev" if args.dev_only else "test"
    part_wrong = [o for o in outcomes if o.part == shown and not (o.set_ok and o.collapsed_ok and o.ordered_ok)]
    print(f"\n{shown} questions wrong under set, collapsed or ordered ({len(part_wrong)}):")
    for o in part_wrong:
        failed = ",".join(
            m for m, ok in (("set", o.set_ok), ("collapsed", o.collapsed_ok), ("ordered", o.ordered_ok)) if not ok
        )
        print(f"  {o.qid} ({failed}) expected: {_kinds(o.expected)} | found: {_kinds(o.found)}")
        for kind, text in o.found:
            print(f"      {kind:8s} {_squash(text)[:110]}")

    queries = [r["query"] for r in records]
    for q in queries:  # warm-up: compile the cue table, read the learned weights, fill caches
        segment(q)
    # The whole segmenter and the rules alone, side by side: passes alternate which goes first.
    per_question: dict[bool, list[list[float]]] = {True: [[] for _ in queries], False: [[] for _ in queries]}
    for rep in range(args.reps):
        for i, q in enumerate(queries):
            for refine in ((True, False) if rep % 2 == 0 else (False, True)):
                t0 = time.perf_counter()
                segment(q, refine=refine)
                per_question[refine][i].append(time.perf_counter() - t0)
    mean = {}
    for refine, label in ((True, "segmenter"), (False, "rules alone")):
        medians = [statistics.median(times) for times in per_question[refine]]
        slowest = max(range(len(queries)), key=medians.__getitem__)
        mean[refine] = sum(sum(times) for times in per_question[refine]) / (len(queries) * args.reps)
        print(f"\ntime per question, {label}: mean {1000 * mean[refine]:.3f} ms, slowest "
              f"{1000 * medians[slowest]:.3f} ms ({records[slowest]['id']}, {len(queries[slowest])} chars), "
              f"{args.reps} passes over {len(queries)} questions", end="")
    print(f"\nthe learned second reading costs {mean[True] / mean[False]:.2f}x the rules' time")


if __name__ == "__main__":
    main()
