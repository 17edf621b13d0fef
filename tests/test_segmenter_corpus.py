"""The segmenter against its labelled corpus (seqmoe_local/data/segmenter_corpus.jsonl): no models, fast tier.

Every question of the test part must come back with its expected set of task kinds; a failure
names the question by id. The partition invariants of tests/test_segmenter.py hold over the
whole corpus, and the corpus itself is checked against its own format (exact substrings, in
order, covering the question), so a labelling slip fails here rather than skewing the figures.
The labelling rules and how the test part was drawn: seqmoe_local/data/SEGMENTER_CORPUS.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_segmenter import _check_invariants  # tests/ is on sys.path in pytest's default import mode

from seqmoe_local.segmenter import DEFAULT_CUES, OTHER, segment

CORPUS = Path(__file__).resolve().parent.parent / "seqmoe_local" / "data" / "segmenter_corpus.jsonl"
RECORDS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
TEST = [r for r in RECORDS if r["split"] == "test"]
DEV = [r for r in RECORDS if r["split"] == "dev"]
# The dev questions the segmenter gets wrong today (it was tuned on dev: this guards against
# regressions, it measures nothing). A change that fixes one takes it out; one that breaks
# another fails here.
DEV_MISSES = {
    "en-block-b6-04", "en-block-b6-06", "en-block-b6-08", "en-day-b10y-03", "en-algo-b10y-08", "en-math-b10z-10",
    "en-proof-b10z-09", "en-list-b10m-02", "en-algo-b10i-08", "en-list-b10i-08", "en-block-b10i-08",
    "en-algo-b11c-08", "en-proof-b11a-04", "en-follow-b11d-04", "en-math-b11b-07", "en-math-b11n-04",
    "en-day-b11x-05", "en-math-b11zb-03", "en-follow-b11zb-06", "en-follow-b11zf-07", "en-day-b11zg-08",
    "en-day-b11zg-09", "en-day-b11zi-03", "de-math-b11zi-02", "en-block-b11zj-04", "en-follow-b11zl-11",
    "en-algo-b12a-07", "en-sys-b12b-03", "en-follow-b12c-12", "de-math-b12c-02", "en-follow-b12d-08",
}
# The dev questions that come back with no task at all today (all also in DEV_MISSES); the
# issue's floor is none.
DEV_NO_TASK: set[str] = set()
KINDS = set(DEFAULT_CUES) | {OTHER}


def _task_kinds(kinds: list[str]) -> set[str]:
    return {k for k in kinds if k != OTHER}


def test_corpus_size_and_coverage() -> None:
    # What issue 13 asks of the corpus: >= 200 questions, >= 20 each in German, French and
    # Spanish, every category present in dev, and in the test part whenever there is one (it is
    # empty between folding a measured batch into dev and writing the next).
    assert len(RECORDS) >= 200
    for lang in ("de", "fr", "es"):
        assert sum(r["lang"] == lang for r in RECORDS) >= 20, lang
    categories = {r["category"] for r in RECORDS}
    assert {r["category"] for r in DEV} == categories, "dev"
    if TEST:
        assert {r["category"] for r in TEST} == categories, "test"
    assert len({r["id"] for r in RECORDS}) == len(RECORDS), "ids must be unique"


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_labels_tile_the_question(record: dict) -> None:
    query, pos = record["query"], 0
    assert record["split"] in ("dev", "test")
    for expected in record["segments"]:
        assert expected["kind"] in KINDS
        assert expected["text"] and expected["text"] == expected["text"].strip()
        found = query.find(expected["text"], pos)
        assert found >= 0, f"{expected['text']!r} is not in the question after offset {pos}"
        assert not query[pos:found].strip(), f"{query[pos:found]!r} is in no expected segment"
        pos = found + len(expected["text"])
    assert not query[pos:].strip(), f"{query[pos:]!r} is in no expected segment"


# The test-part questions whose task-kind set was wrong when the test part was measured (once,
# after tuning on dev only), and those that came back with no task at all. They are not tuned on;
# they stay listed so that a change that fixes one must say so here, and any other miss fails.
# Batch 12 (240 questions written and labelled by two other hands, committed before any segmenter
# ran on them), measured once with the learned second reading: 225 of 240, none without a task (the rules
# alone: 220). Batch 11, measured at 217 of 240 and 4 without a task, is dev now.
KNOWN_MISSES: dict[str, str] = {
    "en-day-b12-01": "expected explain, found solve",
    "en-day-b12-06": "expected solve explain, found solve solve",
    "en-day-b12-09": "expected solve, found explain solve",
    "en-proof-b12-08": "expected solve code, found solve",
    "en-algo-b12-01": "expected solve explain code, found explain code",
    "en-algo-b12-03": "expected solve, found explain solve",
    "en-sys-b12-02": "expected explain, found code",
    "en-list-b12-07": "expected solve explain, found explain",
    "en-block-b12-01": "expected explain, found solve explain",
    "en-proof-b12t-05": "expected solve explain, found explain",
    "en-algo-b12t-05": "expected code solve, found code",
    "en-algo-b12t-07": "expected solve code, found explain code",
    "en-sys-b12t-08": "expected code, found solve",
    "en-block-b12t-02": "expected explain code, found explain",
    "en-follow-b12t-12": "expected , found explain",
}
KNOWN_NO_TASK: set[str] = set()


def test_every_test_question_gets_its_task_kinds() -> None:
    # One assertion over the whole test part, so that a failure lists every miss by id at once.
    misses, fixed = [], []
    for r in TEST:
        expected = _task_kinds([s["kind"] for s in r["segments"]])
        found = _task_kinds([s.kind for s in segment(r["query"])])
        if found != expected and r["id"] not in KNOWN_MISSES:
            misses.append(f"{r['id']}: expected {sorted(expected)}, found {sorted(found)}")
        if found == expected and r["id"] in KNOWN_MISSES:
            fixed.append(r["id"])
    assert not misses, f"{len(misses)} of {len(TEST)} test questions:\n" + "\n".join(misses)
    assert not fixed, f"now right, take them out of KNOWN_MISSES: {fixed}"
    assert set(KNOWN_MISSES) <= {r["id"] for r in TEST}


def test_dev_questions_keep_their_task_kinds() -> None:
    changed = sorted(
        r["id"] for r in DEV
        if (_task_kinds([s["kind"] for s in r["segments"]]) != _task_kinds([s.kind for s in segment(r["query"])]))
        != (r["id"] in DEV_MISSES)
    )
    assert not changed, f"dev questions whose result changed (update DEV_MISSES if it is a fix): {changed}"
    lost = [r["id"] for r in DEV if _task_kinds([s["kind"] for s in r["segments"]])
            and not _task_kinds([s.kind for s in segment(r["query"])])]
    assert set(lost) == DEV_NO_TASK, f"dev questions without a task (update DEV_NO_TASK if it is a fix): {lost}"


def test_no_test_question_loses_its_only_task() -> None:
    # The hard floor: a question that holds a task never comes back as context only.
    lost = [
        r["id"] for r in TEST
        if _task_kinds([s["kind"] for s in r["segments"]]) and not _task_kinds([s.kind for s in segment(r["query"])])
    ]
    assert not [i for i in lost if i not in KNOWN_NO_TASK], f"questions without a task: {lost}"
    assert not KNOWN_NO_TASK - set(lost), (
        f"now with a task, take them out of KNOWN_NO_TASK: {sorted(KNOWN_NO_TASK - set(lost))}"
    )


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_partition_invariants_on_corpus(record: dict) -> None:
    query = record["query"]
    segments = segment(query)
    _check_invariants(query, segments, KINDS)
    # Code blocks stay whole: every fenced block lies inside one segment.
    start = query.find("```")
    while start >= 0:
        close = query.find("```", start + 3)
        end = len(query.rstrip()) if close < 0 else close + 3
        assert any(s.start <= start and end <= s.end for s in segments), f"fence at {start} is split"
        start = query.find("```", end) if close >= 0 else -1
