"""The evaluation harness: run the router and its baselines on a JSONL question set, score, report.

Systems, all on the same questions, segmentation and prompts:

- ``routed``: the full two-stage loss router (the system under test; always runs).
- ``native``: every segment goes to its role's native expert (``profile.natives``), with no
  scoring at all: the oracle-free "just use the specialist the config names" baseline. A
  segment whose kind has no native (a question the segmenter could not type) goes to the
  profile's first expert.
- one system per expert, named after it: that expert answers every segment.

The single-expert baselines keep the segmentation and the sequential pipeline and only force
the expert (``Pipeline.ask(expert=NAME)``), rather than asking the whole question in one
generation. That is the fair comparison for a router: only the routing differs, so a
difference in the scores is the router's doing, not the effect of splitting the question or
of the role prompts.

Question file (JSONL, one object per line): ``id``, ``query``, and optionally ``segments``
(the expected typed segments, ``[{"kind": ..., "text": ...}]``, for segmenter accuracy),
``expected_expert`` (``{role: expert}``, for routing accuracy), ``answer_regex`` (searched in
the solve output, or the whole answer when there is no solve segment) and ``code_check``
(Python assertions run after the code block extracted from the code output, or from the whole
answer when there is no code segment, in the sandbox of `seqmoe_local.sandbox`).

Metrics per system: answer match rate; code found-and-parses, runs, passes rates (over the
questions that have a ``code_check``; code is only run for those); segmenter
accuracy (exact kinds and texts, whitespace-insensitive; the segmenter is the same for every
system); routing accuracy (task segments whose kind has an expected expert of this profile:
the share given to it); mean cost per question: tokens scored, tokens generated, model loads,
and wall time split into routing, loading and generation. A run that failed (an engine
error) counts as wrong for its question's answer, code and segmentation checks, and is left
out of routing accuracy and of the costs.

Runs go system by system, each over all questions, on one shared model pool: a system's costs
are then those of answering a stream of questions on its own (only its first question may
find models that the system before it left loaded).

Files in the output directory (default ``paths.data_dir() / "eval" / <questions file stem>``):
``results.jsonl`` (one line per question and system, appended atomically and fsynced as each
finishes: an interrupted run loses nothing finished, and a re-run skips what is done, unless
``fresh``; failed runs and edited questions run again), ``run.json`` (the settings the
results were made with; a re-run with other settings is refused), ``report.json``,
``report.md`` and ``chart.svg``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from pydantic import Field, ValidationError, field_validator

from . import paths
from .config import OTHER_KIND, AppConfig, Profile, StrictModel, validation_message
from .errors import EngineError, UsageError
from .pipeline import AskResult, Pipeline, SegmentOutput
from .pool import ModelPool
from .router import SegmentInfo
from .sandbox import SandboxLimits, isolation_layers, score_code

#: the shipped sample set: maths and computer-science questions for the demo profile's natives
SAMPLE_QUESTIONS = Path(__file__).resolve().parent / "data" / "eval_questions.jsonl"

ROUTED = "routed"
NATIVE = "native"
RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
CHART_SVG = "chart.svg"
#: how generated code is run: the sandbox's defaults (10 s, 512 MB, no network, writes only in a temp dir)
CODE_LIMITS = SandboxLimits()

Progress = Callable[[str], None]


# -- questions -----------------------------------------------------------------------------------


class ExpectedSegment(StrictModel):
    kind: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Question(StrictModel):
    """One line of a questions file."""

    id: str = Field(min_length=1)
    query: str = Field(min_length=1)
    segments: list[ExpectedSegment] | None = Field(default=None, min_length=1)
    expected_expert: dict[str, str] | None = None
    answer_regex: str | None = None
    code_check: str | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank")
        return value

    @field_validator("answer_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a valid regex ({exc})") from None
        return value

    @field_validator("code_check")
    @classmethod
    def _python(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ast.parse(value)
            except SyntaxError as exc:
                raise ValueError(f"is not valid Python (line {exc.lineno}: {exc.msg})") from None
        return value

    def fingerprint(self) -> str:
        """Changes whenever anything about the question does: its old results are then stale."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def load_questions(path: Path, roles: Collection[str]) -> list[Question]:
    """Read and validate a JSONL questions file; blank lines are skipped.

    Raises UsageError naming file:line and the field for a malformed line, an unknown role
    (segment kinds may also be "other") or a duplicate id.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"questions file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read questions file {path}: {exc}") from None
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{where}: expected a JSON object with at least \"id\" and \"query\"")
        try:
            question = Question.model_validate(data)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "(line)"
                message = validation_message(
                    error, "unknown field (allowed: id, query, segments, expected_expert, answer_regex, code_check)"
                )
                problems.append(f"field {field}: {message}")
            raise UsageError(f"{where}: " + "; ".join(problems)) from None
        for index, expected in enumerate(question.segments or []):
            if expected.kind != OTHER_KIND and expected.kind not in roles:
                raise UsageError(f"{where}: field segments.{index}.kind: unknown kind {expected.kind!r} "
                                 f"(roles: {', '.join(roles)}, or {OTHER_KIND})")
        for role in question.expected_expert or {}:
            if role not in roles:
                raise UsageError(f"{where}: field expected_expert.{role}: unknown role {role!r} "
                                 f"(roles: {', '.join(roles)})")
        if question.id in first_line:
            raise UsageError(f"{where}: field id: duplicate id {question.id!r} "
                             f"(first on line {first_line[question.id]})")
        first_line[question.id] = number
        questions.append(question)
    if not questions:
        raise UsageError(f"{path}: no questions in the file (one JSON object per line, with \"id\" and \"query\")")
    return questions


# -- results -------------------------------------------------------------------------------------


class SegmentRecord(StrictModel):
    kind: str
    text: str


class AssignmentRecord(StrictModel):
    kind: str
    expert: str
    reason: str


class OutputRecord(StrictModel):
    kind: str
    expert: str
    text: str
    tokens: int
    finish_reason: str
    seconds: float


class CodeRecord(StrictModel):
    """How the extracted code fared in the sandbox (see `seqmoe_local.sandbox.CodeScore`)."""

    found: bool
    parses: bool
    runs: bool
    passes: bool | None
    status: str
    detail: str
    code: str
    seconds: float


class Cost(StrictModel):
    tokens_scored: int
    tokens_generated: int
    loads: int
    routing_s: float
    loading_s: float
    generation_s: float
    total_s: float


class MeanCost(StrictModel):
    """A system's mean cost per question (over the runs that finished)."""

    tokens_scored: float
    tokens_generated: float
    loads: float
    routing_s: float
    loading_s: float
    generation_s: float
    total_s: float


