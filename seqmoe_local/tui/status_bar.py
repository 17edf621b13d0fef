"""The line above the footer: activity, speed, model loads, the next question's choice, memory, resident models."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

MB = 1_000_000


def format_bytes(value: int) -> str:
    """Memory as the status bar shows it."""
    return f"{value / MB:,.0f} MB" if value < 10_000 * MB else f"{value / 1e9:.1f} GB"


class StatusBar(Horizontal):
    """One line of labels, most urgent first, so a narrow terminal clips the least useful part."""

    def __init__(self, profile: str) -> None:
        super().__init__(id="status")
        self._profile = profile
        self.activity = Label("", id="activity", markup=False)
        self.rate = Label("", id="rate", markup=False)
        self.event = Label("", id="event", markup=False)
        self.pending = Label("", id="pending", markup=False)
        self.resident = Label("", id="resident", markup=False)
        self.memory = Label("", id="memory", markup=False)

    def compose(self) -> ComposeResult:
        yield Label(self._profile, id="profile", markup=False)
        yield self.activity
        yield self.rate
        yield self.event
        yield self.pending
        yield self.memory
        yield self.resident

    def on_mount(self) -> None:
        self.set_resident(())
        for label in (self.activity, self.rate, self.event, self.pending):
            label.display = False

    @staticmethod
    def _show(label: Label, text: str) -> None:
        label.update(text)
        label.display = bool(text)

    def set_activity(self, text: str) -> None:
        """What runs now ("routing…", "loading qwen-coder…", "generating 2/3"); empty when idle."""
        self._show(self.activity, text)

    def set_rate(self, tokens_per_second: float | None) -> None:
        """Generation speed of the running segment; None hides it."""
        self._show(self.rate, "" if tokens_per_second is None else f"{tokens_per_second:.1f} tok/s")

    def set_event(self, text: str) -> None:
        """The latest model load or eviction with its duration."""
        self._show(self.event, text)

    def set_pending(self, text: str) -> None:
        """The expert pinned or disabled for the next question."""
        self._show(self.pending, text)

    def set_resident(self, experts: Sequence[str]) -> None:
        """The models loaded now."""
        self.resident.update("resident: " + (", ".join(experts) if experts else "none"))

    def set_memory(self, rss: int) -> None:
        """The process's resident memory."""
        self.memory.update(f"RSS {format_bytes(rss)}")
