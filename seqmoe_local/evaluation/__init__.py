"""Evaluation: benchmark suites, an outcome table computed once, routing policies scored on it, calibration.

One module per concern:

- `suites`: where each benchmark's items come from and what a right answer is;
- `checks`: scoring one answer (final numbers, regexes, code in the sandbox);
- `table`: the resumable outcome table on disk, keyed by item, experts, model sha256 and settings;
- `runner`: filling the table with the real pipeline (the only part that generates);
- `policies`: native, single-expert, loss-router and oracle policies scored from the table;
- `calibration`: fitting tau, the margin and per-expert loss factors on part of the table;
- `report`: the terminal table, JSON, Markdown and SVG;
- `harness`: the `eval` and `calibrate` commands put together.
"""

from .harness import default_table_dir, run_calibrate, run_eval, write_router_settings
from .report import EvalReport, render_markdown, render_svg, render_table
from .suites import SUITES, load_suite

__all__ = ["SUITES", "EvalReport", "default_table_dir", "load_suite", "render_markdown", "render_svg",
           "render_table", "run_calibrate", "run_eval", "write_router_settings"]