class Result(StrictModel):
    """One system's answer to one question, scored: a line of results.jsonl."""

    system: str
    question_id: str
    fingerprint: str
    status: Literal["ok", "error"]
    error: str | None = None
    segments: list[SegmentRecord] = []
    assignments: list[AssignmentRecord] = []
    outputs: list[OutputRecord] = []
    segmentation_correct: bool | None = None  # None: the question has no expected segments
    segment_kinds_correct: bool | None = None
    routing_correct: int = 0
    routing_judged: int = 0
    answer_correct: bool | None = None  # None: the question has no answer_regex
    code: CodeRecord | None = None  # None: the question has no code_check
    cost: Cost | None = None  # None for a failed run


class Rate(StrictModel):
    hits: int
    total: int
    rate: float


class SystemSummary(StrictModel):
    """One system's scores over the run's questions; rates are None where nothing was checkable."""

    system: str
    description: str
    questions: int
    errors: int
    answer: Rate | None
    code_parses: Rate | None
    code_runs: Rate | None
    code_passes: Rate | None
    segmentation: Rate | None
    segment_kinds: Rate | None
    routing: Rate | None
    mean_cost: MeanCost | None  # None when no run finished


class EvalReport(StrictModel):
    """Everything `report.json` holds: settings, per-system summaries and every scored result."""

    created: str
    questions_file: str
    out_dir: str
    profile: str
    systems: list[str]
    questions: int
    max_new_tokens: int | None
    router: dict[str, float | str]
    sandbox_layers: list[str]
    warnings: list[str]
    summaries: list[SystemSummary]
    results: list[Result]
    files: dict[str, str]


