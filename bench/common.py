"""What the bench/ scripts share: comma-separated list options and Markdown tables.
(Each script runs as `python3 bench/<script>.py`, so this folder is on its path.)"""
from __future__ import annotations

import argparse


def csv_list(text: str, convert=str) -> list:
    """An argparse type: "a,b,c" as a non-empty list of convert(part)."""
    try:
        values = [convert(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("the list is empty")
    return values


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: header left-aligned, cells right-aligned, columns padded."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)
