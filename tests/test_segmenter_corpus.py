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
KINDS = set(DEFAULT_CUES) | {OTHER}


def _task_kinds(kinds: list[str]) -> set[str]:
    return {k for k in kinds if k != OTHER}


def test_corpus_size_and_coverage() -> None:
    # What issue 13 asks of the corpus: >= 200 questions, >= 20 each in German, French and
    # Spanish, every category present in both parts.
    assert len(RECORDS) >= 200
    for lang in ("de", "fr", "es"):
        assert sum(r["lang"] == lang for r in RECORDS) >= 20, lang
    categories = {r["category"] for r in RECORDS}
    for part in ("dev", "test"):
        assert {r["category"] for r in RECORDS if r["split"] == part} == categories, part
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
# after tuning on dev only). Batch 6, written and committed before any run on it, measured after
# tuning on batches 1-5: 101 of 120 right. (Batches 4 and 5, whose misses had been seen, are dev
# now.) They are not tuned on; they stay listed so that a change that fixes one must say so here,
# and any other miss fails.
KNOWN_MISSES = {
    "en-math-b6-04": "'Express 0.45 recurring as a fraction': 'express' is no cue; no task found",
    "en-math-b6-05": "'Show the sample space you used.' is no cue (only 'show your work/steps'); read as context",
    "en-math-b6-10": "'Put these in order ...': only 'order these' is a cue; no task found",
    "en-proof-b6-09": "'Does the statement still hold if G is not connected?' read as explain, labelled solve",
    "en-sys-b6-04": "'Show a short example where ...' after a C++ question: no code cue; read as context",
    "en-sys-b6-05": "'Port this bash one-liner to PowerShell: find . -name ...': 'one-liner' is no noun of the "
        "change verbs, so the 'find' of the pasted command types it solve, and 'find .' ends a sentence",
    "en-sys-b6-07": "'..., and how should I rewrite the reading loop?' stays in the explain part (no cut before it)",
    "en-code-b6-01": "'Need a Python script that ...' (no subject): no task found",
    "en-code-b6-05": "'Convert this JSON to a Python dataclass' read as solve ('convert')",
    "en-code-b6-07": "'I need a cron expression ...': 'cron expression' is no code noun; no task found",
    "en-block-b6-03": "'Which indexes would help?' read as solve; 'Write the CREATE INDEX statements.': the plural "
        "'statements' is no code noun, read as context",
    "en-block-b6-06": "'Then show me the correct way to build a 3x3 grid.' is no code cue; read as context",
    "en-block-b6-07": "'What value does this evaluate to ...?' about code is explain; the cue says solve",
    "en-follow-b6-02": "'Turn it into an iterative version.': 'turn ... into' is no cue; no task found",
    "en-follow-b6-09": "'Fix?' alone read as explain (the question fallback), labelled code",
    "de-code-b6-02": "'Ich brauche ein Bash-Skript, das ...': no German 'need a script' cue; no task found",
    "de-follow-b6-01": "'Mach daraus bitte eine rekursive Funktion.': 'mach daraus' is no cue; no task found",
    "fr-code-b6-02": "'J'ai besoin d'un script Bash qui ...': no French 'need a script' cue; no task found",
    "es-code-b6-02": "'Escríbeme una consulta SQL ...': the clitic form 'escríbeme' is no cue; no task found",
}

# The test-part questions that came back with no task at all when measured (batch 6: these nine,
# all also in KNOWN_MISSES). The floor is none; they are listed, not tuned on, so that any
# other lost task fails and a fixed one must be taken out here.
KNOWN_NO_TASK = {
    "en-math-b6-04", "en-math-b6-10", "en-code-b6-01", "en-code-b6-07", "en-follow-b6-02",
    "de-code-b6-02", "de-follow-b6-01", "fr-code-b6-02", "es-code-b6-02",
}


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