# -- scoring -------------------------------------------------------------------------------------


def _normalized(text: str) -> str:
    return " ".join(text.split())


def segmentation_match(expected: Sequence[ExpectedSegment] | None,
                       actual: Sequence[SegmentRecord]) -> tuple[bool | None, bool | None]:
    """(kinds and texts all match, kinds match) in order; (None, None) without expectations."""
    if expected is None:
        return None, None
    kinds = [e.kind for e in expected] == [a.kind for a in actual]
    texts = [_normalized(e.text) for e in expected] == [_normalized(a.text) for a in actual]
    return kinds and texts, kinds


def routing_match(expected: dict[str, str] | None, assignments: Sequence[AssignmentRecord],
                  experts: Collection[str]) -> tuple[int, int]:
    """(correct, judged) over the assignments whose kind expects an expert of this profile."""
    if not expected:
        return 0, 0
    judged = [a for a in assignments if expected.get(a.kind) in experts]
    return sum(a.expert == expected[a.kind] for a in judged), len(judged)


def _text_of(outputs: Sequence[OutputRecord], kind: str) -> str:
    of_kind = [o.text for o in outputs if o.kind == kind]
    return "\n\n".join(of_kind or [o.text for o in outputs])


def answer_match(pattern: str | None, outputs: Sequence[OutputRecord]) -> bool | None:
    """Whether `pattern` occurs in the solve output (the whole answer without one); None without a pattern."""
    if pattern is None:
        return None
    return re.search(pattern, _text_of(outputs, "solve")) is not None


def score_run(
    system: str, question: Question, answer: AskResult, experts: Collection[str],
    limits: SandboxLimits = CODE_LIMITS,
) -> Result:
    """Score one pipeline answer against the question's expectations (code runs in the sandbox)."""
    routing = answer.routing
    segments = [SegmentRecord(kind=s.kind, text=s.text) for s in routing.segments]
    assignments = [AssignmentRecord(kind=a.kind, expert=a.expert, reason=a.reason) for a in routing.assignments]
    outputs = [_output(o) for o in answer.outputs]
    exact, kinds = segmentation_match(question.segments, segments)
    correct, judged = routing_match(question.expected_expert, assignments, experts)
    code = None
    if question.code_check is not None:
        scored = score_code(_text_of(outputs, "code"), question.code_check, limits)
        code = CodeRecord(found=scored.found, parses=scored.parses, runs=scored.runs, passes=scored.passes,
                          status=scored.status, detail=scored.detail, code=scored.code, seconds=scored.seconds)
    timings = answer.timings
    cost = Cost(
        tokens_scored=sum(routing.tokens_scored.values()), tokens_generated=sum(o.tokens for o in outputs),
        loads=sum(1 for load in answer.loads if load.kind == "load"), routing_s=timings.routing,
        loading_s=timings.loading, generation_s=timings.generation, total_s=timings.total,
    )
    return Result(
        system=system, question_id=question.id, fingerprint=question.fingerprint(), status="ok",
        segments=segments, assignments=assignments, outputs=outputs, segmentation_correct=exact,
        segment_kinds_correct=kinds, routing_correct=correct, routing_judged=judged,
        answer_correct=answer_match(question.answer_regex, outputs), code=code, cost=cost,
    )


def _output(output: SegmentOutput) -> OutputRecord:
    return OutputRecord(kind=output.kind, expert=output.expert, text=output.text, tokens=output.tokens,
                        finish_reason=output.finish_reason, seconds=output.seconds)


