"""A tiny local stand-in for the Hugging Face hub's file endpoint, for the pull tests.

Serves HEAD and GET ``/{repo}/resolve/{revision}/{filename}`` on 127.0.0.1 the way huggingface_hub
expects (see /work/shared/notes/models-and-hub.md): ``X-Repo-Commit``, the sha256 as ``ETag`` and
``X-Linked-Etag`` (an LFS file), ``X-Linked-Size``/``Content-Length``, ``Range`` requests answered with
206, 404s classified by ``X-Error-Code`` and 401 for a gated repo without the right token. Switches make
it misbehave: drop the connection after some bytes of a GET, serve a corrupted body, go slowly, answer
GETs with an error status.
"""

from __future__ import annotations

import hashlib
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class HubFile:
    """One file in one repository."""

    repo: str
    filename: str
    path: Path
    size: int
    sha256: str
    commit: str


@dataclass(frozen=True)
class Request:
    """What the server received, for assertions."""

    method: str
    path: str
    range: str | None
    authorized: bool


@dataclass
class FakeHub:
    """The server and its switches; use as a context manager (``with FakeHub() as hub``)."""

    files: dict[tuple[str, str], HubFile] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # gated repo -> the token that may read it
    requests: list[Request] = field(default_factory=list)
    drop_after: int | None = None  # a misbehaving GET closes the connection after this many body bytes
    drops_left: int = 0  # how many of the next GETs misbehave
    corrupt: bool = False  # flip one byte in the middle of every body
    chunk_delay_s: float = 0.0  # sleep between body chunks of 256 KiB
    get_status: int | None = None  # answer every file GET with this HTTP status (HEAD still succeeds)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def add(self, repo: str, filename: str, path: Path, *, token: str | None = None) -> HubFile:
        """Serve `path` as `repo`/`filename`; with `token`, the repo is gated and needs that token."""
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        entry = HubFile(
            repo, filename, path, path.stat().st_size, digest.hexdigest(), hashlib.sha1(repo.encode()).hexdigest()
        )
        self.files[(repo, filename)] = entry
        if token:
            self.tokens[repo] = token
        return entry

    def gets(self) -> list[Request]:
        """The GET requests received so far."""
        return [r for r in self.requests if r.method == "GET"]

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_drop(self) -> int | None:
        """For a file GET: the byte count after which to drop it (None: serve it whole)."""
        with self._lock:
            if self.drops_left <= 0:
                return None
            self.drops_left -= 1
            return self.drop_after


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up: an interrupted pull
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest's output clean

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        auth = self.headers.get("Authorization")
        hub._record(Request(self.command, self.path, self.headers.get("Range"), auth is not None))
        match = _RESOLVE.match(unquote(self.path))
        if not match:
            return self._error(404, "EntryNotFound", "no such endpoint")
        repo, revision, filename = match["repo"], match["revision"], match["filename"]
        in_repo = [f for f in hub.files.values() if f.repo == repo]
        if not in_repo:
            return self._error(404, "RepoNotFound", "Repository not found")
        if repo in hub.tokens and auth != f"Bearer {hub.tokens[repo]}":
            return self._error(401, "GatedRepo", f"Access to model {repo} is restricted. You must be authenticated.")
        if revision not in ("main", in_repo[0].commit):
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        entry = hub.files.get((repo, filename))
        if entry is None:
            return self._error(404, "EntryNotFound", "Entry not found")

        if body and hub.get_status is not None:
            return self._error(hub.get_status, "", "the server is unwell")
        start, end = 0, entry.size - 1
        wanted = _RANGE.match(self.headers.get("Range", ""))
        if wanted and body:
            start = int(wanted[1])
            end = min(int(wanted[2]), end) if wanted[2] else end
            if start >= entry.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{entry.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if wanted and body else 200)
        self.send_header("X-Repo-Commit", entry.commit)
        self.send_header("ETag", f'"{entry.sha256}"')
        self.send_header("X-Linked-Etag", f'"{entry.sha256}"')
        self.send_header("X-Linked-Size", str(entry.size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if wanted and body:
            self.send_header("Content-Range", f"bytes {start}-{end}/{entry.size}")
        self.end_headers()
        if body:
            self._send_body(hub, entry, start, end + 1, hub._take_drop())

    def _send_body(self, hub: FakeHub, entry: HubFile, start: int, stop: int, drop_after: int | None) -> None:
        flip_at = entry.size // 2 if hub.corrupt else -1
        sent = 0
        try:
            with entry.path.open("rb") as handle:
                handle.seek(start)
                position = start
                while position < stop:
                    chunk = bytearray(handle.read(min(_CHUNK, stop - position)))
                    if position <= flip_at < position + len(chunk):
                        chunk[flip_at - position] ^= 0xFF
                    if drop_after is not None and sent + len(chunk) >= drop_after:
                        self.wfile.write(chunk[: drop_after - sent])
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    position += len(chunk)
                    if hub.chunk_delay_s:
                        time.sleep(hub.chunk_delay_s)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (an interrupted test pull)

    def _error(self, status: int, code: str, message: str) -> None:
        payload = f'{{"error": "{message}"}}'.encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
