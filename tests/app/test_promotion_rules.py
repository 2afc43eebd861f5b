"""--rules takes a path or the name of a shipped rule file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndelab.app.promotion import default_rules_path, rules_path_for


def test_a_shipped_name_a_path_and_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert rules_path_for(None) == default_rules_path()
    assert rules_path_for("recall-first.yaml") == default_rules_path().parent / "recall-first.yaml"
    (tmp_path / "recall-first.yaml").write_text("name: mine\n")
    assert rules_path_for("recall-first.yaml") == Path("recall-first.yaml")  # the user's own
    assert rules_path_for("nosuch.yaml") == Path("nosuch.yaml")  # read, and refused there
