"""The outcome table: every expert's outcome on every item, and every expert's routing losses, on disk.

Two append-only JSONL files in one directory (``seqmoe-local eval --out DIR``; default
``<data dir>/eval``):

- ``outcomes.jsonl``: one `Cell` per (suite, item, assignment, model files, generation
  settings): an assignment names the expert of each task segment, so a single expert answering
  the whole item is one cell and a router's mixed choice is another. A cell holds whether the
  answer was right, each check, the tokens and seconds it cost, and the texts.
- ``routing.jsonl``: one `RoutingRecord` per (suite, item, model files, routing settings): the
  task segments, every expert's loss on the whole question (stage 1) and on each segment.

A record is used only while its key matches: the item's fingerprint (question and check),
the sha256 of each model file involved, and the settings that change its numbers
(`generation_key`, `routing_key`). A changed model file or prompt therefore leaves the old
records in the file, unused, and they are computed again. Each record is appended in one
write and fsynced as soon as it is made: a run killed midway loses at most the record in
flight, and the next run computes only what is missing. A torn last line is cut off.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import ValidationError

from ..config import AppConfig, ExpertConfig, Profile, StrictModel
from ..errors import UsageError
from ..files import write_text_atomic

#: bump when the way answers are asked, checked or recorded changes: older records are then unused
HARNESS = 2  # 2: the conversations pipeline (one prompt layout for routing and generation, loop guard)
CELLS_FILE = "outcomes.jsonl"
ROUTING_FILE = "routing.jsonl"


class Cell(StrictModel):
    """One assignment's outcome on one item: a line of outcomes.jsonl."""

    suite: str
    item: str
    fingerprint: str
    experts: list[str]  # the expert of each task segment, in order
    sha256: list[str]  # of each of those experts' model files
    settings: str  # `generation_key`
    status: Literal["ok", "error"]
    error: str | None = None
    correct: bool = False
    checks: dict[str, bool] = {}
    detail: str = ""
    tokens: int = 0  # new tokens generated
    seconds: float = 0.0  # generation time, prompt evaluation included, loads excluded
    finish: list[str] = []  # each segment's finish reason
    texts: list[str] = []
    load_s: dict[str, float] = {}  # model loads this answer waited for (seconds per expert)


class RoutingRecord(StrictModel):
    """Every expert's routing losses on one item: a line of routing.jsonl."""

    suite: str
    item: str
    fingerprint: str
    sha256: dict[str, str]  # every expert of the profile
    settings: str  # `routing_key`
    status: Literal["ok", "error"]
    error: str | None = None
    segments: list[int] = []  # the task segments' indexes in the question
    kinds: list[str] = []
    natives: list[str | None] = []
    order: list[str] = []  # the order the experts were scored in
    stage1: dict[str, float] = {}  # bits per byte on the whole question
    losses: list[dict[str, float]] = []  # per task segment: bits per byte of every expert
    tokens_scored: int = 0
    seconds: float = 0.0  # scoring time, loads excluded
    load_s: dict[str, float] = {}


Record = TypeVar("Record", Cell, RoutingRecord)


def finite(losses: dict[str, float]) -> dict[str, float]:
    """Drop losses that are not numbers (JSON has no NaN)."""
    return {k: v for k, v in losses.items() if math.isfinite(v)}


