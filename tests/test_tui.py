"""The terminal chat: driven with key presses on the real demo experts, plus layout snapshots.

The snapshot tests use fixed state (fixed memory figure, fixed model statuses, a stored
answer with made-up numbers) because they check layout only; every behaviour test runs
the real pipeline. Real-model tests use one llama.cpp thread: on a small shared machine
that is several times faster than oversubscribed threads, and results do not depend on it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from seqmoe_local import cli
from seqmoe_local.config import AppConfig, Profile, load_config
from seqmoe_local.pipeline import SegmentOutput
from seqmoe_local.pull import ModelStatus
from seqmoe_local.router import Assignment, Routing, SegmentInfo
from seqmoe_local.tui.app import ChatApp, last_code_block
from seqmoe_local.tui.badge import PALETTE_SIZE, ExpertBadge, palette_indices
from seqmoe_local.tui.expert_picker import ExpertPicker
from seqmoe_local.tui.help_screen import HelpScreen
from seqmoe_local.history import History
from seqmoe_local.tui.history_screen import HistoryScreen
from seqmoe_local.tui.models_screen import ModelsScreen
from seqmoe_local.tui.routing_view import STAGE1_COLUMN, WINNER, RoutingView, format_bpb, segment_column
from seqmoe_local.tui.segment_card import SegmentCard

THREE_PART = "Find the sum of 17 and 25, explain the method, then write a Python function that adds two numbers."
ONE_THREAD = "[engine]\nn_threads = 1\n"
SCRIPT = Path(sys.executable).with_name("seqmoe-local")


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop (pytest sees the wrapped signature, so fixtures work)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def one_thread(config: AppConfig) -> AppConfig:
    return config.model_copy(update={"engine": config.engine.model_copy(update={"n_threads": 1})})


async def wait_until(pilot: Pilot, condition: Callable[[], bool], what: str, timeout: float = 240.0) -> None:
    """Let the app run until `condition` holds (real models on a busy machine can be slow)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)


def cell(routing_view: RoutingView, row: str, column: str) -> str:
    return str(routing_view.table.get_cell(row, column))


# -- pure pieces ---------------------------------------------------------------------------------


def test_badge_colours_are_stable_and_distinct_within_a_profile(config: AppConfig) -> None:
    for profile in config.profiles:
        names = list(config.profile(profile).experts)
        colours = palette_indices(names)
        assert colours == palette_indices(reversed(names))  # order-independent, no per-process salt
        assert len(set(colours.values())) == min(len(names), PALETTE_SIZE)


def test_last_code_block_takes_the_last_fence_even_unclosed() -> None:
    assert last_code_block("no code") is None
    assert last_code_block("```py\na = 1\n```\ntext") == "a = 1\n"
    assert last_code_block("```py\na = 1\n```\ntext\n```python\ndef f(x):\n    return") == "def f(x):\n    return"


# -- layout snapshots (fixed state) -------------------------------------------------------------


def layout_app(config: AppConfig, **kwargs: object) -> ChatApp:
    return ChatApp(config, config.profile("demo"), memory=lambda: 123_000_000, check_models=False, **kwargs)


async def steady(pilot: Pilot) -> None:
    """No blinking cursor in a snapshot."""
    pilot.app.query_one(Input).cursor_blink = False
    await pilot.pause()


def test_snapshot_empty_conversation_80x24(snap_compare: Callable[..., bool], config: AppConfig) -> None:
    assert snap_compare(layout_app(config), terminal_size=(80, 24), run_before=steady)


