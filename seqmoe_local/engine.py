"""The llama.cpp layer: load a GGUF, score a message token by token, generate.

This is the only module that imports llama_cpp. Scoring does not use
llama-cpp-python's all-logits mode (its buffer grows with the text); it decodes the
message in fixed chunks through llama.cpp's batch API with logits requested for
every token, and reduces each chunk's logits in place (logsumexp minus the target
logit) before the next decode overwrites them. Memory is then bounded by the chunk
size. The conversation before the message is read without logits.

Generation runs its own greedy loop over the same KV cache: the model remembers
which tokens the cache holds, and every call evaluates only what follows the
longest cached prefix of its prompt (prompts.py makes the routing text a prefix of
every generation prompt).
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import llama_cpp.llama_chat_format
import numpy as np

from .errors import EngineError, ModelLoadError, UsageError
from .expert import Generation
from .gguf import GGUFInfo, read_gguf
from .prompts import INSTRUCTION_SEPARATOR, PLAIN_STOPS, Message, Piece, plain_pieces
from .repetition import PENALTY_LAST_N, LoopGuard, apply_repeat_penalty
from .scores import Score

log = logging.getLogger(__name__)

_REDUCE_ROWS = 8  # rows reduced at a time: keeps the working set in cache
PREFILL_BATCH = 512  # tokens per decode when no per-token logits are needed (llama.cpp's n_batch)


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


@dataclass(frozen=True)
class SavedState:
    """A model's KV cache of sequence 0 and the tokens it holds, kept in RAM across an eviction."""

    identity: tuple[object, ...]  # the file and context it came from; restored only into the same
    tokens: tuple[int, ...]
    data: bytes


class _Layout:
    """A prompt as tokens, and where the user's new message lies in them."""

    def __init__(self, tokens: list[int], message_start: int, message_end: int) -> None:
        self.tokens = tokens
        self.message_start = message_start  # token index range of the new message
        self.message_end = message_end


