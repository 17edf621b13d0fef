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
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual._callback import invoke
from textual.pilot import Pilot
from textual.widgets import Input

from seqmoe_local import cli, pipeline
from seqmoe_local.config import AppConfig, Profile, load_config
from seqmoe_local.history import History
from seqmoe_local.pipeline import FINISH_NOTES, AskResult, HistoryUse, SegmentOutput, Timings, answer_text
from seqmoe_local.prompts import Exchange
from seqmoe_local.pull import ModelStatus
from seqmoe_local.router import Assignment, Routing, SegmentInfo
from seqmoe_local.tui.app import ChatApp
from seqmoe_local.tui.badge import PALETTE_SIZE, ExpertBadge, palette_indices
from seqmoe_local.tui.expert_picker import ExpertPicker
from seqmoe_local.tui.help_screen import HelpScreen
from seqmoe_local.tui.history_screen import HistoryScreen
from seqmoe_local.tui.models_screen import ModelsScreen
from seqmoe_local.tui.pipeline_messages import Relay
from seqmoe_local.tui.routing_view import STAGE1_COLUMN, WINNER, RoutingView, format_bpb, segment_column
from seqmoe_local.tui.segment_card import SegmentCard
from seqmoe_local.tui.token_batch import FLUSH_INTERVAL_S
from seqmoe_local.tui.turn import Turn, last_code_block

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


APPLES = "I have 3 apples. Find 6 * 7, explain it, then write a Python function that multiplies."