def stored_answer(path: Path) -> int:
    """A finished, partly cancelled answer with made-up numbers, saved the way the app saves one."""
    question = "I have 3 apples. Find 6 * 7, explain it, then write a Python function that multiplies."
    segments = [
        SegmentInfo(index=0, kind="other", text="I have 3 apples.", start=0, end=16, byte_start=0, byte_end=16),
        SegmentInfo(index=1, kind="solve", text="Find 6 * 7,", start=17, end=28, byte_start=17, byte_end=28),
        SegmentInfo(index=2, kind="explain", text="explain it,", start=29, end=40, byte_start=29, byte_end=40),
        SegmentInfo(index=3, kind="code", text="then write a Python function that multiplies.", start=41, end=87,
                    byte_start=41, byte_end=87),
    ]
    losses = {"qwen-coder": 1.234, "smollm2-135m": 1.5, "gemma3-270m": 1.9}
    active = {"qwen-coder": 1.234, "smollm2-135m": 1.5}
    routing = Routing(
        question=question, profile="demo", scoring="single_pass", tau=0.5, min_relative_gain=0.2,
        segments=segments, stage1=losses, best="qwen-coder", cutoff=1.851, active=list(active),
        excluded=["gemma3-270m"], common_start_byte=1, tokens_scored={e: 20 for e in losses}, seconds=0.5,
        assignments=[
            Assignment(segment=1, kind="solve", expert="qwen-coder", reason="lowest_loss", native="gemma3-270m",
                       losses={"qwen-coder": 1.1, "smollm2-135m": 1.6},
                       detail="native gemma3-270m is not active; qwen-coder has the lowest loss (1.100 bpb)"),
            Assignment(segment=2, kind="explain", expert="smollm2-135m", reason="native_kept",
                       native="smollm2-135m", losses={"qwen-coder": 1.3, "smollm2-135m": 1.4},
                       detail="qwen-coder 1.300 vs native smollm2-135m 1.400 bpb (+7% gain < 20%)"),
            Assignment(segment=3, kind="code", expert="qwen-coder", reason="lowest_loss", native="qwen-coder",
                       losses={"qwen-coder": 0.6, "smollm2-135m": 1.2},
                       detail="native qwen-coder has the lowest loss (0.600 bpb)"),
        ],
    )
    outputs = [
        SegmentOutput(segment=1, kind="solve", expert="qwen-coder", text="6 * 7 = **42**", tokens=8,
                      finish_reason="stop", seconds=0.5),
        SegmentOutput(segment=2, kind="explain", expert="smollm2-135m", text="Multiplying adds 6 seven times.",
                      tokens=9, finish_reason="length", seconds=0.5),
        SegmentOutput(segment=3, kind="code", expert="qwen-coder", text="```python\ndef mul(a, b):\n    return",
                      tokens=10, finish_reason="cancelled", seconds=0.5),
    ]
    history = History.open(path)
    conversation = history.create_conversation("apples", "demo")
    history.add_message(conversation, question=question, mode="answer", routing=routing, outputs=outputs,
                        cancelled=True, error=None, created_at=0.0, finished_at=1.0)
    history.close()
    return conversation