class Model:
    """One loaded GGUF model. Not thread-safe on its own: a lock serialises use.

    The model remembers which tokens its KV cache (sequence 0) holds. Scoring and
    generation evaluate only what follows the longest cached prefix of their
    prompt, so a segment generated right after routing on the same expert, or the
    next turn of a conversation, does not read the conversation again.
    """

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
        repeat_penalty: float = 1.0,
        loop_guard: bool = True,
        reuse_prefix: bool = True,
        flash_attn: bool = False,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.info: GGUFInfo = read_gguf(self.path, expected_size)  # never hand llama.cpp an unchecked file
        threads = n_threads or os.cpu_count() or 1
        self.n_gpu_layers = resolve_gpu_layers(n_gpu_layers)
        self.flash_attn = flash_attn
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_batch=PREFILL_BATCH,
                n_ubatch=PREFILL_BATCH,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=self.n_gpu_layers,
                logits_all=False,
                seed=seed,
                # A sliding-window cache forgets old cells, and then a cached prefix cannot be cut back
                # to an earlier position; the full-size cache keeps prefix reuse possible (Gemma 3).
                swa_full=True,
                flash_attn=flash_attn,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"llama.cpp could not load {name} from {self.path}: {exc}; check the file with: seqmoe-local models"
            ) from exc
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
        self._bos_text = self._token_text(llama_cpp.llama_vocab_bos(self._vocab))
        self._formatter: Any = self._chat_formatter() if self.has_chat_template else None
        self.has_chat_template = self._formatter is not None
        self.chunk = chunk or derived_chunk(self.n_vocab, scoring_memory_mb)
        self.repeat_penalty = repeat_penalty
        self.loop_guard = loop_guard
        self.reuse_prefix = reuse_prefix
        self._batch = llama_cpp.llama_batch_init(max(self.chunk, PREFILL_BATCH), 0, 1)
        self._cached: list[int] = []  # tokens whose KV cells sequence 0 holds, from position 0
        #: prompt tokens evaluated (not found in the cache) since load, by scoring and generation together
        self.prefilled_tokens = 0
        stat = self.path.stat()
        self.identity: tuple[object, ...] = (str(self.path), stat.st_size, stat.st_mtime_ns, self.n_ctx)
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
        self._cached = []

    @property
    def cached_tokens(self) -> int:
        """How many tokens the KV cache holds (a prefix a later prompt may reuse)."""
        return len(self._cached)

    def save_state(self) -> SavedState | None:
        """The KV cache of sequence 0 and its tokens, to restore after a reload (None when empty)."""
        with self._lock:
            if not self._cached:
                return None
            size = llama_cpp.llama_state_seq_get_size(self._ctx, 0)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(self._ctx, buffer, size, 0)
            if written == 0:
                log.info("%s: llama.cpp returned no sequence state; it will re-read its prompt", self.name)
                return None
            return SavedState(self.identity, tuple(self._cached), bytes(buffer)[:written])

    def restore_state(self, state: SavedState) -> bool:
        """Load a saved KV cache; False (and an empty cache) when it does not fit this model."""
        with self._lock:
            if state.identity != self.identity:
                log.info("%s: saved state is from another file or context; re-reading the prompt", self.name)
                return False
            self._clear()
            buffer = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
            read = llama_cpp.llama_state_seq_set_data(self._ctx, buffer, len(state.data), 0)
            if read == 0:
                log.warning("%s: llama.cpp could not restore the saved state; re-reading the prompt", self.name)
                self._clear()
                return False
            self._cached = list(state.tokens)
            return True

    # -- tokens ------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_bos: bool | None = None, special: bool = False) -> list[int]:
        """Tokens of `text`, with a start token exactly when the model's GGUF asks for one.

        `special` lets template text spell control tokens ("<|im_start|>"); message
        text never does, so a user cannot forge a turn.
        """
        return self._llm.tokenize(text.encode("utf-8"), add_bos=self.add_bos if add_bos is None else add_bos,
                                  special=special)

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def token_offsets(self, text: str, tokens: Sequence[int]) -> np.ndarray:
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

    # -- prompt layout -----------------------------------------------------------------------

    def _chat_formatter(self) -> Any:
        """A renderer of the GGUF's chat template, or None (then the plain layout is used)."""
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        try:
            return llama_cpp.llama_chat_format.Jinja2ChatFormatter(
                template=template, eos_token=self._token_text(llama_cpp.llama_vocab_eos(self._vocab)),
                bos_token=self._bos_text, add_generation_prompt=True,
            )
        except Exception as exc:  # noqa: BLE001 - any template error: fall back, never fail the load
            log.warning("%s: cannot use its chat template (%s); using the plain layout", self.name, exc)
            return None

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return llama_cpp.llama_vocab_get_text(self._vocab, token).decode("utf-8", errors="replace")

    def _chat_pieces(self, context: Sequence[Message], message: str, instruction: str | None) -> list[Piece] | None:
        """The chat-template prompt as pieces, or None when the template cannot render it."""
        markers = [f"\x1eSEQMOE{i}\x1e" for i in range(len(context) + 1)]
        messages = [{"role": m.role, "content": markers[i]} for i, m in enumerate(context)]
        messages.append({"role": "user", "content": markers[-1]})
        try:
            rendered = self._formatter(messages=messages).prompt
        except Exception as exc:  # noqa: BLE001 - a template that refuses these roles: plain layout
            log.info("%s: chat template cannot render this conversation (%s); using the plain layout", self.name, exc)
            return None
        fixed = re.split("|".join(re.escape(m) for m in markers), rendered)
        if len(fixed) != len(markers) + 1 or any(rendered.count(m) != 1 for m in markers):
            log.info("%s: chat template rewrites message text; using the plain layout", self.name)
            return None
        pieces: list[Piece] = []
        contents = [m.content for m in context] + [message]
        for text, content in zip(fixed, contents, strict=False):
            pieces += [Piece(text, False), Piece(content, True)]
        if instruction is not None:
            if instruction:
                pieces.append(Piece(INSTRUCTION_SEPARATOR + instruction, True))
            pieces.append(Piece(fixed[-1], False))
        return pieces

    def _pieces(self, context: Sequence[Message], message: str, instruction: str | None) -> list[Piece]:
        pieces = None
        if self._formatter is not None:
            pieces = self._chat_pieces(context, message, instruction)
        return pieces if pieces is not None else plain_pieces(context, message, instruction)

    def _layout(self, context: Sequence[Message], message: str, instruction: str | None) -> _Layout:
        """Tokens of the prompt for `message` after `context` (and, for generation, `instruction`).

        Each piece is tokenized on its own, so the tokens up to the end of the message
        are the same whether the prompt stops there (routing) or goes on (generation).
        """
        pieces = self._pieces(context, message, instruction)
        # Both layouts put the message last in the routing prompt: the generation prompt only adds to it.
        message_index = len(pieces) - 1 if instruction is None else len(self._pieces(context, message, None)) - 1
        tokens: list[int] = []
        message_start = message_end = 0
        for i, piece in enumerate(pieces):
            if i == message_index:
                message_start = len(tokens)
            if piece.text:
                # A start token goes first, unless the template writes it itself.
                add_bos = not tokens and self.add_bos and not (self._bos_text and piece.text.startswith(self._bos_text))
                if add_bos and i == message_index:
                    message_start += 1
                tokens += self.tokenize(piece.text, add_bos=add_bos, special=not piece.content)
            if i == message_index:
                message_end = len(tokens)
        return _Layout(tokens, message_start, message_end)

    def prompt_tokens(self, *, context: Sequence[Message], message: str, instruction: str) -> int:
        """How many tokens the generation prompt for these arguments takes."""
        return len(self._layout(context, message, instruction).tokens)

    # -- evaluation --------------------------------------------------------------------------

    def _reuse(self, tokens: Sequence[int], limit: int) -> int:
        """Keep the cached prefix of `tokens` (at most `limit` tokens); returns its length."""
        keep = 0
        if self.reuse_prefix:
            cached = self._cached
            n = min(len(cached), len(tokens), limit)
            while keep < n and cached[keep] == tokens[keep]:
                keep += 1
        if keep == len(self._cached):
            return keep
        if keep == 0 or not llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self._ctx), 0, keep, -1):
            self._clear()  # a cache that cannot be cut back there is read again from the start
            return 0
        del self._cached[keep:]
        return keep

    def _decode(self, tokens: Sequence[int], start: int, all_logits: bool) -> None:
        """Decode tokens[start:] at their positions; logits for every row, or for the last one only."""
        batch, rows = self._batch, len(tokens) - start
        for i in range(rows):  # batch fields are not initialised: set all of them every time
            batch.token[i] = tokens[start + i]
            batch.pos[i] = start + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = 1 if all_logits or i == rows - 1 else 0
        batch.n_tokens = rows
        status = llama_cpp.llama_decode(self._ctx, batch)
        if status != 0:
            self._clear()
            raise EngineError(f"{self.name}: llama_decode failed with status {status}; "
                              f"if it repeats, check the model file with: seqmoe-local models")
        self._cached.extend(tokens[start:])

    def _prefill(self, tokens: Sequence[int], until: int) -> None:
        """Bring tokens[:until] into the KV cache, reading only what is not cached yet."""
        position = self._reuse(tokens, until)
        self.prefilled_tokens += until - position
        while position < until:
            end = min(until, position + PREFILL_BATCH)
            self._decode(tokens[:end], position, all_logits=False)
            position = end

    # -- scoring -----------------------------------------------------------------------------

    def score(self, text: str, *, context: Sequence[Message] = ()) -> Score:
        """Per-token NLLs of `text`, read as a user message after `context` (see expert.Expert.score).

        Chunk by chunk, logits for every token of the message only; the context is
        read (or found in the KV cache) without them. A prompt longer than the
        context window keeps its last n_ctx tokens; message tokens dropped are
        reported as ``truncated_tokens`` and count as not predicted.
        """
        if not text.strip():
            raise UsageError("cannot score an empty text")
        with self._lock:
            started = time.perf_counter()
            if context:
                layout = self._layout(context, text, None)
            else:  # the bare text, as the templated router and the reference score it
                tokens = self.tokenize(text)
                layout = _Layout(tokens, 1 if self.add_bos else 0, len(tokens))
            message = layout.tokens[layout.message_start : layout.message_end]
            offsets = self.token_offsets(text, message)
            dropped = max(0, len(layout.tokens) - self.n_ctx)
            tokens = layout.tokens[dropped:]
            first = layout.message_start - dropped  # the message's first token in `tokens` (may be < 0)
            prefilled_before = self.prefilled_tokens
            lo = max(first, 1)  # the first token of a prompt is never predicted
            nll_all = self._score_tokens(tokens, lo)
            nll = np.full(len(message), np.nan)
            nll[lo - first :] = nll_all[lo:]
            return Score(
                model=self.name,
                text=text,
                tokens=np.asarray(message, dtype=np.int32),
                offsets=offsets,
                nll=nll,
                n_bytes=len(text.encode("utf-8")),
                chunk=self.chunk,
                truncated_tokens=max(0, -first),
                prefilled_tokens=self.prefilled_tokens - prefilled_before,
                seconds=time.perf_counter() - started,
            )

    def _score_tokens(self, tokens: list[int], first: int) -> np.ndarray:
        """NLL of tokens[i] given the ones before it, for i >= first (NaN before)."""
        n = len(tokens)
        out = np.full(n, np.nan)
        if first >= n:
            return out
        # Rows first-1 .. n-2 predict tokens first .. n-1; what comes before is read as plain
        # context, or found in the KV cache. The rows that give logits are always decoded now.
        self._prefill(tokens, first - 1)
        self.prefilled_tokens += n - (first - 1)
        for begin in range(first - 1, n, self.chunk):
            end = min(n, begin + self.chunk)
            rows = end - begin
            self._decode(tokens[:end], begin, all_logits=True)
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
        return out

    # -- generation --------------------------------------------------------------------------

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
        """Stream a greedy (temperature 0) answer (see expert.Expert.generate).

        Chat models get their chat template; base models the plain layout of
        `prompts`, with its stop strings. Only the part of the prompt that the KV
        cache does not hold yet is evaluated.
        """
        layout = self._layout(context, message, instruction)
        stops = list(stop) if self._formatter is not None else [*PLAIN_STOPS, *stop]
        prompt = self._llm.detokenize(layout.tokens, special=True).decode("utf-8", errors="replace")
        generation = Generation(pieces=_nothing(), prompt=prompt, prompt_tokens=len(layout.tokens))
        generation.pieces = self._stream(generation, layout.tokens, max_tokens, stops, should_stop)
        return generation

    def _stream(
        self,
        generation: Generation,
        tokens: list[int],
        max_tokens: int,
        stops: list[str],
        should_stop: Callable[[], bool] | None,
    ) -> Generator[str, None, None]:
        with self._lock:
            started = time.perf_counter()
            if len(tokens) >= self.n_ctx:
                raise UsageError(
                    f"{self.name}: the prompt is {len(tokens)} tokens but the context holds {self.n_ctx}; shorten the "
                    f"question, or raise context_length for {self.name} in models.toml (see: seqmoe-local paths)"
                )
            max_tokens = min(max_tokens, self.n_ctx - len(tokens))
            before = self.prefilled_tokens
            try:
                self._prefill(tokens, len(tokens) - 1)
                self._decode(tokens, len(tokens) - 1, all_logits=False)  # the last prompt token gives the first logits
                self.prefilled_tokens += 1
                generation.prefilled_tokens = self.prefilled_tokens - before
                yield from self._sample(generation, max_tokens, stops, should_stop, started)
            finally:
                generation.seconds = time.perf_counter() - started

    def _sample(
        self,
        generation: Generation,
        max_tokens: int,
        stops: list[str],
        should_stop: Callable[[], bool] | None,
        started: float,
    ) -> Generator[str, None, None]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        guard = LoopGuard() if self.loop_guard else None
        hold = max((len(s) for s in stops), default=1) - 1  # text that may still become a stop string
        pending = ""
        generation.finish_reason = "length"
        for step in range(max_tokens):
            if should_stop is not None and should_stop():
                generation.finish_reason = "cancelled"
                break
            row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, -1), shape=(self.n_vocab,))
            if self.repeat_penalty != 1.0:
                row = row.copy()
                apply_repeat_penalty(row, self._cached[-PENALTY_LAST_N:], self.repeat_penalty)
            token = int(np.argmax(row))
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                generation.finish_reason = "stop"
                break
            generation.n_tokens += 1
            pending += decoder.decode(self._piece(token))
            cut = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                pending = pending[:cut]
                generation.finish_reason = "stop"
                break
            ready = len(pending) - hold if hold else len(pending)
            if ready > 0:
                yield from self._emit(generation, pending[:ready], started)
                pending = pending[ready:]
            if guard is not None and guard.push(token):
                generation.finish_reason = "repetition"
                break
            if step + 1 < max_tokens:
                self._decode(self._cached + [token], len(self._cached), all_logits=False)
        pending += decoder.decode(b"", final=True)
        if pending:
            yield from self._emit(generation, pending, started)

    @staticmethod
    def _emit(generation: Generation, text: str, started: float) -> Iterator[str]:
        if generation.first_token_seconds is None:
            generation.first_token_seconds = time.perf_counter() - started
        generation.text.append(text)
        yield text


def _nothing() -> Generator[str, None, None]:
    yield from ()


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
