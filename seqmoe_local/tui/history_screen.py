"""Past conversations, newest first; Enter reopens one."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from seqmoe_local.history import ConversationSummary


class HistoryScreen(ModalScreen[int | None]):
    """Dismisses with the id of the conversation to reopen, or None."""

    BINDINGS = [Binding("escape,f3", "dismiss", "Close"), Binding("enter", "open", "Reopen")]

    def __init__(self, conversations: Sequence[ConversationSummary], path: Path) -> None:
        super().__init__()
        self.conversations = list(conversations)
        self.path = path
        self.table: DataTable[Text] = DataTable(cursor_type="row", id="history-table")

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog", classes="dialog"):
            yield Label("History · Enter reopens a conversation", classes="dialog-title")
            if self.conversations:
                yield self.table
            else:
                yield Static("No saved conversations yet.", classes="empty")
            yield Static(f"stored in {self.path}", id="history-path", markup=False)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.table.add_columns("when", "questions", "profile", "first question")
        for c in self.conversations:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
            self.table.add_row(
                Text(when), Text(str(c.messages), justify="right"), Text(c.profile), Text(c.title), key=str(c.id)
            )
        self.table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(int(str(event.row_key.value)))

    def action_open(self) -> None:
        """Reopen the highlighted conversation (Enter on the table arrives as RowSelected instead)."""
        if not self.conversations:
            self.dismiss(None)
            return
        row = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key
        self.dismiss(int(str(row.value)))
