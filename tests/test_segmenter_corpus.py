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
# after tuning on dev only: batch 4, 112 of 118 right; batch 5, written and committed before any
# run on it, 111 of 120 right). They are not tuned on; they stay listed so that a change that
# fixes one must say so here, and any other miss fails.
KNOWN_MISSES = {
    "en-math-45": "'Is it a right triangle?' after side lengths: read as explain, labelled solve",
    "en-day-39": "'What will I pay per month?': no cue for a quantity asked this way; the question fallback says "
        "explain",
    "en-proof-47": "'Use the central limit theorem to approximate ...': 'approximate' is no cue",
    "en-algo-47": "'then write it in Go': Go is not a language name the cues know",
    "en-list-34": "'Define a function in mathematics.' read as code; 'Give the domain of ...' has no cue",
    "en-block-34": "'What is the value of y?' about code is explain by the rules; the cue says solve",
    # batch 5
    "en-day-b5-03": "'Help me split a ... bill ... with an 18% tip.': no task found, labelled solve",
    "en-day-b5-09": "'Give me some tips for ...': no task found, labelled explain",
    "en-block-b5-05": "'Add memoization to this ... and analyze ...' read as one solve part; the code change is lost",
    "en-block-b5-07": "'Also add a line that computes ...' after an R block joins the explain part; the code "
        "request is lost",
    "en-follow-b5-03": "'What do you get for 2^20 then?' read as explain, labelled solve",
    "de-math-b5-03": "'Wie teuer ist es jetzt?' (a quantity) read as explain, labelled solve",
    "fr-expl-b5-02": "'C'est quoi la différence entre ... en C++ ?' read as code, labelled explain",
    "fr-code-b5-02": "'Code-moi une fonction ...': no task found, labelled code",
    "es-follow-b5-01": "'Pásalo a Java, por favor.' (port it): no task found, labelled code",
}

# The test-part questions that came back with no task at all when measured (batch 4: none;
# batch 5: these four, all also in KNOWN_MISSES). The floor is none; they are listed,
# not tuned on, so that any other lost task fails and a fixed one must be taken out here.
KNOWN_NO_TASK = {"en-day-b5-03", "en-day-b5-09", "fr-code-b5-02", "es-follow-b5-01"}


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
