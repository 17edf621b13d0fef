"""Two-stage routing: the decision rule on hand-made losses, then the real demo experts."""

from __future__ import annotations

import numpy as np
import pytest

from seqmoe_local.config import AppConfig, Profile
from seqmoe_local.pipeline import Pipeline
from seqmoe_local.prompts import context_messages
from seqmoe_local.router import Routing, choose, route
from seqmoe_local.scores import Score
from seqmoe_local.segmenter import segment

THREE_PART = (
    "A train travels 120 km in 1.5 hours. Find its average speed, explain how you got it, "
    "then write a Python function that computes average speed."
)


# -- the decision rule, on hand-made numbers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("losses", "native", "expected", "reason"),
    [
        ({"a": 1.0, "b": 0.85}, "a", "a", "native_kept"),  # 15% better: not enough
        ({"a": 1.0, "b": 0.80}, "a", "b", "native_overridden"),  # exactly 20%: enough
        ({"a": 0.9, "b": 1.0}, "a", "a", "lowest_loss"),
        ({"a": 1.0, "b": 0.95}, None, "b", "lowest_loss"),
        ({"a": 1.0, "b": 0.95}, "c", "b", "lowest_loss"),  # native not active
        ({"b": 2.0}, "a", "b", "only_active"),
    ],
)
def test_stage2_native_rule(losses: dict[str, float], native: str | None, expected: str, reason: str) -> None:
    expert, why, detail = choose("solve", losses, native, 0.20)
    assert (expert, why) == (expected, reason) and detail


def fake_score(model: str, text: str, per_byte: float, bos: bool) -> Score:
    """A Score with a constant NLL per byte: one token per byte (a fake expert for the maths)."""
    data = text.encode()
    offsets = np.array([(i, i + 1) for i in range(len(data))], dtype=np.int64)
    nll = np.full(len(data), per_byte)
    if not bos:
        nll[0] = np.nan
    return Score(model, text, np.zeros(len(data), np.int32), offsets, nll, len(data), 64)


def test_stage1_cutoff_and_common_bytes(config: AppConfig) -> None:
    profile = config.profile("demo")
    rates = {"smollm2-135m": 1.0, "gemma3-270m": 1.4, "qwen-coder": 1.6}
    question = "Find 2+2, then explain it."
    routing = route(
        question, segment(question), profile, config.router,
        lambda name, text: fake_score(name, text, rates[name], bos=name == "gemma3-270m"),
    )
    assert routing.common_start_byte == 1  # the no-BOS experts never predict byte 0
    assert routing.best == "smollm2-135m" and routing.cutoff == pytest.approx(1.5 / np.log(2))
    assert set(routing.active) == {"smollm2-135m", "gemma3-270m"}
    assert routing.excluded == ["qwen-coder"]
    solve = routing.assignments[0]
    assert solve.kind == "solve" and solve.expert == "smollm2-135m" and solve.reason == "native_overridden"


# -- the real demo experts ---------------------------------------------------------------------------


@pytest.fixture
def pipeline(config: AppConfig, demo: Profile):
    pipe = Pipeline(config, demo)
    yield pipe
    pipe.close()


def test_pure_code_request_goes_to_the_coder(pipeline: Pipeline) -> None:
    routing = pipeline.route("Write a Python function that returns the n-th Fibonacci number.")
    assert [a.kind for a in routing.assignments] == ["code"]
    assert routing.assignments[0].expert == "qwen-coder"


def test_tau_zero_keeps_only_the_best(config: AppConfig, demo: Profile) -> None:
    strict = config.model_copy(update={"router": config.router.model_copy(update={"tau": 0.0})})
    pipe = Pipeline(strict, demo)
    try:
        routing = pipe.route(THREE_PART)
    finally:
        pipe.close()
    assert routing.active == [routing.best] and len(routing.excluded) == 2
    assert all(routing.stage1[e] > routing.cutoff for e in routing.excluded)
    assert {a.expert for a in routing.assignments} == {routing.best}


