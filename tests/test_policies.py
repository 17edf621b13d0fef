"""Policies scored on a small hand-made outcome table with known numbers, the oracle included."""

from __future__ import annotations

import time

import numpy as np
import pytest
from evalfakes import cell, make_item_data, record

from seqmoe_local.config import AppConfig, Profile, RouterConfig
from seqmoe_local.evaluation.policies import (
    SuiteData,
    bootstrap_intervals,
    expert_policy,
    gather,
    native_policy,
    paired_interval,
    route_record,
    router_policy,
    score,
    simulate_loads,
    standard_policies,
)
from seqmoe_local.evaluation.suites import Check, Item
from seqmoe_local.evaluation.table import OutcomeTable

SMOL, QWEN, GEMMA = "smollm2-135m", "qwen-coder", "gemma3-270m"


@pytest.fixture
def profile(config: AppConfig) -> Profile:
    return config.profile("demo")  # natives: solve gemma, explain smollm2, code qwen


def four_items() -> SuiteData:
    """i1: the coder is right and 22% lower than native gemma; i2: gemma right, the coder only 6% lower;
    i3 (code): coder and smollm2 right, smollm2 cheaper; i4: nobody right."""
    items = [
        make_item_data("i1", record("i1", [{SMOL: 1.0, QWEN: 0.7, GEMMA: 0.9}], ["solve"], [GEMMA]),
                       {SMOL: False, QWEN: True, GEMMA: False}),
        make_item_data("i2", record("i2", [{SMOL: 1.0, QWEN: 0.85, GEMMA: 0.9}], ["solve"], [GEMMA]),
                       {SMOL: False, QWEN: False, GEMMA: True}),
        make_item_data("i3", record("i3", [{SMOL: 1.2, QWEN: 0.5, GEMMA: 1.0}], ["code"], [QWEN]),
                       {SMOL: True, QWEN: True, GEMMA: False}, tokens={SMOL: 5, QWEN: 20}),
        make_item_data("i4", record("i4", [{SMOL: 0.8, QWEN: 0.9, GEMMA: 1.0}], ["solve"], [GEMMA]),
                       {SMOL: False, QWEN: False, GEMMA: False}),
    ]
    return SuiteData("t", [SMOL, QWEN, GEMMA], items, missing=0, load_s={SMOL: 0.1, QWEN: 0.3, GEMMA: 0.5})


def test_known_rates_for_every_policy_and_the_oracle(profile: Profile) -> None:
    policies = standard_policies(profile, RouterConfig())
    result = score(policies, four_items(), profile, pool_capacity=2)
    rates = {p.name: (p.correct, p.n) for p in result.policies}
    assert rates == {"native": (2, 4), SMOL: (1, 4), QWEN: (2, 4), GEMMA: (1, 4), "router": (3, 4),
                     "lowest-loss": (2, 4), "oracle": (3, 4)}
    assert [p.name for p in policies][-1] == "oracle" and "configured" not in rates
    by_name = {p.name: p for p in result.policies}
    assert by_name["router"].outcomes == [True, True, True, False]
    assert result.best_single == QWEN and result.oracle_gap == pytest.approx(0.25)
    oracle = by_name["oracle"]
    assert oracle.picks[SMOL] == pytest.approx(0.5)  # i3: the cheaper right answer; i4: nobody right, cheapest
    assert by_name["router"].tokens_scored == 30 and by_name[QWEN].tokens_scored == 0
    assert by_name["router"].picks == pytest.approx({SMOL: 0.25, QWEN: 0.5, GEMMA: 0.25})


def test_the_router_policy_is_the_live_decision_rule(profile: Profile) -> None:
    rec = record("x", [{SMOL: 1.0, QWEN: 0.7, GEMMA: 0.9}], ["solve"], [GEMMA])
    assert route_record(rec, RouterConfig()) == (QWEN,)  # 22% gain >= 20%
    assert route_record(rec, RouterConfig(min_relative_gain=0.3)) == (GEMMA,)
    assert route_record(rec, RouterConfig(tau=0.1, min_relative_gain=0.0)) == (QWEN,)
    # stage 1 with tau 0.2 drops gemma (0.9 > 1.2 x 0.7 = 0.84): the native is not active
    assert route_record(rec, RouterConfig(tau=0.2, min_relative_gain=0.5)) == (QWEN,)
    # a factor on the coder's loss (its typical loss is lower) hands the segment back to gemma
    scaled = RouterConfig(min_relative_gain=0.0, loss_scale={QWEN: {"solve": 1.5}})
    assert route_record(rec, scaled) == (GEMMA,)


def test_a_configured_router_is_listed_when_it_differs(profile: Profile) -> None:
    names = [p.name for p in standard_policies(profile, RouterConfig(tau=0.1))]
    assert names == ["native", SMOL, QWEN, GEMMA, "router", "lowest-loss", "configured", "oracle"]


