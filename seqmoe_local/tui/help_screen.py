"""Keys and what the routing view means."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Markdown

from seqmoe_local.router import REASON_LABELS

ROUTING_HELP = """\
## How a question is answered

The question is cut into typed parts (**solve**, **explain**, **code**, or context).
Every expert scores the whole question in *bits per byte* (lower = the text looks
more familiar to it). **Stage 1** keeps the experts within (1 + τ) × the best loss
and excludes the rest. **Stage 2** gives each part to the kept expert with the
lowest loss on it, except that the part's *native* expert keeps it unless another
beats it by the minimum relative gain. The parts are then answered in order, each
expert seeing the answers before it.

| why | meaning |
|---|---|
| {lowest_loss} | the expert had the lowest loss on the part |
| {native_kept} | another expert was lower, but not by enough to replace the native |
| {native_overridden} | another expert beat the native by at least the minimum gain |
| {forced} | you pinned this expert for the question |
| {only_active} | every other expert was excluded or disabled |
"""


class HelpScreen(ModalScreen[None]):
    """The key bindings (from the app, so they cannot drift) and the routing vocabulary."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        rows = "\n".join(f"| {key} | {description} |" for key, description in self.keys)
        text = "## Keys\n\n| key | action |\n|---|---|\n" + rows + "\n\n" + ROUTING_HELP.format(**REASON_LABELS)
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Label("seqmoe-local chat: help", classes="dialog-title")
            yield Markdown(text, id="help-text")
        yield Footer(show_command_palette=False)
