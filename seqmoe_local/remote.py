"""Experts served by an existing inference engine over HTTP (vLLM, SGLang, llama-cpp-python's server).

This is the only module that talks HTTP to serving engines (stdlib ``http.client``:
separate connect and read timeouts, streaming, no extra dependency). `RemoteModel`
implements the `expert.Expert` interface, so the router, pipeline, TUI and eval treat
a remote expert like a local one.

Scoring renders the plain-text layout of `prompts` (also for chat models: a chat
template is not applied for scoring) and asks the server for the log-probability of
every prompt token, one request per text:

``openai-echo``  ``/v1/completions`` with ``echo`` and ``logprobs`` (llama-cpp-python's
                 server; vLLM too). ``max_tokens`` is 1: llama-cpp-python reads 0 as "no limit".
``vllm``         ``/v1/completions`` with vLLM's ``prompt_logprobs = 0`` (the prompt token's own log-prob).
``sglang``       SGLang's ``/generate`` with ``return_logprob`` and ``logprob_start_len = 0``.

The token texts the server returns are mapped back onto the prompt's UTF-8 bytes
(`align_offsets`): servers report character offsets, or none, and some decode a
token that splits a character as "" or U+FFFD. Tokens that start before the scored
text are context (conditioning, not scored).

A server may answer with wrong numbers: llama-cpp-python's server (0.3.x) scores every
prompt token of a model without a start token against the wrong row of logits. Before a
server's first score, a fixed probe text (a sequence any model continues with near
certainty) is scored once; a server whose log-probs on it are those of a misaligned
reader is refused for scoring, with a message suggesting ``scoring = false``. The result
is cached per server and model for the life of the process.

Generation streams ``/v1/completions`` (the plain layout, `prompts.PLAIN_STOPS` plus the
caller's stops) or, with ``chat = true``, ``/v1/chat/completions`` with the messages.
Greedy (temperature 0); `should_stop` is checked between streamed chunks. A generation
that fails (the server refuses it, cannot be reached, or its stream breaks off:
`RemoteStreamError`) keeps the text received so far in `Generation.text`, sets
finish_reason "failed" and raises a `RemoteError` from the iteration: the caller records
the segment as failed, and the next request opens a new connection.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np

from .config import RemoteExpertConfig
from .errors import EngineError
from .expert import FinishReason, Generation
from .prompts import PLAIN_STOPS, Message, join, plain_pieces, user_content
from .scores import Score

log = logging.getLogger(__name__)

#: what `route` prints when a profile has generation-only experts
GENERATION_ONLY_RULE = (
    "a generation-only expert (scoring = false) takes a segment only when it is pinned (--expert), "
    "or when it is the role's native expert and no expert that scores beats it"
)

#: the probe: any language model continues it with near certainty, and a reader that scores each
#: token against the next token's row sees a low-probability token at every step
PROBE_TEXT = "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday"
#: mean NLL (nats/token) over the probe's second half that separates the two; measured with the demo
#: GGUFs on llama-cpp-python's server: aligned (Gemma-3-270M) 0.49, misaligned 9.2-11.7 (SmolLM2, Qwen)
PROBE_MAX_NLL = 3.0

_ERROR_CHARS = 200  # of a server's error message quoted in ours
_ALIGN_WINDOW = 32  # characters searched ahead for a token text that does not match where expected
_MIN_SPELLED = 0.8  # share of the prompt the token texts must spell exactly to trust the mapping
_REJECTED = (400, 422, 501)  # statuses of a server that does not take a request's parameters


class RemoteError(EngineError):
    """A remote expert's server is unreachable, refused the request or answered something unusable."""

    exit_code = 4

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        #: the HTTP status the server answered with, when it answered
        self.status = status


class ScoringUnavailable(RemoteError):
    """The server cannot score (no prompt log-probs, misaligned log-probs, or ``scoring = false``)."""


class RemoteStreamError(RemoteError):
    """A generation stream broke off; the text received so far is in the Generation."""


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    prefix: str  # path before the API's own paths ("" for a server root)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.prefix}"


def _target(base_url: str) -> _Target:
    parts = urlsplit(base_url)
    # OpenAI clients take ".../v1"; our paths name the version themselves
    prefix = parts.path.rstrip("/").removesuffix("/v1")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return _Target(parts.scheme, parts.hostname or "", port, prefix)


