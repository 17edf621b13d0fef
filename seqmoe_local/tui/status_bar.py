"""The line above the footer, and the live state it shows.

Activity (routing, loading a model, generating part n of m, with the elapsed time),
generation speed, the latest model load or eviction, the next question's expert
choice, memory, and the resident models. The bar keeps this state itself and runs
its own clock: the screen tells it what happened (`routing`, `segment_started`,
`tokens`, `model_event`, `cancelling`, `idle`) and it decides what to show. Its
timers live and die with the widget, so nothing ticks against a screen that is
being torn down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from seqmoe_local.pool import PoolEvent

MB = 1_000_000
#: how often the elapsed time of the running phase is redrawn
ACTIVITY_INTERVAL_S = 0.1
#: how often the process's memory is read
MEMORY_INTERVAL_S = 1.0
#: how long a load or eviction stays in the bar (it makes room for the resident list on 80 columns)
EVENT_SHOWN_S = 6.0


def format_bytes(value: int) -> str:
    """Memory as the status bar shows it."""
    return f"{value / MB:,.0f} MB" if value < 10_000 * MB else f"{value / 1e9:.1f} GB"


@dataclass
class Phase:
    """What runs now and since when (monotonic seconds)."""

    what: Literal["routing", "loading", "generating"]
    since: float
    expert: str = ""
    part: str = ""  # "2/3": the running segment of the answer


class StatusBar(Horizontal):
    """One line of labels, most urgent first, so a narrow terminal clips the least useful part."""

    def __init__(self, profile: str, memory: Callable[[], int]) -> None:
        super().__init__(id="status")
        self._profile = profile
        self._memory = memory
        self.activity = Label("", id="activity", markup=False)
        self.rate = Label("", id="rate", markup=False)
        self.event = Label("", id="event", markup=False)
        self.pending = Label("", id="pending", markup=False)
        self.resident_label = Label("", id="resident", markup=False)
        self.memory = Label("", id="memory", markup=False)
        self.resident: tuple[str, ...] = ()  # the models loaded now, as the pool last reported
        self.phase: Phase | None = None
        self._route_only = False  # the running question only routes
        self._cancelling = False  # a cancel was asked for and the run has not ended yet
        self._tokens = 0  # of the running segment, for its rate
        self._first_token_at: float | None = None
        self._event_until = 0.0

    def compose(self) -> ComposeResult:
        yield Label(self._profile, id="profile", markup=False)
        yield self.activity
        yield self.rate
        yield self.event
        yield self.pending
        yield self.memory
        yield self.resident_label

    def on_mount(self) -> None:
        self._show_resident()
        for label in (self.activity, self.rate, self.event, self.pending):
            label.display = False
        self._read_memory()
        self.set_interval(ACTIVITY_INTERVAL_S, self._show_activity)
        self.set_interval(MEMORY_INTERVAL_S, self._read_memory)

    # -- what the screen reports -------------------------------------------------------------------

    def routing(self, *, route_only: bool) -> None:
        """A question was sent: routing runs."""
        self.phase = Phase("routing", time.monotonic())
        self._route_only, self._cancelling = route_only, False
        self._reset_rate()
        self._show_activity()

    def segment_started(self, expert: str, part: str) -> None:
        """A segment began; its model loads first unless it is resident."""
        what: Literal["loading", "generating"] = "generating" if expert in self.resident else "loading"
        self.phase = Phase(what, time.monotonic(), expert=expert, part=part)
        self._reset_rate()
        self._show_activity()

    @property
    def loading_model(self) -> bool:
        """The running segment waits for its model."""
        return self.phase is not None and self.phase.what == "loading"

    def tokens(self, count: int) -> None:
        """`count` more tokens of the running segment reached the screen."""
        now = time.monotonic()
        if self._first_token_at is None:
            self._first_token_at = now
            if self.phase is not None and self.phase.what == "loading":
                self.phase = Phase("generating", now, expert=self.phase.expert, part=self.phase.part)
        self._tokens += count
        if now > self._first_token_at and self._tokens > 1:
            self._show(self.rate, f"{(self._tokens - 1) / (now - self._first_token_at):.1f} tok/s")
        self._show_activity()

    def model_event(self, event: PoolEvent) -> None:
        """A model was loaded or evicted: the resident list, and the event for a few seconds."""
        self.resident = event.resident
        self._show_resident()
        verb = "loaded" if event.kind == "load" else "evicted"
        self._show(self.event, f"{verb} {event.expert} {event.seconds:.2f} s")
        self._event_until = time.monotonic() + EVENT_SHOWN_S
        phase = self.phase
        if phase is not None and phase.what == "loading" and event.kind == "load" and event.expert == phase.expert:
            # reading the prompt
            self.phase = Phase("generating", time.monotonic(), expert=phase.expert, part=phase.part)
        self._show_activity()

    def cancelling(self) -> None:
        """A cancel was asked for; the running step finishes first."""
        self._cancelling = self.phase is not None
        self._show_activity()

    def idle(self) -> None:
        """Nothing runs."""
        self.phase = None
        self._cancelling = False
        self._reset_rate()
        self._show_activity()

    def set_pending(self, text: str) -> None:
        """The expert pinned or disabled for the next question."""
        self._show(self.pending, text)

    # -- drawing -----------------------------------------------------------------------------------

    @staticmethod
    def _show(label: Label, text: str) -> None:
        if str(label.content) != text:
            label.update(text)
        label.display = bool(text)

    def _reset_rate(self) -> None:
        self._tokens, self._first_token_at = 0, None
        self._show(self.rate, "")

    def activity_text(self) -> str:
        """What runs now, as shown ("routing 1.2 s", "loading qwen-coder 3.0 s (2/3)", "generating 2/3")."""
        phase = self.phase
        if phase is None:
            return ""
        elapsed = time.monotonic() - phase.since
        if self._cancelling:
            return "finishing routing…" if self._route_only else "cancelling…"
        if phase.what == "routing":
            return f"routing {elapsed:.1f} s"
        if phase.what == "loading":
            return f"loading {phase.expert} {elapsed:.1f} s ({phase.part})"
        return f"generating {phase.part}"

    def _show_activity(self) -> None:
        self._show(self.activity, self.activity_text())
        if self._event_until and time.monotonic() > self._event_until:
            self._event_until = 0.0
            self._show(self.event, "")

    def _show_resident(self) -> None:
        self.resident_label.update("resident: " + (", ".join(self.resident) if self.resident else "none"))

    def _read_memory(self) -> None:
        self.memory.update(f"RSS {format_bytes(self._memory())}")