def test_native_rule_on_real_losses(pipeline: Pipeline) -> None:
    routing = pipeline.route(THREE_PART)
    assert [a.kind for a in routing.assignments] == ["solve", "explain", "code"]
    for a in routing.assignments:
        assert set(a.losses) == set(routing.active)
        native = a.native
        best = min(a.losses, key=a.losses.get)
        if a.reason == "native_overridden":
            assert a.expert == best and a.losses[best] <= 0.8 * a.losses[native]
        elif a.reason == "native_kept":
            assert a.expert == native and a.losses[best] > 0.8 * a.losses[native]
        else:
            assert a.reason == "lowest_loss" and a.expert == best


def test_segment_losses_add_up_to_the_whole_query(pipeline: Pipeline) -> None:
    """Single pass: segment spans (and the gaps between) partition the whole-query loss."""
    routing = pipeline.route(THREE_PART)
    context = context_messages(pipeline.config.pipeline.system, [])  # what the router reads the question after
    for name in routing.active:
        score = pipeline.pool.get(name).score(THREE_PART, context=context)
        cuts = sorted({routing.common_start_byte, score.n_bytes}
                      | {max(b, routing.common_start_byte)
                         for s in routing.segments for b in (s.byte_start, s.byte_end)})
        pieces = sum(score.span_nll(a, b)[0] for a, b in zip(cuts, cuts[1:], strict=False))
        whole, n_bytes = score.span_nll(routing.common_start_byte, score.n_bytes)
        assert pieces == pytest.approx(whole, rel=1e-9)
        assert routing.stage1[name] == pytest.approx(whole / np.log(2) / n_bytes)
    assert routing.tokens_scored and all(n > 20 for n in routing.tokens_scored.values())


def test_fenced_code_block_stays_intact(pipeline: Pipeline) -> None:
    question = "Fix this code:\n```python\ndef f(x):\n    return x +\n```\nThen explain what was wrong."
    routing = pipeline.route(question)
    block = "```python\ndef f(x):\n    return x +\n```"
    holders = [s for s in routing.segments if block in s.text]
    assert len(holders) == 1 and holders[0].kind == "code"
    assert [a.kind for a in routing.assignments] == ["code", "explain"]
    assert Routing.model_validate_json(routing.model_dump_json()) == routing


def test_one_token_question_is_routed_in_context(pipeline: Pipeline) -> None:
    """"hello" alone is one token for the experts without a start token; read after the system text,
    every expert predicts all of it, so it is routed by loss like any question."""
    routing = pipeline.route("hello")
    assert routing.common_start_byte == 0 and set(routing.stage1) == set(routing.active) | set(routing.excluded)
    assert len(routing.assignments) == 1 and routing.assignments[0].reason != "unscored"
    assert routing.assignments[0].expert in routing.active
    assert Routing.model_validate_json(routing.model_dump_json()) == routing


def test_one_token_text_without_common_bytes_is_unscored_not_crashed(demo: Profile, config: AppConfig) -> None:
    """Scored bare (as the templated router scores), "hello" leaves no bytes every expert predicts."""
    scores = {name: fake_score(name, "hello", 1.0, bos=False) for name in demo.experts}
    for s in scores.values():
        s.nll[:] = np.nan  # one token, unpredicted
    routing = route("hello", segment("hello"), demo, config.router, lambda name, text: scores[name])
    assert routing.stage1 == {} and routing.best is None and routing.excluded == []
    assert len(routing.assignments) == 1 and routing.assignments[0].reason == "unscored"


def test_templated_scoring_costs_more_tokens(config: AppConfig, demo: Profile, pipeline: Pipeline) -> None:
    templated = config.model_copy(update={"router": config.router.model_copy(update={"scoring": "templated"})})
    single = pipeline.route(THREE_PART)
    other = Pipeline(templated, demo, pool=pipeline.pool).route(THREE_PART)
    assert other.scoring == "templated" and len(other.assignments) == 3
    assert sum(other.tokens_scored.values()) > 2 * sum(single.tokens_scored.values())
