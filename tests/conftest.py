"""Shared fixtures: every user path in a temp dir, real demo models from one shared directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqmoe_local import paths
from seqmoe_local.config import AppConfig, Profile, load_config

DEMO = "demo"


def _shared_models_dir() -> Path:
    # Read before any test moves the user directories: the demo GGUFs (about 850 MB)
    # are fetched once per machine, not once per test.
    value = os.environ.get("SEQMOE_TEST_MODELS_DIR")
    return Path(value) if value else paths.default_models_dir()


SHARED_MODELS = _shared_models_dir()


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The directory holding the demo profile's GGUFs, checked (and fetched if missing) by the real pull code."""
    from seqmoe_local.pull import pull_experts

    config = load_config(use_user_file=False)
    old = os.environ.get(paths.ENV_MODELS_DIR)
    os.environ[paths.ENV_MODELS_DIR] = str(SHARED_MODELS)
    try:
        results = pull_experts(config, list(config.profile(DEMO).experts.values()))
    finally:
        if old is None:
            os.environ.pop(paths.ENV_MODELS_DIR, None)
        else:
            os.environ[paths.ENV_MODELS_DIR] = old
    failed = [f"{r.expert}: {r.error}" for r in results if r.status == "failed"]
    assert not failed, f"demo models unavailable; run `seqmoe-local pull --profile demo`: {failed}"
    return SHARED_MODELS


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config, cache and data directories at a temp dir; models at the shared directory."""
    home = tmp_path / "seqmoe-home"
    monkeypatch.setenv(paths.ENV_CONFIG_DIR, str(home / "config"))
    monkeypatch.setenv(paths.ENV_CACHE_DIR, str(home / "cache"))
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(home / "data"))
    monkeypatch.setenv(paths.ENV_MODELS_DIR, str(SHARED_MODELS))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")  # no test talks to anything but 127.0.0.1
    return home


@pytest.fixture
def config() -> AppConfig:
    return load_config(use_user_file=False)


@pytest.fixture
def demo(config: AppConfig, models_dir: Path) -> Profile:
    """The demo profile, its files guaranteed present."""
    return config.profile(DEMO)
