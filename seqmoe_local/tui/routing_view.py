"""How one question was routed: stage-1 losses with the cutoff, and the per-segment loss table."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Collapsible, DataTable, Static

from seqmoe_local.config import OTHER_KIND
from seqmoe_local.router import Routing

#: marks the expert that took a segment (the lowest loss, or the native it kept)
WINNER = "★"
STAGE1_COLUMN = "stage1"


def format_bpb(value: float) -> str:
    """Bits per byte as the routing view shows them (and `seqmoe-local route` prints them)."""
    return f"{value:.3f}"


def segment_column(index: int) -> str:
    """The table column key of assignment `index`."""
    return f"segment-{index}"


def summary(routing: Routing) -> str:
    """A one-line digest of the routing, the collapsible's title."""
    if routing.best is None:  # forced, or too short to score
        how = "forced to" if routing.scoring == "forced" else "too short to score; given to"
        experts = (
            routing.active
            if routing.scoring == "forced"
            else list(dict.fromkeys(a.expert for a in routing.assignments))
        )
        return f"routing: {how} {', '.join(experts)} (no losses compared)"
    line = f"routing: best {routing.best} {format_bpb(routing.stage1[routing.best])} bpb"
    if routing.excluded:
        return f"{line} · excluded {', '.join(routing.excluded)}"
    return f"{line} · all {len(routing.active)} experts active"


class RoutingView(Collapsible):
    """Both routing stages of one answer.

    Rows are experts in stage-1 order (lowest bits per byte on the whole question
    first); the columns are that stage-1 loss, whether the expert passed the
    cutoff, then each task segment's loss with the winner starred.
    """

    def __init__(self, routing: Routing, *, collapsed: bool) -> None:
        self.routing = routing
        self.table: DataTable[Text] = DataTable(cursor_type="none", show_cursor=False, classes="losses")
        self.table.can_focus = False  # nothing to select; Tab should move between the things that act
        super().__init__(
            self.table, Static(self._notes(), classes="routing-notes", markup=False),
            title=summary(routing), collapsed=collapsed, classes="routing",
        )

    def _notes(self) -> str:
        r = self.routing
        lines = []
        if r.best is not None:
            lines.append(
                f"stage 1: bits per byte on the whole question; cutoff {format_bpb(r.cutoff or 0.0)} = "
                f"(1 + τ {r.tau:g}) × best {format_bpb(r.stage1[r.best])}"
                + (f"; excluded: {', '.join(r.excluded)}" if r.excluded else "; none excluded")
            )
            lines.append(f"stage 2: per-segment loss ({r.scoring}); a non-native expert needs "
                         f"≥ {r.min_relative_gain:.0%} lower loss than the native. {WINNER} = took the segment")
        context = [s.text.strip() for s in r.segments if s.kind == OTHER_KIND]
        if context and len(context) < len(r.segments):
            lines.append("context (given to every expert): " + " ".join(context))
        return "\n".join(lines)

    def on_mount(self) -> None:
        r = self.routing
        if r.best is None:
            self.table.display = False
            return
        self.table.add_column("expert", key="expert")
        self.table.add_column("question", key=STAGE1_COLUMN)
        self.table.add_column("stage 1", key="status")
        for index, assignment in enumerate(r.assignments):
            self.table.add_column(f"{index + 1} {assignment.kind}", key=segment_column(index))
        for expert in sorted(r.stage1, key=lambda e: (r.stage1[e], e)):
            excluded = expert in r.excluded
            style = "dim" if excluded else ""
            status = "best" if expert == r.best else ("excluded" if excluded else "kept")
            cells = [Text(expert, style=style), Text(format_bpb(r.stage1[expert]), style=style),
                     Text(status, style=style)]
            for assignment in r.assignments:
                if expert not in assignment.losses:
                    cells.append(Text("—", style="dim"))
                elif expert == assignment.expert:
                    cells.append(Text(f"{format_bpb(assignment.losses[expert])} {WINNER}", style="bold"))
                else:
                    cells.append(Text(format_bpb(assignment.losses[expert])))
            self.table.add_row(*cells, key=expert)
