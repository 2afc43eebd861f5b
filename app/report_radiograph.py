"""The radiograph part of a disposition, as lines of text: how indications were sized, what
was merged and what was ignored, and the figures behind each radiograph rule.

Qt-free; the PDF report (app/pdf_report.py) and `ndelab disposition` print these lines.
"""

from __future__ import annotations

from typing import Any

RADIOGRAPH_CHECKS = (
    "max_size",
    "max_projected_area_percent",
    "max_cluster_diameter_mm",
    "max_cluster_area_mm2",
    "max_aligned_count",
    "max_aligned_length",
)


def _short(call_id: str) -> str:
    return call_id[:8]


def _g(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def sizing_lines(section: dict[str, Any]) -> list[str]:
    """How the radiograph was measured, then every merged and every ignored indication."""
    py, px = section["pixel_mm"]
    lines = [
        f"Sizes at the object: pixel {_g(py)} × {_g(px)} mm (magnification "
        f"{_g(section['magnification'])}); weld along {section['weld_axis']} "
        f"({section['weld_axis_from']}), {_g(section['weld_length_mm'])} mm long"
        + (
            f"; wall thickness {_g(section['thickness_mm'])} mm from {section['thickness_from']}"
            if section.get("thickness_mm") is not None
            else "; no wall thickness given"
        )
        + "."
    ]
    merged = section.get("merged") or []
    if merged:
        lines.append(f"Merged (closer than the smaller one's size), {len(merged)}:")
        for m in merged:
            parts = " + ".join(f"{_short(x['id'])} ({_g(x['size_mm'])} mm)" for x in m["members"])
            gaps = ", ".join(_g(g) for g in m["gaps_mm"])
            lines.append(
                f"  {m['class']} {parts} sized as one of {_g(m['size_mm'])} mm (gaps {gaps} mm)"
            )
    else:
        lines.append("Merged: none.")
    ignored = section.get("ignored") or []
    if ignored:
        lines.append(f"Ignored (below the size that counts), {len(ignored)}:")
        for i in ignored:
            ids = " + ".join(_short(x) for x in i["ids"])
            lines.append(
                f"  {i['class']} {ids}: {_g(i['size_mm'])} mm, below {_g(i['below_mm'])} mm"
            )
    else:
        lines.append("Ignored: none.")
    return lines


def figure_lines(reasons: list[dict[str, Any]]) -> list[str]:
    """The figures behind each radiograph check: the window, the clusters, the aligned row."""
    out: list[str] = []
    for r in reasons:
        check = r["check"]
        if check not in RADIOGRAPH_CHECKS:
            continue
        head = f"rule {r['rule']} {check}:"
        if check == "max_projected_area_percent":
            out.append(
                f"{head} worst {_g(r['window_mm'])} mm window from {_g(r['window_from_mm'])} to "
                f"{_g(r['window_to_mm'])} mm along {r['weld_axis']}: pore area "
                f"{_g(r['pore_area_mm2'])} mm² of {_g(r['window_area_mm2'])} mm² (weld width "
                f"{_g(r['weld_width_mm'])} mm from {r['weld_width_from']}) = {_g(r['measured'])}%"
            )
        elif check.startswith("max_cluster"):
            clusters = r.get("clusters") or []
            sizes = ", ".join(
                f"{c['count']} pores Ø {_g(c['diameter_mm'])} mm, {_g(c['area_mm2'])} mm²"
                for c in clusters[:6]
            )
            more = f" and {len(clusters) - 6} more" if len(clusters) > 6 else ""
            out.append(
                f"{head} {len(clusters)} cluster(s) within {_g(r['cluster_distance_mm'])} mm"
                + (f": {sizes}{more}" if clusters else "")
            )
        elif check.startswith("max_aligned"):
            row = r["row"]
            stretch = r.get("aligned_length_mm")
            where = f"within {_g(stretch)} mm" if stretch is not None else "along one line"
            out.append(
                f"{head} worst row {where}: {row['count']} indication(s), total length "
                f"{_g(row['total_length_mm'])} mm"
            )
        else:
            out.append(
                f"{head} largest {_g(r['measured'])} mm, limit {_g(r['limit'])} mm ({r['basis']})"
            )
    return out


def radiograph_lines(result: dict[str, Any]) -> list[str]:
    """All radiograph lines of a disposition result; none for criteria that are not."""
    section = result.get("radiograph")
    if not section:
        return []
    return sizing_lines(section) + figure_lines(result["reasons"])
