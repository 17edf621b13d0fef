"""Train the segmenter's learned second reading and write ``seqmoe_local/data/segment_model.tsv``.

Run from the repository root after changing the corpus, the segmenter's rules or
``seqmoe_local/segment_model.py`` (pure Python, about a minute; a test names this command when
the shipped weights are older than what they were trained from):

    PYTHONPATH=$PWD .venv/bin/python scripts/train_segment_model.py

It reads the corpus's dev part only (the test part is never trained on), segments each question
with the rules alone (``segment(..., refine=False)``), and learns the splitter and the typer of
``seqmoe_local.segment_model`` from the rules' parts and the labelled ones. Deterministic: the same
inputs give the same file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from seqmoe_local import segment_model
from seqmoe_local.segmenter import mask_code, segment

CORPUS = Path(__file__).resolve().parent.parent / "seqmoe_local" / "data" / "segmenter_corpus.jsonl"


def labelled_parts(query: str, segments: list[dict]) -> list[segment_model.Part]:
    """The corpus's expected parts as (kind, start, end), found in order in the query."""
    parts, position = [], 0
    for expected in segments:
        start = query.index(expected["text"], position)
        position = start + len(expected["text"])
        parts.append((expected["kind"], start, position))
    return parts


def main() -> int:
    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev = [r for r in records if r["split"] == "dev"]
    began = time.perf_counter()
    examples = [
        segment_model.Example(
            query=r["query"],
            masked=mask_code(r["query"]),
            labelled=labelled_parts(r["query"], r["segments"]),
            rule_parts=[(s.kind, s.start, s.end) for s in segment(r["query"], refine=False)],
        )
        for r in dev
    ]
    model = segment_model.train(examples, segment_model.fingerprints())
    # Written beside the target and renamed over it, so an interrupted run leaves the old file whole.
    target = segment_model.MODEL_PATH
    partial = target.with_name(target.name + ".partial")
    partial.write_text(model.dumps(), encoding="utf-8")
    os.replace(partial, target)
    print(
        f"trained on {len(dev)} dev questions in {time.perf_counter() - began:.0f} s: "
        f"{len(model.splitter.weights)} splitter and {len(model.typer.weights)} typer features -> {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
