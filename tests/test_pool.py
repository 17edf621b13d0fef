"""The lazy LRU model pool on the real demo models."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqmoe_local.config import AppConfig, Profile, RemoteExpertConfig, load_config
from seqmoe_local.engine import rss_bytes
from seqmoe_local.errors import MemoryBudgetError, ModelMissingError
from seqmoe_local.pool import ModelPool, PoolEvent

TEXT = "Find the sum of the first 20 odd numbers, then explain why it is a perfect square."


def test_max_resident_one_holds_one_model_at_a_time(config: AppConfig, demo: Profile) -> None:
    events: list[PoolEvent] = []
    with ModelPool(config, demo, max_resident=1, on_event=events.append) as pool:
        for name in demo.experts:
            assert pool.get(name).score(TEXT).n_scored > 0
            assert pool.resident == [name]
        pool.get(name)  # already resident: no new load
    kinds = [(e.kind, e.expert) for e in events]
    names = list(demo.experts)
    assert kinds == [
        ("load", names[0]), ("evict", names[0]), ("load", names[1]),
        ("evict", names[1]), ("load", names[2]), ("evict", names[2]),
    ]
    assert all(e.seconds >= 0 for e in events) and all(len(e.resident) <= 1 for e in events)


def test_eviction_really_frees_memory(config: AppConfig, demo: Profile) -> None:
    with ModelPool(config, demo, max_resident=1) as pool:
        pool.get("qwen-coder").score(TEXT * 4)  # touch weights and buffers
        loaded = rss_bytes()
        pool.evict("qwen-coder")
        freed = loaded - rss_bytes()
    assert freed > 300e6, f"evicting a 491 MB model freed only {freed / 1e6:.0f} MB"


def test_lru_order_with_two_resident(config: AppConfig, demo: Profile) -> None:
    with ModelPool(config, demo, max_resident=2) as pool:
        pool.get("smollm2-135m")
        pool.get("gemma3-270m")
        pool.get("smollm2-135m")  # now most recent
        pool.get("qwen-coder")  # evicts gemma, the least recent
        assert pool.resident == ["smollm2-135m", "qwen-coder"]


def test_model_over_budget_is_refused_before_loading(config: AppConfig, demo: Profile) -> None:
    with ModelPool(config, demo, memory_budget_mb=400) as pool:
        pool.get("smollm2-135m")
        with pytest.raises(MemoryBudgetError) as info:
            pool.get("qwen-coder")
        assert "MB but the memory budget is 400 MB" in str(info.value)
        assert pool.resident == ["smollm2-135m"]  # nothing was evicted for a model that cannot fit


def test_budget_evicts_to_make_room(config: AppConfig, demo: Profile) -> None:
    with ModelPool(config, demo, max_resident=3, memory_budget_mb=900) as pool:
        pool.get("qwen-coder")
        pool.get("gemma3-270m")  # 491 + 253 MB of weights plus caches do not fit 900 MB together
        assert pool.resident == ["gemma3-270m"]


def test_missing_file_names_the_pull_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQMOE_MODELS_DIR", str(tmp_path / "empty"))
    config = load_config(use_user_file=False)
    with ModelPool(config, config.profile("demo")) as pool, pytest.raises(ModelMissingError) as info:
        pool.get("gemma3-270m")
    assert "seqmoe-local pull gemma3-270m --profile demo" in str(info.value)


def test_memory_estimate_takes_per_layer_head_counts_as_an_upper_bound(demo: Profile) -> None:
    """A head count stored per layer (an array the header reader keeps only the length of) is no crash."""
    from seqmoe_local.gguf import GGUFArray, GGUFInfo
    from seqmoe_local.pool import estimate_bytes

    expert = demo.experts["qwen-coder"]
    assert not isinstance(expert, RemoteExpertConfig)
    plain = {"general.architecture": "qwen2", "qwen2.block_count": 24, "qwen2.embedding_length": 896,
             "qwen2.attention.head_count": 14, "qwen2.attention.head_count_kv": 2}
    per_layer = {**plain, "qwen2.attention.head_count_kv": GGUFArray(item_type=4, count=24)}
    full_heads = {**plain, "qwen2.attention.head_count_kv": 14}

    def estimate(metadata: dict[str, object]) -> int:
        return estimate_bytes(expert, GGUFInfo(Path("m.gguf"), 3, 1000, 0, metadata), 80.0)

    assert estimate(plain) < estimate(per_layer) == estimate(full_heads)
