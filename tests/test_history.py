"""The chat's SQLite history: round trip, schema upgrades, and refusing files it must not touch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from seqmoe_local.history import SCHEMA_VERSION, History, HistoryError, default_path
from seqmoe_local.pipeline import HistoryUse, SegmentOutput
from seqmoe_local.router import Assignment, Routing, SegmentInfo

QUESTION = "Find 6 * 7, then write a Python function that multiplies."

#: the schema as the first release wrote it; kept literally so an edit to the migrations cannot hide a break
V1_SCHEMA = """
CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL, profile TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL, routing TEXT, outputs TEXT NOT NULL DEFAULT '[]',
    cancelled INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, finished_at REAL);
PRAGMA user_version = 1;
"""


def routing() -> Routing:
    """A two-segment routing as the router would produce it (values made up)."""
    segments = [
        SegmentInfo(index=0, kind="solve", text="Find 6 * 7,", start=0, end=11, byte_start=0, byte_end=11),
        SegmentInfo(index=1, kind="code", text="then write a Python function that multiplies.", start=12, end=58,
                    byte_start=12, byte_end=58),
    ]
    return Routing(
        question=QUESTION, profile="demo", scoring="single_pass", tau=0.5, min_relative_gain=0.2, segments=segments,
        stage1={"qwen-coder": 1.0, "gemma3-270m": 1.2}, best="qwen-coder", cutoff=1.5,
        active=["qwen-coder", "gemma3-270m"], excluded=[],
        assignments=[
            Assignment(segment=0, kind="solve", expert="gemma3-270m", reason="native_kept", native="gemma3-270m",
                       losses={"qwen-coder": 1.1, "gemma3-270m": 1.2}, detail="kept"),
            Assignment(segment=1, kind="code", expert="qwen-coder", reason="lowest_loss", native="qwen-coder",
                       losses={"qwen-coder": 0.5, "gemma3-270m": 0.9}, detail="lowest"),
        ],
        common_start_byte=1, tokens_scored={"qwen-coder": 14, "gemma3-270m": 15}, seconds=0.25,
    )


def outputs() -> list[SegmentOutput]:
    return [
        SegmentOutput(segment=0, kind="solve", expert="gemma3-270m", text="42", tokens=2, finish_reason="stop",
                      seconds=0.1),
        SegmentOutput(segment=1, kind="code", expert="qwen-coder", text="```python\ndef mul(a, b):", tokens=9,
                      finish_reason="cancelled", seconds=0.4),
    ]


def test_save_and_reopen_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    history = History.open(path)
    conversation = history.create_conversation("Find 6 * 7", "demo")
    history.add_message(conversation, question=QUESTION, mode="answer", routing=routing(), outputs=outputs(),
                        cancelled=True, error=None, created_at=100.0, finished_at=101.5,
                        history_use=HistoryUse(turns=4, left_out=1))
    history.add_message(conversation, question="Explain recursion.", mode="route", routing=None, outputs=[],
                        cancelled=False, error="model missing", created_at=102.0, finished_at=102.5)
    history.close()

    reopened = History.open(path)
    [summary] = reopened.conversations()
    assert (summary.id, summary.title, summary.profile, summary.messages) == (conversation, "Find 6 * 7", "demo", 2)
    assert summary.updated_at == 102.5
    first, second = reopened.messages(conversation)
    assert first.question == QUESTION and first.mode == "answer" and first.cancelled and first.error is None
    assert first.routing == routing() and first.outputs == outputs()
    assert (first.created_at, first.finished_at) == (100.0, 101.5)
    assert first.history_use == HistoryUse(turns=4, left_out=1) and second.history_use is None
    assert second.mode == "route" and second.routing is None and second.outputs == []
    assert second.error == "model missing"
    assert reopened.notice is None
    reopened.close()


def test_new_database_has_the_current_schema_version_in_the_data_dir(user_dirs: Path) -> None:
    history = History.open()
    history.close()
    assert default_path() == user_dirs / "data" / "history.sqlite3"
    with sqlite3.connect(default_path()) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_conversations_newest_first(tmp_path: Path) -> None:
    history = History.open(tmp_path / "h.sqlite3")
    older = history.create_conversation("older", "demo")
    newer = history.create_conversation("newer", "demo")
    history.add_message(older, question="q", mode="answer", routing=None, outputs=[], cancelled=False, error=None,
                        created_at=1.0, finished_at=9e9)  # the most recently answered comes first
    assert [c.id for c in history.conversations()] == [older, newer]
    history.close()


def _damage_page(path: Path) -> None:
    """Overwrite the middle of a multi-page database with garbage, header left intact."""
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page: 3 * page] = b"\xde\xad\xbe\xef" * (page // 4)
    path.write_bytes(bytes(data))


def _big_history(path: Path) -> None:
    history = History.open(path)
    conversation = history.create_conversation("t", "demo")
    for n in range(60):
        history.add_message(conversation, question=f"question {n} " + "x" * 400, mode="answer", routing=routing(),
                            outputs=outputs(), cancelled=False, error=None, created_at=n, finished_at=n + 1)
    history.close()


@pytest.mark.parametrize("damage", ["garbage", "damaged page"])
def test_corrupt_database_is_refused_and_left_untouched(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "history.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"this is not an sqlite database\n" * 300)
    else:
        _big_history(path)
        _damage_page(path)
    before = path.read_bytes()
    with pytest.raises(HistoryError) as caught:
        History.open(path)
    message = str(caught.value)
    assert str(path) in message and "damaged" in message and "move it aside" in message.lower()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]  # no journal, no backup


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match=rf"newer seqmoe-local \(schema {SCHEMA_VERSION + 1}; this version reads "
                                           rf"up to {SCHEMA_VERSION}\)"):
        History.open(path)
    assert path.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="not a seqmoe-local history database"):
        History.open(path)
    assert path.read_bytes() == before


def test_migration_from_version_1_keeps_the_data_and_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        db.execute("INSERT INTO conversations VALUES (7, 'old one', 'demo', 1.0, 2.0)")
        db.execute("INSERT INTO messages (conversation_id, question, routing, outputs, cancelled, created_at, "
                   "finished_at) VALUES (7, ?, ?, ?, 0, 1.0, 2.0)",
                   (QUESTION, routing().model_dump_json(), "[" + outputs()[0].model_dump_json() + "]"))

    history = History.open(path)
    assert history.notice is not None and "upgraded from schema 1" in history.notice
    [message] = history.messages(7)
    assert message.mode == "answer" and message.error is None and message.routing == routing()
    assert message.outputs == outputs()[:1]
    assert message.history_use is None  # not recorded before schema 3
    history.add_message(7, question="new", mode="route", routing=None, outputs=[], cancelled=False, error="e",
                        created_at=3.0, finished_at=4.0)
    assert [m.mode for m in history.messages(7)] == ["answer", "route"]
    history.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    backup = tmp_path / "history.sqlite3.v1.bak"
    with sqlite3.connect(backup) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("SELECT question FROM messages").fetchall() == [(QUESTION,)]
    again = History.open(path)
    assert again.notice is None  # upgraded once
    again.close()
