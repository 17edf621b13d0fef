"""The `seqmoe-local` command end to end on the real demo experts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqmoe_local.cli import main
from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.conversation import TurnRecord
from seqmoe_local.errors import UsageError
from seqmoe_local.pipeline import Pipeline, TokenGenerated
from seqmoe_local.router import Routing

THREE_PART = "Find the sum of 17 and 25, explain the method, then write a Python function that adds two numbers."


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_ask_json_three_parts_each_model_loaded_once(
    capsys: pytest.CaptureFixture[str], demo: Profile, tmp_path: Path
) -> None:
    roomy = tmp_path / "roomy.toml"
    roomy.write_text("[pool]\nmax_resident = 3\n")
    code, out, err = run(capsys, "ask", "--json", "--max-tokens", "8", "--config", str(roomy), THREE_PART)
    assert code == 0, err
    result = TurnRecord.model_validate_json(out)
    assert [s.kind for s in result.routing.segments] == ["solve", "explain", "code"]
    assert len(result.outputs) == 3 and all(o.text.strip() and o.tokens <= 8 for o in result.outputs)
    assert [o.expert for o in result.outputs] == [a.expert for a in result.routing.assignments]
    loads = [load.expert for load in result.loads if load.kind == "load"]
    assert sorted(loads) == sorted(set(loads)) == sorted(demo.experts)


@pytest.mark.slow
def test_ask_with_two_resident_reloads_at_most_once(capsys: pytest.CaptureFixture[str], demo: Profile) -> None:
    code, out, err = run(capsys, "ask", "--json", "--max-tokens", "4", THREE_PART)
    assert code == 0, err
    loads = [load.expert for load in TurnRecord.model_validate_json(out).loads if load.kind == "load"]
    assert set(loads) == set(demo.experts) and len(loads) <= len(demo.experts) + 1


def test_ask_streams_headers_naming_expert_and_reason(capsys: pytest.CaptureFixture[str], demo: Profile) -> None:
    code, out, err = run(capsys, "ask", "--max-tokens", "6", "Write a Python function that reverses a string.")
    assert code == 0, err
    assert "## code · qwen-coder (" in out
    assert "stage 1 (bits/byte on the whole question)" in err and "[loaded qwen-coder in" in err


def test_route_json_from_stdin_validates(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo: Profile
) -> None:
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("Explain recursion, then write a Python example."))
    code, out, err = run(capsys, "route", "--json", "--disable", "qwen-coder", "-")
    assert code == 0, err
    routing = Routing.model_validate_json(out)
    assert "qwen-coder" not in routing.stage1 and [a.kind for a in routing.assignments] == ["explain", "code"]
    assert routing.assignments[1].reason in {"lowest_loss", "only_active"}  # the native is disabled


def test_forced_expert_skips_scoring(capsys: pytest.CaptureFixture[str], demo: Profile) -> None:
    code, out, _ = run(capsys, "route", "--json", "--expert", "smollm2-135m", THREE_PART)
    routing = Routing.model_validate_json(out)
    assert code == 0 and routing.scoring == "forced" and routing.stage1 == {}
    assert {a.expert for a in routing.assignments} == {"smollm2-135m"}


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["ask", "   "], 2, "the question is empty"),
        (["route", "--expert", "nope", "hi"], 2, "cannot use --expert nope: profile 'demo' has"),
        (["route", "--profile", "nope", "hi"], 2, "unknown profile 'nope'"),
        (["route", "--disable", "nope", "hi"], 2, "cannot disable nope"),
        (["pull", "nope"], 2, "unknown expert(s) nope"),
        (["route", "--tau", "nan", "hi"], 2, "--tau must be a number >= 0"),
        (["route", "--expert", "qwen-coder", "--disable", "qwen-coder", "hi"], 2, "it is disabled"),
    ],
)
def test_user_mistakes_get_a_message_and_status(
    capsys: pytest.CaptureFixture[str], argv: list[str], status: int, message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == status and message in err and "Traceback" not in err


def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ask", "--max-tokens", "0", "hi"])
    assert info.value.code == 2 and "expected a whole number >= 1" in capsys.readouterr().err


def test_missing_model_names_the_pull_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SEQMOE_MODELS_DIR", str(tmp_path / "none"))
    code, _, err = run(capsys, "ask", "What is 2+2?")
    assert code == 4 and "seqmoe-local pull" in err and "--profile demo" in err


def test_invalid_config_is_reported_not_raised(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[router]\ntua = 0.3\n")
    code, _, err = run(capsys, "route", "--config", str(bad), "hi")
    assert code == 3 and f"{bad}: router.tua: unknown key" in err


def test_cancel_mid_stream_keeps_the_partial_answer(config: AppConfig, demo: Profile) -> None:
    pieces: list[str] = []
    pipeline = Pipeline(config, demo)

    def on_event(event: object) -> None:
        if isinstance(event, TokenGenerated):
            pieces.append(event.text)
            if len(pieces) == 3:
                pipeline.cancel()

    pipeline.subscribe(on_event)
    try:
        result = pipeline.ask(THREE_PART, max_new_tokens=32)
    finally:
        pipeline.close()
    assert result.cancelled
    assert result.outputs[0].finish_reason == "cancelled" and result.outputs[0].text == "".join(pieces)
    assert [o.finish_reason for o in result.outputs[1:]] == ["skipped", "skipped"]


def test_console_script_runs(demo: Profile) -> None:
    script = Path(sys.executable).parent / "seqmoe-local"
    done = subprocess.run([str(script), "route", "--json", "Explain what a prime number is."],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["assignments"][0]["kind"] == "explain"


def test_question_too_long_for_the_context_is_a_usage_error(capsys: pytest.CaptureFixture[str], demo: Profile) -> None:
    huge = "Please summarise this. " + "word " * 20_000
    code, out, err = run(capsys, "ask", "--expert", "smollm2-135m", "--max-tokens", "8", huge)
    assert code == 2 and "too long for expert smollm2-135m" in err and "context_length" in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert "Traceback" not in err and len(errors) == 1 and err.rstrip().endswith(errors[0])


def test_question_that_is_not_text_is_refused(config: AppConfig, demo: Profile) -> None:
    pipeline = Pipeline(config, demo)
    try:
        with pytest.raises(UsageError, match="not valid text"):
            pipeline.route("What is \udcff 2 + 2?")
    finally:
        pipeline.close()
