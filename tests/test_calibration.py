"""Calibration: a synthetic table with a known per-expert offset, the fit and the held-out check,
writing models.toml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from evalfakes import make_item_data, record

from seqmoe_local import paths
from seqmoe_local.config import AppConfig, Profile, RouterConfig, load_config, tomllib
from seqmoe_local.errors import ConfigError
from seqmoe_local.evaluation import calibration, write_router_settings
from seqmoe_local.evaluation.policies import ItemData, SuiteData, score, standard_policies

SMOL, QWEN, GEMMA = "smollm2-135m", "qwen-coder", "gemma3-270m"
OFFSET = 1.5  # gemma's losses run 1.5x the coder's on the same difficulty


def synthetic(n: int = 240, seed: int = 3) -> list[ItemData]:
    """Solve items where the expert with the lower *normalised* loss is right.

    Each expert has a per-item difficulty x in [0.5, 1.0]; its loss is x times its own size
    offset (coder 1.0, gemma 1.5, smollm2 2.0). The coder or gemma, whichever has the lower x, is
    right; smollm2 never is. Raw losses almost always favour the coder.
    """
    rng = np.random.default_rng(seed)
    items = []
    for k in range(n):
        x = {e: float(rng.uniform(0.5, 1.0)) for e in (SMOL, QWEN, GEMMA)}
        losses = {QWEN: x[QWEN], GEMMA: OFFSET * x[GEMMA], SMOL: 2.0 * x[SMOL]}
        winner = QWEN if x[QWEN] < x[GEMMA] else GEMMA
        right = {SMOL: False, QWEN: winner == QWEN, GEMMA: winner == GEMMA}
        # No native: the margin (itself a crude offset on the native) cannot stand in for the factors.
        items.append(make_item_data(f"s{k}", record(f"s{k}", [losses], ["solve"], [None]), right))
    return items


@pytest.fixture
def profile(config: AppConfig) -> Profile:
    return config.profile("demo")


def test_normalisation_recovers_the_known_offset() -> None:
    factors = calibration.typical_factors(synthetic(), [SMOL, QWEN, GEMMA])
    ratio = factors[QWEN]["solve"] / factors[GEMMA]["solve"]
    assert ratio == pytest.approx(OFFSET, rel=0.08)
    assert factors[QWEN]["solve"] / factors[SMOL]["solve"] == pytest.approx(2.0, rel=0.08)
    assert set(factors[QWEN]) == {"*", "solve"}


def test_fit_beats_raw_losses_on_held_out_items(profile: Profile) -> None:
    items = synthetic()
    train, test = calibration.split(items, 0.5)
    assert 80 < len(test) < 160 and not {i.item for i in train} & {i.item for i in test}
    fits = {f.signal: f for f in calibration.fit(train, [SMOL, QWEN, GEMMA])}
    assert set(fits) == {"raw", "normalised", "fitted"}
    chosen = calibration.pick(list(fits.values()))
    assert chosen.signal == "fitted"

    def held_out_rate(settings: RouterConfig) -> float:
        right, _ = calibration.objective(test, settings)
        return right / len(test)

    assert held_out_rate(fits["raw"].settings) <= 0.75  # raw bits per byte cannot see the offset
    # Normalising alone also makes smollm2 (never right) look as good as the others; the fitted
    # factors learn to hold it back and recover the coder/gemma offset.
    assert held_out_rate(chosen.settings) >= 0.95
    scale = chosen.settings.loss_scale
    assert scale[QWEN]["solve"] / scale[GEMMA]["solve"] == pytest.approx(OFFSET, rel=0.1)
    # the oracle on these items is 100%, the best single expert about 50%
    data = SuiteData("t", [SMOL, QWEN, GEMMA], test, 0, {})
    result = score(standard_policies(profile, chosen.settings), data, profile, 2)
    rates = {p.name: p.rate for p in result.policies}
    assert rates["oracle"] == 1.0 and rates["configured"] >= 0.95 and max(rates[QWEN], rates[GEMMA]) < 0.7


def test_split_is_stable_as_the_table_grows() -> None:
    small = {i.item for i in calibration.split(synthetic(50), 0.5)[1]}
    large = {i.item for i in calibration.split(synthetic(200), 0.5)[1]}
    assert small == {i for i in large if int(i[1:]) < 50}


# -- writing the user's models.toml --------------------------------------------------------------


FITTED = RouterConfig(tau=0.2, min_relative_gain=0.05, loss_scale={QWEN: {"*": 1.2, "solve": 1.4}, GEMMA: {"*": 0.9}})


def test_router_tables_are_replaced_and_the_rest_kept() -> None:
    before = ('# mine\n[engine]\nn_threads = 2\n\n[router]\ntau = 0.9\nscoring = "templated"\n\n'
              '[router.loss_scale]\nqwen-coder = { "*" = 3.0 }\n\n[pool]\nmax_resident = 3\n')
    after = calibration.rewrite_router(before, FITTED, Path("models.toml"))
    data = tomllib.loads(after)
    assert data["engine"] == {"n_threads": 2} and data["pool"] == {"max_resident": 3}
    assert data["router"] == {"tau": 0.2, "min_relative_gain": 0.05, "scoring": "single_pass",
                              "loss_scale": {QWEN: {"*": 1.2, "solve": 1.4}, GEMMA: {"*": 0.9}}}
    assert after.startswith("# mine\n[engine]") and after.count("[router]") == 1
    assert RouterConfig.model_validate(data["router"]) == FITTED


def test_dotted_router_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="sets router keys outside a \\[router\\] table"):
        calibration.rewrite_router("router.tau = 0.3\n", FITTED, Path("models.toml"))


def test_write_router_settings_to_the_user_file_is_loaded_back() -> None:
    target = paths.user_config_file()
    before, after = write_router_settings(target, FITTED)
    assert before == "" and target.read_text() == after
    assert load_config().router == FITTED


def test_a_broken_user_file_is_left_alone() -> None:
    target = paths.user_config_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("[router\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        write_router_settings(target, FITTED)
    assert target.read_text() == "[router\n"
