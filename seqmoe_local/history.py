"""Conversations in SQLite: ``<data dir>/history.sqlite3``, shared by the chat and the CLI.

A conversation is a list of messages (turns): the question, its routing and the
segments' outputs. Answered turns are what a follow-up question is asked after
(`exchanges`); route-only entries are kept for the record but are not context.

The schema version lives in ``PRAGMA user_version`` and is raised one migration
at a time, each in its own transaction. The file is the user's data, so an
existing database is inspected read-only first: a damaged file, a database of a
newer seqmoe-local, or some other program's database is refused with a message
naming the path, and is never written to. Before an older schema is upgraded, a
copy is kept next to it (``history.sqlite3.v<old>.bak``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from . import paths
from .errors import SeqmoeError, UsageError
from .pipeline import FINISH_NOTES, HistoryUse, SegmentOutput, answer_text
from .prompts import Exchange
from .router import Routing

MessageMode = Literal["answer", "route"]

FILENAME = "history.sqlite3"

#: migrations[n] takes a database from schema version n to n + 1
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        profile TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        question TEXT NOT NULL,
        routing TEXT,
        outputs TEXT NOT NULL DEFAULT '[]',
        cancelled INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        finished_at REAL
    );
    """,
    # 2: route-only entries and failed answers are kept too, and reopening a long history stays fast.
    """
    ALTER TABLE messages ADD COLUMN mode TEXT NOT NULL DEFAULT 'answer';
    ALTER TABLE messages ADD COLUMN error TEXT;
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE INDEX conversations_by_update ON conversations(updated_at);
    """,
    # 3: how many earlier turns each answer saw and left out, so a reopened conversation still says so.
    """
    ALTER TABLE messages ADD COLUMN history_use TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(SeqmoeError):
    """The history database cannot be used; the message names the file and what to do."""

    exit_code = 8


class ConversationNotFound(UsageError):
    """A conversation id that the history does not have."""


@dataclass(frozen=True)
class ConversationSummary:
    """One row of the history screen."""

    id: int
    title: str
    profile: str
    created_at: float
    updated_at: float
    messages: int


@dataclass(frozen=True)
class StoredMessage:
    """One question of a conversation with what came back.

    `routing` is None for an answer that failed before routing finished, or when
    the stored routing no longer matches this version's Routing model; `history_use`
    is None for turns stored before schema 3 (or unreadable), when it was not kept.
    """

    id: int
    question: str
    mode: MessageMode
    routing: Routing | None
    outputs: list[SegmentOutput]
    cancelled: bool
    error: str | None
    created_at: float
    finished_at: float | None
    history_use: HistoryUse | None = None


def default_path() -> Path:
    """Where the history database lives."""
    return paths.data_dir() / FILENAME


def _move_aside_hint(path: Path) -> str:
    return (f"seqmoe-local has not changed it. Move it aside (e.g. mv '{path}' '{path}.broken') to start a new "
            f"history; this session is not saved")


def _inspect(path: Path) -> int:
    """The schema version of an existing database, read without writing to it."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot open the history database {path}: {exc}; this session is not saved") from None
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        check = connection.execute("PRAGMA quick_check").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.OperationalError as exc:
        # Busy or unreadable (permissions) is not damage: the file may be fine, so say what happened instead.
        raise HistoryError(f"cannot read the history database {path}: {exc}; this session is not saved") from None
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"the history database {path} is damaged ({exc}); {_move_aside_hint(path)}") from None
    finally:
        connection.close()
    if check != "ok":
        raise HistoryError(f"the history database {path} is damaged (integrity check: {check}); "
                           f"{_move_aside_hint(path)}")
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"the history database {path} was written by a newer seqmoe-local (schema {version}; this version "
            f"reads up to {SCHEMA_VERSION}); upgrade seqmoe-local to use it. {_move_aside_hint(path)}"
        )
    if version == 0 and tables:
        raise HistoryError(f"{path} is not a seqmoe-local history database (it has tables "
                           f"{', '.join(sorted(tables))}); {_move_aside_hint(path)}")
    if version > 0 and not {"conversations", "messages"} <= tables:
        raise HistoryError(f"the history database {path} is damaged (tables are missing); {_move_aside_hint(path)}")
    return version


