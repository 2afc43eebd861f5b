"""The retrained version's threshold: the most recall that makes no more false calls per scan
than the base does at its own threshold and loses no class's recall; the base's kept when
none qualifies."""

from __future__ import annotations

from typing import Any

from ndelab.inference.operating_point import choose_threshold


def _row(t: float, recall: float, fc: float, crack: float = 0.8, n_crack: int = 10) -> Any:
    return {
        "threshold": t,
        "recall": recall,
        "false_calls_per_scan": fc,
        "recall_by_class": {
            "crack": {"n": n_crack, "recall": crack},
            "pore": {"n": 50, "recall": recall},
        },
    }


def test_the_most_recall_within_the_base_false_calls() -> None:
    base = _row(0.9, 0.80, 1.5)
    rows = [_row(0.5, 0.95, 3.0), _row(0.6, 0.90, 1.5), _row(0.7, 0.90, 0.5), _row(0.9, 0.7, 0)]
    threshold, why = choose_threshold(rows, base)
    assert threshold == 0.7  # 0.5 makes too many; 0.6 and 0.7 tie on recall: the higher one
    assert "validation recall 0.9" in why and "0.8 at 1.5" in why


def test_a_threshold_that_loses_a_class_is_not_taken() -> None:
    base = _row(0.9, 0.80, 1.5, crack=0.8)
    rows = [_row(0.6, 0.95, 1.0, crack=0.7), _row(0.8, 0.85, 1.0, crack=0.8)]
    assert choose_threshold(rows, base)[0] == 0.8
    # A class too thin to judge (under 5 defects) does not hold the choice back.
    thin = _row(0.9, 0.80, 1.5, crack=0.8, n_crack=3)
    assert choose_threshold([_row(0.6, 0.95, 1.0, crack=0.0, n_crack=3)], thin)[0] == 0.6


def test_the_base_threshold_is_kept_when_every_one_calls_more() -> None:
    rows = [_row(0.5, 0.99, 4.0), _row(0.9, 0.9, 2.0)]
    threshold, why = choose_threshold(rows, _row(0.8, 0.8, 1.0))
    assert threshold == 0.8 and "is kept" in why
