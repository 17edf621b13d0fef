"""The llama.cpp layer: load a GGUF, score a text token by token, generate.

This is the only module that imports llama_cpp. Scoring does not use
llama-cpp-python's all-logits mode (its buffer grows with the text); it decodes the text in fixed
chunks through llama.cpp's batch API with logits requested for every token, and
reduces each chunk's logits in place (logsumexp minus the target logit) before the
next decode overwrites them. Memory is then bounded by the chunk size.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import llama_cpp
import numpy as np

from .errors import EngineError, ModelLoadError, UsageError
from .gguf import GGUFInfo, read_gguf
from .scores import Score

log = logging.getLogger(__name__)

_REDUCE_ROWS = 8  # rows reduced at a time: keeps the working set in cache


def _route_llama_logs() -> None:
    """Send llama.cpp's C-side log lines to Python logging instead of stderr.

    Some lines (Gemma's SWA cache notice) bypass ``verbose=False``; in a terminal
    UI a stray write to stderr corrupts the screen.
    """

    @llama_cpp.llama_log_callback
    def _callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        log.debug("llama.cpp: %s", text.decode("utf-8", errors="replace").rstrip())

    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
    _route_llama_logs.callback = _callback  # type: ignore[attr-defined]  # keep it alive for the C side


_route_llama_logs()


def gpu_offload_supported() -> bool:
    """True when this llama.cpp build can offload layers to a GPU (CUDA, Metal, ...)."""
    return bool(llama_cpp.llama_supports_gpu_offload())


def resolve_gpu_layers(setting: int | str) -> int:
    """Turn the config's ``n_gpu_layers`` ("auto" or a count) into llama.cpp's number."""
    if setting == "auto":
        return -1 if gpu_offload_supported() else 0
    return int(setting)


MAX_DERIVED_CHUNK = 64


def derived_chunk(n_vocab: int, memory_mb: float) -> int:
    """Scoring chunk (a multiple of 8, 8..64) whose logit buffers fit `memory_mb`.

    llama.cpp keeps about two float32 copies of the chunk's logits (its output
    buffer and the graph's result), so the cost is 2 x chunk x n_vocab x 4 bytes.
    Smaller chunks cost time instead: every decode re-reads the n_vocab x n_embd
    output matrix. scripts/bench_engine.py measured the trade-off; past 64 rows the
    time saved is small and the memory is not (Gemma's 262k vocabulary: +2 MB a row).
    """
    rows = int(memory_mb * 1e6 // (2 * n_vocab * 4))
    return max(8, min(MAX_DERIVED_CHUNK, rows // 8 * 8))


@dataclass
class Generation:
    """A streamed generation: iterate for text pieces; stats are final after iteration."""

    pieces: Iterator[str]
    n_prompt_tokens: int = 0
    n_tokens: int = 0
    finish_reason: str = ""
    seconds: float = 0.0
    text: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        return self.pieces


class Model:
    """One loaded GGUF model. Not thread-safe on its own: a lock serialises use."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int | str = "auto",
        n_threads: int | None = None,
        chunk: int | None = None,
        scoring_memory_mb: float = 80.0,
        seed: int = 0,
        expected_size: int | None = None,
        chat: bool | None = None,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.info: GGUFInfo = read_gguf(self.path, expected_size)  # never hand llama.cpp an unchecked file
        threads = n_threads or os.cpu_count() or 1
        self.n_gpu_layers = resolve_gpu_layers(n_gpu_layers)
        started = time.perf_counter()
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_batch=512,
                n_ubatch=512,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=self.n_gpu_layers,
                logits_all=False,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {name} from {self.path}: {exc}") from None
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()
        self._ctx = self._llm.ctx
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self.n_vocab = self._llm.n_vocab()
        self.n_ctx = self._llm.n_ctx()
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))
        # models.toml's `chat` can turn the template off; a file without one always gets plain completion.
        self.has_chat_template = self.info.has_chat_template and chat is not False
        if chat and not self.info.has_chat_template:
            log.warning("%s: models.toml says chat, but the GGUF has no chat template; using plain completion", name)
        self.chunk = chunk or derived_chunk(self.n_vocab, scoring_memory_mb)
        self._batch = llama_cpp.llama_batch_init(self.chunk, 0, 1)
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Free the model, context and batch now (not whenever the GC gets to it)."""
        if self._closed:
            return
        self._closed = True
        llama_cpp.llama_batch_free(self._batch)
        self._llm.close()
        del self._llm

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _clear(self) -> None:
        # Llama.reset() does not clear the KV cache of ordinary transformer models;
        # decoding position 0 over stale cells fails, and stale cells would skew scores.
        if self._closed:  # a generator finalised after close() must not touch the freed context
            return
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), True)
        self._llm.reset()

    # -- tokens ------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_bos: bool | None = None) -> list[int]:
        """Tokens of `text`, with a start token exactly when the model's GGUF asks for one."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=self.add_bos if add_bos is None else add_bos, special=False)

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def token_offsets(self, text: str, tokens: list[int]) -> np.ndarray:
        """UTF-8 byte range of each token in `text`.

        Pieces normally concatenate to the text's bytes. Where a tokenizer rewrites
        the text (a space prefix, normalisation), offsets are clamped so they still
        tile [0, n_bytes) in order: coverage stays exact, attribution approximate.
        """
        data = text.encode("utf-8")
        pieces = [self._piece(t) for t in tokens]
        joined = b"".join(pieces)
        skip = len(joined) - len(data) if joined.endswith(data) else 0  # e.g. an added leading space
        offsets = np.zeros((len(tokens), 2), dtype=np.int64)
        position = -skip
        for i, piece in enumerate(pieces):
            start = min(max(position, 0), len(data))
            position += len(piece)
            offsets[i] = (start, min(max(position, 0), len(data)))
        if len(tokens) and joined[skip:] != data:
            log.debug("%s: token pieces do not spell the text exactly; offsets approximate", self.name)
            offsets[-1, 1] = len(data)
        return offsets

    # -- scoring -----------------------------------------------------------------------------

    def score(self, text: str) -> Score:
        """Per-token NLLs of `text` in one pass, chunk by chunk.

        A text longer than the context keeps its last n_ctx tokens; the dropped
        ones are reported as ``truncated_tokens`` and count as not predicted.
        """
        if not text.strip():
            raise UsageError("cannot score an empty text")
        with self._lock:
            started = time.perf_counter()
            all_tokens = self.tokenize(text)
            offsets = self.token_offsets(text, all_tokens)
            truncated = max(0, len(all_tokens) - self.n_ctx)
            tokens = all_tokens[truncated:]
            nll = np.full(len(all_tokens), np.nan)
            nll[truncated + 1 :] = self._score_tokens(tokens)[1:]
            return Score(
                model=self.name,
                text=text,
                tokens=np.asarray(all_tokens, dtype=np.int32),
                offsets=offsets,
                nll=nll,
                n_bytes=len(text.encode("utf-8")),
                chunk=self.chunk,
                truncated_tokens=truncated,
                seconds=time.perf_counter() - started,
            )

    def _score_tokens(self, tokens: list[int]) -> np.ndarray:
        """NLL of each token given the ones before it (entry 0 is NaN)."""
        n = len(tokens)
        out = np.full(n, np.nan)
        self._clear()
        batch = self._batch
        for begin in range(0, n, self.chunk):
            end = min(n, begin + self.chunk)
            rows = end - begin
            for i in range(rows):  # batch fields are not initialised: set all of them every time
                batch.token[i] = tokens[begin + i]
                batch.pos[i] = begin + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = 1
            batch.n_tokens = rows
            status = llama_cpp.llama_decode(self._ctx, batch)
            if status != 0:
                self._clear()
                raise EngineError(f"{self.name}: llama_decode failed with status {status} while scoring")
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(self._ctx), shape=(rows, self.n_vocab))
            # Row i predicts token begin+i+1; the last row of the text predicts nothing.
            targets = np.asarray(tokens[begin + 1 : end + 1], dtype=np.int64)
            for r in range(0, len(targets), _REDUCE_ROWS):
                block = logits[r : r + _REDUCE_ROWS][: len(targets) - r]
                idx = np.arange(block.shape[0])
                target = block[idx, targets[r : r + block.shape[0]]].astype(np.float64)
                peak = block.max(axis=1, keepdims=True)
                np.subtract(block, peak, out=block)  # in place: llama.cpp overwrites the buffer next decode
                np.exp(block, out=block)
                total = block.sum(axis=1, dtype=np.float64)
                out[begin + 1 + r : begin + 1 + r + block.shape[0]] = np.log(total) + peak[:, 0] - target
        self._clear()
        return out

    # -- generation --------------------------------------------------------------------------

    def generate(
        self,
        *,
        system: str,
        user: str,
        max_tokens: int,
        stop: list[str] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        """Stream a greedy (temperature 0) answer.

        Chat models get their own chat template with a system and a user message;
        base models get a plain completion prompt. Iteration stops at EOS, at
        `max_tokens`, at a stop string, or when `should_stop()` turns true (checked
        between tokens; finish_reason is then "cancelled").
        """
        generation = Generation(pieces=iter(()))
        generation.pieces = self._stream(generation, system, user, max_tokens, stop or [], should_stop)
        return generation

    def _stream(
        self,
        generation: Generation,
        system: str,
        user: str,
        max_tokens: int,
        stop: list[str],
        should_stop: Callable[[], bool] | None,
    ) -> Iterator[str]:
        with self._lock:
            started = time.perf_counter()
            self._clear()
            common = dict(max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True, stop=stop or None)
            try:
                if self.has_chat_template:
                    messages = ([{"role": "system", "content": system}] if system else []) + [
                        {"role": "user", "content": user}
                    ]
                    stream = self._llm.create_chat_completion(messages=messages, **common)
                    key = "delta"
                else:
                    prompt = f"{system}\n\n{user}\n\nAnswer:\n" if system else f"{user}\n\nAnswer:\n"
                    stream = self._llm.create_completion(prompt=prompt, **common)
                    key = "text"
                for chunk in stream:
                    if should_stop is not None and should_stop():
                        generation.finish_reason = "cancelled"
                        stream.close()
                        break
                    choice = chunk["choices"][0]
                    piece = choice["delta"].get("content") or "" if key == "delta" else choice.get("text") or ""
                    if choice.get("finish_reason"):
                        generation.finish_reason = choice["finish_reason"]
                    if piece:  # one piece per sampled token (a split UTF-8 character arrives merged)
                        generation.n_tokens += 1
                        generation.text.append(piece)
                        yield piece
            except (ValueError, RuntimeError) as exc:  # context overflow, a failed decode
                raise EngineError(f"{self.name}: {exc}") from None
            finally:
                generation.seconds = time.perf_counter() - started
                self._clear()


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def system_info() -> str:
    """llama.cpp's description of this build: the CPU features it uses, BLAS, GPU backends."""
    return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
