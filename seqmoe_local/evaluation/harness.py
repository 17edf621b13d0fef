"""`seqmoe-local eval` and `seqmoe-local calibrate`: load suites, fill the table, score, fit, report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import paths
from ..config import AppConfig, Profile, RouterConfig, load_config
from ..errors import ConfigError, UsageError
from . import calibration
from .policies import (
    Policy,
    SuiteData,
    describe_router,
    expert_policy,
    gather,
    native_policy,
    oracle_policy,
    router_policy,
    score,
    standard_policies,
)
from .report import EvalReport, SuiteReport, render_markdown, render_svg, suite_report
from .runner import Runner, suite_tokens
from .suites import Suite, load_suite
from .table import OutcomeTable, generation_key, model_sha256, prepare_dir, routing_key, write_atomic

Say = Callable[[str], object]  # what it returns is ignored (e.g. TextIO.write's count)


def default_table_dir() -> Path:
    """Where the outcome table lives without ``--out``: ``<data dir>/eval``."""
    return paths.data_dir() / "eval"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_suites(names: Sequence[str], *, gsm8k: Path | None, limit: int | None) -> list[Suite]:
    """The named suites, each cut to its first `limit` items; duplicates are dropped."""
    if not names:
        raise UsageError("name at least one suite, e.g. seqmoe-local eval gsm8k humaneval")
    return [load_suite(name, gsm8k=gsm8k, limit=limit) for name in dict.fromkeys(names)]


@dataclass
class _Scored:
    suite: Suite
    data: SuiteData
    tokens: int | None


def _gather_all(config: AppConfig, profile: Profile, table: OutcomeTable, suites: Sequence[Suite],
                max_new_tokens: int | None) -> list[_Scored]:
    shas = model_sha256(config, profile)
    routing = routing_key(config, profile)
    out = []
    for suite in suites:
        tokens = suite_tokens(suite, max_new_tokens)
        data = gather(table, suite.info.name, suite.items, profile, shas, generation_key(config, profile, tokens),
                      routing)
        out.append(_Scored(suite, data, tokens))
    return out


def run_eval(
    config: AppConfig, profile: Profile, names: Sequence[str], *, out_dir: Path | None = None,
    limit: int | None = None, max_new_tokens: int | None = None, gsm8k: Path | None = None,
    generate: bool = True, say: Say | None = None,
) -> EvalReport:
    """Fill the outcome table for the suites (unless `generate` is False), score every policy, write reports.

    Raises UsageError for an unknown suite, a missing dataset or package, or an unusable
    `out_dir`; ModelMissingError (with the pull command) before any work when a model file is
    missing. An engine failure on one item is recorded and retried by the next run.
    """
    say = say or (lambda line: None)
    if max_new_tokens is not None and max_new_tokens < 1:
        raise UsageError(f"--max-tokens must be at least 1 (got {max_new_tokens})")
    suites = load_suites(names, gsm8k=gsm8k, limit=limit)
    out = prepare_dir(out_dir if out_dir is not None else default_table_dir(), create=True)
    table = OutcomeTable(out)
    policies = standard_policies(profile, config.router)
    if generate:
        runner = Runner(config, profile, table, say)
        try:
            for suite in suites:
                runner.fill(suite, max_new_tokens, fill=policies)
        finally:
            runner.close()
    scored = _gather_all(config, profile, table, suites, max_new_tokens)
    started = time.perf_counter()
    results = [score(policies, s.data, profile, config.pool.max_resident) for s in scored]
    seconds = time.perf_counter() - started
    sections = [suite_report(r, s.data, description=s.suite.info.description, source=s.suite.info.source,
                             max_new_tokens=s.tokens, requested=len(s.suite.items))
                for r, s in zip(results, scored, strict=False)]
    stem = "report-" + "-".join(s.suite.info.name for s in scored)
    files = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md", "chart": out / f"{stem}.svg"}
    notes = []
    if not generate:
        notes.append("scored from the table only (--score-only): items not in the table are left out")
    report = EvalReport(title="Routing policies against the outcome table: " + ", ".join(s.suite for s in sections),
                        created=_now(), profile=profile.name, table_dir=str(out.resolve()), notes=notes,
                        suites=sections, scoring_seconds=seconds, policies_scored=len(policies),
                        files={k: str(v) for k, v in files.items()})
    write_atomic(files["json"], report.model_dump_json(indent=2) + "\n")
    write_atomic(files["chart"], render_svg(report))
    write_atomic(files["markdown"], render_markdown(report))
    return report


# -- calibrate -----------------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """What `calibrate` found: the fits, the held-out report, the chosen settings and the file written."""

    fits: list[calibration.SignalFit]
    chosen: calibration.SignalFit
    before: RouterConfig
    after: RouterConfig
    report: EvalReport
    train_items: int
    test_items: int
    written: Path | None
    before_text: str
    after_text: str


def run_calibrate(
    config: AppConfig, profile: Profile, names: Sequence[str], *, out_dir: Path | None = None,
    limit: int | None = None, max_new_tokens: int | None = None, gsm8k: Path | None = None,
    holdout: float = 0.5, write: bool = True, config_file: Path | None = None, say: Say | None = None,
) -> CalibrationResult:
    """Fit tau, the margin and the loss factors on part of the table, check them on the rest, write them.

    Nothing is generated: items must already be in the table (``seqmoe-local eval SUITE``).
    `config_file` defaults to the user's models.toml. Raises UsageError when the table holds
    too few items, ConfigError when the file cannot be rewritten.
    """
    say = say or (lambda line: None)
    if not 0.0 < holdout < 1.0:
        raise UsageError(f"--holdout must be between 0 and 1, e.g. 0.5 (got {holdout})")
    suites = load_suites(names, gsm8k=gsm8k, limit=limit)
    directory = out_dir if out_dir is not None else default_table_dir()
    out = prepare_dir(directory, create=False)
    table = OutcomeTable(out) if out.is_dir() else None
    scored = _gather_all(config, profile, table, suites, max_new_tokens) if table is not None else []
    every = [d for s in scored for d in s.data.items]
    command = f"seqmoe-local eval {' '.join(s.info.name for s in suites)}" + (f" --limit {limit}" if limit else "")
    train_all = [d for s in scored for d in calibration.split(s.data.items, holdout)[0]]
    test_count = len(every) - len(train_all)
    if len(every) < 10 or len(train_all) < 5 or test_count < 2:
        raise UsageError(f"the outcome table in {out} has {len(every)} complete item(s) for these suites; calibration "
                         f"needs at least 10: run {command} first")
    started = time.perf_counter()
    fits = calibration.fit(train_all, list(profile.experts))
    chosen = calibration.pick(fits)
    say(f"fitted 3 signals on {len(train_all)} training items in {time.perf_counter() - started:.1f} s")
    after = chosen.settings.model_copy(update={"scoring": config.router.scoring})
    policies: list[Policy] = [native_policy(), *[expert_policy(e) for e in profile.experts],
                              router_policy("router", RouterConfig(), "shipped settings "
                                  f"({describe_router(RouterConfig())})")]
    policies += [router_policy(f"fit-{f.signal}", f.settings, f"{f.signal} signal, fitted "
        f"({describe_router(f.settings)})")
                 for f in fits]
    policies.append(oracle_policy())
    started = time.perf_counter()
    sections: list[SuiteReport] = []
    for s in scored:
        test = calibration.split(s.data.items, holdout)[1]
        data = SuiteData(s.data.suite, s.data.experts, test, 0, s.data.load_s)
        result = score(policies, data, profile, config.pool.max_resident)
        sections.append(suite_report(result, data, description=f"held-out items ({holdout:.0%} of the table)",
                                     source=s.suite.info.source, max_new_tokens=s.tokens, requested=len(test)))
    seconds = time.perf_counter() - started
    notes = [f"fitted on {len(train_all)} training items, scored on {test_count} held-out items (split by a hash of "
             f"the item id)", f"chosen signal: {chosen.signal} ({describe_router(after)})"]
    report = EvalReport(title="Calibration, held-out items: " + ", ".join(s.suite for s in sections), created=_now(),
                        profile=profile.name, table_dir=str(out.resolve()), notes=notes, suites=sections,
                        scoring_seconds=seconds, policies_scored=len(policies), files={})
    target = config_file or paths.user_config_file()
    before_text, after_text = "", ""
    written = None
    if write:
        before_text, after_text = write_router_settings(target, after)
        written = target
    return CalibrationResult(fits, chosen, config.router, after, report, len(train_all), test_count, written,
                             before_text, after_text)


def write_router_settings(path: Path, settings: RouterConfig) -> tuple[str, str]:
    """Replace the [router] tables of the user's models.toml with `settings`; (before, after) texts.

    The result is checked by loading the whole layered configuration; on failure the old file
    is put back and ConfigError says why.
    """
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path} is not a file; move it away, then run calibrate again")
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path} ({exc}); fix or move it, then run calibrate again") from exc
    after = calibration.rewrite_router(before, settings, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, after)
    except (OSError, UsageError) as exc:
        raise ConfigError(f"cannot write {path} ({exc}); run calibrate with --dry-run to see the settings") from exc
    try:
        load_config(None if path == paths.user_config_file() else path)
    except ConfigError:
        if before:
            write_atomic(path, before)
        else:
            path.unlink(missing_ok=True)
        raise
    return before, after
