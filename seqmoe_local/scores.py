"""Per-token losses of a text under one model, and the sums the router reads off them.

Kept apart from the engine so that routing maths can be used (and tested) without
loading llama.cpp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Score:
    """Per-token negative log-likelihoods of one text under one model.

    The tokens are those of the text only: a start token, or the conversation the
    text was read after, conditions them but is not part of the Score.
    ``offsets[i]`` is the UTF-8 byte range of token i in the text. ``nll[i]`` is
    NaN where the model made no prediction: the first token of a text read alone by
    a model without a start token, and tokens dropped from the front when the
    prompt is longer than the context (``truncated_tokens``).
    ``prefilled_tokens`` counts the prompt tokens evaluated for this score (the
    rest of the prompt came from the model's KV cache).
    """

    model: str
    text: str
    tokens: np.ndarray  # int32 token ids
    offsets: np.ndarray  # (n, 2) int64 byte ranges
    nll: np.ndarray  # float64 nats, NaN where not predicted
    n_bytes: int
    chunk: int
    truncated_tokens: int = 0
    prefilled_tokens: int = 0
    seconds: float = 0.0

    @property
    def predicted(self) -> np.ndarray:
        return ~np.isnan(self.nll)

    @property
    def total_nll(self) -> float:
        """Sum of the predicted tokens' NLLs, in nats."""
        return float(self.nll[self.predicted].sum())

    @property
    def n_tokens(self) -> int:
        return int(self.tokens.size)

    @property
    def n_scored(self) -> int:
        return int(self.predicted.sum())

    @property
    def covered_bytes(self) -> int:
        """Bytes of the text that predicted tokens cover."""
        spans = self.offsets[self.predicted]
        return int((spans[:, 1] - spans[:, 0]).sum())

    @property
    def first_covered_byte(self) -> int:
        """Where predicted coverage starts: 0 with a start token, else the end of the first token."""
        spans = self.offsets[self.predicted]
        return int(spans[0, 0]) if len(spans) else self.n_bytes

    @property
    def bits_per_byte(self) -> float:
        return self.total_nll / LN2 / self.covered_bytes if self.covered_bytes else float("nan")

    def span_nll(self, start: int, end: int) -> tuple[float, float]:
        """(nats, bytes) of the predicted tokens inside the byte range [start, end).

        A token that straddles a boundary contributes the fraction of its NLL equal
        to the fraction of its bytes inside the range, so adjacent ranges that
        partition the text partition the total exactly.
        """
        spans = self.offsets[self.predicted].astype(np.float64)
        nll = self.nll[self.predicted]
        width = spans[:, 1] - spans[:, 0]
        inside = np.clip(np.minimum(spans[:, 1], end) - np.maximum(spans[:, 0], start), 0, None)
        share = np.divide(inside, width, out=np.zeros_like(inside), where=width > 0)
        return float((nll * share).sum()), float(inside.sum())
