"""The evaluation harness: question files, metrics, resuming, reports, and one real run on the demo profile."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from seqmoe_local import evaluation
from seqmoe_local.config import AppConfig, PoolConfig, Profile
from seqmoe_local.errors import EngineError, ModelMissingError, UsageError
from seqmoe_local.evaluation import (
    NATIVE, ROUTED, SAMPLE_QUESTIONS, AssignmentRecord, Cost, EvalReport, ExpectedSegment, OutputRecord, Question,
    Result, SegmentRecord, answer_match, load_questions, load_results, native_assigner, render_markdown, render_svg,
    render_table, routing_match, run_eval, score_run, segmentation_match, select_systems, summarize,
)
from seqmoe_local.pipeline import AskResult, LoadRecord, Pipeline, SegmentOutput, Timings
from seqmoe_local.router import SegmentInfo, forced_routing
from seqmoe_local.segmenter import segment

NATIVES = {"solve": "gemma3-270m", "explain": "smollm2-135m", "code": "qwen-coder"}


@pytest.fixture
def profile(config: AppConfig) -> Profile:
    """The demo profile as configuration only: no model file is needed."""
    return config.profile("demo")


def write_jsonl(path: Path, *records: dict | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


# -- the question file ---------------------------------------------------------------------------


def test_shipped_sample_set_is_valid_and_checkable(config: AppConfig) -> None:
    questions = load_questions(SAMPLE_QUESTIONS, config.roles)
    assert len(questions) >= 40
    task_counts = [sum(s.kind != "other" for s in q.segments or []) for q in questions]
    assert sum(n >= 2 for n in task_counts) >= 15 and sum(n == 1 for n in task_counts) >= 10
    assert sum(q.answer_regex is not None for q in questions) >= 20
    assert sum(q.code_check is not None for q in questions) >= 15
    for q in questions:
        assert q.segments and q.expected_expert, q.id
        assert all(s.text in q.query for s in q.segments), q.id
        kinds = {s.kind for s in q.segments} - {"other"}
        assert q.expected_expert == {k: NATIVES[k] for k in kinds}, q.id
        if "code" in kinds:
            assert q.code_check is not None, q.id


GOOD = {"id": "a", "query": "What is 2 + 2?"}


@pytest.mark.parametrize(("line", "expected"), [
    ('{"id": "b", "query": "x"', "not valid JSON"),
    ('["id", "query"]', "expected a JSON object"),
    ({"id": "b"}, "field query: required field is missing"),
    ({"id": "b", "query": "   "}, "field query: is blank"),
    ({"id": "b", "query": "x", "answer": "4"}, "field answer: unknown field"),
    ({"id": "b", "query": "x", "answer_regex": "(unclosed"}, "field answer_regex: is not a valid regex"),
    ({"id": "b", "query": "x", "code_check": "assert f(1) ==="}, "field code_check: is not valid Python"),
    ({"id": "b", "query": "x", "expected_expert": {"poetry": "smollm2-135m"}}, "field expected_expert.poetry"),
    ({"id": "b", "query": "x", "segments": [{"kind": "sing", "text": "x"}]}, "field segments.0.kind"),
    ({"id": "b", "query": "x", "segments": [{"kind": "solve"}]}, "field segments.0.text"),
    ({"id": "a", "query": "again"}, "field id: duplicate id 'a' (first on line 1)"),
])
def test_malformed_line_names_file_line_and_field(tmp_path: Path, config: AppConfig, line: dict | str,
                                                  expected: str) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", GOOD, line)
    with pytest.raises(UsageError) as caught:
        load_questions(path, config.roles)
    assert f"{path}:2: " in str(caught.value) and expected in str(caught.value)


def test_missing_or_empty_file(tmp_path: Path, config: AppConfig) -> None:
    with pytest.raises(UsageError, match="not found"):
        load_questions(tmp_path / "nope.jsonl", config.roles)
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(UsageError, match="no questions"):
        load_questions(tmp_path / "empty.jsonl", config.roles)


# -- metrics on hand-made results ----------------------------------------------------------------


def test_segmentation_match_ignores_whitespace_only() -> None:
    expected = [ExpectedSegment(kind="solve", text="Find x,"), ExpectedSegment(kind="explain", text="explain  it.")]
    same = [SegmentRecord(kind="solve", text="Find x,"), SegmentRecord(kind="explain", text="explain it.")]
    other_cut = [SegmentRecord(kind="solve", text="Find"), SegmentRecord(kind="explain", text="x, explain it.")]
    assert segmentation_match(expected, same) == (True, True)
    assert segmentation_match(expected, other_cut) == (False, True)
    assert segmentation_match(expected, same[:1]) == (False, False)
    assert segmentation_match(None, same) == (None, None)


def test_routing_match_counts_only_judgeable_segments() -> None:
    assignments = [AssignmentRecord(kind="solve", expert="a", reason="forced"),
                   AssignmentRecord(kind="explain", expert="b", reason="forced"),
                   AssignmentRecord(kind="code", expert="a", reason="forced")]
    assert routing_match({"solve": "a", "explain": "a", "code": "stranger"}, assignments, ["a", "b"]) == (1, 2)
    assert routing_match(None, assignments, ["a", "b"]) == (0, 0)


def output(kind: str, text: str) -> OutputRecord:
    return OutputRecord(kind=kind, expert="x", text=text, tokens=3, finish_reason="stop", seconds=0.1)


def test_answer_match_reads_the_solve_output_or_else_everything() -> None:
    outputs = [output("solve", "So the answer is 391."), output("explain", "We get 84 by ...")]
    assert answer_match(r"\b391\b", outputs) and not answer_match(r"\b84\b", outputs)
    assert answer_match(r"\b84\b", [output("explain", "It is 84.")])
    assert answer_match(None, outputs) is None


def fake_answer(profile: Profile, system: str, question: str, texts: dict[str, str]) -> AskResult:
    """A pipeline answer without models: the real segmenter and forced routing, canned outputs."""
    native = native_assigner(profile)

    def assign(info: SegmentInfo) -> str:
        if system in profile.experts:
            return system
        if system == ROUTED and info.kind == "explain":
            return "qwen-coder"  # so that "routed" and "native" can be told apart
        return native(info)

    routing = forced_routing(question, profile, segment(question), assign, "test")
    routing = routing.model_copy(update={"tokens_scored": {"a": 10, "b": 20}} if system == ROUTED else {})
    outputs = [SegmentOutput(segment=a.segment, kind=a.kind, expert=a.expert, text=texts.get(a.kind, "..."),
                             tokens=4, finish_reason="stop", seconds=0.5) for a in routing.assignments]
    return AskResult(routing=routing, outputs=outputs, loads=[LoadRecord(kind="load", expert="x", seconds=0.25)],
                     timings=Timings(routing=0.1, loading=0.25, generation=0.5, total=1.0), cancelled=False)


THREE_PART = Question(
    id="t1", query="Find the sum of 2 and 3, explain the method, then write a Python function `add(a, b)`.",
    segments=[ExpectedSegment(kind="solve", text="Find the sum of 2 and 3,"),
              ExpectedSegment(kind="explain", text="explain the method,"),
              ExpectedSegment(kind="code", text="then write a Python function `add(a, b)`.")],
    expected_expert=NATIVES, answer_regex=r"\b5\b", code_check="assert add(2, 3) == 5",
)
GOOD_TEXTS = {"solve": "2 + 3 = 5\nAnswer: 5", "explain": "Add them.",
              "code": "```python\ndef add(a, b):\n    return a + b\n```"}


def test_score_run_scores_every_expectation(profile: Profile) -> None:
    result = score_run(ROUTED, THREE_PART, fake_answer(profile, ROUTED, THREE_PART.query, GOOD_TEXTS),
                       profile.experts)
    assert result.status == "ok" and result.fingerprint == THREE_PART.fingerprint()
    assert (result.segmentation_correct, result.segment_kinds_correct) == (True, True)
    assert (result.routing_correct, result.routing_judged) == (2, 3)  # explain went to the coder
    assert result.answer_correct is True
    assert result.code is not None and (result.code.parses, result.code.runs, result.code.passes) == (True, True, True)
    assert result.cost == Cost(tokens_scored=30, tokens_generated=12, loads=1, routing_s=0.1, loading_s=0.25,
                               generation_s=0.5, total_s=1.0)
    bad_texts = {**GOOD_TEXTS, "solve": "Answer: 6", "code": "```python\ndef add(a, b)\n```"}
    wrong = score_run(NATIVE, THREE_PART, fake_answer(profile, NATIVE, THREE_PART.query, bad_texts), profile.experts)
    assert wrong.answer_correct is False and wrong.code is not None and wrong.code.status == "syntax_error"
    assert (wrong.routing_correct, wrong.routing_judged) == (3, 3)


def test_summarize_counts_failed_runs_as_wrong_and_averages_costs(profile: Profile) -> None:
    plain = Question(id="t2", query="Explain recursion.")
    ok = score_run(ROUTED, THREE_PART, fake_answer(profile, ROUTED, THREE_PART.query, GOOD_TEXTS), profile.experts)
    failed = Result(system=ROUTED, question_id="t2", fingerprint=plain.fingerprint(), status="error", error="boom")
    summary = summarize(ROUTED, "test", [THREE_PART, plain], [ok, failed])
    assert (summary.questions, summary.errors) == (2, 1)
    assert summary.answer is not None and (summary.answer.hits, summary.answer.total) == (1, 1)
    assert summary.code_passes is not None and summary.code_passes.rate == 1.0
    assert summary.routing is not None and (summary.routing.hits, summary.routing.total) == (2, 3)
    assert summary.mean_cost is not None and summary.mean_cost.tokens_scored == 30  # the failed run has no cost
    failed_three = Result(system=NATIVE, question_id="t1", fingerprint="x", status="error", error="boom")
    counted = summarize(NATIVE, "test", [THREE_PART], [failed_three])
    assert counted.answer is not None and counted.answer.rate == 0.0
    assert counted.code_runs is not None and counted.code_runs.rate == 0.0 and counted.mean_cost is None
    assert summarize(NATIVE, "test", [plain], []).answer is None


def test_select_systems(profile: Profile) -> None:
    assert select_systems(profile, None) == [ROUTED, NATIVE, *profile.experts]
    assert select_systems(profile, ["qwen-coder", NATIVE, "qwen-coder"]) == [ROUTED, NATIVE, "qwen-coder"]
    assert select_systems(profile, []) == [ROUTED]
    with pytest.raises(UsageError, match="unknown baseline.*'gpt'.*choose from: native, smollm2-135m"):
        select_systems(profile, ["gpt"])


def test_native_assigner_falls_back_to_the_first_expert(profile: Profile) -> None:
    assign = native_assigner(profile)

    def info(kind: str) -> SegmentInfo:
        return SegmentInfo(index=0, kind=kind, text="x", start=0, end=1, byte_start=0, byte_end=1)

    assert [assign(info(k)) for k in ("solve", "explain", "code")] == list(NATIVES.values())
    assert assign(info("other")) == next(iter(profile.experts))


# -- runs without models: resume, errors, reports ------------------------------------------------


class FakePool:
    """Stands in for ModelPool: run_eval only checks files and closes it; the answers are canned."""

    def __init__(self, config: AppConfig, profile: Profile) -> None:
        self.on_event = None

    def check_file(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch, profile: Profile) -> list[tuple[str, str]]:
    """Replace models with canned answers; returns the (system, question) calls made."""
    calls: list[tuple[str, str]] = []

    def ask_as(pipeline: Pipeline, system: str, question: str, max_new_tokens: int | None) -> AskResult:
        calls.append((system, question))
        if "FAIL" in question:
            raise EngineError("llama.cpp failed: context full")
        return fake_answer(profile, system, question, GOOD_TEXTS)

    monkeypatch.setattr(evaluation, "ModelPool", FakePool)
    monkeypatch.setattr(evaluation, "ask_as", ask_as)
    return calls


def questions_file(path: Path, *extra: dict) -> Path:
    return write_jsonl(path, THREE_PART.model_dump(exclude_none=True),
                       {"id": "t2", "query": "What is 17 * 23?", "answer_regex": r"\b391\b",
                        "expected_expert": {"solve": "gemma3-270m"}},
                       {"id": "t3", "query": "Explain recursion.", "expected_expert": {"explain": "smollm2-135m"}},
                       *extra)


def run(config: AppConfig, profile: Profile, path: Path, lines: list[str] | None = None, **options) -> EvalReport:
    settings = {"baselines": [NATIVE], "limit": None, "fresh": False, "out_dir": path.parent / "out",
                "max_new_tokens": None, "progress": (lines.append if lines is not None else None), **options}
    return run_eval(config, profile, path, **settings)


def test_resume_skips_done_questions(tmp_path: Path, config: AppConfig, profile: Profile,
                                     fake_models: list[tuple[str, str]]) -> None:
    path = questions_file(tmp_path / "q.jsonl")
    lines: list[str] = []
    first = run(config, profile, path, lines, limit=2)
    assert [s for s, _ in fake_models] == [ROUTED, ROUTED, NATIVE, NATIVE] and first.questions == 2
    assert lines[0].startswith("[1/4] routed t1 ok (answer yes, code passed, routing 2/3) 1.0 s")
    assert lines[-1].startswith("[4/4] native t2 ok (answer no, routing 1/1)")

    fake_models.clear()
    lines.clear()
    second = run(config, profile, path, lines)
    assert fake_models == [(ROUTED, "Explain recursion."), (NATIVE, "Explain recursion.")]
    assert lines[0] == f"resuming: 4 of 6 runs already done in {tmp_path / 'out'}"
    assert lines[1].startswith("[5/6] routed t3 ok")
    assert len(second.results) == 6 and all(r.status == "ok" for r in second.results)
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 6

    # An edited question is stale and runs again; everything else stays done.
    fake_models.clear()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[2]["query"] = "Explain recursion briefly."
    write_jsonl(path, *records)
    run(config, profile, path)
    assert fake_models == [(ROUTED, "Explain recursion briefly."), (NATIVE, "Explain recursion briefly.")]

    fake_models.clear()
    run(config, profile, path, fresh=True)
    assert len(fake_models) == 6
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 6


def test_failed_run_is_recorded_then_retried(tmp_path: Path, config: AppConfig, profile: Profile,
                                             fake_models: list[tuple[str, str]]) -> None:
    path = questions_file(tmp_path / "q.jsonl", {"id": "t4", "query": "FAIL: compute 1 + 1.", "answer_regex": "2"})
    lines: list[str] = []
    report = run(config, profile, path, lines, baselines=[])
    failed = [r for r in report.results if r.status == "error"]
    assert [r.question_id for r in failed] == ["t4"] and "context full" in (failed[0].error or "")
    assert lines[-1].startswith("[4/4] routed t4 error: llama.cpp failed: context full")
    assert report.summaries[0].errors == 1 and report.summaries[0].answer is not None
    assert (report.summaries[0].answer.hits, report.summaries[0].answer.total) == (1, 3)
    fake_models.clear()
    run(config, profile, path, baselines=[])
    assert fake_models == [(ROUTED, "FAIL: compute 1 + 1.")]


def test_torn_last_line_is_cut_off(tmp_path: Path, config: AppConfig, profile: Profile,
                                   fake_models: list[tuple[str, str]]) -> None:
    path = questions_file(tmp_path / "q.jsonl")
    run(config, profile, path, baselines=[])
    results = tmp_path / "out" / "results.jsonl"
    whole = results.read_bytes()
    results.write_bytes(whole[: -len(whole.splitlines()[-1]) // 2 - 1])  # the last line half written
    assert set(load_results(results)) == {(ROUTED, "t1"), (ROUTED, "t2")}
    assert results.read_bytes().endswith(b"\n")
    fake_models.clear()
    run(config, profile, path, baselines=[])
    assert fake_models == [(ROUTED, "Explain recursion.")]
    assert all(json.loads(line) for line in results.read_text().splitlines())


def test_results_made_with_other_settings_are_not_mixed(tmp_path: Path, config: AppConfig, profile: Profile,
                                                        fake_models: list[tuple[str, str]]) -> None:
    path = questions_file(tmp_path / "q.jsonl")
    run(config, profile, path, baselines=[], limit=1)
    with pytest.raises(UsageError, match=r"other settings \(max_new_tokens\); add --fresh"):
        run(config, profile, path, baselines=[], max_new_tokens=16)
    assert run(config, profile, path, baselines=[], max_new_tokens=16, fresh=True).max_new_tokens == 16


def test_bad_options_fail_before_any_work(tmp_path: Path, config: AppConfig, profile: Profile,
                                          fake_models: list[tuple[str, str]]) -> None:
    path = questions_file(tmp_path / "q.jsonl")
    for options, message in (({"limit": 0}, "--limit"), ({"max_new_tokens": 0}, "--max-tokens"),
                             ({"baselines": ["nobody"]}, "unknown baseline")):
        with pytest.raises(UsageError, match=message):
            run(config, profile, path, **options)
    assert fake_models == [] and not (tmp_path / "out").exists()


def test_missing_model_file_fails_before_anything_is_written(tmp_path: Path, config: AppConfig) -> None:
    nowhere = config.model_copy(update={"models_dir": tmp_path / "no-models"})
    with pytest.raises(ModelMissingError, match="seqmoe-local pull smollm2-135m --profile demo"):
        run(nowhere, nowhere.profile("demo"), questions_file(tmp_path / "q.jsonl"))
    assert not (tmp_path / "out").exists()


def test_expected_experts_outside_the_profile_are_a_warning(tmp_path: Path, config: AppConfig, profile: Profile,
                                                            fake_models: list[tuple[str, str]]) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", {"id": "x", "query": "What is 3 * 3?",
                                              "expected_expert": {"solve": "qwen-math"}})
    lines: list[str] = []
    report = run(config, profile, path, lines, baselines=[])
    assert lines[0].startswith("warning: 1 question(s) expect experts that are not in profile 'demo' (qwen-math)")
    assert report.warnings and report.summaries[0].routing is None


def test_default_output_directory_is_in_the_data_dir(tmp_path: Path, config: AppConfig, profile: Profile,
                                                     fake_models: list[tuple[str, str]], user_dirs: Path) -> None:
    path = questions_file(tmp_path / "maths.jsonl")
    report = run(config, profile, path, baselines=[], limit=1, out_dir=None)
    assert Path(report.out_dir) == user_dirs / "data" / "eval" / "maths"


def test_reports_on_disk_and_on_the_terminal(tmp_path: Path, config: AppConfig, profile: Profile,
                                             fake_models: list[tuple[str, str]]) -> None:
    report = run(config, profile, questions_file(tmp_path / "q.jsonl"))
    out = tmp_path / "out"
    assert EvalReport.model_validate_json((out / "report.json").read_text()) == report
    table = render_table(report)
    assert "routed" in table and "native" in table and "100% 1/1" in table and "67% 2/3" not in table
    assert "segmenter: 100% 1/1 questions segmented as expected" in table
    markdown = (out / "report.md").read_text()
    assert markdown == render_markdown(report)
    assert "| system | errors | answer |" in markdown and "![rates by system](chart.svg)" in markdown
    assert "| t1 | ✓ | answer ✓, code ✓, routing 2/3 | answer ✓, code ✓, routing 3/3 |" in markdown
    svg = (out / "chart.svg").read_text()
    assert svg == render_svg(report)
    root = ElementTree.fromstring(svg)
    svg_ns = "{http://www.w3.org/2000/svg}"
    bars = [e for e in root.iter(f"{svg_ns}rect") if e.find(f"{svg_ns}title") is not None]
    assert len(bars) == 2 * 4  # two systems x (answer, code runs, code passes, routing)
    assert report.summaries[0].routing is not None and report.summaries[1].routing is not None
    assert report.summaries[0].routing.rate < report.summaries[1].routing.rate


# -- the real thing ------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_eval_on_the_demo_profile(tmp_path: Path, config: AppConfig, demo: Profile) -> None:
    """Three shipped questions (solve, code, explain), routed and native, on the real demo experts."""
    roomy = config.model_copy(update={"pool": PoolConfig(max_resident=3)})  # no reloads between questions
    shipped = {json.loads(line)["id"]: line for line in SAMPLE_QUESTIONS.read_text().splitlines()}
    path = write_jsonl(tmp_path / "three.jsonl", shipped["q43"], shipped["q04"], shipped["q05"])
    lines: list[str] = []
    report = run_eval(roomy, demo, path, baselines=[NATIVE], limit=None, fresh=False, out_dir=tmp_path / "out",
                      max_new_tokens=4, progress=lines.append)
    assert [line.split()[:3] for line in lines] == [
        ["[1/6]", ROUTED, "q43"], ["[2/6]", ROUTED, "q04"], ["[3/6]", ROUTED, "q05"],
        ["[4/6]", NATIVE, "q43"], ["[5/6]", NATIVE, "q04"], ["[6/6]", NATIVE, "q05"]]
    assert all(r.status == "ok" and r.outputs and all(o.tokens <= 4 for o in r.outputs) for r in report.results)
    routed, native = report.summaries
    assert routed.segmentation is not None and routed.segmentation.rate == 1.0
    assert native.routing is not None and native.routing.rate == 1.0
    assert routed.mean_cost is not None and routed.mean_cost.tokens_scored > 0 and routed.mean_cost.routing_s > 0
    assert native.mean_cost is not None and native.mean_cost.tokens_scored == 0
    assert routed.code_parses is not None and routed.code_parses.total == 1
    on_disk = EvalReport.model_validate_json((tmp_path / "out" / "report.json").read_text())
    assert on_disk.systems == [ROUTED, NATIVE] and len(on_disk.results) == 6
    assert "| routed |" in (tmp_path / "out" / "report.md").read_text()
    ElementTree.fromstring((tmp_path / "out" / "chart.svg").read_text())
    assert "routed" in render_table(report)
