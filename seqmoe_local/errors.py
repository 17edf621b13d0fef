"""The project's own exceptions.

Library code raises these; only the CLI/TUI boundary turns them into user messages.
Every message should name the problem and, where there is one, the next action.
"""

from __future__ import annotations


class SeqmoeError(Exception):
    """Base class of every error seqmoe-local raises on purpose."""

    #: process exit status the CLI uses for this kind of error
    exit_code: int = 1


class UsageError(SeqmoeError):
    """The user asked for something malformed (empty question, unknown option value)."""

    exit_code = 2


class ConfigError(SeqmoeError):
    """models.toml (or a user override) is missing, unparsable or invalid."""

    exit_code = 3


class ModelMissingError(SeqmoeError):
    """An expert's GGUF file is not on disk; the message names the pull command."""

    exit_code = 4


class ModelFileError(SeqmoeError):
    """An expert's file exists but is not a usable GGUF (truncated, wrong magic, wrong size)."""

    exit_code = 4


class ModelLoadError(SeqmoeError):
    """llama.cpp refused to load a model file that passed our checks."""

    exit_code = 4


class MemoryBudgetError(SeqmoeError):
    """A model would not fit the configured memory budget; refused before loading."""

    exit_code = 5


class EngineError(SeqmoeError):
    """llama.cpp failed while scoring or generating."""


class PullError(SeqmoeError):
    """A model download or assembly failed; partial data is kept only where it can be resumed."""

    exit_code = 6


class OutputError(SeqmoeError):
    """Our output cannot be written: standard output closed, on a full disk, or failing."""

    exit_code = 7


class Cancelled(SeqmoeError):
    """The user cancelled a running operation; partial results are kept by the caller."""

    exit_code = 130
