from __future__ import annotations

from pathlib import Path

from ndelab.app.settings import MAX_RECENT, Settings


def test_recent_files_are_unique_newest_first_and_bounded(tmp_path: Path) -> None:
    s = Settings()
    for i in range(MAX_RECENT + 3):
        s.add_recent(tmp_path / f"f{i}.nrrd")
    s.add_recent(tmp_path / "f5.nrrd")
    assert len(s.recent_files) == MAX_RECENT
    assert s.recent_files[0].endswith("f5.nrrd")
    assert len(set(s.recent_files)) == MAX_RECENT


def test_round_trip_and_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    s = Settings(user="alice")
    s.add_recent(tmp_path / "a.vgi")
    s.save(path)
    loaded = Settings.load(path)
    assert loaded.user == "alice" and loaded.recent_files == s.recent_files
    path.write_text("{not json", encoding="utf-8")
    assert Settings.load(path) == Settings()