def _ratio(hits: int, total: int) -> Rate | None:
    return Rate(hits=hits, total=total, rate=hits / total) if total else None


def _rate(flags: Sequence[bool]) -> Rate | None:
    return _ratio(sum(flags), len(flags))


def summarize(system: str, description: str, questions: Sequence[Question], results: Sequence[Result]) -> SystemSummary:
    """Aggregate one system's results.

    A failed run counts as wrong for its question's answer, code and segmentation checks; its
    segments are unknown, so routing accuracy leaves it out, and so do the mean costs.
    """
    by_id = {r.question_id: r for r in results}
    answer, parses, runs, passes, exact, kinds = [], [], [], [], [], []
    routing_hits = routing_total = 0
    for question in questions:
        result = by_id.get(question.id)
        ok = result is not None and result.status == "ok"
        if question.answer_regex is not None:
            answer.append(bool(ok and result.answer_correct))
        if question.code_check is not None:
            code = result.code if ok else None
            parses.append(bool(code and code.parses))
            runs.append(bool(code and code.runs))
            passes.append(bool(code and code.passes))
        if question.segments is not None:
            exact.append(bool(ok and result.segmentation_correct))
            kinds.append(bool(ok and result.segment_kinds_correct))
        if ok:
            routing_hits += result.routing_correct
            routing_total += result.routing_judged
    costs = [r.cost for r in results if r.status == "ok" and r.cost is not None]
    mean_cost = None
    if costs:
        mean_cost = MeanCost(**{name: sum(getattr(c, name) for c in costs) / len(costs) for name in Cost.model_fields})
    return SystemSummary(
        system=system, description=description, questions=len(questions),
        errors=sum(1 for r in results if r.status == "error"),
        answer=_rate(answer), code_parses=_rate(parses), code_runs=_rate(runs), code_passes=_rate(passes),
        segmentation=_rate(exact), segment_kinds=_rate(kinds),
        routing=_ratio(routing_hits, routing_total), mean_cost=mean_cost,
    )


# -- systems -------------------------------------------------------------------------------------


def select_systems(profile: Profile, baselines: Sequence[str] | None) -> list[str]:
    """"routed" then the chosen baselines in a fixed order ("native", then the experts); None: all of them."""
    known = [NATIVE, *profile.experts]
    if baselines is None:
        return [ROUTED, *known]
    unknown = [name for name in baselines if name not in known]
    if unknown:
        raise UsageError(f"unknown baseline(s) {', '.join(map(repr, unknown))}; choose from: {', '.join(known)} "
                         f"(\"{ROUTED}\" always runs)")
    return [ROUTED, *[name for name in known if name in baselines]]


def describe_system(system: str, profile: Profile) -> str:
    """One line saying what a system is."""
    if system == ROUTED:
        return "two-stage loss router"
    if system == NATIVE:
        return "each segment to its role's native expert, no scoring"
    return f"every segment to {system}"


def native_assigner(profile: Profile) -> Callable[[SegmentInfo], str]:
    """The native baseline's choice per segment; kinds without a native go to the profile's first expert."""
    fallback = next(iter(profile.experts))
    return lambda segment: profile.natives.get(segment.kind, fallback)


def ask_as(pipeline: Pipeline, system: str, question: str, max_new_tokens: int | None) -> AskResult:
    """Answer `question` the way `system` does (see the module docstring)."""
    if system == ROUTED:
        return pipeline.ask(question, max_new_tokens=max_new_tokens)
    if system == NATIVE:
        return pipeline.ask(question, assign=native_assigner(pipeline.profile), max_new_tokens=max_new_tokens)
    return pipeline.ask(question, expert=system, max_new_tokens=max_new_tokens)


# -- the output directory ------------------------------------------------------------------------


def default_out_dir(questions_file: Path) -> Path:
    """Where results go without ``--out``: ``<data dir>/eval/<questions file stem>``."""
    return paths.data_dir() / "eval" / Path(questions_file).stem


