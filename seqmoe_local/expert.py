"""What every expert offers the router and the pipeline, wherever it runs.

A local GGUF under llama.cpp (`engine.Model`) and an expert on a serving engine
implement the same two calls, so the router, the pipeline, the TUI and eval need
no special cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .prompts import Message
from .scores import Score

FinishReason = Literal["stop", "length", "cancelled", "repetition", "failed"]


@dataclass
class Generation:
    """A streamed generation: iterate for text pieces; the counts are final after iteration.

    ``prompt`` is the prompt exactly as the model read it (template included),
    ``prompt_tokens`` its length, ``prefilled_tokens`` how many of them were
    evaluated now (the rest came from the KV cache of an earlier call).
    """

    pieces: Iterator[str]
    prompt: str = ""
    prompt_tokens: int = 0
    prefilled_tokens: int = 0
    n_tokens: int = 0
    finish_reason: FinishReason = "stop"
    seconds: float = 0.0
    first_token_seconds: float | None = None
    text: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        return self.pieces


class Expert(Protocol):
    """The interface of an expert model (local or remote)."""

    name: str
    #: the expert renders its own chat template (False: the plain layout of `prompts`)
    has_chat_template: bool
    #: tokens of prompt plus answer that fit the expert's context
    n_ctx: int

    def score(self, text: str, *, context: Sequence[Message] = ()) -> Score:
        """Per-token NLLs of `text`, read as a user message that follows `context`.

        The Score covers `text` only: offsets are byte ranges in `text`, and tokens of
        the context are conditioning, not scored. With no context, `text` is scored
        alone (a model without a start token then does not predict its first token).
        """
        ...

    def generate(
        self,
        *,
        context: Sequence[Message],
        message: str,
        instruction: str,
        max_tokens: int,
        stop: Sequence[str] = (),
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        """Stream a greedy answer to `context`, then a user turn of `message` and `instruction`.

        The prompt up to the end of `message` is exactly what `score(message,
        context=context)` read. Stops at the end of the turn, `max_tokens`, a stop
        string, a repetition loop ("repetition"), or when `should_stop()` turns true
        ("cancelled", checked between tokens).
        """
        ...

    def prompt_tokens(self, *, context: Sequence[Message], message: str, instruction: str) -> int:
        """How many tokens the generation prompt for these arguments takes."""
        ...
