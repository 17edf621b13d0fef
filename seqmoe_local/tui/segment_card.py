"""One task segment of an answer: its type and text, the expert and why, the streamed output."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from seqmoe_local.pipeline import FINISH_NOTES, SegmentOutput
from seqmoe_local.router import REASON_LABELS, Assignment

from .badge import ExpertBadge, palette_index

#: what the state label says; a state is also a CSS class (-done, -cancelled, ...) for its colour.
#: The ways a segment can end read as the CLI prints them (FINISH_NOTES).
STATES = {
    "waiting": "waiting",
    "done": "done",
    "loading": "loading model…",
    "generating": "generating…",
    "routed": "routed only",
    "length": FINISH_NOTES["length"],
    "repetition": FINISH_NOTES["repetition"],
    "cancelled": FINISH_NOTES["cancelled"],
    "skipped": "skipped (cancelled)",
    "failed": FINISH_NOTES["failed"],
    "not_run": "not run",
}


class SegmentCard(Vertical):
    """A card per task segment, in execution order; the output streams in as Markdown."""

    def __init__(self, number: int, assignment: Assignment, text: str, palette: dict[str, int]) -> None:
        super().__init__(classes=f"card -waiting palette-{palette_index(assignment.expert, palette)}")
        self.number = number
        self.assignment = assignment
        self.segment_text = text
        self._palette = palette
        self._state_label = Label(STATES["waiting"], classes="state", markup=False)
        self.output = Markdown(classes="output")
        self._stream: MarkdownStream | None = None
        self.state = "waiting"

    @property
    def kind(self) -> str:
        """The segment's type (solve, explain, code, other)."""
        return self.assignment.kind

    @property
    def expert(self) -> str:
        """The expert that takes this segment."""
        return self.assignment.expert

    @property
    def state_text(self) -> str:
        """What the card says about its progress, as shown."""
        return str(self._state_label.content)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="card-header"):
            yield Label(f"{self.number} · {self.kind}", classes="kind", markup=False)
            yield ExpertBadge(self.expert, self._palette)
            yield Label(
                REASON_LABELS.get(self.assignment.reason, self.assignment.reason), classes="reason", markup=False
            )
            yield self._state_label
        yield Static(f"“{self.segment_text.strip()}”", classes="segment-text", markup=False)
        yield Static(self.assignment.detail, classes="detail", markup=False)
        yield self.output

    def set_state(self, state: str, text: str | None = None) -> None:
        """Show a progress state (a key of STATES) and colour the card by it."""
        self.remove_class(f"-{self.state}")
        self.state = state
        self.add_class(f"-{state}")
        self._state_label.update(text or STATES[state])

    def start(self, *, loading: bool) -> None:
        """The pipeline began this segment (its model may still be loading)."""
        self.set_state("loading" if loading else "generating")
        self._stream = Markdown.get_stream(self.output)

    async def append(self, text: str) -> None:
        """Add streamed text; the stream coalesces writes that arrive faster than it renders."""
        if self.state == "loading":
            self.set_state("generating")
        if self._stream is not None:
            await self._stream.write(text)

    async def finish(self, output: SegmentOutput) -> None:
        """The segment ended: final text and how it ended (stop, length, repetition, cancelled, skipped, failed)."""
        await self._stop_stream()
        if self.output.source != output.text:
            await self.output.update(output.text)
        if output.finish_reason == "stop":
            self.set_state("done", f"done · {output.tokens} tokens · {output.seconds:.1f} s")
        elif output.finish_reason == "failed" and output.error:
            self.set_state("failed", f"{STATES['failed']}: {output.error}")
        elif output.finish_reason in STATES:
            self.set_state(output.finish_reason)
        else:  # a reason this version does not know (a newer history record): shown as it is
            self.set_state("done", FINISH_NOTES.get(output.finish_reason, output.finish_reason))

    async def interrupt(self, state: str) -> None:
        """The answer ended without this segment finishing (failed, not run, cancelled)."""
        await self._stop_stream()
        self.set_state(state)

    async def _stop_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
