"""llama-cpp-python's own server (``python -m llama_cpp.server``) on 127.0.0.1, for the remote-expert tests.

`LlamaServer` starts it on a free port serving one GGUF, waits until uvicorn says it is up (the
log line, read as it arrives: no polling delay) and its ``/v1/models`` answers, and stops it
afterwards. The context is small (the scoring texts are short) because the server keeps a
float32 logits row per context position (``logits_all``, its default): 512 x Gemma's 262k
vocabulary is 0.5 GB. n_batch is 512, so a prompt shorter than that is evaluated in one batch.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import deque
from pathlib import Path

_READY = "Uvicorn running on"
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """One server process; `url` is its root, `alias` the model name it serves."""

    def __init__(self, model: Path, *, alias: str = "served", api_key: str | None = None, n_ctx: int = 512) -> None:
        self.port = free_port()
        self.alias = alias
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx), "--n_batch", "512",
            "--n_threads", "2", "--n_threads_batch", "2", "--verbose", "false",
        ]
        if api_key:
            command += ["--api_key", api_key]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.log: deque[str] = deque(maxlen=50)
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # also drains the pipe, so the server never blocks on it
            self.log.append(line.rstrip())
            if _READY in line:
                self._ready.set()
        self._ready.set()  # the process ended: wake the waiter, which then sees it is gone

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Block until the server answers /v1/models; raise with its last log lines if it does not."""
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"llama_cpp.server did not start within {timeout:.0f} s:\n" + "\n".join(self.log))
        request = urllib.request.Request(f"{self.url}/v1/models")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        with urllib.request.urlopen(request, timeout=30) as response:
            served = [m["id"] for m in json.loads(response.read())["data"]]
        assert served == [self.alias], served

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)

    def __enter__(self) -> LlamaServer:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
