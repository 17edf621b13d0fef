"""The loop guard and the repetition penalty on hand-made token streams (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from seqmoe_local.repetition import LoopGuard, apply_repeat_penalty


def feed(tokens: list[int]) -> int | None:
    """The number of tokens after which the guard fired, or None."""
    guard = LoopGuard()
    for count, token in enumerate(tokens, start=1):
        if guard.push(token):
            return count
    return None


def test_a_repeated_line_is_stopped_after_two_extra_copies() -> None:
    line = list(range(100, 120))  # a 20-token line
    fired = feed(list(range(10)) + line * 10)
    assert fired == 10 + 20 + 40  # the line, then two whole copies (40 >= 32 repeated tokens)


def test_one_token_repeated_needs_thirty_two() -> None:
    assert feed([5] * 40) == 33


def test_ordinary_text_and_short_repeats_pass() -> None:
    rng = np.random.default_rng(0)
    assert feed(rng.integers(0, 50_000, size=2000).tolist()) is None
    closing_braces = [1, 2, 3, 4] + [7, 8] * 12  # "}\n" twelve times: 24 repeated tokens, under the bar
    assert feed(closing_braces) is None


def test_long_cycles_beyond_the_window_are_not_loops() -> None:
    block = list(range(1000, 1100))  # a 100-token paragraph quoted twice is not a loop we look for
    assert feed(block * 2) is None


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_repeat_penalty_matches_llama_cpp_rule(penalty: float) -> None:
    logits = np.array([2.0, -2.0, 1.0, 0.5], dtype=np.float32)
    apply_repeat_penalty(logits, [0, 1, 1], penalty)
    assert logits.tolist() == pytest.approx([2.0 / penalty, -2.0 * penalty, 1.0, 0.5])