def test_items_without_the_cell_a_policy_needs_are_left_out_for_all(profile: Profile) -> None:
    two_part = record("m", [{SMOL: 1.0, QWEN: 0.85, GEMMA: 0.9}, {SMOL: 1.2, QWEN: 0.5, GEMMA: 1.0}],
                      ["solve", "code"], [GEMMA, QWEN])
    data = four_items()
    data.items.append(make_item_data("m", two_part, {SMOL: False, QWEN: True, GEMMA: False}))
    policies = [native_policy(), expert_policy(QWEN), router_policy("router", RouterConfig(), "shipped")]
    result = score(policies, data, profile, pool_capacity=2)
    assert result.uncovered == {"native": 1, QWEN: 0, "router": 1} and len(result.items) == 4
    data.items[-1] = make_item_data("m", two_part, {SMOL: False, QWEN: True, GEMMA: False},
                                    mixed={(GEMMA, QWEN): True})
    result = score(policies, data, profile, pool_capacity=2)
    assert result.items[-1] == "m" and [p.correct for p in result.policies] == [3, 3, 4]


def test_loads_follow_the_pool_lru(profile: Profile) -> None:
    data = four_items()
    records = [d.record for d in data.items]
    native = simulate_loads(native_policy(), [(GEMMA,), (GEMMA,), (QWEN,), (GEMMA,)], records, profile, 2)
    assert native == [[GEMMA], [], [QWEN], []]
    # a router scores every expert on every item: with room for two of three, each item loads again
    routed = simulate_loads(router_policy("r", RouterConfig(), ""), [(QWEN,)] * 4, records, profile, 2)
    assert len(routed[0]) == 3 and all(len(items) >= 1 for items in routed[1:])
    assert simulate_loads(router_policy("r", RouterConfig(), ""), [(QWEN,)] * 4, records, profile, 3)[1:] == [[]] * 3


def test_bootstrap_intervals() -> None:
    intervals = bootstrap_intervals(np.array([[1, 1, 1, 1], [0, 0, 0, 0]], dtype=float))
    assert intervals.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    half = bootstrap_intervals(np.array([[1.0, 0.0] * 50]))[0]
    assert 0.38 < half[0] < 0.45 and 0.55 < half[1] < 0.62  # about 0.5 +- 1.96 x 0.05
    diff, lo, hi = paired_interval([True] * 10, [False] * 10)
    assert (diff, lo, hi) == (1.0, 1.0, 1.0)


def test_rescoring_ten_policies_on_a_thousand_items(profile: Profile) -> None:
    rng = np.random.default_rng(1)
    items = []
    for n in range(1000):
        losses = {e: float(rng.uniform(0.5, 1.5)) for e in (SMOL, QWEN, GEMMA)}
        right = {e: bool(rng.random() < 0.4) for e in (SMOL, QWEN, GEMMA)}
        items.append(make_item_data(f"i{n}", record(f"i{n}", [losses], ["solve"], [GEMMA]), right))
    data = SuiteData("t", [SMOL, QWEN, GEMMA], items, 0, {})
    policies = standard_policies(profile, RouterConfig(tau=0.2))
    policies += [router_policy(f"m{m}", RouterConfig(min_relative_gain=m / 10), "") for m in range(2)]
    assert len(policies) == 10
    started = time.perf_counter()
    result = score(policies, data, profile, pool_capacity=2)
    elapsed = time.perf_counter() - started
    assert all(p.n == 1000 for p in result.policies)
    print(f"scored 10 policies on 1000 items in {elapsed:.2f} s")  # shown with -s; no threshold (house rule)


def test_number_checks_are_applied_again_to_stored_texts(tmp_path, profile: Profile) -> None:
    """A fix to the number extraction reaches stored answers: a restated question is no answer."""
    item = Item(suite="t", id="q", query="How many?", check=Check(number=20))
    table = OutcomeTable(tmp_path)
    rec = record("q", [{SMOL: 1.0, QWEN: 0.7, GEMMA: 0.9}], ["solve"], [GEMMA])
    table.add(rec.model_copy(update={"fingerprint": item.fingerprint()}))
    texts = {SMOL: "Answer: 20", QWEN: "She needs 20 cups.", GEMMA: "What if the flock is 20 chickens?"}
    for expert, text in texts.items():
        stored = cell("q", [expert], correct=True).model_copy(update={
            "fingerprint": item.fingerprint(), "texts": [text], "checks": {"number": True}})
        table.add(stored)
    data = gather(table, "t", [item], profile, dict.fromkeys((SMOL, QWEN, GEMMA), "0" * 64), "g", "r")
    (only,) = data.items
    assert {c.experts[0]: c.correct for c in only.cells.values()} == {SMOL: True, QWEN: True, GEMMA: False}
