"""The outcome table: resume after a kill, stale records after a model or prompt change, torn lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalfakes import FakePipeline, FakePool

from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.evaluation import run_eval
from seqmoe_local.evaluation import runner as runner_module
from seqmoe_local.evaluation.table import CELLS_FILE, ROUTING_FILE, OutcomeTable

DATA = Path(__file__).parent / "data"
GSM8K = DATA / "gsm8k_5.jsonl"


@pytest.fixture
def profile(config: AppConfig) -> Profile:
    return config.profile("demo")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakePipeline]:
    FakePipeline.calls = []
    FakePipeline.fail_after = None
    FakePipeline.answer = staticmethod(lambda expert, kind, query: "Answer: 18" if expert == "qwen-coder" else "7")
    monkeypatch.setattr(runner_module, "Pipeline", FakePipeline)
    monkeypatch.setattr(runner_module, "ModelPool", FakePool)
    return FakePipeline


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_killed_run_computes_only_the_missing_cells(tmp_path: Path, config: AppConfig, profile: Profile,
                                                       fake: type[FakePipeline]) -> None:
    out = tmp_path / "table"
    fake.fail_after = 7  # 5 routings, then 2 answers of the first expert, then the process "dies"
    with pytest.raises(KeyboardInterrupt):
        run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K)
    assert len(lines(out / ROUTING_FILE)) == 5 and len(lines(out / CELLS_FILE)) == 2
    done_before = [(what, q, e) for what, q, e in fake.calls]
    fake.calls.clear()
    fake.fail_after = None
    report = run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K)
    assert not [c for c in fake.calls if c[0] == "route"]  # routing records were all kept
    asked = [(q, e) for what, q, e in fake.calls if what == "ask"]
    assert len(asked) == 15 - 2 and not set(asked) & {(q, e) for _, q, e in done_before[5:]}
    assert len(lines(out / CELLS_FILE)) == 15
    (section,) = report.suites
    assert section.scored == 5 and section.missing == 0
    qwen = next(p for p in section.policies if p.name == "qwen-coder")
    assert qwen.correct == 1  # only gsm8k/0's gold is 18
    fake.calls.clear()
    run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K)
    assert fake.calls == []  # nothing left to compute


def test_a_changed_model_file_invalidates_its_cells_and_says_so(tmp_path: Path, config: AppConfig, profile: Profile,
                                                               fake: type[FakePipeline]) -> None:
    out = tmp_path / "table"
    run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K, limit=2)
    changed = config.model_copy(update={"experts": {
        **config.experts, "gemma3-270m": config.experts["gemma3-270m"].model_copy(update={"sha256": "ab" * 32})}})
    fake.calls.clear()
    said: list[str] = []
    run_eval(changed, changed.profile("demo"), ["gsm8k"], out_dir=out, gsm8k=GSM8K, limit=2, say=said.append)
    assert said[:2] == ["gsm8k: 2 cached outcome(s) of gemma3-270m were made with another model file "
                        "(sha256 now abababababab...); they are computed again",
                        "gsm8k: 2 item(s) were routed with other model files; they are routed again"]
    # routing depends on every model: all items are routed again; only gemma's answers are asked again
    assert [c[0] for c in fake.calls].count("route") == 2
    assert {c[2] for c in fake.calls if c[0] == "ask"} == {("gemma3-270m",)}


def test_other_generation_settings_are_other_cells(tmp_path: Path, config: AppConfig, profile: Profile,
                                                   fake: type[FakePipeline]) -> None:
    out = tmp_path / "table"
    run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K, limit=1)
    fake.calls.clear()
    run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K, limit=1, max_new_tokens=64)
    assert [c[0] for c in fake.calls] == ["ask"] * 3  # routing is shared, answers are not
    assert len(OutcomeTable(out).cells) == 6


def test_a_torn_last_line_is_cut_off_and_recomputed(tmp_path: Path, config: AppConfig, profile: Profile,
                                                    fake: type[FakePipeline]) -> None:
    out = tmp_path / "table"
    run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K, limit=1)
    cells = out / CELLS_FILE
    whole = cells.read_bytes()
    cells.write_bytes(whole[: len(whole) - 40])  # the last record half written
    assert len(OutcomeTable(out).cells) == 2 and cells.read_bytes().endswith(b"\n")
    fake.calls.clear()
    run_eval(config, profile, ["gsm8k"], out_dir=out, gsm8k=GSM8K, limit=1)
    assert [c[0] for c in fake.calls] == ["ask"]


def test_mixed_assignments_of_the_routers_are_computed(tmp_path: Path, config: AppConfig, profile: Profile,
                                                       fake: type[FakePipeline]) -> None:
    """A three-part item: native-only asks (gemma, smollm2, qwen); the shipped router keeps gemma on solve
    (12.5% gain) and gives explain to the coder (22% gain): both are asked after the single-expert answers."""
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "m1", "query": "Compute 6 * 7, explain the method, then write a Python function '
                    '`f()` that returns 42.", "answer_regex": "42"}\n')
    report = run_eval(config, profile, [str(path)], out_dir=tmp_path / "table")
    asked = [c[2] for c in fake.calls if c[0] == "ask"]
    assert asked[3:] == [("gemma3-270m", "smollm2-135m", "qwen-coder"), ("gemma3-270m", "qwen-coder", "qwen-coder")]
    assert sorted(asked[:3]) == [(e,) * 3 for e in sorted(profile.experts)]
    router = next(p for p in report.suites[0].policies if p.name == "router")
    assert router.n == 1 and router.picks == pytest.approx({"smollm2-135m": 0.0, "qwen-coder": 2 / 3,
                                                             "gemma3-270m": 1 / 3})