def _one_line(text: str, limit: int = _ERROR_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI {"error": {"message"}}, vLLM {"message"}, FastAPI {"detail"}."""
    try:
        data = json.loads(body)
    except ValueError:
        return _one_line(body.decode("utf-8", errors="replace")) or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return _one_line(error["message"])
        for key in ("message", "detail", "error"):
            if data.get(key):
                value = data[key]
                return _one_line(value if isinstance(value, str) else json.dumps(value))
    return _one_line(json.dumps(data))


class _Client:
    """Requests to one server: a new connection per request, errors turned into one-line RemoteErrors."""

    def __init__(self, expert: RemoteExpertConfig) -> None:
        self.expert = expert
        self.target = _target(expert.base_url)

    # The key is read when needed, never stored in a message; `_scrub` removes it from any text we quote.
    def _key(self) -> str | None:
        env = self.expert.api_key_env
        if env is None:
            return None
        key = os.environ.get(env)
        if not key:
            raise RemoteError(
                f"expert {self.expert.name!r} needs an API key in ${env}, which is not set; "
                f"export {env}=<key> and run the command again"
            )
        return key

    def _scrub(self, text: str) -> str:
        env = self.expert.api_key_env
        key = os.environ.get(env) if env else None
        return text.replace(key, "***") if key else text

    def _fail(self, what: str, status: int | None = None) -> RemoteError:
        return RemoteError(self._scrub(f"expert {self.expert.name!r} at {self.target.origin}: {what}"), status)

    def _connect(self) -> http.client.HTTPConnection:
        t = self.target
        timeout = self.expert.connect_timeout
        if t.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                t.host, t.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(t.host, t.port, timeout=timeout)
        try:
            conn.connect()
        except Exception as exc:
            conn.close()
            raise self._network_error(exc, connecting=True) from exc
        assert conn.sock is not None
        conn.sock.settimeout(self.expert.read_timeout)  # from now on: waiting for the server's bytes
        return conn

    def _network_error(self, exc: BaseException, *, connecting: bool) -> RemoteError:
        e = self.expert
        if isinstance(exc, RemoteError):
            return exc
        if isinstance(exc, socket.gaierror):
            return self._fail(f"cannot resolve host {self.target.host!r} ({exc.strerror}); check base_url in "
                "models.toml")
        if isinstance(exc, ssl.SSLError):  # before OSError: SSLError is one
            reason = getattr(exc, "verify_message", None) or exc.reason or exc
            return self._fail(f"TLS handshake failed ({reason}); check the server's certificate, or the scheme of "
                "base_url")
        if isinstance(exc, ConnectionRefusedError):
            return self._fail("connection refused; start the server, or fix base_url in models.toml")
        if isinstance(exc, (TimeoutError, socket.timeout)):
            if connecting:
                return self._fail(f"no connection within {e.connect_timeout:g} s; check that the server is up, or "
                    "raise connect_timeout")
            return self._fail(f"no answer within {e.read_timeout:g} s; the server may be overloaded; raise "
                "read_timeout or try again")
        if isinstance(exc, (http.client.HTTPException, ConnectionError)):
            return self._fail(f"the connection broke ({type(exc).__name__}: {_one_line(str(exc)) or 'no detail'}); "
                "try again")
        if isinstance(exc, OSError):
            return self._fail(f"network error: {exc.strerror or exc}; check base_url and the network")
        return self._fail(f"{type(exc).__name__}: {_one_line(str(exc))}")

    def _status_error(self, status: int, path: str, body: bytes) -> RemoteError:
        message = _server_message(body)
        env = self.expert.api_key_env
        if status in (401, 403):
            fix = (f"set ${env} to a valid key" if env
                   else "put the key in an environment variable and name it in api_key_env in models.toml")
            return self._fail(f"the server refused the request (HTTP {status}: {message}); {fix}", status)
        if status == 404:
            return self._fail(
                f"HTTP 404 for {path} ({message}); check model = {self.expert.model!r} and api = {self.expert.api!r} "
                "in models.toml (`seqmoe-local models` shows what the server serves)", status
            )
        if status in (429, 503):
            return self._fail(f"the server is busy (HTTP {status}: {message}); try again later", status)
        return self._fail(f"HTTP {status} for {path}: {message}", status)

    def _send(
        self, method: str, path: str, body: Any | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        headers = {"Accept": "application/json, text/event-stream"}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn = self._connect()
        try:
            conn.request(method, self.target.prefix + path, body=data, headers=headers)
            response = conn.getresponse()
        except Exception as exc:
            conn.close()
            raise self._network_error(exc, connecting=False) from exc
        if response.status >= 400:
            try:
                payload = response.read(64 * 1024)
            except Exception:  # the status says enough
                payload = b""
            conn.close()
            raise self._status_error(response.status, path, payload)
        return conn, response

    def json(self, method: str, path: str, body: Any | None = None) -> Any:
        """One request; the decoded JSON answer."""
        conn, response = self._send(method, path, body)
        try:
            raw = response.read()
        except Exception as exc:
            raise self._network_error(exc, connecting=False) from exc
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise self._fail(
                f"malformed JSON from {path} ({exc.msg} at byte {exc.pos}); is this the right server and api?"
            ) from None
        except ValueError as exc:  # bytes that are not UTF-8/16/32 never reach the JSON parser
            raise self._fail(f"malformed JSON from {path} ({exc}); is this the right server and api?") from None

    def events(self, path: str, body: Any) -> Generator[dict[str, Any], None, None]:
        """POST and read a server-sent event stream: each event's JSON until ``[DONE]``.

        Raises RemoteStreamError when the stream ends without ``[DONE]`` (closing the
        generator closes the connection: that is how a generation is cancelled).
        """
        conn, response = self._send("POST", path, body)
        try:
            data: list[str] = []
            while True:
                try:
                    raw = response.readline()
                except Exception as exc:
                    raise RemoteStreamError(str(self._network_error(exc, connecting=False))) from exc
                if not raw:
                    raise RemoteStreamError(
                        self._scrub(f"expert {self.expert.name!r} at {self.target.origin}: the stream from {path} "
                                    "ended before [DONE] (the server closed the connection)")
                    )
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                    continue
                if line or not data:  # "event:", "id:", ": ping" lines, or blank lines between events
                    continue
                payload, data = "\n".join(data), []
                if payload.strip() == "[DONE]":
                    return
                try:
                    event = json.loads(payload)
                except json.JSONDecodeError as exc:
                    raise RemoteStreamError(
                        self._scrub(f"expert {self.expert.name!r} at {self.target.origin}: malformed JSON in the "
                                    f"stream from {path} ({exc.msg})")
                    ) from None
                if isinstance(event, dict) and event.get("error"):
                    raise RemoteStreamError(self._scrub(
                        f"expert {self.expert.name!r} at {self.target.origin}: the server reported an error "
                        f"mid-stream: {_server_message(json.dumps(event).encode())}"
                    ))
                if not isinstance(event, dict):
                    raise RemoteStreamError(self._scrub(
                        f"expert {self.expert.name!r} at {self.target.origin}: unexpected event in the stream from "
                        f"{path}"
                    ))
                yield event
        finally:
            conn.close()


# -- token texts -> byte offsets ---------------------------------------------------------------------


def align_offsets(text: str, pieces: Sequence[str | None]) -> tuple[np.ndarray, float]:
    """UTF-8 byte range in `text` of each token whose decoded text is `pieces[i]`, and the share spelled exactly.

    Pieces are matched in order. A piece that is not where expected is searched a few
    characters ahead; tokens that matched nothing (a start token such as "<s>", "" or
    U+FFFD for part of a character, None for a text the server did not send) share the
    bytes between their neighbours evenly. So the ranges always tile the text in order:
    coverage is exact, attribution approximate where the server's texts are. The second
    value is the fraction of the text's characters that matched a piece exactly.
    """
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + len(ch.encode("utf-8")))
    out = np.zeros((len(pieces), 2), dtype=np.int64)
    pos = 0
    spelled = 0
    pending: list[int] = []

    def share(until: int) -> None:
        # Tokens that spelled nothing split the bytes from `pos` to `until`.
        b0, b1 = cum[pos], cum[until]
        for j, index in enumerate(pending):
            out[index] = (b0 + (b1 - b0) * j // len(pending), b0 + (b1 - b0) * (j + 1) // len(pending))
        pending.clear()

    for i, piece in enumerate(pieces):
        if piece:
            at = pos if text.startswith(piece, pos) else text.find(piece, pos, pos + _ALIGN_WINDOW + len(piece))
            if at >= 0:
                start = pos if not pending else at  # a gap with no unmatched token before it: this token spans it
                share(at)
                out[i] = (cum[start], cum[at + len(piece)])
                pos = at + len(piece)
                spelled += len(piece)
                continue
        pending.append(i)
    share(len(text))
    return out, (spelled / len(text) if text else 1.0)


# -- the scoring requests of each API -------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str | None
    logprob: float | None
    id: int


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"log-prob {value!r} is not a number")
    return float(value)


def _prompt_logprobs_openai(client: _Client, prompt: str) -> tuple[list[_Token], str]:
    answer = client.json("POST", "/v1/completions", {
        "model": client.expert.model, "prompt": prompt, "echo": True, "logprobs": 0,
        "max_tokens": 1, "temperature": 0,
    })
    choice = answer["choices"][0]
    echoed = choice.get("text")
    logprobs = choice.get("logprobs")
    if not isinstance(echoed, str) or not echoed.startswith(prompt):
        raise ScoringUnavailable("the answer does not echo the prompt (the server ignores echo)")
    if not logprobs or not logprobs.get("tokens") or logprobs.get("token_logprobs") is None:
        raise ScoringUnavailable("no prompt log-probs in the answer (the server ignores echo or logprobs)")
    tokens, values = logprobs["tokens"], logprobs["token_logprobs"]
    if len(values) != len(tokens):
        raise ValueError("tokens and token_logprobs differ in length")
    # The echoed text is the prompt and then the generated token; both are in the token list. text_offset
    # is not used: it counts characters of each server's own detokenisation (vLLM includes "<s>").
    return [
        _Token(t if isinstance(t, str) else None, _number(v), -1) for t, v in zip(tokens, values, strict=False)
    ], echoed


def _prompt_logprobs_vllm(client: _Client, prompt: str) -> tuple[list[_Token], str]:
    answer = client.json("POST", "/v1/completions", {
        "model": client.expert.model, "prompt": prompt, "max_tokens": 1, "temperature": 0,
        "prompt_logprobs": 0, "return_token_ids": True,
    })
    choice = answer["choices"][0]
    entries = choice.get("prompt_logprobs", answer.get("prompt_logprobs"))
    if not entries:
        raise ScoringUnavailable("no prompt_logprobs in the answer (is this a vLLM server?)")
    ids = choice.get("prompt_token_ids") or answer.get("prompt_token_ids")
    if ids is not None and len(ids) != len(entries):
        raise ValueError("prompt_token_ids and prompt_logprobs differ in length")
    kept = []
    for i, entry in enumerate(entries):
        if entry is None:  # the first token: nothing predicts it
            kept.append(_Token(None, None, int(ids[i]) if ids is not None else -1))
            continue
        if ids is not None:
            key = str(ids[i])
        elif len(entry) == 1:
            key = next(iter(entry))
        else:
            raise ValueError("several candidates per prompt token and no prompt_token_ids to pick the prompt's")
        item = entry[key]
        kept.append(_Token(item.get("decoded_token"), _number(item["logprob"]), int(key)))
    return kept, prompt


def _prompt_logprobs_sglang(client: _Client, prompt: str) -> tuple[list[_Token], str]:
    answer = client.json("POST", "/generate", {
        "text": prompt, "sampling_params": {"max_new_tokens": 0, "temperature": 0},
        "return_logprob": True, "logprob_start_len": 0, "return_text_in_logprobs": True,
    })
    if isinstance(answer, list):  # a batch of one
        answer = answer[0]
    entries = answer["meta_info"].get("input_token_logprobs")
    if not entries:
        raise ScoringUnavailable("no input_token_logprobs in meta_info (is this an SGLang server?)")
    kept = []
    for entry in entries:  # [logprob, token id, token text or null]
        text = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else None
        kept.append(_Token(text, _number(entry[0]), int(entry[1])))
    return kept, prompt


#: each returns the tokens and the text they spell: the prompt, or (echo) the prompt and the generated token
_SCORERS: dict[str, Callable[[_Client, str], tuple[list[_Token], str]]] = {
    "openai-echo": _prompt_logprobs_openai,
    "vllm": _prompt_logprobs_vllm,
    "sglang": _prompt_logprobs_sglang,
}


@dataclass(frozen=True)
class PromptScore:
    """Per-token NLLs of a whole prompt as the server gave them, with byte offsets into it."""

    tokens: np.ndarray
    offsets: np.ndarray
    nll: np.ndarray
    spelled: float


def score_prompt(client: _Client, prompt: str) -> PromptScore:
    """Ask the server for the prompt's log-probs (its API's way) and map them onto the prompt's bytes."""
    expert = client.expert
    try:
        tokens, spelled_text = _SCORERS[expert.api](client, prompt)
    except ScoringUnavailable as exc:
        hint = ("llama.cpp's llama-server cannot score (ggml-org/llama.cpp#27174)" if expert.api == "openai-echo"
                else f"check api = {expert.api!r}")
        raise ScoringUnavailable(client._scrub(
            f"expert {expert.name!r} at {client.target.origin} cannot score: {exc}; {hint}; set scoring = false "
            f"for [experts.{expert.name}] in models.toml to use it for generation only"
        )) from None
    except RemoteError as exc:
        if exc.status in _REJECTED:
            raise RemoteError(
                f"{exc}; a server that cannot score (llama.cpp's llama-server rejects echo and prompt log-probs) "
                f"may still generate: set scoring = false for [experts.{expert.name}] in models.toml", exc.status
            ) from None
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise client._fail(f"unexpected answer to a scoring request ({type(exc).__name__}: {_one_line(str(exc))}); "
                           f"check api = {expert.api!r} in models.toml") from None
    offsets, spelled = align_offsets(spelled_text, [t.text for t in tokens])
    if not tokens or spelled < _MIN_SPELLED:
        raise client._fail(f"the server's token texts spell only {spelled:.0%} of the prompt; cannot place its "
                           "log-probs on the text")
    prompt_part = offsets[:, 0] < len(prompt.encode("utf-8"))  # drops the generated token of an echo
    nll = np.array([-t.logprob if t.logprob is not None else np.nan for t in tokens], dtype=np.float64)
    ids = np.array([t.id for t in tokens], dtype=np.int32)
    return PromptScore(ids[prompt_part], offsets[prompt_part], nll[prompt_part], spelled)


