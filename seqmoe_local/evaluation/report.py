"""Reports of scored policies: the terminal table, JSON, Markdown and an SVG chart.

Per suite and policy: the share of items answered right with its 95% bootstrap interval, the
difference to the best single expert (paired bootstrap interval on the same items), mean
cost per item (new tokens, tokens scored for routing, model loads, seconds) and which experts
it picked; then the oracle's gap. A "signals" table per suite shows what the losses say:
each expert's median loss, how often it has the lowest loss on a segment, raw and normalised,
and how often it is right when it does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from ..config import StrictModel
from .calibration import typical_factors
from .policies import SuiteData, SuiteScores, paired_interval


class PolicyRow(StrictModel):
    name: str
    description: str
    n: int
    correct: int
    rate: float
    ci_low: float
    ci_high: float
    vs_best: tuple[float, float, float] | None  # difference to the best single expert, 95% interval
    tokens_generated: float
    tokens_scored: float
    loads: float
    seconds: float
    picks: dict[str, float]


class SignalRow(StrictModel):
    expert: str
    rate: float  # answered right, as the only expert
    median_stage1: float | None  # bits per byte on whole questions
    lowest_raw: float  # share of task segments where its raw loss is the lowest
    lowest_normalised: float  # same, after dividing by each expert's median loss
    right_when_lowest: float | None  # its rate on the items where its raw loss was lowest on every segment
    bpb_right: float | None  # its mean loss on the task segments of items it answered right...
    bpb_wrong: float | None  # ...and wrong: a loss that tells right from wrong differs here


class SuiteReport(StrictModel):
    suite: str
    description: str
    source: str
    max_new_tokens: int | None
    requested: int
    scored: int
    missing: int
    uncovered: dict[str, int]
    best_single: str | None
    oracle_gap: float | None
    policies: list[PolicyRow]
    signals: list[SignalRow]


class EvalReport(StrictModel):
    title: str
    created: str
    profile: str
    table_dir: str
    notes: list[str]
    suites: list[SuiteReport]
    scoring_seconds: float  # time to score every policy on every suite, from the table
    policies_scored: int
    files: dict[str, str]


def suite_report(scores: SuiteScores, data: SuiteData, *, description: str, source: str,
                 max_new_tokens: int | None, requested: int) -> SuiteReport:
    """Turn scores into a report section, with paired differences to the best single expert."""
    best = next((p for p in scores.policies if p.name == scores.best_single), None)
    rows = []
    for p in scores.policies:
        vs = paired_interval(p.outcomes, best.outcomes) if best is not None and p.n else None
        rows.append(PolicyRow(name=p.name, description=p.description, n=p.n, correct=p.correct, rate=p.rate,
                              ci_low=p.ci[0], ci_high=p.ci[1], vs_best=vs, tokens_generated=p.tokens_generated,
                              tokens_scored=p.tokens_scored, loads=p.loads, seconds=p.seconds, picks=p.picks))
    common = set(scores.items)
    return SuiteReport(suite=scores.suite, description=description, source=source, max_new_tokens=max_new_tokens,
                       requested=requested, scored=len(scores.items), missing=scores.missing,
                       uncovered={k: v for k, v in scores.uncovered.items() if v}, best_single=scores.best_single,
                       oracle_gap=scores.oracle_gap, policies=rows,
                       signals=signals([d for d in data.items if d.item in common], data.experts))


def signals(items: Sequence, experts: Sequence[str]) -> list[SignalRow]:
    """What the losses say about each expert on these items (see the module docstring)."""
    factors = typical_factors(items, experts)
    rows = []
    for expert in experts:
        single = [d.cells.get(tuple(expert for _ in d.record.kinds)) for d in items]
        rate = sum(bool(c and c.correct) for c in single) / len(items) if items else 0.0
        stage1 = [d.record.stage1[expert] for d in items if expert in d.record.stage1]
        lowest_raw = lowest_norm = total = 0
        lowest_items: list[bool] = []
        by_outcome: dict[bool, list[float]] = {True: [], False: []}
        for d, cell in zip(items, single, strict=False):
            seg_losses = [losses[expert] for losses in d.record.losses if expert in losses]
            if seg_losses and cell is not None:
                by_outcome[bool(cell.correct)].append(sum(seg_losses) / len(seg_losses))
            all_lowest = bool(d.record.losses)
            for kind, losses in zip(d.record.kinds, d.record.losses, strict=False):
                if expert not in losses:
                    all_lowest = False
                    continue
                total += 1
                raw_min = min(losses, key=lambda e: (losses[e], e))
                norm = {e: v * factors.get(e, {}).get(kind, 1.0) for e, v in losses.items()}
                lowest_raw += raw_min == expert
                lowest_norm += min(norm, key=lambda e: (norm[e], e)) == expert
                all_lowest = all_lowest and raw_min == expert
            if all_lowest:
                lowest_items.append(bool(cell and cell.correct))
        rows.append(SignalRow(
            expert=expert, rate=rate, median_stage1=statistics.median(stage1) if stage1 else None,
            lowest_raw=lowest_raw / total if total else 0.0, lowest_normalised=lowest_norm / total if total else 0.0,
            right_when_lowest=sum(lowest_items) / len(lowest_items) if lowest_items else None,
            bpb_right=statistics.fmean(by_outcome[True]) if by_outcome[True] else None,
            bpb_wrong=statistics.fmean(by_outcome[False]) if by_outcome[False] else None))
    return rows


# -- text ----------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _ci(row: PolicyRow) -> str:
    return f"[{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]"


def _vs(row: PolicyRow) -> str:
    if row.vs_best is None:
        return "-"
    d, lo, hi = row.vs_best
    return f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def _picks(row: PolicyRow) -> str:
    return ", ".join(f"{e} {100 * s:.0f}%" for e, s in sorted(row.picks.items(), key=lambda kv: -kv[1]) if s > 0)


HEADERS = ["policy", "right", "rate", "95% CI", "vs best single (pp)", "tok gen", "tok scored", "loads", "s/item",
           "picks"]


def _cells(row: PolicyRow) -> list[str]:
    return [row.name, f"{row.correct}/{row.n}", _pct(row.rate), _ci(row), _vs(row), f"{row.tokens_generated:.0f}",
            f"{row.tokens_scored:.0f}", f"{row.loads:.2f}", f"{row.seconds:.2f}", _picks(row)]


def _suite_head(s: SuiteReport) -> str:
    cap = s.max_new_tokens or "per role"
    text = (f"{s.suite}: {s.scored} item(s) scored of {s.requested} ({s.description}; max new tokens {cap})")
    if s.missing:
        text += f"; {s.missing} not in the table yet"
    if s.uncovered:
        text += "; left out for lack of a mixed-assignment cell: " + ", ".join(
            f"{k} {v}" for k, v in s.uncovered.items()
        )
    return text


def _oracle_line(s: SuiteReport) -> str | None:
    if s.oracle_gap is None or s.best_single is None:
        return None
    best = next(p for p in s.policies if p.name == s.best_single)
    return (f"oracle ceiling {_pct(best.rate + s.oracle_gap)}: {100 * s.oracle_gap:.1f} points above the best single "
            f"expert ({s.best_single}, {_pct(best.rate)})")


def render_table(report: EvalReport) -> str:
    """The terminal summary: a table per suite, then the oracle line and where the files are."""
    out = [f"{report.title} (profile {report.profile}); costs are means per item"]
    for s in report.suites:
        out += ["", _suite_head(s)]
        rows = [HEADERS, *[_cells(r) for r in s.policies]]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
        for n, row in enumerate(rows):
            out.append("  ".join(c.ljust(w) if i in (0, len(row) - 1) else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(row, widths, strict=False))).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        oracle = _oracle_line(s)
        if oracle:
            out.append(oracle)
        out.append("signals (per expert: right alone, median bpb on questions, lowest raw / normalised loss, "
                   "right when lowest raw, mean bpb right / wrong):")
        for g in s.signals:
            values = [_pct(g.rate), f"{g.median_stage1:.3f}" if g.median_stage1 is not None else "-",
                      f"{_pct(g.lowest_raw)} / {_pct(g.lowest_normalised)}",
                      _pct(g.right_when_lowest) if g.right_when_lowest is not None else "-",
                      " / ".join(f"{v:.3f}" if v is not None else "-" for v in (g.bpb_right, g.bpb_wrong))]
            out.append(f"  {g.expert:<16} " + "  ".join(values))
    out += ["", *[f"note: {n}" for n in report.notes],
            f"scored {report.policies_scored} policies on the table in {report.scoring_seconds:.2f} s"]
    if report.files:
        out.append("reports: " + ", ".join(f"{v}" for v in report.files.values()))
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: EvalReport) -> str:
    """The Markdown report: per suite the policy table, the oracle's gap and the signals table."""
    out = [f"# {report.title}", "", f"- profile: `{report.profile}`; created {report.created}",
           f"- outcome table: `{report.table_dir}`",
           f"- scoring {report.policies_scored} policies from the table took {report.scoring_seconds:.2f} s",
           *[f"- {n}" for n in report.notes], ""]
    if report.files.get("chart"):
        out += [f"![rates with 95% intervals]({Path(report.files['chart']).name})", ""]
    for s in report.suites:
        out += [f"## {s.suite}", "", _suite_head(s) + ".", "", f"Source: {s.source}.", "",
                "| " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * (len(HEADERS) - 2) + "---|",
                *["| " + " | ".join(_md(c) for c in _cells(r)) + " |" for r in s.policies], ""]
        oracle = _oracle_line(s)
        if oracle:
            out += [oracle[0].upper() + oracle[1:] + ".", ""]
        out += ["| expert | right alone | median bpb (question) | lowest raw loss | lowest normalised loss "
                "| right when lowest raw | mean bpb when right / wrong |", "|---|---:|---:|---:|---:|---:|---:|"]
        for g in s.signals:
            median = f"{g.median_stage1:.3f}" if g.median_stage1 is not None else "-"
            when = _pct(g.right_when_lowest) if g.right_when_lowest is not None else "-"
            split = " / ".join(f"{v:.3f}" if v is not None else "-" for v in (g.bpb_right, g.bpb_wrong))
            out.append(f"| {g.expert} | {_pct(g.rate)} | {median} | {_pct(g.lowest_raw)} | "
                       f"{_pct(g.lowest_normalised)} | {when} | {split} |")
        out.append("")
    out += ["## How to read this", "",
            "- **rate**: items answered right; **95% CI**: percentile bootstrap over items (2,000 resamples).",
            "- **vs best single**: rate minus the best single expert's, in points, with a paired bootstrap interval "
            "on the same items; an interval above 0 means better.",
            "- **costs**: new tokens, tokens scored for routing, model loads (the pool's LRU simulated over the "
            "item stream) and seconds (generation + routing + loads), means per item.",
            "- Every policy is scored from the outcome table without generating: the router policies run the live "
            "router's decision functions on the recorded losses.",
            "- **oracle**: per item, the best single expert; the ceiling for choosing one expert per item.", ""]
    return "\n".join(out)


