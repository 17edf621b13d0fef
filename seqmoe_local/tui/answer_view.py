"""One question in the chat log: the question, its routing view, and a card per task segment."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from seqmoe_local.pipeline import SegmentOutput
from seqmoe_local.router import Routing

from .routing_view import RoutingView
from .segment_card import SegmentCard


class AnswerView(Vertical):
    """The answer to one question; cards appear once routing is known, in execution order."""

    def __init__(self, question: str, palette: dict[str, int], *, route_only: bool = False) -> None:
        super().__init__(classes="answer")
        self.question = question
        self.route_only = route_only
        self._palette = palette
        self.routing_view: RoutingView | None = None
        self.cards: list[SegmentCard] = []
        self._note = Label("", classes="context-note", markup=False)
        self._note.display = False
        self._outcome = Label("", classes="outcome", markup=False)

    def compose(self) -> ComposeResult:
        yield Static(f"› {self.question.strip()}", classes="question", markup=False)
        yield self._note
        yield self._outcome

    @property
    def note(self) -> str:
        """The note on the conversation context (earlier turns left out), as shown; empty when none."""
        return str(self._note.content)

    @property
    def outcome(self) -> str:
        """The closing line (done, cancelled, failed), as shown."""
        return str(self._outcome.content)

    async def show_routing(self, routing: Routing) -> None:
        """Mount the routing view and one waiting card per assignment."""
        self.routing_view = RoutingView(routing, collapsed=not self.route_only)
        self.cards = [
            SegmentCard(number, assignment, routing.segments[assignment.segment].text, self._palette)
            for number, assignment in enumerate(routing.assignments, start=1)
        ]
        await self.mount(self.routing_view, *self.cards, before=self._note)
        if self.route_only:
            for card in self.cards:
                card.set_state("routed")

    async def show_outputs(self, outputs: list[SegmentOutput]) -> None:
        """Fill the cards with finished outputs (a conversation reopened from history)."""
        by_segment = {o.segment: o for o in outputs}
        for card in self.cards:
            output = by_segment.get(card.assignment.segment)
            if output is not None:
                await card.finish(output)
            elif not self.route_only:
                await card.interrupt("not_run")

    def set_note(self, text: str) -> None:
        """A note above the closing line (e.g. "2 earlier turns left out ..."); empty hides it."""
        self._note.update(text)
        self._note.display = bool(text)

    def set_outcome(self, text: str, state: str) -> None:
        """The closing line; `state` (done, cancelled, failed) colours it."""
        self._outcome.update(text)
        self._outcome.set_classes(f"outcome -{state}")