# -- the misalignment probe -----------------------------------------------------------------------------


ProbeState = Literal["aligned", "misaligned", "no_logprobs"]


@dataclass(frozen=True)
class ProbeResult:
    state: ProbeState
    mean_nll: float
    detail: str


_probes: dict[tuple[str, str, str], ProbeResult] = {}
_probe_lock = threading.Lock()
_served: dict[tuple[str, str], list[str] | None] = {}  # (server, model) -> the server's model list (None: unlisted)


def served_models(client: _Client) -> list[str] | None:
    """The server's models (``/v1/models``), checked to include the configured one; None when it lists none.

    llama-cpp-python's server answers any model name with its own model, so a wrong
    name is caught here rather than by the server. Cached per server and model.
    """
    key = (client.target.origin, client.expert.model)
    if key in _served:
        return _served[key]
    try:
        listing = client.json("GET", "/v1/models")
    except RemoteError as exc:
        if exc.status != 404:
            raise
        ids = None
    else:
        try:
            ids = [str(m["id"]) for m in listing["data"]]
        except (KeyError, TypeError):
            ids = None
    if ids is not None and client.expert.model not in ids:
        raise client._fail(
            f"the server serves {', '.join(map(repr, ids)) or 'no models'}, not {client.expert.model!r}; "
            f"fix model for [experts.{client.expert.name}] in models.toml", 404
        )
    _served[key] = ids
    return ids


