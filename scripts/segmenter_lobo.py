"""Leave-one-batch-out: would a word-statistics guess type requests better than the segmenter's content rules?

Run from the repository root (pure Python, no models):

    PYTHONPATH=$PWD .venv/bin/python scripts/segmenter_lobo.py [--corpus FILE]

The segmenter types a request that no cue types by its content (`segmenter._content_kind`: code
words, then maths words, else prose). A data-driven alternative is a naive-Bayes table of words
per kind learnt from the labelled corpus. This script judges it the only honest way the corpus
allows: for each batch, the table is learnt from the other batches only and tested on that one.

Two measures, per held-out batch and pooled:

- **segments**: every task segment of the batch typed from its words alone, by the table and by
  the content rules (how well each reads a kind from wording it has not seen);
- **segmenter**: the whole segmenter's task-kind set per question, with the content rules as they
  are and with the table taking over where the rules find nothing but prose (the one place where
  the table would be used).

The content rules were written with every batch in view, so they are favoured here; the table
is not. Stays a measurement: nothing in the package depends on it.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import seqmoe_local.segmenter as seg

CORPUS = Path(__file__).resolve().parent.parent / "seqmoe_local" / "data" / "segmenter_corpus.jsonl"
KINDS = ("solve", "explain", "code")
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[=+*/^<>]")


def _words(text: str) -> set[str]:
    return {"<num>" if w.isdigit() else w.lower() for w in _TOKEN.findall(text)}


def _kinds(kinds: Iterable[str]) -> set[str]:
    return set(kinds) - {seg.OTHER}


def naive_bayes(examples: list[tuple[str, str]]) -> Callable[[str], str]:
    """A Bernoulli-style naive Bayes over word presence, Laplace-smoothed, learnt from (kind, text) pairs."""
    counts = {k: Counter[str]() for k in KINDS}
    prior = Counter[str]()
    for kind, text in examples:
        prior[kind] += 1
        counts[kind].update(_words(text))
    vocabulary = set().union(*counts.values())
    totals = {k: sum(counts[k].values()) for k in KINDS}

    def classify(text: str) -> str:
        def score(k: str) -> float:
            known = (w for w in _words(text) if w in vocabulary)
            return math.log(prior[k] or 1) + sum(
                math.log((counts[k][w] + 1) / (totals[k] + len(vocabulary))) for w in known
            )

        return max(KINDS, key=score)

    return classify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    records = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    rules = seg._content_kind
    pooled = Counter[str]()
    print("batch  segments: n  table  rules   |  segmenter: n  rules  rules+table")
    for batch in sorted({r["batch"] for r in records}):
        train = [(s["kind"], s["text"]) for r in records if r["batch"] != batch for s in r["segments"]
                 if s["kind"] != seg.OTHER]
        test = [r for r in records if r["batch"] == batch]
        table = naive_bayes(train)
        held = [(s["kind"], s["text"]) for r in test for s in r["segments"] if s["kind"] != seg.OTHER]
        by_table = sum(table(t) == k for k, t in held)
        by_rules = sum(rules(t) == k for k, t in held)

        def with_table(words: str, table: Callable[[str], str] = table) -> str:
            kind = rules(words)
            return table(words) if kind == "explain" else kind

        right = {}
        for name, guess in (("rules", rules), ("rules+table", with_table)):
            seg._content_kind = guess
            try:
                right[name] = sum(
                    _kinds(s["kind"] for s in r["segments"]) == _kinds(s.kind for s in seg.segment(r["query"]))
                    for r in test
                )
            finally:
                seg._content_kind = rules
        pooled.update({"segments": len(held), "table": by_table, "rules": by_rules, "questions": len(test),
                       "q_rules": right["rules"], "q_table": right["rules+table"]})
        print(f"{batch:5}  {len(held):11} {by_table / len(held):6.1%} {by_rules / len(held):6.1%}   |"
              f"  {len(test):12} {right['rules']:6} {right['rules+table']:12}")
    print(f"all    {pooled['segments']:11} {pooled['table'] / pooled['segments']:6.1%} "
          f"{pooled['rules'] / pooled['segments']:6.1%}   |  {pooled['questions']:12} {pooled['q_rules']:6} "
          f"{pooled['q_table']:12}")


if __name__ == "__main__":
    main()
