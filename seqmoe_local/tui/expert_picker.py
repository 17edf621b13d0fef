"""Pin one expert, or leave experts out, for the next question."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static


@dataclass(frozen=True)
class ExpertChoice:
    """What the next question runs with: a pinned expert takes every segment; disabled ones are left out."""

    pinned: str | None = None
    disabled: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        """For the status bar; empty when nothing is chosen."""
        parts = []
        if self.pinned:
            parts.append(f"next: pinned {self.pinned}")
        if self.disabled:
            parts.append(f"next without {', '.join(sorted(self.disabled))}")
        return " · ".join(parts)


class ExpertPicker(ModalScreen[ExpertChoice]):
    """A row per expert; p pins, d disables, Enter or Escape keeps the choice."""

    BINDINGS = [
        Binding("p", "pin", "Pin"),
        Binding("d", "disable", "Disable"),
        Binding("r", "reset", "Reset"),
        Binding("escape,enter,f4", "done", "Done"),
    ]

    def __init__(self, experts: list[str], natives: dict[str, str], choice: ExpertChoice) -> None:
        super().__init__()
        self.experts = experts
        self.natives = natives
        self.choice = choice
        self.table: DataTable[Text] = DataTable(cursor_type="row", id="picker-table")

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog", classes="dialog"):
            yield Label("Experts for the next question", classes="dialog-title")
            yield self.table
            yield Static("p: pin (this expert takes every segment, no routing) · d: leave out of routing · "
                         "r: reset. Applies to the next question only.", classes="hint")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.table.add_column("expert", key="expert")
        self.table.add_column("native for", key="native")
        self.table.add_column("next question", key="state")
        for name in self.experts:
            native = ", ".join(role for role, expert in sorted(self.natives.items()) if expert == name) or "—"
            self.table.add_row(Text(name), Text(native), self._state(name), key=name)
        self.table.focus()

    def _state(self, name: str) -> Text:
        if self.choice.pinned == name:
            return Text("pinned", style="bold")
        if name in self.choice.disabled:
            return Text("disabled", style="dim")
        return Text("routed" if self.choice.pinned is None else "not used")

    def _refresh(self) -> None:
        for name in self.experts:
            self.table.update_cell(name, "state", self._state(name))

    @property
    def _highlighted(self) -> str:
        return str(self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(self.choice)

    def action_pin(self) -> None:
        """Pin the highlighted expert, or unpin it."""
        name = self._highlighted
        pinned = None if self.choice.pinned == name else name
        self.choice = ExpertChoice(pinned, self.choice.disabled - {name})
        self._refresh()

    def action_disable(self) -> None:
        """Leave the highlighted expert out of routing, or bring it back."""
        name = self._highlighted
        if name in self.choice.disabled:
            self.choice = ExpertChoice(self.choice.pinned, self.choice.disabled - {name})
        elif len(self.choice.disabled) + 1 >= len(self.experts):
            self.notify("keep at least one expert", severity="warning")
            return
        else:
            pinned = None if self.choice.pinned == name else self.choice.pinned
            self.choice = ExpertChoice(pinned, self.choice.disabled | {name})
        self._refresh()

    def action_reset(self) -> None:
        """Back to routing with every expert."""
        self.choice = ExpertChoice()
        self._refresh()

    def action_done(self) -> None:
        """Close, keeping the choice."""
        self.dismiss(self.choice)
