"""The live router with calibrated per-expert loss factors (RouterConfig.loss_scale), on made-up losses."""

from __future__ import annotations

import pytest
from evalfakes import RATES, fake_score
from pydantic import ValidationError

from seqmoe_local.config import AppConfig, RouterConfig
from seqmoe_local.router import route, stage1_active
from seqmoe_local.segmenter import segment

QUESTION = "Find 2+2, then explain it."  # solve (native gemma) and explain (native smollm2)


def test_no_factors_is_todays_router(config: AppConfig) -> None:
    profile = config.profile("demo")
    routing = route(QUESTION, segment(QUESTION), profile, RouterConfig(), fake_score)
    # coder 0.7 vs native gemma 0.8 (12.5%): kept; coder 0.7 vs native smollm2 0.9 (22%): overridden
    assert [(a.kind, a.expert, a.reason) for a in routing.assignments] == [
        ("solve", "gemma3-270m", "native_kept"), ("explain", "qwen-coder", "native_overridden")]
    assert "bpb" in routing.assignments[0].detail and "scaled" not in routing.assignments[0].detail


def test_factors_change_both_stages_and_keep_raw_losses(config: AppConfig) -> None:
    profile = config.profile("demo")
    # The coder's typical loss is low everywhere: a factor of 1.3 on explain (0.91 nats/byte) leaves gemma
    # (0.8) the lowest, only 11% under native smollm2 (0.9): kept. A stage-1 factor of 2 on smollm2 puts it
    # out of stage 1 (1.8 > 1.5 x 0.7), and explain then goes to the lowest active expert, the coder.
    explain_back = RouterConfig(loss_scale={"qwen-coder": {"explain": 1.3}})
    routing = route(QUESTION, segment(QUESTION), profile, explain_back, fake_score)
    assert [a.expert for a in routing.assignments] == ["gemma3-270m", "smollm2-135m"]
    assert "scaled bpb" in routing.assignments[1].detail
    assert routing.assignments[1].losses["qwen-coder"] == pytest.approx(RATES["qwen-coder"] / 0.6931471805599453)
    drop = RouterConfig(loss_scale={"smollm2-135m": {"*": 2.0}})
    routing = route(QUESTION, segment(QUESTION), profile, drop, fake_score)
    assert routing.excluded == ["smollm2-135m"] and routing.assignments[1].expert == "qwen-coder"


def test_stage1_on_no_losses_keeps_everyone() -> None:
    assert stage1_active({}, ["a", "b"], RouterConfig()) == (None, None, ["a", "b"])


@pytest.mark.parametrize("factor", [0.0, -1.0, float("inf"), float("nan")])
def test_factors_must_be_positive_numbers(factor: float) -> None:
    with pytest.raises(ValidationError, match="a factor must be a positive number"):
        RouterConfig(loss_scale={"qwen-coder": {"solve": factor}})