def test_snapshot_answer_wide_light_theme(
    snap_compare: Callable[..., bool], config: AppConfig, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite3"
    conversation = stored_answer(path)
    app = layout_app(config, history_path=path)

    async def reopen(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await pilot.app._reopen(conversation)  # what Enter on the history screen does
        pilot.app.query_one(RoutingView).collapsed = False
        await steady(pilot)

    assert snap_compare(app, terminal_size=(120, 50), run_before=reopen)


FIXED_STATUSES = [
    ModelStatus(name="smollm2-135m", description="SmolLM2-135M-Instruct Q4_1", roles=["explain"],
                path=Path("/models/SmolLM2-135M-Instruct.Q4_1.gguf"), present=True, size_on_disk=98_362_432,
                expected_size=98_362_432, quantization="Q4_1", architecture="llama", problem=None,
                pull_command="seqmoe-local pull smollm2-135m --profile demo"),
    ModelStatus(name="qwen-coder", description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M", roles=["code"],
                path=Path("/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"), present=False, size_on_disk=None,
                expected_size=491_400_064, quantization=None, architecture=None, problem=None,
                pull_command="seqmoe-local pull qwen-coder --profile demo"),
    ModelStatus(name="gemma3-270m", description="Gemma-3-270M base Q4_K_M", roles=["solve"],
                path=Path("/models/gemma-3-270m-q4_k_m.gguf"), present=False, size_on_disk=1_000,
                expected_size=253_113_024, quantization=None, architecture=None,
                problem="truncated: 1,000 of 253,113,024 bytes",
                pull_command="seqmoe-local pull gemma3-270m --profile demo"),
]


def test_snapshot_models_screen_80x24(snap_compare: Callable[..., bool], config: AppConfig) -> None:
    profile = config.profile("demo")

    async def open_models(pilot: Pilot) -> None:
        await pilot.app.push_screen(ModelsScreen(FIXED_STATUSES, "demo", profile.natives, "2 of 3 experts are "
                                                                                             "missing or unusable."))
        await pilot.pause()

    assert snap_compare(layout_app(config), terminal_size=(80, 24), run_before=open_models)


# -- behaviour without running a model ------------------------------------------------------------


@sync
async def test_missing_models_open_the_models_screen_and_keep_the_question(
    config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("SEQMOE_MODELS_DIR", str(empty))
    config = load_config(use_user_file=False)
    app = ChatApp(config, config.profile("demo"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen), "the models screen", timeout=30)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        assert {s.name for s in screen.missing} == set(config.profile("demo").experts)
        commands = str(screen.query_one("#pull-commands").content)
        assert "seqmoe-local pull qwen-coder --profile demo" in commands
        await pilot.press("c")
        assert "seqmoe-local pull gemma3-270m --profile demo" in app.clipboard
        await pilot.press("escape")
        assert not isinstance(app.screen, ModelsScreen)

        await pilot.press(*"Explain recursion.")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.busy and bool(app.turns), "the failed answer", timeout=30)
        assert app.query_one(Input).value == "Explain recursion."  # given back, nothing was answered
        assert app.turns[-1].error is not None and "seqmoe-local pull" in app.turns[-1].error
        assert any("is missing" in n.message for n in app._notifications)
        assert app.turns[-1].view.outcome.startswith("failed: ")


@sync
async def test_corrupt_history_is_reported_and_never_written(config: AppConfig, user_dirs: Path) -> None:
    path = user_dirs / "data" / "history.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not sqlite\n" * 100)
    before = path.read_bytes()
    app = ChatApp(config, config.profile("demo"), check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        [note] = [n for n in app._notifications if n.title == "History not available"]
        assert str(path) in note.message and "move it aside" in note.message.lower()
        assert app.history is None
        await pilot.press("f3")  # says why again instead of opening an empty history
        assert not isinstance(app.screen, HistoryScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
    assert path.read_bytes() == before


@sync
async def test_picker_pins_and_disables_for_the_next_question(config: AppConfig) -> None:
    app = ChatApp(config, config.profile("demo"), check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        assert isinstance(app.screen, ExpertPicker)
        await pilot.press("down", "p", "down", "d", "enter")
        names = list(config.profile("demo").experts)
        assert app.choice.pinned == names[1] and app.choice.disabled == {names[2]}
        assert str(app.status.pending.content) == f"next: pinned {names[1]} · next without {names[2]}"
        assert not any(n.message == "keep at least one expert" for n in app._notifications)
        await pilot.press("f4", "d", "down", "d")  # the second would leave no expert
        assert app.screen.choice.disabled == {names[0], names[2]}
        assert any(n.message == "keep at least one expert" for n in app._notifications)
        await pilot.press("r", "escape")
        assert app.choice.pinned is None and not app.choice.disabled


@sync
async def test_help_lists_every_key_and_question_mark_types_in_the_input(config: AppConfig) -> None:
    app = ChatApp(config, config.profile("demo"), check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w", "h", "y", "?")
        assert app.query_one(Input).value == "why?" and not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        described = {description for _, description in app.screen.keys}
        assert {"Cancel", "Route", "Experts", "Copy answer", "Copy code", "New", "Models", "History",
                "Quit"} <= described
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


# -- the real pipeline ----------------------------------------------------------------------------


@pytest.mark.slow
@sync
async def test_three_part_answer_matches_cli_routing_and_is_saved(
    config: AppConfig, demo: Profile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "one-thread.toml"
    settings.write_text(ONE_THREAD)
    assert cli.main(["route", "--json", "--config", str(settings), THREE_PART]) == 0
    expected = Routing.model_validate_json(capsys.readouterr().out)

    app = ChatApp(one_thread(config), demo, max_new_tokens=8, check_models=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(*THREE_PART)
        await pilot.press("enter")
        assert app.query_one(Input).value == ""
        await wait_until(pilot, lambda: not app.busy and bool(app.turns), "the answer")
        turn = app.turns[-1]
        assert turn.error is None and not turn.cancelled, turn.error

        cards = list(turn.view.query(SegmentCard))
        assert [(c.kind, c.expert, c.assignment.reason) for c in cards] == [
            (a.kind, a.expert, a.reason) for a in expected.assignments
        ]
        assert [c.query_one(ExpertBadge).expert for c in cards] == [a.expert for a in expected.assignments]
        assert [c.segment_text for c in cards] == [expected.segments[a.segment].text for a in expected.assignments]
        for card in cards:
            assert card.state in ("done", "length") and card.output.source.strip(), card.state_text
            assert card.output.source == turn.outputs[card.number - 1].text

        view = turn.view.query_one(RoutingView)
        assert view.routing.stage1.keys() == expected.stage1.keys()
        for expert, bpb in expected.stage1.items():
            assert cell(view, expert, STAGE1_COLUMN) == format_bpb(bpb)
            status = "best" if expert == expected.best else ("excluded" if expert in expected.excluded else "kept")
            assert cell(view, expert, "status") == status
        for index, assignment in enumerate(expected.assignments):
            for expert, bpb in assignment.losses.items():
                shown = cell(view, expert, segment_column(index))
                winner = f" {WINNER}" if expert == assignment.expert else ""
                assert shown == format_bpb(bpb) + winner
        assert f"cutoff {format_bpb(expected.cutoff)}" in str(view.query_one(".routing-notes").content)
        assert turn.view.outcome.startswith("done · 3 part(s)")

        await pilot.press("ctrl+y")
        assert all(f"## {a.kind} · {a.expert}" in app.clipboard for a in expected.assignments)

        # Route only: the same routing again, nothing generated.
        await pilot.press(*"Explain recursion, then write a Python example.")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.busy and len(app.turns) == 2, "the route-only request")
        routed = app.turns[-1]
        assert routed.route_only and routed.routing is not None and not routed.outputs
        assert [c.state for c in routed.view.cards] == ["routed"] * len(routed.routing.assignments)
        assert not routed.view.query_one(RoutingView).collapsed

        # Saved, and reopened from the history screen as it was.
        await pilot.press("ctrl+n")
        assert not app.turns
        await pilot.press("f3")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.turns) == 2, "the reopened conversation", timeout=30)
        reopened = app.turns[0]
        assert reopened.routing == turn.routing
        assert [c.output.source for c in reopened.view.cards] == [c.output.source for c in cards]
        assert [c.state for c in reopened.view.cards] == [c.state for c in cards]


@pytest.mark.slow
@sync
async def test_cancel_mid_stream_keeps_the_partial_answer(config: AppConfig, demo: Profile) -> None:
    app = ChatApp(one_thread(config), demo, max_new_tokens=300, check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        # Pin qwen-coder (no scoring: the test is about generation) for a two-part question.
        await pilot.press("f4")
        row = list(demo.experts).index("qwen-coder")
        await pilot.press(*["down"] * row, "p", "enter")
        # A long first part, so that the cancel lands in it.
        app.query_one(Input).value = ("Explain in detail how merge sort works, then write a Python function that "
                                      "reverses a string.")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.busy and bool(app._turn.view.cards)
                         and app._turn.view.cards[0].output.source.strip() != "", "the first tokens")
        await pilot.press(*"next", "enter")  # keys work while it generates; Enter does not lose the text
        assert app.busy and app.query_one(Input).value == "next"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.busy, "the cancelled answer to stop", timeout=60)

        turn = app.turns[-1]
        first, second = turn.view.cards
        assert (first.expert, first.assignment.reason) == ("qwen-coder", "forced")
        assert turn.cancelled and turn.view.outcome.startswith("cancelled")
        assert first.state == "cancelled" and first.state_text == "cancelled" and first.output.source.strip()
        assert second.state == "skipped" and second.state_text == "skipped (cancelled)"
        assert turn.outputs[0].finish_reason == "cancelled" and 0 < turn.outputs[0].tokens < 300

        # Still responsive: typing, the help screen, and the pin was used up by that question.
        await pilot.press(*" ok")
        assert app.query_one(Input).value == "next ok"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.choice.pinned is None


@pytest.mark.slow
def test_chat_in_a_real_terminal(demo: Profile, tmp_path: Path) -> None:
    """`seqmoe-local chat` in tmux: type a question, read the screen back, quit while it generates."""
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed")
    settings = tmp_path / "one-thread.toml"
    settings.write_text(ONE_THREAD)
    socket = f"seqmoe-test-{os.getpid()}"
    environment = {k: v for k, v in os.environ.items() if k.startswith("SEQMOE_")}
    command = shlex.join(["env", *(f"{k}={v}" for k, v in environment.items()), str(SCRIPT), "chat", "--profile",
                          "demo", "--config", str(settings)])

    def tmux_run(*args: str) -> str:
        return subprocess.run([tmux, "-L", socket, *args], check=True, capture_output=True, text=True).stdout

    def screen() -> str:
        return tmux_run("capture-pane", "-p", "-t", "chat")

    def wait_for(condition: Callable[[str], bool], what: str, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = screen()
            if condition(text):
                return text
            assert time.monotonic() < deadline, f"timed out waiting for {what}; the screen shows:\n{text}"
            time.sleep(0.2)

    tmux_run("new-session", "-d", "-s", "chat", "-x", "100", "-y", "30", command)
    try:
        wait_for(lambda s: "Ask a question" in s, "the chat to start", timeout=60)
        tmux_run("send-keys", "-t", "chat", "-l", "Write a Python function that reverses a string.")
        tmux_run("send-keys", "-t", "chat", "Enter")
        text = wait_for(lambda s: "1 · code" in s and "qwen-coder" in s, "the code card with its expert badge")
        assert "Write a Python function that reverses a string." in text
        tmux_run("send-keys", "-t", "chat", "C-q")
        deadline = time.monotonic() + 60
        while subprocess.run([tmux, "-L", socket, "has-session", "-t", "chat"], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, f"the chat did not quit; the screen shows:\n{screen()}"
            time.sleep(0.2)
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True)
