"""A tiny hand-written HTTP server on 127.0.0.1 for the remote-expert faults a real engine cannot produce.

Each path answers with a `Reply` (or a function of the request that returns one): a JSON body,
raw bytes (malformed JSON), an HTTP error status, a server-sent event stream that may break off
before ``[DONE]``. Every request is recorded with
its headers and JSON body, for assertions on the request shapes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What one request gets."""

    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    events: list[Any] | None = None  # a server-sent event stream of these JSON objects
    drop: bool = False  # the stream stops without [DONE] (the connection closes)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Route = Reply | list[Reply] | Callable[[Any], Reply]


@dataclass
class FakeServer:
    """Use as a context manager; `routes` maps a path to a Reply, a queue of Replies, or a function of the body."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def reply_for(self, path: str, body: Any) -> Reply:
        route = self.routes.get(path)
        if route is None:
            return Reply(404, {"detail": "Not Found"})
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route(body) if callable(route) else route

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection; a body without a length ends at close

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._answer(None)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self._answer(body)

    def _answer(self, body: Any) -> None:
        fake: FakeServer = self.server.fake  # type: ignore[attr-defined]
        fake.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
        reply = fake.reply_for(self.path, body)
        if reply.events is not None:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": ping\n\n")  # a comment line, as sse-starlette sends
            for event in reply.events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            if not reply.drop:
                self.wfile.write(b"data: [DONE]\n\n")
            return
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