def load_results(path: Path) -> dict[tuple[str, str], Result]:
    """The latest result per (system, question id) in a results file ({} when there is none).

    A torn last line (the process died mid-write) is cut off the file, so appends stay whole
    lines; any other unreadable line is skipped.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with open(path, "r+b") as handle:
            handle.truncate(len(data))
            os.fsync(handle.fileno())
    results: dict[tuple[str, str], Result] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            result = Result.model_validate_json(line)
        except ValidationError:
            continue
        results[(result.system, result.question_id)] = result
    return results


def append_result(path: Path, result: Result) -> None:
    """Append one result as one line, in one write, fsynced: a crash loses at most the run in flight."""
    data = (result.model_dump_json() + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _run_settings(config: AppConfig, profile: Profile, max_new_tokens: int | None) -> dict[str, object]:
    """Everything besides the questions that changes the answers: results made with other settings are not mixed."""
    return {
        "profile": profile.name,
        "experts": {name: {"filename": e.filename, "sha256": e.sha256} for name, e in profile.experts.items()},
        "natives": dict(profile.natives),
        "roles": {name: role.model_dump(mode="json") for name, role in profile.roles.items()},
        "router": config.router.model_dump(mode="json"),
        "seed": config.engine.seed,
        "max_new_tokens": max_new_tokens,
    }


def _check_settings(out_dir: Path, settings: dict[str, object]) -> None:
    """Refuse to resume from results that were made with other settings."""
    run_file = out_dir / RUN_FILE
    if not run_file.is_file():
        return
    try:
        previous = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        previous = None
    if previous != settings:
        changed = sorted(k for k in settings if not isinstance(previous, dict) or previous.get(k) != settings[k])
        raise UsageError(f"{out_dir} holds results made with other settings ({', '.join(changed) or RUN_FILE}); "
                         f"add --fresh to start over there, or choose another directory with --out")


def _expectation_warnings(questions: Sequence[Question], profile: Profile) -> list[str]:
    strangers = {e for q in questions for e in (q.expected_expert or {}).values() if e not in profile.experts}
    if not strangers:
        return []
    count = sum(1 for q in questions if set((q.expected_expert or {}).values()) & strangers)
    return [f"{count} question(s) expect experts that are not in profile {profile.name!r} "
            f"({', '.join(sorted(strangers))}); routing accuracy leaves those segments out"]


def _verdict(result: Result) -> str:
    if result.status == "error":
        return f"error: {result.error}"
    marks = []
    if result.answer_correct is not None:
        marks.append(f"answer {'yes' if result.answer_correct else 'no'}")
    if result.code is not None:
        marks.append(f"code {result.code.status}")
    if result.routing_judged:
        marks.append(f"routing {result.routing_correct}/{result.routing_judged}")
    return "ok" + (f" ({', '.join(marks)})" if marks else "")


# -- the run -------------------------------------------------------------------------------------


def run_eval(
    config: AppConfig,
    profile: Profile,
    questions_file: Path,
    *,
    baselines: list[str] | None = None,
    limit: int | None = None,
    fresh: bool = False,
    out_dir: Path | None = None,
    max_new_tokens: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Run "routed" and the baselines on the questions, score them, and write the reports.

    `baselines`: "native" and/or expert names; None runs all of them ("routed" always runs).
    `limit`: only the first N questions. `fresh`: discard earlier results in `out_dir` instead
    of resuming. `out_dir`: defaults to ``paths.data_dir() / "eval" / <questions file stem>``.
    `max_new_tokens`: cap per segment (None: each role's own). `progress` gets one line per
    question and system ("[3/40] routed q07 ok (answer yes) 4.1 s") plus notes and warnings.

    Raises UsageError for a malformed questions file, an unknown baseline, a bad limit, or an
    output directory holding results made with other settings; ModelMissingError (with the
    pull command) before any work when an expert's file is missing. An engine failure on one
    question is recorded as that run's error and the run goes on.
    """
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1 (got {limit})")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise UsageError(f"--max-tokens must be at least 1 (got {max_new_tokens})")
    say = progress or (lambda line: None)
    questions = load_questions(questions_file, profile.roles)[:limit]
    systems = select_systems(profile, baselines)
    out = Path(out_dir) if out_dir is not None else default_out_dir(questions_file)
    warnings = _expectation_warnings(questions, profile)
    for warning in warnings:
        say(f"warning: {warning}")

    settings = _run_settings(config, profile, max_new_tokens)
    results_path = out / RESULTS_FILE
    if not fresh:
        _check_settings(out, settings)
    done = {} if fresh else load_results(results_path)

    def finished(system: str, question: Question) -> bool:
        result = done.get((system, question.id))
        return result is not None and result.status == "ok" and result.fingerprint == question.fingerprint()

    total = len(systems) * len(questions)
    todo = [(s, q) for s in systems for q in questions if not finished(s, q)]
    if len(todo) < total:
        say(f"resuming: {total - len(todo)} of {total} runs already done in {out}")
    pipeline = Pipeline(config, profile, pool=ModelPool(config, profile)) if todo else None
    if pipeline is not None:
        for name in profile.experts:  # a missing file fails now, before anything is written
            pipeline.pool.check_file(name)
    out.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in (RESULTS_FILE, REPORT_JSON, REPORT_MD, CHART_SVG):
            (out / name).unlink(missing_ok=True)
    _write_atomic(out / RUN_FILE, json.dumps(settings, indent=2) + "\n")
    if pipeline is not None:
        try:
            for number, (system, question) in enumerate(todo, start=total - len(todo) + 1):
                started = time.perf_counter()
                try:
                    answer = ask_as(pipeline, system, question.query, max_new_tokens)
                except EngineError as exc:
                    result = Result(system=system, question_id=question.id, fingerprint=question.fingerprint(),
                                    status="error", error=str(exc))
                    seconds = time.perf_counter() - started
                else:
                    result = score_run(system, question, answer, profile.experts)
                    seconds = answer.timings.total
                append_result(results_path, result)
                done[(system, question.id)] = result
                say(f"[{number}/{total}] {system} {question.id} {_verdict(result)} {seconds:.1f} s")
        finally:
            pipeline.close()

    results = [done[(s, q.id)] for s in systems for q in questions]
    files = {"results": results_path, "json": out / REPORT_JSON, "markdown": out / REPORT_MD, "chart": out / CHART_SVG}
    report = EvalReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        questions_file=str(Path(questions_file).resolve()), out_dir=str(out.resolve()), profile=profile.name,
        systems=systems, questions=len(questions), max_new_tokens=max_new_tokens,
        router=config.router.model_dump(mode="json"), sandbox_layers=list(isolation_layers()), warnings=warnings,
        summaries=[summarize(s, describe_system(s, profile), questions, [r for r in results if r.system == s])
                   for s in systems],
        results=results, files={k: str(v) for k, v in files.items()},
    )
    _write_atomic(files["json"], report.model_dump_json(indent=2) + "\n")
    _write_atomic(files["chart"], render_svg(report))
    _write_atomic(files["markdown"], render_markdown(report))
    return report