_COLORS = {"native": "#76b7b2", "oracle": "#bab0ac"}
_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


def render_svg(report: EvalReport) -> str:
    """Horizontal bars of each policy's rate with its 95% interval, one panel per suite."""
    label_w, plot_w, bar_h, gap, top = 150, 420, 16, 4, 40
    panels = [(s, len(s.policies)) for s in report.suites]
    height = top + sum(28 + n * (bar_h + gap) + 24 for _, n in panels) + 10
    width = label_w + plot_w + 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f"<title>{escape(report.title)}</title>", f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="13" font-weight="bold">{escape(report.title)}</text>']
    y = top
    colors: dict[str, str] = {}
    for suite, n in panels:
        out.append(f'<text x="10" y="{y + 12}" font-weight="bold">{escape(suite.suite)} '
                   f'({suite.scored} items)</text>')
        y += 22
        for tick in (0, 25, 50, 75, 100):
            x = label_w + plot_w * tick / 100
            out.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x:.1f}" y2="{y + n * (bar_h + gap)}" stroke="#e5e5e5"/>')
            out.append(f'<text x="{x:.1f}" y="{y + n * (bar_h + gap) + 12}" text-anchor="middle" fill="#666" '
                       f'font-size="9">{tick}%</text>')
        for row in suite.policies:
            color = _COLORS.get(row.name) or colors.setdefault(row.name, _PALETTE[len(colors) % len(_PALETTE)])
            w = plot_w * row.rate
            out.append(f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end">{escape(row.name)}</text>')
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}">'
                       f'<title>{escape(row.name)}: {row.correct}/{row.n} {_ci(row)}</title></rect>')
            lo, hi = label_w + plot_w * row.ci_low, label_w + plot_w * row.ci_high
            mid = y + bar_h / 2
            out.append(f'<line x1="{lo:.1f}" y1="{mid}" x2="{hi:.1f}" y2="{mid}" stroke="#222"/>')
            for x in (lo, hi):
                out.append(f'<line x1="{x:.1f}" y1="{mid - 4}" x2="{x:.1f}" y2="{mid + 4}" stroke="#222"/>')
            out.append(f'<text x="{label_w + plot_w + 6}" y="{y + bar_h - 4}">{_pct(row.rate)}</text>')
            y += bar_h + gap
        y += 24
    out.append("</svg>")
    return "\n".join(out) + "\n"
