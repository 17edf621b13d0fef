"""The llama.cpp engine on the real demo GGUFs: exact scoring, determinism, generation, bad files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from seqmoe_local.config import AppConfig, Profile, load_config
from seqmoe_local.engine import Model
from seqmoe_local.errors import ModelFileError, UsageError

QUESTION = (
    "A train travels 120 km in 1.5 hours. Find its average speed, explain how you got it, "
    "then write a Python function that computes average speed. Prix: 12 € — naïve café 😀."
)
LONG = " ".join(
    f"Step {i}: the quantity x_{i} equals {i * 7 % 13} times y, so the total grows by {i * 3} units each round."
    for i in range(14)
)
EXPERTS = ["smollm2-135m", "qwen-coder", "gemma3-270m"]


@pytest.fixture(scope="module")
def loaded(models_dir: Path) -> Iterator[dict[str, Model]]:
    """One loaded Model per demo expert for the whole module (loads are the slow part)."""
    experts = load_config(use_user_file=False).profile("demo").experts
    models = {name: Model(name, models_dir / experts[name].filename, n_ctx=2048) for name in EXPERTS}
    yield models
    for model in models.values():
        model.close()


def reference_nll(path: Path, text: str, chunk: int) -> np.ndarray:
    """Independent per-token NLLs from llama-cpp-python's own full logits, same batching."""
    llm = llama_cpp.Llama(
        str(path), n_ctx=2048, n_batch=chunk, n_ubatch=chunk, logits_all=True, verbose=False,
        n_threads=2, n_threads_batch=2,
    )
    try:
        tokens = llm.tokenize(text.encode(), add_bos=True)  # follows the GGUF's add_bos flag
        llm.eval(tokens)
        logits = llm.scores[: len(tokens)].astype(np.float64)
        peak = logits.max(axis=1)
        lse = np.log(np.exp(logits - peak[:, None]).sum(axis=1)) + peak
        return lse[:-1] - logits[np.arange(len(tokens) - 1), tokens[1:]]
    finally:
        llm.close()


@pytest.mark.parametrize("name", EXPERTS)
def test_chunked_scoring_matches_full_logits(loaded: dict[str, Model], name: str) -> None:
    model = loaded[name]
    score = model.score(QUESTION)
    expected = reference_nll(model.path, QUESTION, model.chunk)
    assert score.n_tokens == len(expected) + 1
    assert np.isnan(score.nll[0])
    assert np.max(np.abs(score.nll[1:] - expected)) < 1e-4


@pytest.mark.parametrize("name", EXPERTS)
def test_scoring_is_deterministic_with_other_texts_in_between(loaded: dict[str, Model], name: str) -> None:
    model = loaded[name]
    first = model.score(QUESTION)
    model.score(LONG)
    list(model.generate(system="", user="Say hi.", max_tokens=4))
    again = model.score(QUESTION)
    assert np.array_equal(first.nll, again.nll, equal_nan=True)


@pytest.mark.parametrize("name", EXPERTS)
def test_bits_per_byte_adds_up(loaded: dict[str, Model], name: str) -> None:
    model = loaded[name]
    score = model.score(QUESTION)
    assert score.total_nll == pytest.approx(float(np.nansum(score.nll)))
    assert score.bits_per_byte == pytest.approx(score.total_nll / np.log(2) / score.covered_bytes)
    # Offsets tile the text's bytes in order.
    assert score.offsets[0, 0] == 0 and score.offsets[-1, 1] == score.n_bytes
    assert np.all(score.offsets[1:, 0] == score.offsets[:-1, 1])
    # Spans that partition the text partition the loss, even with cuts inside tokens and characters.
    cuts = [0, 7, 40, 41, 99, score.n_bytes]
    parts = [score.span_nll(a, b) for a, b in zip(cuts, cuts[1:])]
    assert sum(p[0] for p in parts) == pytest.approx(score.total_nll, rel=1e-9)
    assert sum(p[1] for p in parts) == pytest.approx(score.covered_bytes)


def test_covered_bytes_with_and_without_start_token(loaded: dict[str, Model]) -> None:
    gemma, smol = loaded["gemma3-270m"], loaded["smollm2-135m"]
    assert gemma.add_bos and not smol.add_bos  # as the GGUFs say
    with_bos, without = gemma.score(QUESTION), smol.score(QUESTION)
    assert with_bos.first_covered_byte == 0 and with_bos.covered_bytes == with_bos.n_bytes
    first_token_bytes = int(without.offsets[0, 1])
    assert without.first_covered_byte == first_token_bytes > 0
    assert without.covered_bytes == without.n_bytes - first_token_bytes


@pytest.mark.parametrize("name", ["qwen-coder", "gemma3-270m"])
def test_chunk_sizes_agree_on_total(config: AppConfig, demo: Profile, name: str) -> None:
    path = config.model_path(demo.experts[name])
    totals = []
    for chunk in (64, 512):
        with Model(name, path, n_ctx=2048, chunk=chunk) as model:
            score = model.score(LONG)
            assert score.n_tokens >= 300
            totals.append(score.total_nll)
    assert totals[0] == pytest.approx(totals[1], rel=0.005)


def test_text_longer_than_context_keeps_the_tail(config: AppConfig, demo: Profile) -> None:
    with Model("smollm2-135m", config.model_path(demo.experts["smollm2-135m"]), n_ctx=256) as model:
        score = model.score(LONG * 2)
        assert score.truncated_tokens == score.n_tokens - 256
        assert score.n_scored == 255 and np.isnan(score.nll[: score.truncated_tokens + 1]).all()
        assert np.isfinite(score.bits_per_byte)


def test_empty_text_is_a_usage_error(loaded: dict[str, Model]) -> None:
    with pytest.raises(UsageError, match="empty"):
        loaded["smollm2-135m"].score("  \n")


def test_generation_is_greedy_bounded_and_cancellable(loaded: dict[str, Model]) -> None:
    model = loaded["qwen-coder"]
    runs = [model.generate(system="Be brief.", user="Write a Python function that adds two numbers.", max_tokens=12)
            for _ in range(2)]
    texts = ["".join(run) for run in runs]
    assert texts[0] == texts[1] and texts[0].strip()
    assert runs[0].n_tokens <= 12 and runs[0].finish_reason in {"length", "stop"}
    seen: list[str] = []
    cancelled = model.generate(system="", user="Count from 1 to 50.", max_tokens=64, should_stop=lambda: len(seen) >= 3)
    for piece in cancelled:
        seen.append(piece)
    assert cancelled.finish_reason == "cancelled" and len(seen) == 3


def test_base_model_uses_plain_completion(loaded: dict[str, Model]) -> None:
    gemma = loaded["gemma3-270m"]
    assert not gemma.has_chat_template
    run = gemma.generate(system="", user="2 + 3 =", max_tokens=6)
    assert "".join(run) and run.n_tokens <= 6


def test_non_gguf_and_truncated_files_never_reach_llama_cpp(tmp_path: Path, config: AppConfig, demo: Profile) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        Model("junk", junk)
    source = config.model_path(demo.experts["smollm2-135m"])
    cut = tmp_path / "cut.gguf"
    with source.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(5_000_000))
    with pytest.raises(ModelFileError, match="truncated"):
        Model("cut", cut)
    header_only = tmp_path / "header.gguf"
    header_only.write_bytes(source.read_bytes()[:4000])
    with pytest.raises(ModelFileError, match="truncated"):
        Model("header", header_only)
    whole = tmp_path / "whole.gguf"
    shutil.copyfile(source, whole)
    with pytest.raises(ModelFileError, match="expected 1"):
        Model("whole", whole, expected_size=1)
