"""Where seqmoe-local keeps its files.

Defaults come from platformdirs; each directory can be moved with an environment
variable, which is also how the tests point every user path at a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "seqmoe-local"

#: environment variables that override the platformdirs defaults
ENV_CONFIG_DIR = "SEQMOE_CONFIG_DIR"
ENV_CACHE_DIR = "SEQMOE_CACHE_DIR"
ENV_DATA_DIR = "SEQMOE_DATA_DIR"
ENV_MODELS_DIR = "SEQMOE_MODELS_DIR"


def _dir(env: str, default: str) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else Path(default)


def config_dir() -> Path:
    """Directory of the user's config (holds an optional models.toml override)."""
    return _dir(ENV_CONFIG_DIR, platformdirs.user_config_dir(APP_NAME))


def cache_dir() -> Path:
    """Directory for re-creatable data: downloaded models, download state."""
    return _dir(ENV_CACHE_DIR, platformdirs.user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Directory for data the user would miss: conversation history, eval results."""
    return _dir(ENV_DATA_DIR, platformdirs.user_data_dir(APP_NAME))


def user_config_file() -> Path:
    """The user's models.toml, layered over the shipped one when it exists."""
    return config_dir() / "models.toml"


def default_models_dir() -> Path:
    """Where GGUF files live unless models.toml sets `models_dir`."""
    value = os.environ.get(ENV_MODELS_DIR)
    return Path(value).expanduser() if value else cache_dir() / "models"
