"""What the benchmark scripts share: a plain-text table for their side-by-side figures, argument types, and
filling a llama.cpp batch for the scripts that decode without the engine."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print rows under headers, the first column left-aligned and the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=False))))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))))


def positive(value: str) -> int:
    """An argparse type: a whole number >= 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def fill_batch(batch: Any, tokens: Sequence[int], start: int, *, all_logits: bool) -> None:
    """Put `tokens` at positions start.. of sequence 0 into a llama_batch; logits for all or the last only.

    llama_batch_init does not initialise its fields, so every one of them is set.
    """
    for i, token in enumerate(tokens):
        batch.token[i] = token
        batch.pos[i] = start + i
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = 0
        batch.logits[i] = 1 if all_logits or i == len(tokens) - 1 else 0
    batch.n_tokens = len(tokens)
