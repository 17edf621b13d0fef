"""The profile's experts: present or missing, size, roles, and how to fetch what is missing."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from seqmoe_local.pull import ModelStatus

from .status_bar import format_bytes


def state(status: ModelStatus) -> str:
    """present, missing, or what is wrong with the file that is there."""
    if status.present:
        return "present"
    return "unusable" if status.problem and status.size_on_disk else "missing"


class ModelsScreen(ModalScreen[None]):
    """A table of experts; the pull commands for missing ones are listed below it (c copies them)."""

    BINDINGS = [
        Binding("escape,f2", "dismiss", "Close"),
        Binding("c", "copy_commands", "Copy pull commands"),
    ]

    def __init__(
        self, statuses: Sequence[ModelStatus], profile: str, natives: dict[str, str], notice: str = ""
    ) -> None:
        super().__init__()
        self.statuses = list(statuses)
        self.profile = profile
        self.natives = natives
        self.notice = notice
        self.table: DataTable[Text] = DataTable(cursor_type="row", id="models-table")

    @property
    def missing(self) -> list[ModelStatus]:
        """The experts that cannot be used until pulled."""
        return [s for s in self.statuses if not s.present]

    def compose(self) -> ComposeResult:
        with Vertical(id="models-dialog", classes="dialog"):
            yield Label(f"Models of profile {self.profile}", classes="dialog-title", markup=False)
            if self.notice:
                yield Static(self.notice, id="models-notice", markup=False)
            yield self.table
            yield Static(self._commands(), id="pull-commands", markup=False)
            yield Static("", id="model-detail", markup=False)
        yield Footer(show_command_palette=False)

    def _commands(self) -> str:
        missing = self.missing
        if not missing:
            return "Every expert is present."
        lines = [f"{len(missing)} expert(s) must be fetched before the chat can answer; run:"]
        lines += [f"  {s.pull_command}" for s in missing]
        return "\n".join(lines)

    def on_mount(self) -> None:
        self.table.add_columns("expert", "state", "size", "quant", "roles", "native for")
        for status in self.statuses:
            style = "" if status.present else "bold"
            size = status.size_on_disk if status.size_on_disk is not None else status.expected_size
            native = [role for role, name in sorted(self.natives.items()) if name == status.name]
            self.table.add_row(
                Text(status.name), Text(state(status), style=style),
                Text(format_bytes(size) if size else "?", justify="right"), Text(status.quantization or "—"),
                Text(", ".join(status.roles) or "—"), Text(", ".join(native) or "—"), key=status.name,
            )
        self.table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        status = next(s for s in self.statuses if s.name == event.row_key.value)
        lines = [status.description, f"file: {status.path}"]
        if status.problem:
            lines.append(f"problem: {status.problem}")
        if not status.present:
            lines.append(f"fetch with: {status.pull_command}")
        self.query_one("#model-detail", Static).update("\n".join(lines))

    def action_copy_commands(self) -> None:
        """Copy the pull commands of the missing experts, one per line."""
        missing = self.missing
        if not missing:
            self.notify("every expert is present; nothing to pull")
            return
        self.app.copy_to_clipboard("\n".join(s.pull_command for s in missing))
        self.notify(f"copied {len(missing)} pull command(s)")
