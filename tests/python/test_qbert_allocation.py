"""--max-size parsing, file-size accounting and the exact DP allocation (checked against brute force)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from pyibert.convert.errors import ConversionError
from pyibert.qbert.allocate import Item, allocate, total_bytes
from pyibert.qbert.sizes import TENSOR_OVERHEAD, embedding_bytes, linear_bytes, parse_size


@pytest.mark.parametrize("text,size", [
    ("12980000B", 12_980_000), ("12.98MB", 12_980_000), ("11MiB", 11 * 2**20), ("900kB", 900_000),
    ("900KiB", 900 * 1024), (" 1.5 GB ", 1_500_000_000), ("0.5MiB", 2**19), ("1KB", 1000)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["12", "12 MBs", "mb", "-3MB", "0B", "1e6B", "12,5MB", "MiB12"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_byte_accounting():
    assert linear_bytes(384, 384, 8, 32) == 384 * 384
    assert linear_bytes(384, 384, 4, 0) == 384 * 192 + 384 + TENSOR_OVERHEAD  # the one-column X.qsub
    assert linear_bytes(384, 1536, 3, 64) == 384 * 576 + 384 * 24 + TENSOR_OVERHEAD
    # int8 or packed rows, and one int32 multiplier + int32 shift per row (FORMAT.md §3.1)
    assert embedding_bytes(30522, 384, 8) == 30522 * 384 + 30522 * 8
    assert embedding_bytes(30522, 384, 4) == 30522 * 192 + 30522 * 8 + TENSOR_OVERHEAD


def _random_items(rng, count):
    items = []
    for i in range(count):
        widths = (8, 4, 3, 2)
        size = int(rng.integers(1, 20)) * 1000
        sens = rng.uniform(0.1, 10)
        items.append(Item(f"l{i}", widths, tuple(size * w // 8 for w in widths),
                          tuple(sens * 4.0 ** -w for w in widths)))
    return items


def _brute_force(items, budget, fixed):
    """The least cost of any choice of widths that fits the budget."""
    best_cost = np.inf
    for combo in itertools.product(*[range(len(item.widths)) for item in items]):
        size = fixed + sum(item.bytes[o] for item, o in zip(items, combo))
        cost = sum(item.costs[o] for item, o in zip(items, combo))
        if size <= budget and cost < best_cost:
            best_cost = cost
    return best_cost


@pytest.mark.parametrize("seed", range(6))
def test_dp_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    items = _random_items(rng, 5)
    fixed = 5000
    low = fixed + sum(min(i.bytes) for i in items)
    high = fixed + sum(max(i.bytes) for i in items)
    budget = int(rng.integers(low + 500, high))
    chosen = allocate(items, budget, fixed, unit=250)   # every size is a multiple of 250: exact
    assert total_bytes(items, chosen, fixed) <= budget
    cost = sum(item.costs[item.widths.index(chosen[item.name])] for item in items)
    assert cost == pytest.approx(_brute_force(items, budget, fixed))


def test_coarse_unit_still_fits_the_budget():
    items = _random_items(np.random.default_rng(9), 8)
    budget = 5000 + sum(item.bytes[1] for item in items)
    chosen = allocate(items, budget, 5000, unit=777)
    assert total_bytes(items, chosen, 5000) <= budget


def test_large_budget_takes_the_widest():
    items = _random_items(np.random.default_rng(1), 4)
    chosen = allocate(items, 10**9, 0)
    assert set(chosen.values()) == {8}


def test_unreachable_budget_names_the_smallest_size():
    items = _random_items(np.random.default_rng(2), 4)
    smallest = 1000 + sum(min(item.bytes) for item in items)
    with pytest.raises(ConversionError, match=f"is {smallest} B"):
        allocate(items, smallest - 1, 1000)
