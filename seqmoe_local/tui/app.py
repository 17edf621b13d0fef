"""The terminal chat app: the conversation screen, plus what is not tied to one conversation.

The conversation (asking, the answers, history) is ConversationScreen, the app's
default screen. The app holds the session: the config, the profile, the model pool
shared by every question, and the keys that work over any dialog (models, history,
help, quit, ctrl+c). Quitting while an answer runs cancels it first, and the models
are freed only once its thread has stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType

from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.engine import rss_bytes
from seqmoe_local.errors import SeqmoeError
from seqmoe_local.pool import ModelPool
from seqmoe_local.pull import ModelStatus, model_statuses

from .badge import palette_indices
from .conversation_screen import ConversationScreen
from .help_screen import HelpScreen
from .history_screen import HistoryScreen
from .models_screen import ModelsScreen

#: how long quitting waits for a running answer to stop before leaving its models loaded
STOP_TIMEOUT_S = 60.0


class ChatApp(App[int], inherit_bindings=False):
    """The chat; `conversation` is its screen.

    Its own bindings replace App's two (ctrl+q, ctrl+c), so the footer lists them in this order, after the chat's.
    """

    CSS_PATH = "app.tcss"
    TITLE = "seqmoe-local"
    BINDINGS = [
        Binding("ctrl+c", "cancel", "Cancel", show=False, priority=True),
        Binding("f2", "models", "Models"),
        Binding("f3", "history", "History"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

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
        # One pool for the session, over the whole profile: a question with an expert
        # disabled gets a smaller profile, but the loaded models stay shared.
        self.pool = ModelPool(config, profile)
        self.conversation = ConversationScreen(
            config, profile, self.pool, palette_indices(profile.experts),
            max_new_tokens=max_new_tokens, history_path=history_path, memory=memory,
        )
        self._check_models_on_start = check_models
        self._quit_when_idle = False

    def get_default_screen(self) -> ConversationScreen:
        return self.conversation

    def on_mount(self) -> None:
        if self._check_models_on_start:
            self._load_model_statuses(only_if_missing=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.conversation.busy
        return True

    def action_cancel(self) -> None:
        """Stop the running answer at the next token (ctrl+c works over any dialog)."""
        self.conversation.action_cancel()

    async def action_quit(self) -> None:
        """Quit; a running answer is cancelled first (a second press quits at once)."""
        if self.conversation.busy and not self._quit_when_idle:
            self._quit_when_idle = True
            self.conversation.action_cancel()
            self.notify("stopping the running answer, then quitting (ctrl+q again to quit now)")
            return
        self.exit(0)

    @on(ConversationScreen.AnswerEnded)
    def _answer_ended(self) -> None:
        if self._quit_when_idle:
            self.exit(0)

    async def on_unmount(self) -> None:
        # Freeing models under a thread that still uses them would crash llama.cpp: wait for it.
        if await self.conversation.stop(STOP_TIMEOUT_S):
            self.pool.close()
        if self.conversation.history is not None:
            self.conversation.history.close()

    # -- dialogs -----------------------------------------------------------------------------------

    def action_history(self) -> None:
        """Browse saved conversations; Enter reopens one."""
        if isinstance(self.screen, HistoryScreen):
            self.screen.dismiss(None)
            return
        self.conversation.browse_history()

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
            self.call_from_thread(self.notify, f"cannot check the model files: {exc}", severity="error",
                                  timeout=20, markup=False)
            return
        missing = [s for s in statuses if not s.present]
        if missing or not only_if_missing:
            notice = f"{len(missing)} of {len(statuses)} experts are missing or unusable." if missing else ""
            self.call_from_thread(self._show_models, statuses, notice)

    def _show_models(self, statuses: list[ModelStatus], notice: str) -> None:
        if not isinstance(self.screen, ModelsScreen):
            self.push_screen(ModelsScreen(statuses, self.profile.name, self.profile.natives, notice))

    def key_list(self) -> list[tuple[str, str]]:
        """Every described key of the chat and the app, keys of one action together ("escape / ctrl+c")."""
        keys: dict[str, list[str]] = {}
        bindings: list[BindingType] = [*ConversationScreen.BINDINGS, *self.BINDINGS]
        for binding in bindings:
            if isinstance(binding, Binding) and binding.description:
                shown = [self.get_key_display(Binding(k.strip(), "")) for k in binding.key.split(",")]
                keys.setdefault(binding.description, []).extend(shown)
        keys.setdefault("Command palette (light and dark themes)", []).append(
            self.get_key_display(Binding("ctrl+p", "")))
        return [(" / ".join(shown), description) for description, shown in keys.items()]

    def action_help(self) -> None:
        """Show the keys and what the routing view means."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(self.key_list()))


def run(config: AppConfig, profile: Profile) -> int:
    """Run the chat in this terminal until the user quits; returns the exit status."""
    app = ChatApp(config, profile)
    result = app.run()
    return result if result is not None else app.return_code or 0
