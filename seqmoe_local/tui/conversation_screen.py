"""The conversation: a log of answers, the question input, the status bar and the footer.

Every question after the first continues the conversation: the pipeline gets the
earlier answered turns (question and assembled answer) as `history`, so routing and
generation read them. A cancelled or failed turn counts with its partial text; a
route-only entry does not. "New conversation" starts an empty one, and a
conversation reopened from history is continued the same way. Each turn is saved
as it ends.

Routing and generation run in a thread worker. The pipeline's events reach this
screen as Textual messages (pipeline_messages.py), handled below with `@on`. Token
messages are only collected (token_batch.py); they are written to the cards at
most every FLUSH_INTERVAL_S (about ten Markdown refreshes a second), and always
before any other event, so the order on screen is the order of the events.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input

from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.conversation import title_of
from seqmoe_local.errors import SeqmoeError
from seqmoe_local.history import History, HistoryError
from seqmoe_local.pipeline import Pipeline
from seqmoe_local.pool import ModelPool
from seqmoe_local.prompts import Exchange

from . import pipeline_messages as pm
from .answer_view import AnswerView
from .expert_picker import ExpertChoice, ExpertPicker
from .history_screen import HistoryScreen
from .status_bar import StatusBar
from .token_batch import FlushTokens, TokenBatch
from .turn import Turn, last_code_block, left_out_note
from .welcome import Welcome


class ConversationScreen(Screen[None]):
    """One conversation with the experts; the app's default screen."""

    BINDINGS = [
        Binding("enter", "send", "Send", show=False),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "route_only", "Route"),
        Binding("f4,ctrl+t", "pick_experts", "Experts"),
        Binding("ctrl+y", "copy_answer", "Copy answer", show=False),
        Binding("ctrl+b", "copy_code", "Copy code", show=False),
        Binding("ctrl+n", "new_conversation", "New", show=False),
    ]

    class AnswerEnded(Message):
        """A question's run ended and its turn is saved (the app quits here when asked to while it ran)."""

    def __init__(
        self,
        config: AppConfig,
        profile: Profile,
        pool: ModelPool,
        palette: dict[str, int],
        *,
        max_new_tokens: int | None,
        history_path: Path | None,
        memory: Callable[[], int],
    ) -> None:
        super().__init__()
        self.config = config
        self.profile = profile
        self.pool = pool  # one for the session: loaded models stay loaded across questions
        self.palette = palette
        self.max_new_tokens = max_new_tokens
        # Opened here, not on mount, so that the store is there before anything can ask for it.
        self.history: History | None = None
        self.history_problem: str | None = None
        try:
            self.history = History.open(history_path)
        except HistoryError as exc:
            self.history_problem = str(exc)
        self.conversation_id: int | None = None  # set when the first turn is saved, or on reopening
        self.turns: list[Turn] = []  # finished turns, oldest first
        self.choice = ExpertChoice()  # for the next question only
        self.turn: Turn | None = None  # the running one
        self.relay: pm.Relay | None = None  # the running question's (or the last one's) link to its thread
        self.status = StatusBar(profile.name, memory)
        self.tokens = TokenBatch(self)  # streamed, not yet on screen

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="log"):
            yield Welcome(self.profile, self.palette)
        yield Input(placeholder="Ask a question · Enter sends · F1 help", id="question")
        yield self.status
        yield Footer(show_command_palette=False)  # ctrl+p still opens it (themes); 80 columns need the room

    def on_mount(self) -> None:
        self.question_input.focus()
        if self.history_problem is not None:
            self._error(self.history_problem, title="History not available")
        elif self.history is not None and self.history.notice:
            self.notify(self.history.notice, title="History", markup=False)

    @property
    def question_input(self) -> Input:
        """Where the user types."""
        return self.query_one("#question", Input)

    @property
    def busy(self) -> bool:
        """An answer (or a route-only request) is running."""
        return self.turn is not None

    def exchanges(self) -> list[Exchange]:
        """The conversation so far as the next question sees it: its answered turns, oldest first."""
        return [e for e in (t.exchange() for t in self.turns) if e is not None]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy
        return True

    def _error(self, message: str, title: str = "") -> None:
        """A notification for a failure; the text is shown as is (paths and messages may hold brackets)."""
        self.notify(message, title=title, severity="error", timeout=20, markup=False)

    # -- asking ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.ask(route_only=False)

    async def action_send(self) -> None:
        """Send the question in the input."""
        await self.ask(route_only=False)

    async def action_route_only(self) -> None:
        """Show how the question would be routed, without generating."""
        await self.ask(route_only=True)

    async def ask(self, *, route_only: bool) -> None:
        """Send the input's question, continuing this conversation."""
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
        relay = pm.Relay(self)
        # A fresh pipeline per question (the profile may differ) over one pool, so loaded models stay loaded.
        relay.pipeline = Pipeline(self.config, profile, pool=self.pool, on_event=relay)
        turn = await self.start_turn(question, route_only=route_only, relay=relay)
        self._run(relay, turn, choice.pinned)

    async def start_turn(self, question: str, *, route_only: bool, relay: pm.Relay) -> Turn:
        """Make `question` the running turn, shown at the end of the log; `relay` brings its events.

        The turn's context is the conversation so far.
        """
        view = AnswerView(question, self.palette, route_only=route_only)
        turn = Turn(question=question, route_only=route_only, view=view, started_at=time.time(),
                    context=tuple(self.exchanges()))
        self.turn, self.relay = turn, relay  # before the first await, so a second Enter cannot start a second answer
        self.app.refresh_bindings()
        relay.idle.clear()
        self.tokens.clear()
        self.status.routing(route_only=route_only)
        self.question_input.value = ""
        self.query_one(Welcome).display = False
        log = self.query_one("#log", VerticalScroll)
        await log.mount(view)
        log.anchor()  # follow the stream until the user scrolls up
        return turn

    @work(thread=True, group="answer", exit_on_error=False)
    def _run(self, relay: pm.Relay, turn: Turn, pinned: str | None) -> None:
        assert relay.pipeline is not None
        error: BaseException | None = None
        try:
            if turn.route_only:
                relay.pipeline.route(turn.question, history=turn.context, expert=pinned)
            else:
                relay.pipeline.ask(turn.question, history=turn.context, expert=pinned,
                                   max_new_tokens=self.max_new_tokens)
        except Exception as exc:  # noqa: BLE001 - any failure must reach the screen, which restores the question
            error = exc
        finally:
            relay.ended(error)

    def action_cancel(self) -> None:
        """Stop the running answer at the next token; what was generated is kept."""
        if self.relay is not None and self.busy:
            self.relay.cancel()
            self.status.cancelling()

    async def stop(self, timeout: float) -> bool:
        """Cancel a running answer and wait (off the UI thread) until its thread ends; False on timeout."""
        if self.relay is None:
            return True
        self.relay.cancel()
        return await asyncio.to_thread(self.relay.idle.wait, timeout)

    # -- the pipeline's messages, in the order they happened ---------------------------------------

    @on(pm.TokenGenerated)
    def _token(self, message: pm.TokenGenerated) -> None:
        self.tokens.add(message.event.position, message.event.text)

    @on(FlushTokens)
    async def _flush_due(self, message: FlushTokens) -> None:
        if self.tokens.due(message):
            await self._flush_tokens()

    async def _flush_tokens(self) -> None:
        """Write the collected tokens to their cards (before any other event is shown)."""
        tokens = self.tokens.take()
        if self.turn is None:
            return
        for position, pieces in tokens.items():
            self.turn.streamed.setdefault(position, []).extend(pieces)
            self.status.tokens(len(pieces))
            await self.turn.view.cards[position].append("".join(pieces))

    @on(pm.Routed)
    async def _routed(self, message: pm.Routed) -> None:
        if self.turn is None:
            return
        self.turn.routing = message.event.routing
        await self.turn.view.show_routing(message.event.routing)

    @on(pm.ModelChanged)
    async def _model_changed(self, message: pm.ModelChanged) -> None:
        await self._flush_tokens()
        event = message.event
        self.status.model_event(event)
        if self.turn is None or event.kind != "load":
            return
        waiting = next((c for c in self.turn.view.cards if c.state == "loading" and c.expert == event.expert), None)
        if waiting is not None:
            waiting.set_state("generating")  # reading the prompt now; tokens follow

    @on(pm.SegmentStarted)
    async def _segment_started(self, message: pm.SegmentStarted) -> None:
        await self._flush_tokens()
        if self.turn is None:
            return
        cards = self.turn.view.cards
        card = cards[message.event.position]
        self.status.segment_started(card.expert, f"{card.number}/{len(cards)}")
        card.start(loading=self.status.loading_model)

    @on(pm.SegmentDone)
    async def _segment_done(self, message: pm.SegmentDone) -> None:
        await self._flush_tokens()
        if self.turn is None:
            return
        position, output = message.event.position, message.event.output
        self.turn.outputs[position] = output
        self.turn.streamed.pop(position, None)
        await self.turn.view.cards[position].finish(output)

    @on(pm.Finished)
    async def _finished(self, message: pm.Finished) -> None:
        await self._flush_tokens()
        turn, result = self.turn, message.event.result
        if turn is None:
            return
        turn.cancelled = result.cancelled
        turn.history_use = result.history
        turn.view.set_note(left_out_note(result.history))
        for position, output in enumerate(result.outputs):
            if position not in turn.outputs:  # skipped after a cancel: no SegmentDone for these
                turn.outputs[position] = output
                await turn.view.cards[position].finish(output)

    @on(pm.RunEnded)
    async def _run_ended(self, message: pm.RunEnded) -> None:
        await self._flush_tokens()
        turn, error = self.turn, message.error
        if turn is None or self.relay is None:
            return
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
        elif self.relay.cancel_requested.is_set() and not turn.route_only:
            turn.cancelled = True
        turn.view.set_outcome(*turn.outcome())
        self.turns.append(turn)
        self._save(turn)
        self.turn = None
        self.app.refresh_bindings()
        self.status.idle()
        self.post_message(self.AnswerEnded())

    # -- history ---------------------------------------------------------------------------------

    def _save(self, turn: Turn) -> None:
        if self.history is None:
            return
        try:
            if self.conversation_id is None:
                self.conversation_id = self.history.create_conversation(title_of(turn.question), self.profile.name)
            self.history.add_message(
                self.conversation_id, question=turn.question, mode="route" if turn.route_only else "answer",
                routing=turn.routing, outputs=turn.output_list(), cancelled=turn.cancelled, error=turn.error,
                created_at=turn.started_at, finished_at=time.time(), history_use=turn.history_use,
            )
        except sqlite3.Error as exc:
            self._error(f"could not save to {self.history.path}: {exc}; the conversation stays on screen",
                        title="History")

    def browse_history(self) -> None:
        """Show saved conversations; Enter reopens one here."""
        if self.history is None:
            self._error(self.history_problem or "history is not available", title="History")
            return
        try:
            conversations = self.history.conversations()
        except sqlite3.Error as exc:
            self._error(f"cannot read {self.history.path}: {exc}", title="History")
            return
        self.app.push_screen(HistoryScreen(conversations, self.history.path), callback=self._reopen_chosen)

    async def _reopen_chosen(self, conversation_id: int | None) -> None:
        if conversation_id is not None:
            await self.reopen(conversation_id)

    async def reopen(self, conversation_id: int) -> None:
        """Show a saved conversation; the next question continues it."""
        if self.history is None:
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
        self.conversation_id = conversation_id
        log = self.query_one("#log", VerticalScroll)
        for message in messages:
            view = AnswerView(message.question, self.palette, route_only=message.mode == "route")
            await log.mount(view)
            turn = Turn.from_stored(view, message)
            await turn.show_stored(message)
            self.turns.append(turn)
        self.query_one(Welcome).display = not messages
        log.scroll_end(animate=False)

    async def _clear_log(self) -> None:
        await self.query(AnswerView).remove()
        self.turns.clear()
        self.conversation_id = None

    async def action_new_conversation(self) -> None:
        """Start a new, empty conversation (the current one is already saved)."""
        if self.busy:
            self.notify("an answer is running; cancel it (Escape) first", severity="warning")
            return
        await self._clear_log()
        self.query_one(Welcome).display = True
        self.question_input.focus()

    # -- the next question's experts, copying ------------------------------------------------------

    def action_pick_experts(self) -> None:
        """Pin or disable experts for the next question."""
        picker = ExpertPicker(list(self.profile.experts), self.profile.natives, self.choice)
        self.app.push_screen(picker, callback=self._set_choice)

    def _set_choice(self, choice: ExpertChoice | None) -> None:
        self.choice = choice or ExpertChoice()
        self.status.set_pending(self.choice.describe())

    def _last_answer(self) -> Turn | None:
        candidates = ([self.turn] if self.turn else []) + self.turns[::-1]
        return next((t for t in candidates if t.answer_markdown()), None)

    def action_copy_answer(self) -> None:
        """Copy the last answer (every segment, as Markdown)."""
        turn = self._last_answer()
        if turn is None:
            self.notify("no answer to copy yet", severity="warning")
            return
        self.app.copy_to_clipboard(turn.answer_markdown())
        self.notify("copied the last answer")

    def action_copy_code(self) -> None:
        """Copy the last code block of the last answer."""
        turn = self._last_answer()
        code = last_code_block(turn.answer_markdown()) if turn else None
        if code is None:
            self.notify("the last answer has no code block", severity="warning")
            return
        self.app.copy_to_clipboard(code)
        self.notify(f"copied the code block ({len(code.splitlines())} lines)")
