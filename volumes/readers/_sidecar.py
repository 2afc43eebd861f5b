"""Vendor sidecar headers: INI-style text beside a raw volume, and the files found beside it.

Scanner software runs on Windows, where names are case-insensitive: a header written as
``Part.pcr`` may sit beside ``PART.VOL``. Lookups here ignore case so that such folders open
the same on Linux.
"""

from __future__ import annotations

import configparser
import math
from pathlib import Path

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.readers._common import require_file

Sections = dict[str, dict[str, str]]

# Headers are a few kB; anything larger is not one (a volume renamed by mistake, say).
_MAX_HEADER_BYTES = 1 << 20


def read_ini(path: Path, what: str) -> Sections:
    """``[section]`` / ``key=value`` text as {section: {key: value}}, names in lower case.

    ``what`` names the header in errors ("phoenix datos|x .pcr header").
    """
    size = require_file(path)
    if size > _MAX_HEADER_BYTES:
        raise VolumeReadError(path, f"is {size:,} bytes, too large to be a {what}")
    text = header_text(path)
    if "\x00" in text:
        raise VolumeReadError(path, f"is not a {what}: it holds binary data")
    parser = configparser.ConfigParser(
        delimiters=("=",),  # values hold ':' (Windows paths, "Product:[CT Pro]")
        comment_prefixes=(";", "#"),
        interpolation=None,  # values hold '%'
        strict=False,  # repeated sections and keys: the last one wins
        allow_no_value=True,
        empty_lines_in_values=False,
        default_section="\x00no default section",
    )
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise VolumeReadError(
            path, f"is not a {what}: line {exc.lineno} comes before any [section] line"
        ) from exc
    except configparser.Error as exc:
        raise VolumeReadError(path, f"is not a readable {what} ({exc.message})") from exc
    sections: Sections = {}
    for name in parser.sections():
        keys = sections.setdefault(name.strip().lower(), {})
        for key, value in parser.items(name):
            if value is not None:
                keys[key.strip().lower()] = value.strip()
    return sections


def header_text(path: Path) -> str:
    """A vendor's text header: UTF-8 (with or without a byte-order mark), else the ANSI
    (cp1252 / Latin-1) text Windows software writes."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise VolumeReadError(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        return blob.decode("latin-1")


def find_value(sections: Sections, key: str, prefer: tuple[str, ...] = ()) -> str | None:
    """``key`` (lower case) from the sections named in ``prefer`` first, then from any."""
    for name in (*prefer, *sections):
        value = sections.get(name, {}).get(key)
        if value:
            return value
    return None


def find_beside(folder: Path, name: str) -> Path | None:
    """The file ``name`` in ``folder``, matched without regard to case; None if absent."""
    exact = folder / name
    if exact.is_file():
        return exact
    wanted = name.lower()
    try:
        matches = sorted(p for p in folder.iterdir() if p.name.lower() == wanted and p.is_file())
    except OSError:
        return None
    return matches[0] if matches else None


def windows_name(value: str) -> str:
    """The last part of a path a Windows program wrote ("D:\\Scans\\part.vol" -> "part.vol")."""
    return value.strip().strip('"').replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def header_number(path: Path, text: str, key: str, *, whole: bool = False) -> float:
    """A header value as a number; one sentence naming the key when it is not one."""
    try:
        value = float(text.replace(",", "."))  # German Windows locales write decimal commas
    except ValueError as exc:
        raise VolumeReadError(path, f"the header's {key} '{text}' is not a number") from exc
    if not math.isfinite(value):
        raise VolumeReadError(path, f"the header's {key} '{text}' is not a finite number")
    if whole and not value.is_integer():
        raise VolumeReadError(path, f"the header's {key} '{text}' is not a whole number")
    return value


def voxel_counts(
    path: Path, sections: Sections, keys: tuple[str, str, str], section: str, what: str
) -> tuple[int, int, int]:
    """Voxels along (x, y, z) from the header keys named (x, y, z), preferring ``section``."""
    counts = []
    for key in keys:
        text = find_value(sections, key.lower(), (section,))
        if text is None:
            raise VolumeReadError(path, f"is not a usable {what}: it gives no {key}")
        counts.append(int(header_number(path, text, key, whole=True)))
    return counts[0], counts[1], counts[2]