# -- reports -------------------------------------------------------------------------------------

_RATE_COLUMNS = [("answer", "answer"), ("code_parses", "code parses"), ("code_runs", "code runs"),
                 ("code_passes", "code passes"), ("routing", "routing")]
_COST_COLUMNS = [("tokens_scored", "tok scored", "{:.0f}"), ("tokens_generated", "tok gen", "{:.0f}"),
                 ("loads", "loads", "{:.1f}"), ("routing_s", "routing s", "{:.2f}"),
                 ("loading_s", "loading s", "{:.2f}"), ("generation_s", "gen s", "{:.2f}"),
                 ("total_s", "total s", "{:.2f}")]
CHART_METRICS = [("answer", "answer match"), ("code_runs", "code runs"), ("code_passes", "code passes"),
                 ("routing", "routing accuracy")]
_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


def _format_rate(rate: Rate | None) -> str:
    return "-" if rate is None else f"{rate.rate:.0%} {rate.hits}/{rate.total}"


def _summary_rows(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    headers = ["system", "errors", *[label for _, label in _RATE_COLUMNS], *[label for _, label, _ in _COST_COLUMNS]]
    rows = []
    for s in report.summaries:
        costs = [fmt.format(getattr(s.mean_cost, key)) if s.mean_cost else "-" for key, _, fmt in _COST_COLUMNS]
        rows.append([s.system, str(s.errors), *[_format_rate(getattr(s, key)) for key, _ in _RATE_COLUMNS], *costs])
    return headers, rows


def _segmenter_line(report: EvalReport) -> str | None:
    routed = report.summaries[0]  # "routed" always runs, and every system shares its segmenter
    if routed.segmentation is None or routed.segment_kinds is None:
        return None
    return (f"segmenter: {_format_rate(routed.segmentation)} questions segmented as expected "
            f"(kinds right: {_format_rate(routed.segment_kinds)}); the same segmenter serves every system")


def render_table(report: EvalReport) -> str:
    """The terminal summary: one row per system, rates as "percent hits/total", costs as means per question."""
    headers, rows = _summary_rows(report)
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [f"profile {report.profile}, {report.questions} question(s), "
           f"max new tokens {report.max_new_tokens or 'per role'}; costs are means per question",
           line(headers), line(["-" * w for w in widths]), *[line(row) for row in rows]]
    segmenter = _segmenter_line(report)
    if segmenter:
        out.append(segmenter)
    out += [f"warning: {w}" for w in report.warnings]
    out.append(f"reports: {report.files['markdown']} (chart {report.files['chart']}, data {report.files['json']})")
    return "\n".join(out) + "\n"


def _cell(result: Result | None) -> str:
    if result is None:
        return "-"
    if result.status == "error":
        return "error"
    marks = []
    if result.answer_correct is not None:
        marks.append("answer ✓" if result.answer_correct else "answer ✗")
    if result.code is not None:
        marks.append("code ✓" if result.code.passes else f"code ✗ ({result.code.status.replace('_', ' ')})")
    if result.routing_judged:
        marks.append(f"routing {result.routing_correct}/{result.routing_judged}")
    return ", ".join(marks) or "ok"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: EvalReport) -> str:
    """The Markdown report: settings, the summary table, the chart, every question, errors, definitions."""
    headers, rows = _summary_rows(report)
    out = [
        f"# Evaluation of profile `{report.profile}` on `{Path(report.questions_file).name}`", "",
        f"- created: {report.created}",
        f"- questions: {report.questions} from `{report.questions_file}`",
        f"- systems: {', '.join(f'`{s.system}` ({s.description})' for s in report.summaries)}",
        f"- max new tokens per segment: {report.max_new_tokens or 'per role'}",
        "- router: " + ", ".join(f"{k} {v}" for k, v in report.router.items()),
        f"- code sandbox layers: {', '.join(report.sandbox_layers) or 'process only'}",
        *[f"- **warning**: {w}" for w in report.warnings],
        "", "## Summary", "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
        *["| " + " | ".join(_md(c) for c in row) + " |" for row in rows],
        "",
    ]
    segmenter = _segmenter_line(report)
    if segmenter:
        out += [segmenter[0].upper() + segmenter[1:] + ".", ""]
    out += [f"![rates by system]({Path(report.files['chart']).name})", "", "## Per question", ""]
    by_key = {(r.system, r.question_id): r for r in report.results}
    question_ids = list(dict.fromkeys(r.question_id for r in report.results))
    out += ["| question | segments | " + " | ".join(report.systems) + " |",
            "|---|---|" + "---|" * len(report.systems)]
    for qid in question_ids:
        routed = by_key.get((report.systems[0], qid))
        segments = "-"
        if routed is not None and routed.segmentation_correct is not None:
            segments = "✓" if routed.segmentation_correct else "✗ " + " / ".join(s.kind for s in routed.segments)
        cells = [_cell(by_key.get((s, qid))) for s in report.systems]
        out.append(f"| {_md(qid)} | {_md(segments)} | " + " | ".join(_md(c) for c in cells) + " |")
    errors = [r for r in report.results if r.status == "error"]
    if errors:
        out += ["", "## Errors", "", *[f"- `{r.system}` on `{r.question_id}`: {_md(r.error or '')}" for r in errors]]
    out += [
        "", "## How to read this", "",
        "- **answer**: `answer_regex` found in the solve output (the whole answer when there is no solve segment).",
        "- **code parses / runs / passes**: the Python block extracted from the code output parses; runs to its "
        f"end in the sandbox; then the question's `code_check` assertions pass ({CODE_LIMITS.seconds:g} s, "
        f"{CODE_LIMITS.memory_mb} MB, no network, no writes outside a temporary directory).",
        "- **routing**: share of task segments given to the expert the question expects for their kind.",
        "- **segmenter**: questions whose segments match the expected kinds and texts exactly (whitespace aside).",
        "- A failed run counts as wrong for its question's answer, code and segmentation checks; routing "
        "accuracy and the costs (means per question) cover the runs that finished.",
        "- Single-expert baselines keep the segmentation and the pipeline and force one expert per segment, "
        "so only the routing differs from `routed`.",
        "",
    ]
    return "\n".join(out)


