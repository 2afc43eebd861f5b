"""Acceptance criteria files: the shipped examples load; bad files give one clear sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ndelab.annotation import CriteriaError, load_criteria

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "criteria"


def test_shipped_examples_are_valid() -> None:
    files = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json"))
    assert len(files) >= 7
    for path in files:
        c = load_criteria(path)
        assert c.name and c.version and c.rules
        assert len(c.sha256) == 64
    weld_b = load_criteria(EXAMPLES / "weld-level-B.yaml")
    weld_d = load_criteria(EXAMPLES / "weld-level-D.yaml")
    limit = {c.name: c.rules[0].limits["max_equivalent_diameter_mm"] for c in (weld_b, weld_d)}
    assert limit[weld_b.name] < limit[weld_d.name]  # B is the stricter level
    assert any(r.forbidden and r.cls == "crack" for r in weld_b.rules)


def _write(tmp_path: Path, doc: Any, name: str = "c.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else doc, encoding="utf-8")
    return path


GOOD_RULE = {"class": "pore", "max_equivalent_diameter_mm": 0.5}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "must be a mapping with name, version, rules"),
        ({"version": "1", "rules": [GOOD_RULE]}, "the criteria need a name"),
        ({"name": "x", "rules": [GOOD_RULE]}, "the criteria need a version"),
        ({"name": "x", "version": "1", "rules": []}, "non-empty list of rules"),
        ({"name": "x", "version": "1", "rules": [GOOD_RULE], "rulez": 1}, "unknown top-level key"),
        (
            {"name": "x", "version": 1, "rules": [{"class": "void", "max_count": 1}]},
            "rule 1: class must be one of",
        ),
        (
            {"name": "x", "version": 1, "rules": [GOOD_RULE, {"class": "pore"}]},
            "rule 2 sets no limit",
        ),
        (
            {"name": "x", "version": 1, "rules": [{"class": "pore", "max_count": -1}]},
            "rule 1: max_count must be a whole number ≥ 0, got -1",
        ),
        (
            {"name": "x", "version": 1, "rules": [{"class": "pore", "max_count": 2.5}]},
            "whole number",
        ),
        (
            {
                "name": "x",
                "version": 1,
                "rules": [{"class": "pore", "max_equivalent_diamter_mm": 0.5}],
            },
            "rule 1 has unknown key 'max_equivalent_diamter_mm'",
        ),
        (
            {
                "name": "x",
                "version": 1,
                "rules": [{"class": "pore", "max_equivalent_diameter_mm": "big"}],
            },
            "max_equivalent_diameter_mm must be a number ≥ 0, got 'big'",
        ),
        (
            {
                "name": "x",
                "version": 1,
                "rules": [{"class": "pore", "max_total_volume_fraction": 2}],
            },
            "max_total_volume_fraction must be ≤ 1",
        ),
        (
            {"name": "x", "version": 1, "rules": [{"class": "crack", "forbidden": "yes"}]},
            "forbidden must be true or false",
        ),
        (
            {"name": "x", "version": 1, "rules": [{**GOOD_RULE, "on_fail": "scrap"}]},
            "on_fail must be reject or rework",
        ),
        (
            {"name": "x", "version": 1, "rules": [{**GOOD_RULE, "zone": {"box_mm": [[0, 0, 0]]}}]},
            "box_mm must be",
        ),
        (
            {
                "name": "x",
                "version": 1,
                "rules": [{**GOOD_RULE, "zone": {"box_mm": [[0, 0, 5], [1, 1, 1]]}}],
            },
            "min < max",
        ),
        (
            {
                "name": "x",
                "version": 1,
                "rules": [{**GOOD_RULE, "zone": {"box_mm": [[0, 0, 0], [1, 1, 1]], "mask": "a"}}],
            },
            "exactly one of box_mm or mask",
        ),
        (
            {"name": "x", "version": 1, "rules": [{**GOOD_RULE, "zone": {"mask": "gone.npy"}}]},
            "zone mask file",
        ),
    ],
)
def test_invalid_documents_name_the_file_and_the_problem(
    tmp_path: Path, doc: Any, message: str
) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(CriteriaError) as info:
        load_criteria(path)
    text = str(info.value)
    assert text.startswith(str(path) + ": ")
    assert message in text
    assert "\n" not in text


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="does not exist"):
        load_criteria(tmp_path / "missing.yaml")
    bad_yaml = _write(tmp_path, "name: x\nrules: [\n", "c.yaml")
    with pytest.raises(CriteriaError, match=r"invalid YAML at line \d+"):
        load_criteria(bad_yaml)
    bad_json = tmp_path / "c.json"
    bad_json.write_text('{"name": "x",', encoding="utf-8")
    with pytest.raises(CriteriaError, match="invalid JSON at line 1"):
        load_criteria(bad_json)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(CriteriaError, match="not UTF-8"):
        load_criteria(binary)


def test_yaml_and_json_give_the_same_rules_and_the_hash_follows_the_bytes(tmp_path: Path) -> None:
    doc = {
        "name": "Grade",
        "version": "3",
        "rules": [GOOD_RULE, {"class": "crack", "forbidden": True}],
    }
    j = load_criteria(_write(tmp_path, doc))
    y = load_criteria(
        _write(
            tmp_path,
            "name: Grade\nversion: '3'\nrules:\n"
            "  - {class: pore, max_equivalent_diameter_mm: 0.5}\n"
            "  - {class: crack, forbidden: true}\n",
            "c.yaml",
        )
    )
    assert j.rules == y.rules and (j.name, j.version) == (y.name, y.version)
    assert j.sha256 != y.sha256