def _key(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def generation_key(config: AppConfig, profile: Profile, max_new_tokens: int | None) -> str:
    """What, besides the item and the model files, changes an answer: the cap, the seed, the pipeline's
    system text and loop guard, the roles' prompts and cues."""
    return _key({"harness": HARNESS, "max_new_tokens": max_new_tokens, "seed": config.engine.seed,
                 "pipeline": config.pipeline.model_dump(mode="json"),
                 "roles": {n: r.model_dump(mode="json") for n, r in profile.roles.items()}})


def routing_key(config: AppConfig, profile: Profile) -> str:
    """What, besides the item and the model files, changes routing losses: scoring method, chunks, the system
    text the question is read after, cues, templates."""
    return _key({"harness": HARNESS, "scoring": config.router.scoring,
                 "scoring_memory_mb": config.engine.scoring_memory_mb, "system": config.pipeline.system,
                 # A remote expert has no chunk setting: its server scores the whole text.
                 "chunks": {n: e.score_chunk if isinstance(e, ExpertConfig) else None
                            for n, e in profile.experts.items()},
                 "roles": {n: [r.cues, r.template] for n, r in profile.roles.items()}})


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def model_sha256(config: AppConfig, profile: Profile) -> dict[str, str]:
    """Each expert's model sha256: the pinned one, else the file's own (hashed once per process)."""
    shas = {}
    for name, expert in profile.experts.items():
        if not isinstance(expert, ExpertConfig):
            # No file to hash: the server and model name are what identify a remote expert's answers.
            shas[name] = f"remote {expert.base_url} {expert.model}"
            continue
        if expert.sha256:
            shas[name] = expert.sha256
            continue
        path = config.model_path(expert)
        try:
            stat = path.stat()
        except OSError:
            shas[name] = "missing"
            continue
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _FILE_HASHES:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            _FILE_HASHES[key] = digest.hexdigest()
        shas[name] = _FILE_HASHES[key]
    return shas


def _unusable(path: Path, why: str) -> UsageError:
    return UsageError(f"--out {path}: {why}; choose another directory with --out DIR")


def prepare_dir(path: Path, *, create: bool) -> Path:
    """Check (and with `create`, make) the table directory; UsageError with the next step when it is unusable."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        return_hint = f"{path}.d"
        raise UsageError(f"--out {path} is a file, not a directory; choose a directory, e.g. --out {return_hint}")
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable(path, f"cannot create it ({exc.strerror or exc})") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only(path) else "no permission to write there"
        raise _unusable(path, f"cannot write there ({why})")
    return path


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


class OutcomeTable:
    """The two files of one table directory, read once and appended to as records are made."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.cells: dict[tuple, Cell] = {}
        self.routing: dict[tuple, RoutingRecord] = {}
        # (suite, item, experts) -> sha256 lists seen, to say when a model file changed
        self._cell_shas: dict[tuple, set[tuple[str, ...]]] = defaultdict(set)
        for cell in self._read(CELLS_FILE, Cell):
            self._index_cell(cell)
        for record in self._read(ROUTING_FILE, RoutingRecord):
            self.routing[self.routing_index(record.suite, record.item, record.fingerprint, record.sha256,
                                            record.settings)] = record

    # -- keys ------------------------------------------------------------------------------------

    @staticmethod
    def cell_index(suite: str, item: str, fingerprint: str, experts: Iterable[str], shas: Iterable[str],
                   settings: str) -> tuple:
        return suite, item, fingerprint, tuple(experts), tuple(shas), settings

    @staticmethod
    def routing_index(suite: str, item: str, fingerprint: str, shas: dict[str, str], settings: str) -> tuple:
        return suite, item, fingerprint, tuple(sorted(shas.items())), settings

    def _index_cell(self, cell: Cell) -> None:
        self.cells[self.cell_index(cell.suite, cell.item, cell.fingerprint, cell.experts, cell.sha256,
                                   cell.settings)] = cell
        self._cell_shas[(cell.suite, cell.item, tuple(cell.experts))].add(tuple(cell.sha256))

    def cell(self, suite: str, item: str, fingerprint: str, experts: Iterable[str], shas: dict[str, str],
             settings: str) -> Cell | None:
        """The finished cell for this key, or None (missing, failed, or made with other files or settings)."""
        experts = tuple(experts)
        cell = self.cells.get(self.cell_index(suite, item, fingerprint, experts, [shas[e] for e in experts], settings))
        return cell if cell is not None and cell.status == "ok" else None

    def routing_record(self, suite: str, item: str, fingerprint: str, shas: dict[str, str],
                       settings: str) -> RoutingRecord | None:
        record = self.routing.get(self.routing_index(suite, item, fingerprint, shas, settings))
        return record if record is not None and record.status == "ok" else None

    def stale_by_model(self, suite: str, shas: dict[str, str]) -> dict[str, int]:
        """Per expert: items of `suite` whose single-expert cells exist only for another model file."""
        counts: dict[str, int] = defaultdict(int)
        for (cell_suite, _, experts), seen in self._cell_shas.items():
            if cell_suite != suite or len(set(experts)) != 1:
                continue
            expert = experts[0]
            if expert in shas and seen and all(s[0] != shas[expert] for s in seen):
                counts[expert] += 1
        return dict(counts)

    def stale_routing(self, suite: str, shas: dict[str, str]) -> int:
        """Items of `suite` routed before, but only with other model files."""
        current = tuple(sorted(shas.items()))
        seen: dict[str, bool] = {}
        for (r_suite, item, _, r_shas, _), _record in self.routing.items():
            if r_suite == suite:
                seen[item] = seen.get(item, False) or r_shas == current
        return sum(not fresh for fresh in seen.values())

    # -- files -----------------------------------------------------------------------------------

    def _read(self, name: str, model: type[Record]) -> list[Record]:
        path = self.directory / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise _unusable(self.directory, f"cannot read {name} ({exc.strerror or exc})") from exc
        if data and not data.endswith(b"\n"):  # a torn last line: the process died mid-write
            data = data[: data.rfind(b"\n") + 1]
            try:
                with open(path, "r+b") as handle:
                    handle.truncate(len(data))
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise _unusable(self.directory, f"cannot repair the torn last line of {name} "
                                                f"({exc.strerror or exc})") from exc
        records = []
        for number, raw in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
            if not raw.strip():
                continue
            try:
                records.append(model.model_validate_json(raw.decode("utf-8")))
            except (UnicodeDecodeError, ValidationError) as exc:
                what = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not a record this version reads"
                raise UsageError(f"{path}, line {number}: {what}; move the file away (the table is then "
                                 f"computed again) or choose another directory with --out DIR") from exc
        return records

    def add(self, record: Cell | RoutingRecord) -> None:
        """Append one record as one line, in one write, fsynced; a crash loses at most this record."""
        name = CELLS_FILE if isinstance(record, Cell) else ROUTING_FILE
        data = (record.model_dump_json() + "\n").encode()
        try:
            fd = os.open(self.directory / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            why = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise _unusable(self.directory, f"cannot append to {name} ({why}); what was written is kept") from exc
        if isinstance(record, Cell):
            self._index_cell(record)
        else:
            self.routing[self.routing_index(record.suite, record.item, record.fingerprint, record.sha256,
                                            record.settings)] = record


def write_atomic(path: Path, text: str) -> None:
    """Write a report file whole or not at all; UsageError naming the directory when it cannot be written."""
    try:
        write_text_atomic(path, text)
    except UsageError as exc:
        cause = exc.__cause__
        why = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause or exc)
        raise _unusable(path.parent, f"cannot write {path.name} ({why})") from exc
