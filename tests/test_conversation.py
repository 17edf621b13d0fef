"""Conversations through the real pipeline and CLI on the demo experts: follow-ups see earlier turns,
prompts share their prefix with routing, evicted experts keep their KV cache, long conversations are trimmed,
and the history commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seqmoe_local.cli import main
from seqmoe_local.config import AppConfig, Profile, load_config
from seqmoe_local.history import History, export_markdown
from seqmoe_local.pipeline import AskResult, Pipeline, SegmentOutput, answer_text
from seqmoe_local.pool import ModelPool
from seqmoe_local.prompts import Exchange, context_messages

CODE_QUESTION = "Write a Python function that returns the square of a number."
FOLLOW_UP = "Now make it take a list of numbers."


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def config_with(tmp_path: Path, text: str) -> AppConfig:
    extra = tmp_path / "extra.toml"
    extra.write_text(text)
    return load_config(extra, use_user_file=False)


@pytest.mark.slow
def test_follow_up_reaches_an_expert_whose_prompt_holds_the_first_answer(config: AppConfig, demo: Profile) -> None:
    prompts: dict[str, str] = {}
    pipeline = Pipeline(config, demo)
    real_get = pipeline.pool.get

    def recording_get(name: str):  # the prompt the engine actually read, per expert
        model = real_get(name)
        generate = model.generate

        def recorded(**kwargs):
            generation = generate(**kwargs)
            prompts[name] = generation.prompt
            return generation

        model.generate = recorded  # type: ignore[method-assign]
        return model

    pipeline.pool.get = recording_get  # type: ignore[method-assign]
    try:
        first = pipeline.ask(CODE_QUESTION, max_new_tokens=48)
        code = answer_text(first.outputs)
        assert "def " in code
        prompts.clear()
        second = pipeline.ask(FOLLOW_UP, history=[Exchange(CODE_QUESTION, code)], max_new_tokens=24)
    finally:
        pipeline.close()
    [output] = second.outputs
    assert output.text.strip() and second.history.turns == 1 and second.history.left_out == 0
    prompt = prompts[output.expert]
    assert CODE_QUESTION in prompt and code.strip() in prompt and prompt.rindex(FOLLOW_UP) > prompt.index(code.strip())


@pytest.mark.slow
def test_prefix_is_read_once_across_routing_segments_and_turns(config: AppConfig, demo: Profile) -> None:
    roomy = config.model_copy(update={"pool": config.pool.model_copy(update={"max_resident": 3})})
    pipeline = Pipeline(roomy, demo)
    try:
        first = pipeline.ask(CODE_QUESTION, max_new_tokens=32)
        [answer] = first.outputs
        # Generated right after routing on the same expert: only the instruction and the template's tail are read.
        model = pipeline.pool.get(answer.expert)
        routing_prompt = model._layout(context_messages(roomy.pipeline.system, []), CODE_QUESTION, None).tokens
        assert 0 < answer.prefilled_tokens == answer.prompt_tokens - len(routing_prompt)
        history = [Exchange(CODE_QUESTION, answer.text)]
        second = pipeline.ask(FOLLOW_UP, history=history, expert=answer.expert, max_new_tokens=16)
        new_message = len(model.tokenize(FOLLOW_UP, add_bos=False))
        answer_tokens = len(model.tokenize(answer.text, add_bos=False))
    finally:
        pipeline.close()
    # The follow-up on the expert that answered turn 1 (forced: no routing pass in between): the system text and
    # the first question come from the KV cache; the first answer as an assistant turn, the new message, the
    # instruction and the template are read.
    [follow] = second.outputs
    assert follow.prefilled_tokens < follow.prompt_tokens - len(routing_prompt) + 8
    assert follow.prefilled_tokens <= new_message + answer_tokens + 48


def follow_up_after_eviction(config: AppConfig, demo: Profile, expert: str, *, evict: bool, keep_state: bool
                             ) -> tuple[AskResult, AskResult]:
    """Turn 1 on `expert`, optionally evict it (max_resident = 1, another expert loads), then the follow-up."""
    history = [Exchange(CODE_QUESTION, "```python\ndef square(x):\n    return x * x\n```")]
    pipeline = Pipeline(config, demo, pool=ModelPool(config, demo, reuse_prefix=keep_state))
    try:
        first = pipeline.ask(CODE_QUESTION, expert=expert, max_new_tokens=8)
        if evict:
            pipeline.pool.get("gemma3-270m")
        return first, pipeline.ask(FOLLOW_UP, history=history, expert=expert, max_new_tokens=16)
    finally:
        pipeline.close()


@pytest.mark.slow
def test_evicted_expert_restores_its_state_and_answers_the_same(
    config: AppConfig, demo: Profile, tmp_path: Path
) -> None:
    single = config_with(tmp_path, "[pool]\nmax_resident = 1\n")
    # SmolLM2 (Q4_1) computes the same numbers however a text is batched, so restored and re-read agree exactly.
    _, restored = follow_up_after_eviction(single, demo, "smollm2-135m", evict=True, keep_state=True)
    _, reread = follow_up_after_eviction(single, demo, "smollm2-135m", evict=True, keep_state=False)
    [loaded] = [load for load in restored.loads if load.kind == "load" and load.expert == "smollm2-135m"]
    assert loaded.state_tokens > 0  # the reload restored the KV cache
    assert restored.outputs[0].text == reread.outputs[0].text and restored.outputs[0].text.strip()
    assert restored.outputs[0].prefilled_tokens < reread.outputs[0].prefilled_tokens
    # Whatever the quantization, a restored expert continues exactly as one that was never evicted.
    _, evicted = follow_up_after_eviction(single, demo, "qwen-coder", evict=True, keep_state=True)
    _, stayed = follow_up_after_eviction(single, demo, "qwen-coder", evict=False, keep_state=True)
    assert evicted.outputs[0].text == stayed.outputs[0].text
    assert evicted.outputs[0].prefilled_tokens == stayed.outputs[0].prefilled_tokens


@pytest.mark.slow
def test_a_conversation_longer_than_the_context_drops_the_oldest_turns(
    config: AppConfig, demo: Profile, tmp_path: Path
) -> None:
    small = config_with(tmp_path, '[experts.qwen-coder]\ncontext_length = 512\n')
    long_answer = "The answer is a long explanation. " * 30
    history = [Exchange(f"Question number {i}: what is {i} squared?", long_answer) for i in range(6)]
    pipeline = Pipeline(small, small.profile("demo"))
    try:
        result = pipeline.ask("What is 7 squared?", history=history, expert="qwen-coder", max_new_tokens=16)
    finally:
        pipeline.close()
    assert result.history.turns == 6 and 0 < result.history.left_out < 6
    assert result.outputs[0].text.strip() and result.outputs[0].prompt_tokens + 16 <= 512


@pytest.mark.slow
def test_ask_continue_stores_and_reports_the_turns_left_out(
    capsys: pytest.CaptureFixture[str], demo: Profile, user_dirs: Path, tmp_path: Path
) -> None:
    # Six long stored turns cannot all fit qwen-coder's 512-token context: the answer says how many
    # were left out, and the history keeps it, so a reopened conversation and the export still say so.
    small = tmp_path / "small.toml"
    small.write_text("[experts.qwen-coder]\ncontext_length = 512\n")
    store = History.open()
    conversation = store.create_conversation("squares", "demo")
    for i in range(6):
        store.add_message(conversation, question=f"Question number {i}: what is {i} squared?", mode="answer",
                          routing=None, outputs=[SegmentOutput(segment=0, kind="solve", expert="qwen-coder",
                                                               text="The answer is a long explanation. " * 30,
                                                               tokens=180, finish_reason="length", seconds=1.0)],
                          cancelled=False, error=None, created_at=1.0, finished_at=2.0)
    store.close()
    code, _, err = run(capsys, "ask", "--config", str(small), "-c", "--expert", "qwen-coder", "--max-tokens", "8",
                       "What is 7 squared?")
    assert code == 0, err
    store = History.open()
    try:
        *_, last = store.messages(conversation)
        exported = export_markdown(store.conversation(conversation), store.messages(conversation))
    finally:
        store.close()
    assert last.history_use is not None and last.history_use.turns == 6 and 0 < last.history_use.left_out < 6
    assert f"[{last.history_use.note()}]" in err
    assert f"_{last.history_use.note()}_" in exported


@pytest.mark.slow
def test_ask_continue_and_conversation_id_and_history_commands(
    capsys: pytest.CaptureFixture[str], demo: Profile, tmp_path: Path
) -> None:
    code, out, err = run(capsys, "ask", "--json", "--max-tokens", "24", CODE_QUESTION)
    assert code == 0, err
    first = json.loads(out)
    assert first["conversation_id"] == 1 and first["turn"] == 1
    code, out, err = run(capsys, "ask", "-c", "--json", "--expert", "qwen-coder", "--max-tokens", "16", FOLLOW_UP)
    assert code == 0, err
    second = json.loads(out)
    assert (second["conversation_id"], second["turn"]) == (1, 2) and second["history"]["turns"] == 1
    code, out, err = run(capsys, "ask", "--json", "--expert", "smollm2-135m", "--max-tokens", "4", "Say hello.")
    assert json.loads(out)["conversation_id"] == 2
    code, out, err = run(capsys, "ask", "--conversation", "1", "--expert", "qwen-coder", "--max-tokens", "4", "Why?")
    assert code == 0 and "conversation 1, turn 3" in err

    code, out, _ = run(capsys, "history", "list")
    assert code == 0 and out.splitlines()[0].split()[0] == "1" and "3 turn(s)" in out and "Say hello." in out
    code, out, _ = run(capsys, "history", "show", "1", "--json")
    shown = json.loads(out)
    assert [t["question"] for t in shown["turns"]] == [CODE_QUESTION, FOLLOW_UP, "Why?"]
    target = tmp_path / "conversation.md"
    code, _, err = run(capsys, "history", "export", "1", "-o", str(target))
    text = target.read_text()
    assert code == 0 and text.startswith("# Write a Python function") and "## Turn 2" in text and FOLLOW_UP in text


def test_unknown_conversation_names_the_history_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "--conversation", "41", "hi")
    assert code == 2 and "no conversation 41" in err and "seqmoe-local history" in err
    code, _, err = run(capsys, "ask", "-c", "hi")
    assert code == 2 and "no conversation to continue" in err
    code, out, _ = run(capsys, "history")
    assert code == 0 and "no conversations yet" in out


def test_damaged_history_is_refused_untouched_by_ask_continue(
    capsys: pytest.CaptureFixture[str], user_dirs: Path
) -> None:
    path = user_dirs / "data" / "history.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    before = path.read_bytes()
    code, _, err = run(capsys, "ask", "-c", "hi")
    assert code == 8 and "damaged" in err and "Traceback" not in err
    assert path.read_bytes() == before


@pytest.mark.slow
def test_ctrl_c_mid_turn_keeps_the_partial_turn_marked_cancelled(demo: Profile, user_dirs: Path) -> None:
    script = Path(sys.executable).parent / "seqmoe-local"
    process = subprocess.Popen(
        [str(script), "ask", "--expert", "qwen-coder", "--max-tokens", "200", "Count from 1 to 100, one per line."],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    assert process.stdout is not None
    header = process.stdout.readline()
    while header and "## " not in header:  # the segment's header: generation has started
        header = process.stdout.readline()
    first = process.stdout.read(8)  # a few characters of the answer have streamed
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and first and "interrupted" in err
    store = History.open()
    try:
        [message] = store.messages(1)
    finally:
        store.close()
    assert message.cancelled and message.outputs[0].finish_reason == "cancelled"
    assert message.outputs[0].text.startswith(first.strip()[:1])