def probe(client: _Client) -> ProbeResult:
    """Score the fixed probe text once per server, model and API in this process; cached.

    Aligned: low NLL on the probe's second half. A reader that scores token i with the
    row that predicts token i+1 gets a high one. Network errors propagate (not cached).
    """
    e = client.expert
    key = (client.target.origin, e.model, e.api)
    with _probe_lock:
        if key in _probes:
            return _probes[key]
        served_models(client)
        try:
            scored = score_prompt(client, PROBE_TEXT)
        except RemoteError as exc:
            if not isinstance(exc, ScoringUnavailable) and exc.status not in _REJECTED:
                raise  # unreachable, busy, unauthorised: not an answer about scoring, so not cached
            result = ProbeResult("no_logprobs", float("nan"), str(exc))
        else:
            values = scored.nll[~np.isnan(scored.nll)]
            half = values[len(values) // 2 :]
            mean = float(half.mean()) if half.size else float("nan")
            if not half.size:
                result = ProbeResult("no_logprobs", mean, "the probe got no log-probs")
            elif mean <= PROBE_MAX_NLL:
                result = ProbeResult("aligned", mean, f"probe NLL {mean:.2f} nats/token")
            else:
                result = ProbeResult("misaligned", mean, (
                    f"its prompt log-probs are misaligned (probe NLL {mean:.1f} nats/token where a correct reader "
                    f"gets below {PROBE_MAX_NLL:g}); llama-cpp-python's server does this for models without a start "
                    "token (SmolLM2, Qwen)"
                ))
        _probes[key] = result
        return result


# -- the expert ---------------------------------------------------------------------------------------


def _finish(value: Any) -> FinishReason | None:
    if value in (None, ""):
        return None
    return value if value in ("stop", "length") else "stop"


class RemoteModel:
    """An expert on a serving engine; implements `expert.Expert`."""

    def __init__(self, expert: RemoteExpertConfig) -> None:
        self.config = expert
        self.name = expert.name
        self.has_chat_template = expert.chat
        self.n_ctx = expert.context_length
        self.scoring = expert.scoring
        self._client = _Client(expert)
        self._tokenize_path: str | None = {"openai-echo": "/extras/tokenize/count", "vllm": "/tokenize"}.get(expert.api)

    @property
    def origin(self) -> str:
        """The server, as messages name it."""
        return self._client.target.origin

    def close(self) -> None:
        """Nothing is held between requests; here for symmetry with `engine.Model`."""

    # -- scoring ----------------------------------------------------------------------------------

    def check_scoring(self) -> ProbeResult:
        """Make sure this expert may score: configured to, and the server's log-probs pass the probe."""
        if not self.scoring:
            raise ScoringUnavailable(
                f"expert {self.name!r} is generation-only (scoring = false); it cannot be routed by loss: "
                f"pin it with --expert {self.name}, or remove it from the profile for routing"
            )
        result = probe(self._client)
        if result.state == "no_logprobs":
            raise ScoringUnavailable(result.detail)
        if result.state == "misaligned":
            raise ScoringUnavailable(
                f"expert {self.name!r} at {self.origin} cannot score: {result.detail}; refused so that routing "
                "never uses wrong numbers: "
                f"set scoring = false for [experts.{self.name}] in models.toml to use it for generation only"
            )
        return result

    def score(self, text: str, *, context: Sequence[Message] = ()) -> Score:
        """Per-token NLLs of `text` after `context`, in the plain layout of `prompts` (see the module docstring)."""
        started = time.perf_counter()
        self.check_scoring()
        pieces = plain_pieces(context, text, None)
        prompt = join(pieces)
        prefix = len(join(pieces[:-1]).encode("utf-8"))
        scored = score_prompt(self._client, prompt)
        keep = scored.offsets[:, 0] >= prefix  # tokens that start before the text are context
        return Score(
            model=self.name,
            text=text,
            tokens=scored.tokens[keep],
            offsets=scored.offsets[keep] - prefix,
            nll=scored.nll[keep],
            n_bytes=len(text.encode("utf-8")),
            chunk=0,  # the server's batching is its own
            truncated_tokens=0,
            seconds=time.perf_counter() - started,
        )

    # -- generation -------------------------------------------------------------------------------

    def _request(self, context: Sequence[Message], message: str, instruction: str) -> tuple[str, dict[str, Any]]:
        if self.has_chat_template:
            messages = [{"role": m.role, "content": m.content} for m in context]
            messages.append({"role": "user", "content": user_content(message, instruction)})
            return "/v1/chat/completions", {"messages": messages}
        return "/v1/completions", {"prompt": join(plain_pieces(context, message, instruction))}

    def generate(
        self,
        *,
        context: Sequence[Message],
        message: str,
        instruction: str,
        max_tokens: int,
        stop: Sequence[str] = (),
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        """Stream a greedy answer from the server (see the module docstring for a broken stream)."""
        path, body = self._request(context, message, instruction)
        stops = list(dict.fromkeys([*([] if self.has_chat_template else PLAIN_STOPS), *stop]))
        body.update(model=self.config.model, max_tokens=max_tokens, temperature=0, stream=True)
        if stops:
            body["stop"] = stops
        generation = Generation(pieces=_nothing())
        generation.pieces = self._stream(generation, path, body, should_stop)
        return generation

    def _stream(
        self, generation: Generation, path: str, body: dict[str, Any], should_stop: Callable[[], bool] | None
    ) -> Generator[str, None, None]:
        started = time.perf_counter()
        chat = path.endswith("/chat/completions")
        events = self._client.events(path, body)
        finish: FinishReason | None = None
        try:
            served_models(self._client)
            for event in events:
                if should_stop is not None and should_stop():
                    finish = "cancelled"
                    break
                usage = event.get("usage")
                if isinstance(usage, dict):
                    generation.prompt_tokens = int(usage.get("prompt_tokens") or generation.prompt_tokens)
                choices = event.get("choices") or []
                if not choices:
                    continue
                choice = choices[0]
                piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                finish = _finish(choice.get("finish_reason")) or finish
                if piece:
                    if generation.first_token_seconds is None:
                        generation.first_token_seconds = time.perf_counter() - started
                    generation.n_tokens += 1  # servers stream one chunk per token
                    generation.text.append(piece)
                    yield piece
            generation.finish_reason = finish or "stop"
        except RemoteError:  # refused, unreachable, or broken off mid-stream: the pieces so far are kept
            generation.finish_reason = "failed"
            raise
        finally:
            events.close()  # closes the connection: a cancelled generation stops on the server too
            generation.prefilled_tokens = generation.prompt_tokens
            generation.seconds = time.perf_counter() - started

    def prompt_tokens(self, *, context: Sequence[Message], message: str, instruction: str) -> int:
        """The generation prompt's length from the server's tokenizer; an upper bound where it has no endpoint.

        The estimate is the prompt's UTF-8 bytes plus one for a start token (no tokenizer
        of these servers makes a token of less than a byte); with chat messages, 16 more
        per message for the template's own text, which is a guess, not a bound.
        """
        _, body = self._request(context, message, instruction)
        if self._tokenize_path is not None:
            if self._tokenize_path == "/tokenize":
                request = {"model": self.config.model, **body}
            elif "prompt" in body:
                request = {"model": self.config.model, "input": body["prompt"]}
            else:
                request = None
            if request is not None:
                try:
                    return int(self._client.json("POST", self._tokenize_path, request)["count"])
                except RemoteError as exc:
                    if exc.status not in (404, *_REJECTED):
                        raise
                    self._tokenize_path = None  # the server has no such endpoint: estimate from now on
                except (KeyError, TypeError, ValueError):
                    self._tokenize_path = None
        if "prompt" in body:
            return len(body["prompt"].encode("utf-8")) + 1
        return sum(len(m["content"].encode("utf-8")) + 16 for m in body["messages"]) + 1


# -- what `models` shows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteStatus:
    """A remote expert's server as `seqmoe-local models` reports it."""

    name: str
    server: str
    api: str
    model: str
    reachable: bool
    serves_model: bool | None  # None: the server does not list its models
    can_score: bool
    detail: str


def remote_status(expert: RemoteExpertConfig) -> RemoteStatus:
    """Reachability (``/v1/models``), whether it serves the configured model, and whether it can score (the probe)."""
    client = _Client(expert)
    origin = client.target.origin

    def status(reachable: bool, serves: bool | None, can_score: bool, detail: str) -> RemoteStatus:
        return RemoteStatus(expert.name, origin, expert.api, expert.model, reachable, serves, can_score, detail)

    try:
        listed = served_models(client)
    except RemoteError as exc:
        if exc.status == 404:  # it answered: with a list that lacks the model
            return status(True, False, False, str(exc))
        return status(exc.status is not None, None, False, str(exc))
    serves = None if listed is None else True
    if not expert.scoring:
        return status(True, serves, False, "generation only (scoring = false)")
    try:
        result = RemoteModel(expert).check_scoring()
    except RemoteError as exc:
        return status(True, serves, False, str(exc))
    return status(True, serves, True, result.detail)


def _nothing() -> Generator[str, None, None]:
    """An exhausted piece stream: a Generation's placeholder until its real stream is attached."""
    yield from ()