def made_up_routing(question: str = APPLES) -> Routing:
    """A three-part routing with made-up losses (layout and display tests only)."""
    segments = [
        SegmentInfo(index=0, kind="other", text="I have 3 apples.", start=0, end=16, byte_start=0, byte_end=16),
        SegmentInfo(index=1, kind="solve", text="Find 6 * 7,", start=17, end=28, byte_start=17, byte_end=28),
        SegmentInfo(index=2, kind="explain", text="explain it,", start=29, end=40, byte_start=29, byte_end=40),
        SegmentInfo(index=3, kind="code", text="then write a Python function that multiplies.", start=41, end=87,
                    byte_start=41, byte_end=87),
    ]
    losses = {"qwen-coder": 1.234, "smollm2-135m": 1.5, "gemma3-270m": 1.9}
    active = {"qwen-coder": 1.234, "smollm2-135m": 1.5}
    return Routing(
        question=question, profile="demo", scoring="single_pass", tau=0.5, min_relative_gain=0.2,
        segments=segments, stage1=losses, best="qwen-coder", cutoff=1.851, active=list(active),
        excluded=["gemma3-270m"], common_start_byte=1, tokens_scored=dict.fromkeys(losses, 20), seconds=0.5,
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


def made_up_outputs() -> list[SegmentOutput]:
    """Outputs for `made_up_routing`: stopped, cut at max tokens, cancelled."""
    return [
        SegmentOutput(segment=1, kind="solve", expert="qwen-coder", text="6 * 7 = **42**", tokens=8,
                      finish_reason="stop", seconds=0.5),
        SegmentOutput(segment=2, kind="explain", expert="smollm2-135m", text="Multiplying adds 6 seven times.",
                      tokens=9, finish_reason="length", seconds=0.5),
        SegmentOutput(segment=3, kind="code", expert="qwen-coder", text="```python\ndef mul(a, b):\n    return",
                      tokens=10, finish_reason="cancelled", seconds=0.5),
    ]


def stored_answer(path: Path) -> int:
    """A finished, partly cancelled answer with made-up numbers, saved the way the app saves one."""
    history = History.open(path)
    conversation = history.create_conversation("apples", "demo")
    history.add_message(conversation, question=APPLES, mode="answer", routing=made_up_routing(),
                        outputs=made_up_outputs(), cancelled=True, error=None, created_at=0.0, finished_at=1.0)
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
        await pilot.app.conversation.reopen(conversation)  # what Enter on the history screen does
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
#
# A key press can return before the app has acted on it (Pilot decides that the app is idle by how
# much CPU it used, which a loaded machine fools), so every check of what a key did waits for that
# state first, with wait_until: never for a fixed time.


async def shows(pilot: Pilot, condition: Callable[[], bool], what: str) -> None:
    """Wait for a state the app reaches without running a model."""
    await wait_until(pilot, condition, what, timeout=30)


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
        chat = app.conversation
        await shows(pilot, lambda: isinstance(app.screen, ModelsScreen) and bool(app.screen.query("#pull-commands")),
                    "the models screen")
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        assert {s.name for s in screen.missing} == set(config.profile("demo").experts)
        commands = str(screen.query_one("#pull-commands").content)
        assert "seqmoe-local pull qwen-coder --profile demo" in commands
        await pilot.press("c")
        await shows(pilot, lambda: "seqmoe-local pull gemma3-270m --profile demo" in app.clipboard, "the copy")
        await pilot.press("escape")
        await shows(pilot, lambda: app.screen is chat, "the models screen to close")

        await pilot.press(*"Explain recursion.")
        await pilot.press("enter")
        await shows(pilot, lambda: not chat.busy and bool(chat.turns), "the failed answer")
        assert chat.question_input.value == "Explain recursion."  # given back, nothing was answered
        assert chat.turns[-1].error is not None and "seqmoe-local pull" in chat.turns[-1].error
        assert any("is missing" in n.message for n in app._notifications)
        assert chat.turns[-1].view.outcome.startswith("failed: ")


@sync
async def test_corrupt_history_is_reported_and_never_written(config: AppConfig, user_dirs: Path) -> None:
    path = user_dirs / "data" / "history.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not sqlite\n" * 100)
    before = path.read_bytes()
    app = ChatApp(config, config.profile("demo"), check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.conversation
        await shows(pilot, lambda: any(n.title == "History not available" for n in app._notifications),
                    "the history notice")
        [note] = [n for n in app._notifications if n.title == "History not available"]
        assert str(path) in note.message and "move it aside" in note.message.lower()
        assert chat.history is None
        await pilot.press("f3")  # says why again instead of opening an empty history
        await shows(pilot, lambda: any(n.title == "History" and n.message == note.message
                                       for n in app._notifications), "the reason again")
        assert not isinstance(app.screen, HistoryScreen)
        await pilot.press("f1")
        await shows(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await pilot.press("escape")
        await shows(pilot, lambda: app.screen is chat, "the help screen to close")
    assert path.read_bytes() == before


@sync
async def test_picker_pins_and_disables_for_the_next_question(config: AppConfig) -> None:
    app = ChatApp(config, config.profile("demo"), check_models=False)
    names = list(config.profile("demo").experts)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.conversation
        await pilot.press("f4")
        await shows(pilot, lambda: isinstance(app.screen, ExpertPicker), "the picker")
        await pilot.press("down", "p", "down", "d", "enter")
        await shows(pilot, lambda: app.screen is chat and bool(chat.status.pending.content), "the choice applied")
        assert chat.choice.pinned == names[1] and chat.choice.disabled == {names[2]}
        assert str(chat.status.pending.content) == f"next: pinned {names[1]} · next without {names[2]}"
        assert not any(n.message == "keep at least one expert" for n in app._notifications)

        await pilot.press("f4")
        await shows(pilot, lambda: isinstance(app.screen, ExpertPicker), "the picker again")
        picker = app.screen
        assert isinstance(picker, ExpertPicker)
        await pilot.press("d", "down", "d")  # the second would leave no expert
        await shows(pilot, lambda: any(n.message == "keep at least one expert" for n in app._notifications),
                    "the warning")
        assert picker.choice.disabled == {names[0], names[2]}
        await pilot.press("r", "escape")
        await shows(pilot, lambda: app.screen is chat and not str(chat.status.pending.content), "the reset choice")
        assert chat.choice.pinned is None and not chat.choice.disabled


@sync
async def test_no_timer_fails_when_it_fires_after_the_chat_screen_is_gone(config: AppConfig) -> None:
    """The race behind a flaky `NoMatches: No nodes match 'StatusBar'` (issue 12).

    Shutting down (as `run_test` does after every test) prunes the screens while timers still run;
    a 1 s status tick owned by the app then looked the status bar up on a screen that was gone. A
    busy machine stretches that window until a tick lands in it. Here every timer still alive fires
    right after each screen is pruned (Textual internals: the window made certain); none may fail.
    """
    app = ChatApp(config, config.profile("demo"), check_models=False)
    fired: list[str] = []
    prune = app._prune

    async def prune_then_tick(*nodes: Any, parent: Any = None) -> None:
        await prune(*nodes, parent=parent)
        for node in [app, *app._registry]:
            for timer in list(node._timers):
                if timer._callback is not None and timer._task is not None:
                    fired.append(f"{type(node).__name__} {timer.name}")
                    await invoke(timer._callback)

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")  # a dialog on top, as when the flaky test ended
        await shows(pilot, lambda: isinstance(app.screen, ExpertPicker), "the picker")
        app._prune = prune_then_tick  # type: ignore[method-assign]
    assert any(name.startswith("StatusBar") for name in fired)  # the hook ran, with the status clock alive


@sync
async def test_help_lists_every_key_and_question_mark_types_in_the_input(config: AppConfig) -> None:
    app = ChatApp(config, config.profile("demo"), check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.conversation
        await pilot.press("w", "h", "y", "?")
        await shows(pilot, lambda: chat.question_input.value == "why?", "the typed question")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await shows(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        keys = {description: key for key, description in app.screen.keys}
        assert {"Cancel", "Route", "Experts", "Copy answer", "Copy code", "New", "Models", "History",
                "Quit"} <= keys.keys()
        assert len(keys) == len(app.screen.keys)  # one row per action, its keys together
        assert keys["Cancel"] == "esc / ^c"
        await pilot.press("escape")
        await shows(pilot, lambda: app.screen is chat, "the help screen to close")


def store_conversation(path: Path) -> tuple[int, list[Exchange]]:
    """A saved conversation of four turns, and the two that count as context: answers with text.

    Turn 1 is cancelled with a partial answer (it counts), turn 2 was routed only and turn 4
    failed before any text (neither counts), turn 3 was cut by the loop guard.
    """
    history = History.open(path)
    conversation = history.create_conversation("apples", "demo")
    looping = [SegmentOutput(segment=1, kind="solve", expert="qwen-coder", text="42 = 42 = 42", tokens=9,
                             finish_reason="repetition", seconds=0.5)]
    turns = [
        (APPLES, "answer", made_up_outputs(), True, None, HistoryUse(turns=0, left_out=0)),
        ("Explain it again.", "route", [], False, None, None),
        ("Find 6 * 7 again.", "answer", looping, False, None, HistoryUse(turns=1, left_out=1)),
        ("And 7 * 8?", "answer", [], False, "qwen-coder is missing; run seqmoe-local pull qwen-coder", None),
    ]
    for question, mode, outputs, cancelled, error, use in turns:
        history.add_message(conversation, question=question, mode=mode, routing=made_up_routing(question),
                            outputs=outputs, cancelled=cancelled, error=error, created_at=1.0, finished_at=2.0,
                            history_use=use)
    exchanges = history.exchanges(conversation)
    history.close()
    return conversation, exchanges


@sync
async def test_a_reopened_conversation_shows_how_each_part_ended_and_is_the_next_questions_context(
    config: AppConfig, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite3"
    conversation, stored = store_conversation(path)
    assert [e.question for e in stored] == [APPLES, "Find 6 * 7 again."]
    app = layout_app(config, history_path=path)
    async with app.run_test(size=(100, 40)) as pilot:
        chat = app.conversation
        await pilot.press("f3")
        await shows(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history screen")
        await pilot.press("enter")
        await shows(pilot, lambda: len(chat.turns) == 4, "the reopened conversation")
        assert chat.conversation_id == conversation
        assert chat.exchanges() == stored  # what the next question is asked after, as `ask -c` would
        assert stored[0].answer == answer_text(made_up_outputs())  # the cancelled turn's partial text

        cancelled, routed, looped, failed = chat.turns
        assert [(c.state, c.state_text) for c in cancelled.view.cards[1:]] == [
            ("length", FINISH_NOTES["length"]), ("cancelled", FINISH_NOTES["cancelled"])]
        assert cancelled.view.outcome.startswith("cancelled")
        assert [c.state for c in routed.view.cards] == ["routed"] * 3
        assert looped.view.cards[0].state == "repetition"
        assert looped.view.cards[0].state_text == FINISH_NOTES["repetition"] == "cut: it began repeating itself"
        assert failed.view.outcome.startswith("failed: ")
        # The stored note: the third turn's earlier turn did not fit (schema 3 keeps it); the others said nothing.
        assert [t.view.note for t in chat.turns] == ["", "", HistoryUse(turns=1, left_out=1).note(), ""]
        assert looped.view.note.startswith("1 earlier turn left out of 1")

        await pilot.press("ctrl+n")
        await shows(pilot, lambda: not chat.turns, "a new conversation")
        assert chat.exchanges() == [] and chat.conversation_id is None


@sync
async def test_events_from_the_pipeline_thread_are_shown_in_order_with_tokens_batched(
    config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen's side of a run, fed by the real relay from another thread with made-up events."""
    flushes: list[float] = []
    shown = threading.Event()
    append = SegmentCard.append

    async def recorded(card: SegmentCard, text: str) -> None:
        flushes.append(card.screen.tokens.taken_at)  # when this batch of tokens was taken for the screen
        await append(card, text)
        shown.set()

    monkeypatch.setattr(SegmentCard, "append", recorded)
    routing = made_up_routing()
    words = [f"w{i} " for i in range(400)]
    looped = SegmentOutput(segment=1, kind="solve", expert="qwen-coder", text="".join(words), tokens=len(words),
                           finish_reason="repetition", seconds=1.0)
    skipped = [SegmentOutput(segment=a.segment, kind=a.kind, expert=a.expert, text="", tokens=0,
                             finish_reason="skipped", seconds=0.0) for a in routing.assignments[1:]]
    result = AskResult(routing=routing, outputs=[looped, *skipped], loads=[], cancelled=False,
                       timings=Timings(routing=0.1, loading=0.0, generation=1.0, total=1.1),
                       history=HistoryUse(turns=3, left_out=2))

    app = layout_app(config, history_path=tmp_path / "history.sqlite3")
    async with app.run_test(size=(100, 40)) as pilot:
        chat = app.conversation
        relay = Relay(chat)
        turn = await chat.start_turn(APPLES, route_only=False, relay=relay)

        def pipeline_thread() -> None:
            relay(pipeline.Routed(routing))
            relay(pipeline.SegmentStarted(0, routing.assignments[0]))
            for start in range(0, len(words), 100):
                shown.clear()
                for word in words[start:start + 100]:
                    relay(pipeline.TokenGenerated(0, word))
                shown.wait(timeout=30)  # a burst, shown, then the next: several batches (the thread may wait)
            relay(pipeline.SegmentDone(0, looped))
            relay(pipeline.Finished(result))
            relay.ended(None)

        thread = threading.Thread(target=pipeline_thread)
        thread.start()
        await shows(pilot, lambda: not chat.busy, "the end of the run")
        thread.join()

        first, *rest = turn.view.cards
        assert first.output.source == "".join(words)  # every token, in order, then the final text
        assert (first.state, first.state_text) == ("repetition", "cut: it began repeating itself")
        assert [c.state for c in rest] == ["skipped", "skipped"]
        assert turn.history_use == HistoryUse(turns=3, left_out=2)
        assert turn.view.note.startswith("2 earlier turns left out of 3")
        assert chat.turns == [turn] and chat.exchanges() == [Exchange(APPLES, "".join(words).strip())]

        # Batched: far fewer Markdown writes than tokens, and batches taken by the timer at least
        # FLUSH_INTERVAL_S apart (the last one may be forced by SegmentDone, which shows what came before it).
        assert 4 <= len(flushes) < len(words)
        timed = flushes[:-1]
        assert all(later - earlier >= FLUSH_INTERVAL_S - 1e-3 for earlier, later in zip(timed, timed[1:], strict=False))


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
        chat = app.conversation
        await pilot.press(*THREE_PART)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not chat.busy and bool(chat.turns), "the answer")
        assert chat.question_input.value == ""
        turn = chat.turns[-1]
        assert turn.error is None and not turn.cancelled, turn.error

        cards = list(turn.view.query(SegmentCard))
        assert [(c.kind, c.expert, c.assignment.reason) for c in cards] == [
            (a.kind, a.expert, a.reason) for a in expected.assignments
        ]
        assert [c.query_one(ExpertBadge).expert for c in cards] == [a.expert for a in expected.assignments]
        assert [c.segment_text for c in cards] == [expected.segments[a.segment].text for a in expected.assignments]
        for card in cards:
            assert card.state in ("done", "length", "repetition") and card.output.source.strip(), card.state_text
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
        await wait_until(pilot, lambda: bool(app.clipboard), "the copy", timeout=30)
        assert all(f"## {a.kind} · {a.expert}" in app.clipboard for a in expected.assignments)

        # Route only: the same routing again, nothing generated.
        await pilot.press(*"Explain recursion, then write a Python example.")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not chat.busy and len(chat.turns) == 2, "the route-only request")
        routed = chat.turns[-1]
        assert routed.route_only and routed.routing is not None and not routed.outputs
        assert routed.context == (turn.exchange(),)  # it was routed in the conversation...
        assert chat.exchanges() == [turn.exchange()]  # ...but is not context for the next question
        assert [c.state for c in routed.view.cards] == ["routed"] * len(routed.routing.assignments)
        assert not routed.view.query_one(RoutingView).collapsed

        # Saved, and reopened from the history screen as it was.
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not chat.turns, "a new conversation", timeout=30)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history screen", timeout=30)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(chat.turns) == 2, "the reopened conversation", timeout=30)
        reopened = chat.turns[0]
        assert reopened.routing == turn.routing
        assert [c.output.source for c in reopened.view.cards] == [c.output.source for c in cards]
        assert [c.state for c in reopened.view.cards] == [c.state for c in cards]


@pytest.mark.slow
@sync
async def test_follow_ups_continue_the_conversation_and_so_does_a_reopened_one(
    config: AppConfig, demo: Profile, tmp_path: Path
) -> None:
    """What the pipeline was given and reported: earlier answered turns, none after New, all after reopening."""
    # One small expert keeps it quick; routing, generation and the store are the real ones.
    solo = demo.without([name for name in demo.experts if name != "smollm2-135m"])
    path = tmp_path / "history.sqlite3"
    app = ChatApp(one_thread(config), solo, max_new_tokens=8, history_path=path, check_models=False)
    async with app.run_test(size=(100, 40)) as pilot:
        chat = app.conversation

        async def ask(question: str, key: str = "enter") -> Turn:
            count = len(chat.turns)
            chat.question_input.value = question
            await pilot.press(key)
            await wait_until(pilot, lambda: not chat.busy and len(chat.turns) == count + 1, f"{question!r}")
            turn = chat.turns[-1]
            assert turn.error is None, turn.error
            return turn

        first = await ask("What is 2 + 3?")
        assert first.context == () and first.history_use == HistoryUse(turns=0, left_out=0)
        second = await ask("Why is that?")
        assert second.context == (Exchange("What is 2 + 3?", answer_text(first.output_list())),)
        assert second.history_use == HistoryUse(turns=1, left_out=0)  # as the pipeline counted what it got
        await ask("Explain it again.", key="ctrl+r")  # routed only: not context
        third = await ask("And 3 + 4?")
        assert third.history_use == HistoryUse(turns=2, left_out=0)
        assert third.context == (first.exchange(), second.exchange())
        started = chat.conversation_id
        assert started is not None

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not chat.turns and chat.conversation_id is None, "a new conversation",
                         timeout=30)
        fresh = await ask("What is 5 * 5?")
        assert fresh.context == () and fresh.history_use == HistoryUse(turns=0, left_out=0)
        assert chat.conversation_id not in (None, started)

        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history screen", timeout=30)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await pilot.press(*["down"] * screen.table.get_row_index(str(started)), "enter")
        await wait_until(pilot, lambda: chat.conversation_id == started and len(chat.turns) == 4,
                         "the first conversation reopened", timeout=30)
        assert chat.exchanges() == [first.exchange(), second.exchange(), third.exchange()]
        continued = await ask("What was my first question?")
        assert continued.history_use == HistoryUse(turns=3, left_out=0)
        assert continued.context == (first.exchange(), second.exchange(), third.exchange())

    history = History.open(path)
    try:
        assert history.conversation(started).messages == 5  # the reopened conversation grew, no new one
        assert history.exchanges(started) == [*continued.context, continued.exchange()]
    finally:
        history.close()


@pytest.mark.slow
@sync
async def test_cancel_mid_stream_keeps_the_partial_answer(config: AppConfig, demo: Profile) -> None:
    app = ChatApp(one_thread(config), demo, max_new_tokens=300, check_models=False)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.conversation
        # Pin qwen-coder (no scoring: the test is about generation) for a two-part question.
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, ExpertPicker), "the picker", timeout=30)
        row = list(demo.experts).index("qwen-coder")
        await pilot.press(*["down"] * row, "p", "enter")
        await wait_until(pilot, lambda: app.screen is chat and chat.choice.pinned == "qwen-coder", "the pin",
                         timeout=30)
        # A long first part, so that the cancel lands in it.
        chat.question_input.value = ("Explain in detail how merge sort works, then write a Python function that "
                                     "reverses a string.")
        await pilot.press("enter")
        await wait_until(pilot, lambda: chat.turn is not None and bool(chat.turn.view.cards)
                         and chat.turn.view.cards[0].output.source.strip() != "", "the first tokens")
        assert chat.busy
        # Keys work while it generates, and Enter does not lose the text. The keys go straight into the app's
        # queue, as a terminal sends them: Pilot.press waits for the app to go idle after each key, which it
        # never does while tokens stream, so on a fast CPU (AVX-512) the first part ended before the Escape.
        for key, char in [("n", "n"), ("e", "e"), ("x", "x"), ("t", "t"), ("enter", "\r"), ("escape", "\x1b")]:
            app.post_message(events.Key(key, char))
        await wait_until(pilot, lambda: not chat.busy, "the cancelled answer to stop", timeout=60)
        assert chat.question_input.value == "next"

        turn = chat.turns[-1]
        first, second = turn.view.cards
        assert (first.expert, first.assignment.reason) == ("qwen-coder", "forced")
        assert turn.cancelled and turn.view.outcome.startswith("cancelled")
        assert first.state == "cancelled" and first.state_text == "cancelled" and first.output.source.strip()
        assert second.state == "skipped" and second.state_text == "skipped (cancelled)"
        assert turn.outputs[0].finish_reason == "cancelled" and 0 < turn.outputs[0].tokens < 300
        # The partial answer is the next question's context.
        assert chat.exchanges() == [Exchange(turn.question, turn.outputs[0].text.strip())]

        # Still responsive: typing, the help screen, and the pin was used up by that question.
        await pilot.press(*" ok")
        await wait_until(pilot, lambda: chat.question_input.value == "next ok", "the typed text", timeout=30)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen", timeout=30)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is chat, "the help screen to close", timeout=30)
        assert chat.choice.pinned is None


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
