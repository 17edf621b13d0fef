"""A conversation as the CLI continues it: which one, its earlier turns, and recording the new turn.

`seqmoe-local ask` starts a new conversation; `-c` continues the latest and
`--conversation ID` a given one. Every answered turn is stored, so `-c` always has
something to continue. When the history database cannot be used, a new question is
still answered (and not saved, with a warning), but continuing one is refused:
its earlier turns cannot be read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import UsageError
from .history import History, HistoryError
from .pipeline import AskResult
from .prompts import Exchange

TITLE_LENGTH = 80


class TurnRecord(AskResult):
    """What `ask --json` prints: the answer, and where it is stored (`conversation_id` None when not saved)."""

    conversation_id: int | None
    turn: int


def title_of(question: str) -> str:
    """A conversation's title: its first question on one line, shortened."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


@dataclass
class Conversation:
    """The conversation one `ask` belongs to."""

    store: History | None
    profile: str
    id: int | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    turns: int = 0  # stored turns (answers and route-only entries) before this one
    warn: Callable[[str], object] = print

    @classmethod
    def open(
        cls, *, continue_latest: bool, conversation_id: int | None, profile: str, warn: Callable[[str], object]
    ) -> Conversation:
        """Find the conversation to continue (or none, for a new one); raises when it cannot be continued."""
        continuing = continue_latest or conversation_id is not None
        try:
            store = History.open()
        except HistoryError as exc:
            if continuing:
                raise
            warn(f"warning: this answer is not saved: {exc}")
            return cls(None, profile, warn=warn)
        if store.notice:
            warn(store.notice)
        conversation = cls(store, profile, warn=warn)
        if continuing:
            target = conversation_id if conversation_id is not None else store.latest_conversation()
            if target is None:
                store.close()
                raise UsageError(
                    'there is no conversation to continue yet; start one with: seqmoe-local ask "QUESTION"'
                )
            summary = store.conversation(target)
            conversation.id = summary.id
            conversation.turns = summary.messages
            conversation.exchanges = store.exchanges(summary.id)
        return conversation

    def record(self, question: str, result: AskResult, started_at: float) -> int:
        """Store the turn (a new conversation on the first); returns its number, counting from 1."""
        if self.store is None:
            return self.turns + 1
        try:
            if self.id is None:
                self.id = self.store.create_conversation(title_of(question), self.profile)
            self.store.add_message(
                self.id, question=question, mode="answer", routing=result.routing, outputs=result.outputs,
                cancelled=result.cancelled, error=None, created_at=started_at, finished_at=time.time(),
                history_use=result.history,
            )
        except sqlite3.Error as exc:  # a full disk, a locked file: the answer was shown; say it is not saved
            self.warn(f"warning: this turn is not saved in {self.store.path}: {exc}")
            return self.turns + 1
        finally:
            self.store.close()
            self.store = None
        self.turns += 1
        return self.turns
