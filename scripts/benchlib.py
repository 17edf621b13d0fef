"""What the benchmark scripts share: a plain-text table for their side-by-side figures, argument types."""

from __future__ import annotations

import argparse


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
