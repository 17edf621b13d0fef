"""Stop a generation that has fallen into a loop, and the repetition penalty.

Tiny greedy models repeat themselves ("150 x 1.5 = 225 km/h" until the token
limit). A loop is a cycle in the token stream: the last L tokens are a block of
`period` tokens repeated, with L long enough that ordinary text does not do it by
chance. Both are pure functions of the tokens, so greedy decoding stays
deterministic with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: longest cycle looked for, in tokens (a repeated line of a few words is 10-30 tokens)
MAX_PERIOD = 64
#: a cycle counts once it has repeated this many tokens beyond its first occurrence...
MIN_REPEATED = 32
#: ...and at least this many whole extra copies of itself
MIN_EXTRA_COPIES = 2
#: tokens before the current one that the repetition penalty looks at (llama.cpp's default)
PENALTY_LAST_N = 64


class LoopGuard:
    """Feed tokens one by one; `push` turns true when the output has become a loop.

    For each candidate period p it keeps how many consecutive positions, ending
    at the newest token, equal the token p places earlier. The tail of length
    ``run + p`` is then p-periodic. O(MAX_PERIOD) work per token.
    """

    def __init__(self, max_period: int = MAX_PERIOD, min_repeated: int = MIN_REPEATED,
                 min_extra_copies: int = MIN_EXTRA_COPIES) -> None:
        self.max_period = max_period
        self.min_repeated = min_repeated
        self.min_extra_copies = min_extra_copies
        self.tokens: list[int] = []
        self._runs = [0] * (max_period + 1)
        #: the period of the loop found, once `push` returned True
        self.period: int | None = None

    def push(self, token: int) -> bool:
        """Add the next generated token; True when the output now ends in a loop."""
        tokens = self.tokens
        tokens.append(token)
        n = len(tokens)
        for p in range(1, min(self.max_period, n - 1) + 1):
            run = self._runs[p] + 1 if tokens[n - 1 - p] == token else 0
            self._runs[p] = run
            if run >= max(self.min_repeated, self.min_extra_copies * p):
                self.period = p
                return True
        return False


def apply_repeat_penalty(logits: np.ndarray, recent: Sequence[int], penalty: float) -> None:
    """llama.cpp's repetition penalty, in place: recent tokens' logits are divided (>0) or multiplied (<0)."""
    if penalty == 1.0 or not recent:
        return
    ids = np.unique(np.asarray(recent, dtype=np.int64))
    values = logits[ids]
    logits[ids] = np.where(values > 0, values / penalty, values * penalty)
