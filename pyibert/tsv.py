"""Reading labelled text from tab-separated files (standard library only: it runs
on the device for `pyibert eval`), and labels as label ids."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

csv.field_size_limit(sys.maxsize)


def read_columns(path: Path, columns: list[str]) -> list[tuple[str, ...]]:
    """The named columns of every row of a TSV file with a header row."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty")
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"{path} has no column {', '.join(map(repr, missing))}; its columns are {header}")
        index = [header.index(c) for c in columns]
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            rows.append(tuple(row[i] for i in index))
    return rows


def label_ids(values: list[str], labels: list[str]) -> list[int]:
    """Each label as an id of `labels`: given as a name (any case) or as an id."""
    by_name = {name.lower(): i for i, name in enumerate(labels)}
    ids = []
    for value in values:
        if value.lower() in by_name:
            ids.append(by_name[value.lower()])
        elif value.isdigit() and int(value) < len(labels):
            ids.append(int(value))
        else:
            raise ValueError(f"label {value!r} is neither a label id below {len(labels)} nor one of {labels}")
    return ids
