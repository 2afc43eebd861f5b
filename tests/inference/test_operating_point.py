"""The retrained version's threshold: the most recall that makes no more false calls per scan
than the base does at its own threshold; the base's kept when none qualifies."""

from __future__ import annotations

from ndelab.inference.operating_point import choose_threshold


def _row(t: float, recall: float, fc: float) -> dict[str, float]:
    return {"threshold": t, "recall": recall, "false_calls_per_scan": fc}


def test_the_most_recall_within_the_base_false_calls() -> None:
    base = _row(0.9, 0.80, 1.5)
    rows = [_row(0.5, 0.95, 3.0), _row(0.6, 0.90, 1.5), _row(0.7, 0.90, 0.5), _row(0.9, 0.7, 0)]
    threshold, why = choose_threshold(rows, base)
    assert threshold == 0.7  # 0.5 makes too many; 0.6 and 0.7 tie on recall: the higher one
    assert "validation recall 0.9" in why and "0.8 at 1.5" in why


def test_the_base_threshold_is_kept_when_every_one_calls_more() -> None:
    threshold, why = choose_threshold(
        [_row(0.5, 0.99, 4.0), _row(0.9, 0.9, 2.0)], _row(0.8, 0.8, 1.0)
    )
    assert threshold == 0.8 and "is kept" in why