def render_svg(report: EvalReport) -> str:
    """A grouped bar chart of the rates (answer, code, routing) per system, as a standalone SVG."""
    summaries = report.summaries
    metrics = [(key, label) for key, label in CHART_METRICS if any(getattr(s, key) for s in summaries)]
    bar, gap, plot_h, left, top = 24, 32, 200, 44, 34
    group_w = max(len(summaries) * bar + gap, 112)  # room for the metric's label under its bars
    legend_chars = max(len(f"{s.system}: {s.description}") for s in summaries)
    width = int(max(left + max(len(metrics), 1) * group_w + 16, left + 18 + 6.5 * legend_chars + 16))
    legend_top = top + plot_h + 40
    height = legend_top + 18 * len(summaries) + 8
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(f'Evaluation of profile {report.profile}: rates by system')}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">'
        f"{escape(f'{report.profile} on {Path(report.questions_file).name} ({report.questions} questions)')}</text>",
    ]
    for percent in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - percent / 100)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{percent}%</text>')
    if not metrics:
        out.append(f'<text x="{left + 8}" y="{top + plot_h / 2}" fill="#555">no checkable questions</text>')
    for g, (key, label) in enumerate(metrics):
        x0 = left + g * group_w + (group_w - len(summaries) * bar) / 2
        for i, summary in enumerate(summaries):
            rate: Rate | None = getattr(summary, key)
            x = x0 + i * bar
            if rate is None:
                out.append(f'<text x="{x + bar / 2 - 2:.1f}" y="{top + plot_h - 4}" text-anchor="middle" '
                           'font-size="9" fill="#999">n/a</text>')
                continue
            h = plot_h * rate.rate
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 4}" height="{h:.1f}" '
                       f'fill="{_COLORS[i % len(_COLORS)]}"><title>{escape(summary.system)}: {escape(label)} '
                       f'{rate.hits}/{rate.total}</title></rect>')
            out.append(f'<text x="{x + bar / 2 - 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                       f'font-size="9">{rate.rate:.0%}</text>')
        out.append(f'<text x="{x0 + len(summaries) * bar / 2 - 2:.1f}" y="{top + plot_h + 16}" '
                   f'text-anchor="middle">{escape(label)}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 16}" y2="{top + plot_h}" stroke="#333"/>')
    for i, summary in enumerate(summaries):
        y = legend_top + 18 * i
        out.append(f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{_COLORS[i % len(_COLORS)]}"/>')
        out.append(f'<text x="{left + 18}" y="{y}">{escape(summary.system)}: {escape(summary.description)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
