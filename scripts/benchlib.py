"""What the benchmark scripts share: a plain-text table for their side-by-side figures, their JSON output, argument
types, and filling a llama.cpp batch for the scripts that decode without the engine."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print rows under headers, the first column left-aligned and the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=False))))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))))


def write_json(path: Path | None, data: object) -> None:
    """Write a run's figures to `path` (when one was given), making its folder."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1))


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
