"""The model card: model.json, the README and the command that reproduces a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ndelab.inference.training.config import TrainConfig


def write_model_json(out_dir: Path, record: dict[str, Any]) -> Path:
    path = out_dir / "model.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def _cli_expressible(config: TrainConfig) -> bool:
    """Whether ``ndelab train`` flags can say all of ``config`` (lr, seeds and arch have none)."""
    flags_only = TrainConfig(
        dims=config.dims,
        seed=config.seed,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        batch=config.batch,
        crop=config.crop,
        balance=config.balance,
        surface_negatives=config.surface_negatives,
    )
    return flags_only == config


def reproduce_command(out_dir: Path, config: TrainConfig, *, make_default: bool) -> str:
    """The command (run in the repository root) that trains, calibrates and evaluates this
    model again: ``ndelab train`` with every setting spelled out, or, for settings that
    command has no flag for, the ``train_default`` call."""
    out = f"resources/models/{out_dir.name}"
    if not _cli_expressible(config):
        return (
            '.venv/bin/python -c "from pathlib import Path; '
            "from ndelab.inference.training import TrainConfig, train_default; "
            f'train_default(Path({out!r}), {config!r}, make_default={make_default})"'
        )
    args = [
        "--out", out, "--dims", str(config.dims), "--seed", str(config.seed),
        "--epochs", str(config.epochs), "--steps-per-epoch", str(config.steps_per_epoch),
        "--batch", str(config.batch), "--crop", str(config.crop),
    ]  # fmt: skip
    if not config.balance:
        args.append("--no-balance")
    if not config.surface_negatives and config.dims == 3:
        args.append("--no-surface-negatives")
    if not make_default:
        args.append("--not-default")
    return ".venv/bin/ndelab train " + " ".join(args)


def model_card(entry: dict[str, Any], command: str, notes: str = "") -> str:
    """A Markdown model card from a model.json entry and the command that reproduces it."""
    tr = entry.get("training", {})
    met = entry.get("metrics", {}).get("held_out", {})
    cal = entry.get("calibration", {})
    pod = met.get("pod_pores_diameter_vox", {})
    lines = [
        f"# {entry['name']} {entry['version']}",
        "",
        f"{entry['dims']}D U-Net ({tr.get('parameters', '?')} parameters, arch {entry['arch']}),"
        f" classes {', '.join(entry['classes'])}. "
        + ("The built-in default." if entry.get("default") else "Not the default."),
        "",
        *([notes, ""] if notes else []),
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        f"Training phantom seeds {tr.get('seeds')} (never >= 1000), {tr.get('epochs')} epochs x "
        f"{tr.get('steps_per_epoch')} steps, batch {tr.get('batch')} crops of {tr.get('crop')} "
        f"voxels, seed {tr.get('seed')}, {tr.get('phantoms_generated')} phantoms generated, "
        f"{tr.get('train_seconds')} s on {tr.get('threads')} CPU threads (shared machine). "
        f"Class-balanced defect crops: {tr.get('class_balanced_defect_crops', False)}; "
        f"surface hard negatives: {tr.get('surface_negative_crops', False)}.",
        f"Loss per epoch: {tr.get('loss_per_epoch')}.",
        "",
        "## Calibration",
        "",
        f"Platt scaling on {', '.join(cal.get('features', []))}; coef {cal.get('coef')}; fitted on"
        f" seeds {cal.get('seeds')} ({cal.get('calls')} calls, {cal.get('true_calls')} true)."
        f" ECE {cal.get('before', {}).get('ece')} -> {cal.get('after', {}).get('ece')}, Brier"
        f" {cal.get('before', {}).get('brier')} -> {cal.get('after', {}).get('brier')}.",
        "",
        "## Held-out quality (seeds >= 10000; size, noise, blur, cupping and part vary)",
        "",
        "| pore diameter (vox) | pores | recall | all defects recall |",
        "|---|---|---|---|",
    ]
    for key, row in met.get("recall_by_diameter_vox", {}).items():
        p, a = row["pores"], row["all_defects"]
        lines.append(f"| {key} | {p['n']} | {p['recall']} | {a['recall']} |")
    kinds = met.get("recall_by_kind", {})
    lines += [
        "",
        "Recall by kind: "
        + ", ".join(f"{k} {v['recall']} (n={v['n']})" for k, v in kinds.items())
        + "."
        f" Precision {met.get('precision')} ({met.get('false_calls')} false of {met.get('calls')}"
        f" calls); class agreement on hits {met.get('class_agreement')}.",
        f"POD (hit/miss, ML logistic on ln diameter, Wald 95 % bound): a50 {_r(pod.get('a50'))},"
        f" a90 {_r(pod.get('a90'))}, a90/95 {_r(pod.get('a90_95'))} voxels (pod.png).",
        f"Evaluated scans: seeds {met.get('seeds')}, sizes {met.get('sizes')}.",
        "",
    ]
    return "\n".join(lines)


def _r(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.2f}"
