"""The terminal chat: ask, watch the routing and the experts' answers stream in, browse history.

Routing and generation run in a thread worker. The pipeline calls back on that
thread, so its events only go into a queue there; a 10 Hz timer on the UI thread
drains the queue, which batches the per-token events into at most ten Markdown
updates a second and never makes the generating thread wait for the screen.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input

from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.engine import rss_bytes
from seqmoe_local.errors import SeqmoeError
from seqmoe_local.pipeline import (
    Event,
    Finished,
    Pipeline,
    Routed,
    SegmentDone,
    SegmentOutput,
    SegmentStarted,
    TokenGenerated,
)
from seqmoe_local.pool import ModelPool, PoolEvent
from seqmoe_local.pull import ModelStatus, model_statuses
from seqmoe_local.router import Routing

from .answer_view import AnswerView
from .badge import palette_indices
from .expert_picker import ExpertChoice, ExpertPicker
from .help_screen import HelpScreen
from seqmoe_local.history import History, HistoryError, StoredMessage
from .history_screen import HistoryScreen
from .models_screen import ModelsScreen
from .status_bar import StatusBar
from .welcome import Welcome

#: how often queued pipeline events reach the screen (the Markdown refresh rate while streaming)
DRAIN_INTERVAL_S = 0.1
#: how long quitting waits for a running answer to stop before leaving its models loaded
STOP_TIMEOUT_S = 60.0
#: how long a load or eviction stays in the status bar (it makes room for the resident list on 80 columns)
EVENT_SHOWN_S = 6.0


@dataclass(frozen=True)
class _Ended:
    """The worker is done; `error` is what stopped it early, if anything."""

    error: BaseException | None


@dataclass
class Turn:
    """One question of the conversation and everything that came back, for copying and history."""

    question: str
    route_only: bool
    view: AnswerView
    started_at: float
    routing: Routing | None = None
    outputs: dict[int, SegmentOutput] = field(default_factory=dict)  # by assignment index
    streamed: dict[int, list[str]] = field(default_factory=dict)  # text so far of running segments
    cancelled: bool = False
    error: str | None = None

    def segment_text(self, index: int) -> str:
        """The answer of assignment `index`, finished or as far as it got."""
        if index in self.outputs:
            return self.outputs[index].text
        return "".join(self.streamed.get(index, []))

    def answer_markdown(self) -> str:
        """The whole answer as Markdown, a heading per segment (as `seqmoe-local ask` prints it)."""
        if self.routing is None:
            return ""
        parts = []
        for index, a in enumerate(self.routing.assignments):
            text = self.segment_text(index).strip()
            if text:
                parts.append(f"## {a.kind} · {a.expert}\n\n{text}")
        return "\n\n".join(parts)

    def output_list(self) -> list[SegmentOutput]:
        """Outputs to store: finished ones, and the partial text of a segment an error interrupted."""
        outputs = []
        for index in sorted(set(self.outputs) | set(self.streamed)):
            if index in self.outputs:
                outputs.append(self.outputs[index])
            elif self.routing is not None:
                a = self.routing.assignments[index]
                pieces = self.streamed[index]
                outputs.append(SegmentOutput(segment=a.segment, kind=a.kind, expert=a.expert, text="".join(pieces),
                                             tokens=len(pieces), finish_reason="failed", seconds=0.0))
        return outputs


def last_code_block(markdown: str) -> str | None:
    """The content of the last fenced or indented code block (an unclosed fence counts), if any."""
    blocks = [t.content for t in MarkdownIt("commonmark").parse(markdown) if t.type in ("fence", "code_block")]
    return blocks[-1] if blocks else None


class ChatApp(App[int]):
    """The chat: a log of answers, an input, a status bar and the footer."""

    CSS_PATH = "app.tcss"
    TITLE = "seqmoe-local"
    BINDINGS = [
        Binding("enter", "send", "Send", show=False),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+c", "cancel", "Cancel", show=False, priority=True),
        Binding("ctrl+r", "route_only", "Route"),
        Binding("f4,ctrl+t", "pick_experts", "Experts"),
        Binding("ctrl+y", "copy_answer", "Copy answer", show=False),
        Binding("ctrl+b", "copy_code", "Copy code", show=False),
        Binding("ctrl+n", "new_conversation", "New", show=False),
        Binding("f2", "models", "Models"),
        Binding("f3", "history", "History"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    #: actions that only make sense on the chat itself, not under a dialog
    _CHAT_ACTIONS = frozenset({"send", "route_only", "pick_experts", "copy_answer", "copy_code", "new_conversation"})

    def __init__(
        self,
        config: AppConfig,
        profile: Profile,
        *,
        max_new_tokens: int | None = None,
        history_path: Path | None = None,
        memory: Callable[[], int] = rss_bytes,
        check_models: bool = True,
    ) -> None:
        """`memory` and `check_models` exist for layout tests, which need a screen that never varies."""
        super().__init__()
        self.config = config
        self.profile = profile
        self.max_new_tokens = max_new_tokens
        self.palette = palette_indices(profile.experts)
        self._history_path = history_path
        self._memory = memory
        self._check_models_on_start = check_models
        self.history: History | None = None
        self._history_problem: str | None = None
        self._conversation_id: int | None = None
        self.turns: list[Turn] = []
        self.choice = ExpertChoice()
        self._pipeline: Pipeline | None = None
        # One pool for the session, over the whole profile: a question with an expert
        # disabled gets a smaller profile, but the loaded models stay shared.
        self._pool = ModelPool(config, profile)
        self._events: queue.SimpleQueue[Event | _Ended] = queue.SimpleQueue()
        self._cancel_requested = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._turn: Turn | None = None
        self._quit_when_idle = False
        self._resident: tuple[str, ...] = ()
        self._phase: tuple[str, float] | None = None  # (what runs, since when) for the live status
        self._event_until = 0.0
        self._segment_tokens = 0
        self._first_token_at: float | None = None

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="log"):
            yield Welcome(self.profile, self.palette)
        yield Input(placeholder="Ask a question · Enter sends · F1 help", id="question")
        yield StatusBar(self.profile.name)
        yield Footer(show_command_palette=False)  # ctrl+p still opens it (themes); 80 columns need the room

    @property
    def busy(self) -> bool:
        """An answer (or a route-only request) is running."""
        return self._turn is not None

    @property
    def status(self) -> StatusBar:
        """The status bar."""
        return self.query_one(StatusBar)

    @property
    def question_input(self) -> Input:
        """Where the user types."""
        return self.query_one("#question", Input)

    def on_mount(self) -> None:
        self.question_input.focus()
        self.set_interval(DRAIN_INTERVAL_S, self._drain)
        self.set_interval(1.0, self._tick_status)
        self._tick_status()
        self._open_history()
        if self._check_models_on_start:
            self._load_model_statuses(only_if_missing=True)

    def _tick_status(self) -> None:
        self.status.set_memory(self._memory())
        if self._event_until and time.monotonic() > self._event_until:
            self._event_until = 0.0
            self.status.set_event("")

    def _open_history(self) -> None:
        try:
            self.history = History.open(self._history_path)
        except HistoryError as exc:
            self._history_problem = str(exc)
            self._error(str(exc), title="History not available")
            return
        if self.history.notice:
            self.notify(self.history.notice, title="History", markup=False)

    def _error(self, message: str, title: str = "") -> None:
        """A notification for a failure; the text is shown as is (paths and messages may hold brackets)."""
        self.notify(message, title=title, severity="error", timeout=20, markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy
        if action in self._CHAT_ACTIONS:
            return len(self.screen_stack) == 1
        return True

    def _set_busy(self, turn: Turn | None) -> None:
        self._turn = turn
        self.refresh_bindings()

    # -- asking ----------------------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self._ask(route_only=False)

    async def action_send(self) -> None:
        """Send the question in the input."""
        await self._ask(route_only=False)

    async def action_route_only(self) -> None:
        """Show how the question would be routed, without generating."""
        await self._ask(route_only=True)

    async def _ask(self, *, route_only: bool) -> None:
        question = self.question_input.value
        if not question.strip():
            self.notify("type a question first", severity="warning")
            return
        if self.busy:
            self.notify("an answer is still running; press Escape to cancel it (your text stays in the box)",
                        severity="warning")
            return
        choice, self.choice = self.choice, ExpertChoice()
        self.status.set_pending("")
        try:
            profile = self.profile.without(sorted(choice.disabled)) if choice.disabled else self.profile
        except SeqmoeError as exc:
            self._error(str(exc))
            return
        # A fresh pipeline per question (the profile may differ) over one pool, so loaded models stay loaded.
        pipeline = Pipeline(self.config, profile, pool=self._pool,
                            on_event=self._on_pipeline_event)
        self._pipeline = pipeline
        view = AnswerView(question, self.palette, route_only=route_only)
        turn = Turn(question=question, route_only=route_only, view=view, started_at=time.time())
        self._set_busy(turn)  # before the first await, so a second Enter cannot start a second answer
        self._cancel_requested.clear()
        self._idle.clear()
        self._phase = ("routing", time.monotonic())
        self._segment_tokens, self._first_token_at = 0, None
        self.question_input.value = ""
        self.query_one(Welcome).display = False
        log = self.query_one("#log", VerticalScroll)
        await log.mount(view)
        log.anchor()  # follow the stream until the user scrolls up
        self._run(pipeline, question, route_only, choice.pinned)

    @work(thread=True, group="answer", exit_on_error=False)
    def _run(self, pipeline: Pipeline, question: str, route_only: bool, pinned: str | None) -> None:
        error: BaseException | None = None
        try:
            if route_only:
                pipeline.route(question, expert=pinned)
            else:
                pipeline.ask(question, expert=pinned, max_new_tokens=self.max_new_tokens)
        except Exception as exc:  # noqa: BLE001 - any failure must reach the screen, which restores the question
            error = exc
        finally:
            self._events.put(_Ended(error))
            self._idle.set()

    def _on_pipeline_event(self, event: Event) -> None:
        # On the pipeline's thread: queue only. A cancel pressed before ask() started (which clears the
        # pipeline's flag) is applied again at its first event.
        self._events.put(event)
        if self._cancel_requested.is_set() and self._pipeline is not None:
            self._pipeline.cancel()

    # -- events on the UI thread -----------------------------------------------------------------

    async def _drain(self) -> None:
        turn = self._turn
        if turn is None:
            return
        tokens: dict[int, list[str]] = {}
        while True:
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, TokenGenerated):
                tokens.setdefault(item.index, []).append(item.text)
                continue
            await self._flush_tokens(turn, tokens)
            if isinstance(item, _Ended):
                await self._end(turn, item.error)
                return
            await self._apply(turn, item)
        await self._flush_tokens(turn, tokens)
        self._show_phase()

    async def _flush_tokens(self, turn: Turn, tokens: dict[int, list[str]]) -> None:
        for index, pieces in tokens.items():
            turn.streamed.setdefault(index, []).extend(pieces)
            now = time.monotonic()
            if self._first_token_at is None:
                self._first_token_at = now
                self._phase = ("generating", now)
            self._segment_tokens += len(pieces)
            if now > self._first_token_at and self._segment_tokens > 1:
                self.status.set_rate((self._segment_tokens - 1) / (now - self._first_token_at))
            await turn.view.cards[index].append("".join(pieces))
        tokens.clear()

    async def _apply(self, turn: Turn, event: Event) -> None:
        if isinstance(event, Routed):
            turn.routing = event.routing
            await turn.view.show_routing(event.routing)
        elif isinstance(event, PoolEvent):
            self._resident = event.resident
            self.status.set_resident(event.resident)
            verb = "loaded" if event.kind == "load" else "evicted"
            self.status.set_event(f"{verb} {event.expert} {event.seconds:.2f} s")
            self._event_until = time.monotonic() + EVENT_SHOWN_S
            waiting = next((c for c in turn.view.cards if c.state == "loading" and c.expert == event.expert), None)
            if waiting is not None and event.kind == "load":
                waiting.set_state("generating")  # reading the prompt now; tokens follow
                self._phase = ("generating", time.monotonic())
        elif isinstance(event, SegmentStarted):
            loading = event.assignment.expert not in self._resident
            turn.view.cards[event.index].start(loading=loading)
            self._phase = ("loading" if loading else "generating", time.monotonic())
            self._segment_tokens, self._first_token_at = 0, None
        elif isinstance(event, SegmentDone):
            turn.outputs[event.index] = event.output
            turn.streamed.pop(event.index, None)
            await turn.view.cards[event.index].finish(event.output)
        elif isinstance(event, Finished):
            turn.cancelled = event.result.cancelled
            for index, output in enumerate(event.result.outputs):
                if index not in turn.outputs:  # skipped after a cancel: no SegmentDone for these
                    turn.outputs[index] = output
                    await turn.view.cards[index].finish(output)

    def _show_phase(self) -> None:
        turn = self._turn
        if turn is None or self._phase is None:
            return
        what, since = self._phase
        elapsed = time.monotonic() - since
        if self._cancel_requested.is_set():
            self.status.set_activity("cancelling…" if not turn.route_only else "finishing routing…")
        elif what == "routing":
            self.status.set_activity(f"routing {elapsed:.1f} s")
        else:
            running = next((c for c in turn.view.cards if c.state in ("loading", "generating")), None)
            if running is None:
                return
            part = f"{running.number}/{len(turn.view.cards)}"
            if running.state == "loading":
                self.status.set_activity(f"loading {running.expert} {elapsed:.1f} s ({part})")
            else:
                self.status.set_activity(f"generating {part}")

    async def _end(self, turn: Turn, error: BaseException | None) -> None:
        cards = turn.view.cards
        if error is not None:
            turn.error = str(error) if isinstance(error, SeqmoeError) else f"{type(error).__name__}: {error}"
            for card in cards:
                if card.state in ("loading", "generating"):
                    await card.interrupt("failed")
                elif card.state == "waiting":
                    await card.interrupt("not_run")
            self._error(turn.error, title="The answer failed" if not turn.route_only else "Routing failed")
            started = any(turn.segment_text(i) for i in range(len(cards)))
            if not started and not self.question_input.value:
                self.question_input.value = turn.question  # nothing came back: give the question back
        elif self._cancel_requested.is_set() and not turn.route_only:
            turn.cancelled = True
        turn.view.set_outcome(*_outcome(turn))
        self.turns.append(turn)
        self._save(turn)
        self._set_busy(None)
        self._phase = None
        self.status.set_activity("")
        self.status.set_rate(None)
        if self._quit_when_idle:
            self.exit(0)

    # -- history ---------------------------------------------------------------------------------

    def _save(self, turn: Turn) -> None:
        if self.history is None:
            return
        try:
            if self._conversation_id is None:
                self._conversation_id = self.history.create_conversation(_title(turn.question), self.profile.name)
            self.history.add_message(
                self._conversation_id, question=turn.question, mode="route" if turn.route_only else "answer",
                routing=turn.routing, outputs=turn.output_list(), cancelled=turn.cancelled, error=turn.error,
                created_at=turn.started_at, finished_at=time.time(),
            )
        except sqlite3.Error as exc:
            self._error(f"could not save to {self.history.path}: {exc}; the conversation stays on screen",
                        title="History")

    def action_history(self) -> None:
        """Browse saved conversations; Enter reopens one."""
        if isinstance(self.screen, HistoryScreen):
            self.screen.dismiss(None)
            return
        if self.history is None:
            self._error(self._history_problem or "history is not available", title="History")
            return
        try:
            conversations = self.history.conversations()
        except sqlite3.Error as exc:
            self._error(f"cannot read {self.history.path}: {exc}", title="History")
            return
        self.push_screen(HistoryScreen(conversations, self.history.path), callback=self._reopen)

    async def _reopen(self, conversation_id: int | None) -> None:
        if conversation_id is None or self.history is None:
            return
        if self.busy:
            self.notify("an answer is running; cancel it (Escape) before reopening a conversation",
                        severity="warning")
            return
        try:
            messages = self.history.messages(conversation_id)
        except sqlite3.Error as exc:
            self._error(f"cannot read {self.history.path}: {exc}", title="History")
            return
        await self._clear_log()
        self._conversation_id = conversation_id
        log = self.query_one("#log", VerticalScroll)
        for message in messages:
            view = AnswerView(message.question, self.palette, route_only=message.mode == "route")
            await log.mount(view)
            self.turns.append(await _restore(view, message))
        self.query_one(Welcome).display = not messages
        log.scroll_end(animate=False)

    async def _clear_log(self) -> None:
        await self.query(AnswerView).remove()
        self.turns.clear()
        self._conversation_id = None

    async def action_new_conversation(self) -> None:
        """Start a new, empty conversation (the current one is already saved)."""
        if self.busy:
            self.notify("an answer is running; cancel it (Escape) first", severity="warning")
            return
        await self._clear_log()
        self.query_one(Welcome).display = True
        self.question_input.focus()

    # -- other keys ------------------------------------------------------------------------------

    def action_cancel(self) -> None:
        """Stop the running answer at the next token; what was generated is kept."""
        self._cancel_requested.set()
        if self._pipeline is not None:
            self._pipeline.cancel()
        self._show_phase()

    async def action_quit(self) -> None:
        """Quit; a running answer is cancelled first (a second press quits at once)."""
        if self.busy and not self._quit_when_idle:
            self._quit_when_idle = True
            self.action_cancel()
            self.notify("stopping the running answer, then quitting (ctrl+q again to quit now)")
            return
        self.exit(0)

    async def on_unmount(self) -> None:
        if self._pipeline is not None:
            self._pipeline.cancel()
            # Freeing models under a thread that still uses them would crash llama.cpp: wait for it.
            if await asyncio.to_thread(self._idle.wait, STOP_TIMEOUT_S):
                self._pipeline.close()
        if self.history is not None:
            self.history.close()

    def action_pick_experts(self) -> None:
        """Pin or disable experts for the next question."""
        picker = ExpertPicker(list(self.profile.experts), self.profile.natives, self.choice)
        self.push_screen(picker, callback=self._set_choice)

    def _set_choice(self, choice: ExpertChoice | None) -> None:
        self.choice = choice or ExpertChoice()
        self.status.set_pending(self.choice.describe())

    def _last_answer(self) -> Turn | None:
        candidates = ([self._turn] if self._turn else []) + self.turns[::-1]
        return next((t for t in candidates if t.answer_markdown()), None)

    def action_copy_answer(self) -> None:
        """Copy the last answer (every segment, as Markdown)."""
        turn = self._last_answer()
        if turn is None:
            self.notify("no answer to copy yet", severity="warning")
            return
        self.copy_to_clipboard(turn.answer_markdown())
        self.notify("copied the last answer")

    def action_copy_code(self) -> None:
        """Copy the last code block of the last answer."""
        turn = self._last_answer()
        code = last_code_block(turn.answer_markdown()) if turn else None
        if code is None:
            self.notify("the last answer has no code block", severity="warning")
            return
        self.copy_to_clipboard(code)
        self.notify(f"copied the code block ({len(code.splitlines())} lines)")

    def action_models(self) -> None:
        """Show the profile's experts: present or missing, and how to fetch them."""
        if isinstance(self.screen, ModelsScreen):
            self.screen.dismiss(None)
            return
        self._load_model_statuses(only_if_missing=False)

    @work(thread=True, group="models", exclusive=True, exit_on_error=False)
    def _load_model_statuses(self, *, only_if_missing: bool) -> None:
        try:
            statuses = model_statuses(self.config, self.profile)
        except (SeqmoeError, OSError) as exc:
            self.call_from_thread(self._error, f"cannot check the model files: {exc}")
            return
        missing = [s for s in statuses if not s.present]
        if missing or not only_if_missing:
            notice = f"{len(missing)} of {len(statuses)} experts are missing or unusable." if missing else ""
            self.call_from_thread(self._show_models, statuses, notice)

    def _show_models(self, statuses: list[ModelStatus], notice: str) -> None:
        if not isinstance(self.screen, ModelsScreen):
            self.push_screen(ModelsScreen(statuses, self.profile.name, self.profile.natives, notice))

    def action_help(self) -> None:
        """Show the keys and what the routing view means."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        keys = [
            (" / ".join(self.get_key_display(Binding(k.strip(), "")) for k in b.key.split(",")), b.description)
            for b in self.BINDINGS if isinstance(b, Binding) and b.description
        ]
        keys.append((self.get_key_display(Binding("ctrl+p", "")), "Command palette (light and dark themes)"))
        self.push_screen(HelpScreen(keys))


def _title(question: str, width: int = 80) -> str:
    line = " ".join(question.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _outcome(turn: Turn) -> tuple[str, str]:
    """The answer's closing line and its state class."""
    if turn.error is not None:
        return f"failed: {turn.error}", "failed"
    if turn.route_only:
        return "routed only · nothing generated (Enter answers it)", "done"
    if turn.cancelled:
        return "cancelled · the partial answer is kept", "cancelled"
    outputs = list(turn.outputs.values())
    tokens = sum(o.tokens for o in outputs)
    return f"done · {len(outputs)} part(s) · {tokens} tokens", "done"


async def _restore(view: AnswerView, message: StoredMessage) -> Turn:
    """Show a stored message in `view` and rebuild its Turn."""
    turn = Turn(question=message.question, route_only=message.mode == "route", view=view,
                started_at=message.created_at, routing=message.routing, cancelled=message.cancelled,
                error=message.error)
    if message.routing is not None:
        await view.show_routing(message.routing)
        await view.show_outputs(message.outputs)
        index_of = {a.segment: i for i, a in enumerate(message.routing.assignments)}
        turn.outputs = {index_of[o.segment]: o for o in message.outputs if o.segment in index_of}
    view.set_outcome(*_outcome(turn))
    return turn


def run(config: AppConfig, profile: Profile) -> int:
    """Run the chat in this terminal until the user quits; returns the exit status."""
    app = ChatApp(config, profile)
    result = app.run()
    return result if result is not None else app.return_code or 0