class History:
    """The conversation store. Use from one thread (the UI's); every write is one transaction."""

    def __init__(self, connection: sqlite3.Connection, path: Path, notice: str | None) -> None:
        self._db = connection
        self.path = path
        #: set when opening changed the file (a schema upgrade), for the UI to mention
        self.notice = notice

    @classmethod
    def open(cls, path: Path | None = None) -> History:
        """Open (creating or upgrading) the database; raises HistoryError when it must not be used."""
        path = path or default_path()
        try:
            existing = path.exists() and path.stat().st_size > 0
        except OSError as exc:
            raise HistoryError(
                f"cannot read the history database {path}: {exc.strerror}; this session is not saved"
            ) from None
        version = _inspect(path) if existing else 0
        notice = None
        if existing and 0 < version < SCHEMA_VERSION:
            backup = path.with_name(f"{path.name}.v{version}.bak")
            try:
                if not backup.exists():
                    cls._backup(path, backup)
            except (OSError, sqlite3.Error) as exc:
                raise HistoryError(
                    f"cannot back up {path} before upgrading it ({exc}); the file is unchanged and this session is "
                    "not saved"
                ) from None
            notice = f"history upgraded from schema {version} to {SCHEMA_VERSION}; the old file is kept at {backup}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, timeout=5.0)
            connection.execute("PRAGMA foreign_keys = ON")
            cls._migrate(connection, version)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot write the history database {path}: {exc}; this session is not saved") from None
        return cls(connection, path, notice)

    @staticmethod
    def _backup(path: Path, backup: Path) -> None:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(backup)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    @staticmethod
    def _migrate(connection: sqlite3.Connection, version: int) -> None:
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            statements = [s.strip() for s in script.split(";") if s.strip()]
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {target}")
            except sqlite3.Error:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def create_conversation(self, title: str, profile: str) -> int:
        """A new, empty conversation; returns its id."""
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO conversations (title, profile, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (title, profile, now, now),
        )
        return _row_id(cursor)

    def add_message(
        self,
        conversation_id: int,
        *,
        question: str,
        mode: MessageMode,
        routing: Routing | None,
        outputs: Sequence[SegmentOutput],
        cancelled: bool,
        error: str | None,
        created_at: float,
        finished_at: float,
        history_use: HistoryUse | None = None,
    ) -> int:
        """Store one finished (or cancelled, or failed) question; returns the message id.

        `history_use` is how much of the conversation the experts saw (None: not known).
        """
        self._db.execute("BEGIN")
        try:
            cursor = self._db.execute(
                "INSERT INTO messages (conversation_id, question, mode, routing, outputs, cancelled, error, "
                "created_at, finished_at, history_use) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id, question, mode, routing.model_dump_json() if routing else None,
                    json.dumps([o.model_dump() for o in outputs]), int(cancelled), error, created_at, finished_at,
                    history_use.model_dump_json() if history_use else None,
                ),
            )
            self._db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (finished_at, conversation_id))
            self._db.execute("COMMIT")
        except sqlite3.Error:
            self._db.execute("ROLLBACK")  # a failed COMMIT (disk full) must not leave the transaction open
            raise
        return _row_id(cursor)

    def conversations(self, limit: int = 500) -> list[ConversationSummary]:
        """The most recently updated conversations first."""
        rows = self._db.execute(
            "SELECT c.id, c.title, c.profile, c.created_at, c.updated_at, COUNT(m.id) FROM conversations c "
            "LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY c.updated_at DESC, c.id DESC "
            "LIMIT ?",
            (limit,),
        )
        return [ConversationSummary(*row) for row in rows]

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """A conversation's messages in the order they were asked."""
        rows = self._db.execute(
            "SELECT id, question, mode, routing, outputs, cancelled, error, created_at, finished_at, history_use "
            "FROM messages "
            "WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        )
        return [
            StoredMessage(
                id=row[0], question=row[1], mode="route" if row[2] == "route" else "answer", routing=_routing(row[3]),
                outputs=_outputs(row[4]), cancelled=bool(row[5]), error=row[6], created_at=row[7], finished_at=row[8],
                history_use=_history_use(row[9]),
            )
            for row in rows
        ]

    def latest_conversation(self) -> int | None:
        """The id of the most recently updated conversation, if any."""
        row = self._db.execute("SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1").fetchone()
        return int(row[0]) if row else None

    def conversation(self, conversation_id: int) -> ConversationSummary:
        """One conversation's summary; ConversationNotFound when there is none with that id."""
        row = self._db.execute(
            "SELECT c.id, c.title, c.profile, c.created_at, c.updated_at, COUNT(m.id) FROM conversations c "
            "LEFT JOIN messages m ON m.conversation_id = c.id WHERE c.id = ? GROUP BY c.id",
            (conversation_id,),
        ).fetchone()
        if row is None:
            raise ConversationNotFound(
                f"there is no conversation {conversation_id}; list them with: seqmoe-local history"
            )
        return ConversationSummary(*row)

    def exchanges(self, conversation_id: int) -> list[Exchange]:
        """The answered turns of a conversation, oldest first, as a follow-up question sees them.

        A cancelled turn counts with its partial answer; a turn that produced no text does not.
        """
        turns = []
        for message in self.messages(conversation_id):
            answer = answer_text(message.outputs)
            if message.mode == "answer" and answer:
                turns.append(Exchange(message.question, answer))
        return turns


def export_markdown(summary: ConversationSummary, messages: Sequence[StoredMessage]) -> str:
    """A conversation as Markdown: each question, then each segment's answer under its kind and expert."""
    lines = [f"# {summary.title}", "",
             f"Conversation {summary.id} · profile {summary.profile} · started {_when(summary.created_at)}", ""]
    for number, message in enumerate(messages, start=1):
        lines += [f"## Turn {number}" + (" (routed only)" if message.mode == "route" else ""), "",
                  *(f"> {line}" if line else ">" for line in message.question.splitlines()), ""]
        for output in message.outputs:
            note = FINISH_NOTES.get(output.finish_reason, output.finish_reason)
            lines += [f"### {output.kind} · {output.expert}" + (f" ({note})" if note else ""), "",
                      output.text.strip() or "_(no text)_", ""]
        if message.history_use is not None and message.history_use.left_out:
            lines += [f"_{message.history_use.note()}_", ""]
        if message.cancelled:
            lines += ["_cancelled: the partial answer is kept_", ""]
        if message.error:
            lines += [f"_failed: {message.error}_", ""]
    return "\n".join(lines).rstrip() + "\n"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _row_id(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:  # never after an INSERT; keeps the type honest
        raise sqlite3.DatabaseError("the insert returned no row id")
    return cursor.lastrowid


def _routing(text: str | None) -> Routing | None:
    if text is None:
        return None
    try:
        return Routing.model_validate_json(text)
    except ValidationError:
        return None  # written by another version of the router: the answer is still worth showing


def _history_use(text: str | None) -> HistoryUse | None:
    if text is None:
        return None
    try:
        return HistoryUse.model_validate_json(text)
    except ValidationError:
        return None  # like _routing: another version's record costs only the note


def _outputs(text: str) -> list[SegmentOutput]:
    # Like _routing: a record this version cannot read is left out rather than hiding the whole conversation.
    try:
        items = json.loads(text)
    except ValueError:
        return []
    outputs = []
    for item in items if isinstance(items, list) else []:
        try:
            outputs.append(SegmentOutput.model_validate(item))
        except ValidationError:
            continue
    return outputs
