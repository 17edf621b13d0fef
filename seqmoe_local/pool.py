"""Lazy, LRU-bounded set of loaded experts.

Experts load on first use; at most `max_resident` stay loaded (and, when a memory
budget is set, only as many as fit its estimate). Every load and eviction is
reported as a PoolEvent with its duration, for the CLI and the TUI.

An evicted expert's KV cache (its sequence state: the conversation it has read)
stays in RAM, within `state_cache_mb`, and is restored when the expert loads
again, so a reloaded expert does not re-read the conversation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .config import AppConfig, ExpertConfig, Profile, RemoteExpertConfig
from .engine import Model, SavedState, derived_chunk, rss_bytes
from .errors import MemoryBudgetError, ModelMissingError
from .gguf import GGUFInfo
from .pull import check_model_file
from .remote import RemoteModel

log = logging.getLogger(__name__)

MB = 1_000_000
_OVERHEAD = 64 * MB  # llama.cpp context, graph and tokenizer buffers beyond KV cache and logits


@dataclass(frozen=True)
class PoolEvent:
    """A model was loaded or evicted."""

    kind: Literal["load", "evict"]
    expert: str
    seconds: float
    rss_before: int
    rss_after: int
    resident: tuple[str, ...]
    #: on load: tokens of KV cache restored from before its eviction; on evict: tokens kept
    state_tokens: int = 0


def context_size(expert: ExpertConfig, info: GGUFInfo) -> int:
    """The context an expert runs with: its configured length, capped by what the model was trained for."""
    return min(expert.context_length, info.context_length or expert.context_length)


def estimate_bytes(expert: ExpertConfig, info: GGUFInfo, scoring_memory_mb: float) -> int:
    """Rough resident size once loaded and used: weights + f16 KV cache + logit buffers + overhead.

    A count that is not a plain integer (some architectures store head counts per layer, as an
    array whose items the header reader skips) takes the default, which keeps the KV estimate at
    the full multi-head size: an upper bound, never a crash.
    """
    arch = info.architecture

    def count(key: str, default: int) -> int:
        value = info.integer(f"{arch}.{key}")
        return default if value is None else value

    layers = count("block_count", 0)
    embd = count("embedding_length", 0)
    heads = count("attention.head_count", 1) or 1
    kv_heads = count("attention.head_count_kv", heads) or heads
    key_dim = count("attention.key_length", embd // heads)
    value_dim = count("attention.value_length", embd // heads)
    kv = context_size(expert, info) * layers * kv_heads * (key_dim + value_dim) * 2
    vocab = info.vocab_size or 32000
    chunk = expert.score_chunk or derived_chunk(vocab, scoring_memory_mb)
    logits = 2 * chunk * vocab * 4
    return info.file_size + kv + logits + _OVERHEAD


class ModelPool:
    """Loads the experts of one profile on demand and keeps the most recently used ones."""

    def __init__(
        self,
        config: AppConfig,
        profile: Profile,
        *,
        max_resident: int | None = None,
        memory_budget_mb: float | None = None,
        on_event: Callable[[PoolEvent], None] | None = None,
        reuse_prefix: bool = True,
    ) -> None:
        """`reuse_prefix=False` makes every call re-read its whole prompt (for benchmarks)."""
        self.config = config
        self.profile = profile
        self.max_resident = max_resident or config.pool.max_resident
        budget = memory_budget_mb if memory_budget_mb is not None else config.pool.memory_budget_mb
        self.budget_bytes = int(budget * MB) if budget else None
        self.on_event = on_event
        self._models: OrderedDict[str, Model] = OrderedDict()
        self._estimates: dict[str, int] = {}
        self._lock = threading.RLock()
        self.events: list[PoolEvent] = []
        self.reuse_prefix = reuse_prefix
        self._states: OrderedDict[str, SavedState] = OrderedDict()  # evicted experts' KV caches, oldest first
        self._state_budget = int(config.pool.state_cache_mb * MB) if reuse_prefix else 0
        self._remotes: dict[str, RemoteModel] = {}  # remote experts: never loaded, never counted or evicted

    @property
    def resident(self) -> list[str]:
        """Loaded experts, least recently used first."""
        return list(self._models)

    def expert(self, name: str) -> ExpertConfig | RemoteExpertConfig:
        try:
            return self.profile.experts[name]
        except KeyError:
            raise ModelMissingError(
                f"unknown expert {name!r} in profile {self.profile.name!r} (experts: {', '.join(self.profile.experts)})"
            ) from None

    def check_file(self, name: str) -> GGUFInfo | None:
        """Check an expert's file is present, whole and the one models.toml names, without loading it.

        None for a remote expert: it has no file.
        """
        if isinstance(self.expert(name), RemoteExpertConfig):
            return None
        return check_model_file(self.config, self.profile, name)

    def get(self, name: str) -> Model | RemoteModel:
        """The loaded model for `name`, loading it (and evicting others) if needed."""
        with self._lock:
            remote = self._remote(name)
            if remote is not None:
                return remote
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
            expert = self.expert(name)
            if isinstance(expert, RemoteExpertConfig):  # made by _remote above; keeps the types honest
                raise ModelMissingError(f"remote expert {name!r} has no model file to load")
            info = check_model_file(self.config, self.profile, name)
            estimate = estimate_bytes(expert, info, self.config.engine.scoring_memory_mb)
            self._make_room(name, estimate)
            before = rss_bytes()
            started = time.perf_counter()
            model = Model(
                name,
                info.path,
                n_ctx=context_size(expert, info),
                n_gpu_layers=expert.n_gpu_layers,
                n_threads=self.config.engine.n_threads,
                chunk=expert.score_chunk,
                scoring_memory_mb=self.config.engine.scoring_memory_mb,
                seed=self.config.engine.seed,
                expected_size=expert.size,
                chat=expert.chat,
                repeat_penalty=expert.repeat_penalty,
                loop_guard=self.config.pipeline.loop_guard,
                reuse_prefix=self.reuse_prefix,
                flash_attn=self.config.engine.flash_attn,
            )
            state = self._states.pop(name, None)
            restored = state is not None and model.restore_state(state)
            self._models[name] = model
            self._estimates[name] = estimate
            self._emit("load", name, time.perf_counter() - started, before, model.cached_tokens if restored else 0)
            return model

    def _remote(self, name: str) -> RemoteModel | None:
        """A remote expert's client, made on first use; None for a local expert.

        Remote experts hold no weights here: they are not in `resident`, not counted
        toward max_resident or the memory budget, and emit no load events.
        """
        if name not in self._remotes:
            expert = self.expert(name)
            if not isinstance(expert, RemoteExpertConfig):
                return None
            self._remotes[name] = RemoteModel(expert)
        return self._remotes[name]

    def _make_room(self, name: str, estimate: int) -> None:
        if self.budget_bytes is not None and estimate > self.budget_bytes:
            raise MemoryBudgetError(
                f"expert {name!r} needs about {estimate / MB:,.0f} MB but the memory budget is "
                f"{self.budget_bytes / MB:,.0f} MB; raise [pool] memory_budget_mb in models.toml or pick a smaller "
                "model"
            )
        while self._models and (
            len(self._models) >= self.max_resident
            or (self.budget_bytes is not None and sum(self._estimates.values()) + estimate > self.budget_bytes)
        ):
            self.evict(next(iter(self._models)))

    def evict(self, name: str) -> None:
        """Unload `name` now, freeing its memory."""
        with self._lock:
            model = self._models.pop(name, None)
            if model is None:
                return
            self._estimates.pop(name, None)
            before = rss_bytes()
            started = time.perf_counter()
            kept = self._keep_state(name, model)
            model.close()
            self._emit("evict", name, time.perf_counter() - started, before, kept)

    def _keep_state(self, name: str, model: Model) -> int:
        """Keep an evicting model's KV cache in RAM (oldest kept states go first); returns its tokens."""
        if self._state_budget <= 0:
            return 0
        state = model.save_state()
        if state is None or len(state.data) > self._state_budget:
            return 0
        self._states[name] = state
        while sum(len(s.data) for s in self._states.values()) > self._state_budget:
            dropped, _ = self._states.popitem(last=False)
            log.info("dropped the saved KV cache of %s: [pool] state_cache_mb is full", dropped)
        return len(state.tokens) if name in self._states else 0

    def close(self) -> None:
        """Evict everything (nothing is loaded again, so no state is kept)."""
        with self._lock:
            budget, self._state_budget = self._state_budget, 0
            try:
                for name in list(self._models):
                    self.evict(name)
            finally:
                self._state_budget = budget
            self._states.clear()
            for remote in self._remotes.values():
                remote.close()

    def _emit(
        self, kind: Literal["load", "evict"], name: str, seconds: float, before: int, state_tokens: int = 0
    ) -> None:
        event = PoolEvent(kind, name, seconds, before, rss_bytes(), tuple(self._models), state_tokens)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def __enter__(self) -> ModelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
