"""One question of a conversation in the chat, and what came back: for the screen, copying, history and context."""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from seqmoe_local.history import StoredMessage
from seqmoe_local.pipeline import HistoryUse, SegmentOutput, answer_text
from seqmoe_local.prompts import Exchange
from seqmoe_local.router import Routing

from .answer_view import AnswerView


@dataclass
class Turn:
    """One question of the conversation and everything that came back."""

    question: str
    route_only: bool
    view: AnswerView
    started_at: float
    context: tuple[Exchange, ...] = ()  # the earlier turns this question was asked after
    routing: Routing | None = None
    outputs: dict[int, SegmentOutput] = field(default_factory=dict)  # by position in routing.assignments
    streamed: dict[int, list[str]] = field(default_factory=dict)  # text so far of running segments
    cancelled: bool = False
    error: str | None = None
    history_use: HistoryUse | None = None  # how much of `context` the experts saw (from the pipeline)

    def segment_text(self, position: int) -> str:
        """The answer of the assignment at `position`, finished or as far as it got."""
        if position in self.outputs:
            return self.outputs[position].text
        return "".join(self.streamed.get(position, []))

    def answer_markdown(self) -> str:
        """The whole answer as Markdown, a heading per segment (as `seqmoe-local ask` prints it)."""
        if self.routing is None:
            return ""
        parts = []
        for position, a in enumerate(self.routing.assignments):
            text = self.segment_text(position).strip()
            if text:
                parts.append(f"## {a.kind} · {a.expert}\n\n{text}")
        return "\n\n".join(parts)

    def output_list(self) -> list[SegmentOutput]:
        """Outputs to store: finished ones, and the partial text of a segment an error interrupted."""
        outputs = []
        for position in sorted(set(self.outputs) | set(self.streamed)):
            if position in self.outputs:
                outputs.append(self.outputs[position])
            elif self.routing is not None:
                a = self.routing.assignments[position]
                pieces = self.streamed[position]
                outputs.append(SegmentOutput(segment=a.segment, kind=a.kind, expert=a.expert, text="".join(pieces),
                                             tokens=len(pieces), finish_reason="failed", seconds=0.0))
        return outputs

    def exchange(self) -> Exchange | None:
        """This turn as later questions see it; None when it is no context (routed only, or no text).

        The same rule as `History.exchanges`, so the chat and `ask -c` continue a
        conversation alike: a cancelled or failed turn counts with its partial text.
        """
        if self.route_only:
            return None
        answer = answer_text(self.output_list())
        return Exchange(self.question, answer) if answer else None

    def outcome(self) -> tuple[str, str]:
        """The answer's closing line and its state class."""
        if self.error is not None:
            return f"failed: {self.error}", "failed"
        if self.route_only:
            return "routed only · nothing generated (Enter answers it)", "done"
        if self.cancelled:
            return "cancelled · the partial answer is kept", "cancelled"
        outputs = list(self.outputs.values())
        tokens = sum(o.tokens for o in outputs)
        return f"done · {len(outputs)} part(s) · {tokens} tokens", "done"

    @classmethod
    def from_stored(cls, view: AnswerView, message: StoredMessage) -> Turn:
        """A turn reopened from history (its view is filled by `show`)."""
        turn = cls(question=message.question, route_only=message.mode == "route", view=view,
                   started_at=message.created_at, routing=message.routing, cancelled=message.cancelled,
                   error=message.error, history_use=message.history_use)
        if message.routing is not None:
            position_of = {a.segment: i for i, a in enumerate(message.routing.assignments)}
            turn.outputs = {position_of[o.segment]: o for o in message.outputs if o.segment in position_of}
        else:  # routing written by another version: no cards, but the text still counts as context
            turn.outputs = dict(enumerate(message.outputs))
        return turn

    async def show_stored(self, message: StoredMessage) -> None:
        """Fill the (mounted) view with the stored routing and outputs."""
        if message.routing is not None:
            await self.view.show_routing(message.routing)
            await self.view.show_outputs(message.outputs)
        self.view.set_note(left_out_note(self.history_use))
        self.view.set_outcome(*self.outcome())


def last_code_block(markdown: str) -> str | None:
    """The content of the last fenced or indented code block (an unclosed fence counts), if any."""
    blocks = [t.content for t in MarkdownIt("commonmark").parse(markdown) if t.type in ("fence", "code_block")]
    return blocks[-1] if blocks else None


def left_out_note(use: HistoryUse | None) -> str:
    """The answer's note on left-out turns; empty when all fit or when it is not known (older history)."""
    return use.note() if use is not None else ""
