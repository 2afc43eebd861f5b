"""The one list of key bindings, and the README's table of keys rendered from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ndelab.app import shortcuts
from ndelab.app.shortcuts import (
    GROUPS,
    README_BEGIN,
    README_END,
    SHORTCUTS,
    SLICE_VIEW,
    WINDOW,
    render_markdown,
    with_readme_table,
    write_readme,
)

README = Path(__file__).resolve().parents[2] / "README.md"
KEY_NAMES = (
    r"[A-Z0-9]|F[1-9][0-9]?|Up|Down|Left|Right|PgUp|PgDown|Home|End|Return|Esc|Tab|Space|Del"
)
PORTABLE = re.compile(rf"^((Ctrl|Alt|Shift|Meta)\+)*({KEY_NAMES})$")
# The bindings that some places used to leave out.
ONCE_MISSING = {"sync": "Ctrl+Shift+S", "window_full_range": "Shift+R", "prelabel": "Ctrl+L"}


def _section(text: str) -> str:
    start = text.index("## In the window")
    return text[start : text.index("\n## ", start + 1)]


def test_ids_and_keys_are_unique_and_well_formed() -> None:
    ids = [s.id for s in SHORTCUTS]
    assert len(ids) == len(set(ids))
    bound = [s.keys.lower() for s in SHORTCUTS]
    duplicates = {k for k in bound if bound.count(k) > 1}
    assert not duplicates, f"one key, two shortcuts: {duplicates}"
    for s in SHORTCUTS:
        assert PORTABLE.match(s.keys), f"{s.id}: {s.keys!r} is not QKeySequence portable text"
        assert s.group in GROUPS, s
        assert s.scope in (WINDOW, SLICE_VIEW), s
        assert s.text and s.text[0].isupper(), s


def test_the_once_missing_bindings_are_in_the_list() -> None:
    for shortcut_id, key in ONCE_MISSING.items():
        assert shortcuts.keys(shortcut_id) == key


def test_an_unknown_id_names_itself() -> None:
    with pytest.raises(KeyError, match="no shortcut 'nope'"):
        shortcuts.shortcut("nope")


def test_grouped_keeps_group_and_declaration_order() -> None:
    groups = shortcuts.grouped()
    assert [g for g, _ in groups] == list(GROUPS)
    flat = [s for _, items in groups for s in items]
    assert sorted(flat, key=lambda s: s.id) == sorted(SHORTCUTS, key=lambda s: s.id)
    review = dict(groups)["Review"]
    assert [s.id for s in review][:2] == ["next_call", "previous_call"]


def test_the_markdown_has_one_row_per_shortcut_under_its_group() -> None:
    rows = [line for line in render_markdown().splitlines() if line.startswith("| ")]
    assert rows[0] == "| Group | Key | Action |"
    body = rows[1:]
    assert len(body) == len(SHORTCUTS)
    group = ""
    for line, s in zip(body, [s for _, items in shortcuts.grouped() for s in items], strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        group = cells[0] or group
        assert (group, cells[1], cells[2]) == (s.group, f"`{s.keys}`", s.text)


def test_the_readme_table_is_what_the_list_renders() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_readme_table(text) == text, (
        "README.md's table of keys is stale: run python -m ndelab.app.shortcuts README.md"
    )
    table = text[text.index(README_BEGIN) : text.index(README_END)]
    for shortcut_id, key in ONCE_MISSING.items():
        assert f"| `{key}` | {shortcuts.shortcut(shortcut_id).text} |" in table


def test_the_readme_spells_keys_only_in_the_table() -> None:
    """Prose that names keys is what drifted before; the section's prose keeps to the mouse."""
    text = README.read_text(encoding="utf-8")
    section = _section(text)
    prose = section[: section.index(README_BEGIN)] + section[section.index(README_END) :]
    quoted = set(re.findall(r"`([^`]+)`", prose))
    assert not quoted & {s.keys for s in SHORTCUTS}
    for mouse in (
        "Left click or drag: move the crosshair; all views follow.",
        "Right drag: window (left/right) and level (up/down).",
        "Ctrl+wheel zooms, middle drag pans.",
    ):
        assert mouse in " ".join(prose.split())


def test_with_readme_table_replaces_a_stale_table(tmp_path: Path) -> None:
    stale = f"# t\n\n{README_BEGIN}\n| old | `Ctrl+K` | gone |\n{README_END}\n\nafter\n"
    fresh = with_readme_table(stale)
    assert "Ctrl+K" not in fresh
    assert fresh == f"# t\n\n{README_BEGIN}\n{render_markdown()}{README_END}\n\nafter\n"
    path = tmp_path / "README.md"
    path.write_text(stale, encoding="utf-8")
    assert write_readme(path) is True
    assert path.read_text(encoding="utf-8") == fresh
    assert write_readme(path) is False


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="shortcuts:begin"):
        with_readme_table("# no table here\n")
