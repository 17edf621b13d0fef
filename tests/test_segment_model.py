"""Tests for the segmenter's learned second reading: the shipped weights, the cuts, training, the guards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from seqmoe_local import segment_model
from seqmoe_local.segment_model import Example, SegmentModel, default_model, fingerprints, load, train
from seqmoe_local.segmenter import DEFAULT_CUES, mask_code, segment

# Worded for these tests, not taken from the corpus: the rules read one explain part.
TWO_REQUESTS = "The build fails with a borrow error. What is it telling me and how do I make it compile?"


def _kinds_and_texts(
    query: str, cues: Mapping[str, Sequence[str]] | None = None, refine: bool = True
) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in segment(query, cues, refine=refine)]


def test_shipped_weights_are_trained_from_the_current_corpus_and_rules() -> None:
    assert default_model().trained_on == fingerprints(), (
        "the corpus, the segmenter's rules or segment_model.py changed since data/segment_model.tsv was "
        "trained; run: PYTHONPATH=$PWD .venv/bin/python scripts/train_segment_model.py"
    )


def test_the_shipped_model_cuts_a_second_request_the_rules_read_as_one() -> None:
    assert _kinds_and_texts(TWO_REQUESTS, refine=False) == [
        ("other", "The build fails with a borrow error."),
        ("explain", "What is it telling me and how do I make it compile?"),
    ]
    assert _kinds_and_texts(TWO_REQUESTS) == [
        ("other", "The build fails with a borrow error."),
        ("explain", "What is it telling me"),
        ("code", "and how do I make it compile?"),
    ]


def test_the_shipped_model_retypes_a_part_the_rules_typed_by_a_wrong_cue() -> None:
    # "(C)" reads to the rules as the language C; the typer reads a matrix ring, context.
    query = "Let N be a normal matrix in M_n(C). Show that its eigenvectors can be chosen orthonormal."
    assert [kind for kind, _ in _kinds_and_texts(query, refine=False)] == ["code", "solve"]
    assert [kind for kind, _ in _kinds_and_texts(query)] == ["other", "solve"]


def test_other_cue_tables_are_left_to_the_rules() -> None:
    # The weights were learnt from the built-in table's parts; a table with other cues gets the rules alone.
    cues = {**DEFAULT_CUES, "explain": (*DEFAULT_CUES["explain"], r"\bzzqx\b")}
    assert _kinds_and_texts(TWO_REQUESTS, cues=cues) == _kinds_and_texts(TWO_REQUESTS, refine=False)
    reordered = dict(reversed(DEFAULT_CUES.items()))
    assert _kinds_and_texts(TWO_REQUESTS, cues=reordered) == _kinds_and_texts(TWO_REQUESTS)


def test_clauses_keep_joiners_with_what_follows_and_never_begin_with_code() -> None:
    def clauses(query: str) -> list[str]:
        return [query[a:b] for a, b in segment_model._clauses(mask_code(query), 0, len(query))]

    assert clauses("Sum these, and then explain why; also write code") == [
        "Sum these,",
        "and then explain why;",
        "also write code",
    ]
    # No place to cut before inline code or a fenced block: the code stays with what introduces it.
    assert clauses("Fix this, `x = 1`, and explain") == ["Fix this, `x = 1`,", "and explain"]
    assert clauses("Run this and ```\nprint(1)\n```") == ["Run this and ```\nprint(1)\n```"]
    # Sentences and lines are the rules' units: no place to cut across them.
    assert clauses("Write a program that does the following:\n(i) reads a graph,\n(ii) counts it.") == [
        "Write a program that does the following:\n(i) reads a graph,\n(ii) counts it."
    ]


def _examples() -> list[Example]:
    """A toy corpus: "Add A and B, then say why it works." is a sum and an explanation; the rules miss the second."""
    examples = []
    for a in range(2, 14):
        for b in (3, 7, 11):
            query = f"Add {a} and {b}, then say why it works."
            cut = query.index(", then") + 1
            examples.append(
                Example(
                    query=query,
                    masked=mask_code(query),
                    labelled=[("solve", 0, cut), ("explain", cut + 1, len(query))],
                    rule_parts=[("solve", 0, len(query))],
                )
            )
    return examples


def test_training_learns_to_cut_and_type_from_labelled_questions() -> None:
    model = train(_examples(), {"corpus": "toy"}, epochs=4)
    query = "Add 20 and 5, then say why it works."
    assert model.refine(query, mask_code(query), [("solve", 0, len(query))]) == [
        ("solve", 0, len("Add 20 and 5,")),
        ("explain", len("Add 20 and 5, "), len(query)),
    ]


def test_training_is_deterministic_and_the_file_round_trips(tmp_path: Path) -> None:
    first = train(_examples(), {"corpus": "toy"}, epochs=2)
    second = train(_examples(), {"corpus": "toy"}, epochs=2)
    assert first.dumps() == second.dumps()
    path = tmp_path / "model.tsv"
    path.write_text(first.dumps(), encoding="utf-8")
    again = load(path)
    assert again.trained_on == {"corpus": "toy"}
    assert again.dumps() == first.dumps()


def test_a_question_never_loses_its_only_task_to_the_second_reading() -> None:
    # A typer that reads everything as context: the rules' parts stand rather than leave no task.
    blind = SegmentModel(
        splitter=segment_model._Linear({}, 2),
        typer=segment_model._Linear({"bias": [0.0, 0.0, 0.0, 9.0]}, 4),
        trained_on={},
    )
    query = "Compute 3 + 4."
    parts = [("solve", 0, len(query))]
    assert blind.refine(query, mask_code(query), parts) == parts
    assert blind.refine("Thanks!", "Thanks!", [("other", 0, 7)]) == [("other", 0, 7)]
