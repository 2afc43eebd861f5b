"""GUI commands: ``open``, ``demo``, ``screenshot`` and the bare ``ndelab``.

The composition root: the main window is assembled from widgets here, above every layer.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path
from typing import Any

from ndelab.cli.common import METRICS_ADDR, add_metrics_options, add_read_options, read_kwargs
from ndelab.volumes.errors import NdelabError, UsageError

log = logging.getLogger(__name__)


def _ensure_platform() -> None:
    """With no display, Qt falls back to offscreen rendering instead of aborting."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.name == "posix":
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _before_first_window() -> None:
    from ndelab.inference.preload import preload_before_gl

    preload_before_gl()


def run_gui(
    path: str | None,
    demo: bool,
    read_options: dict[str, Any] | None,
    *,
    metrics: tuple[int, str] | None = None,
) -> int:
    """The window; ``metrics`` (port, address) serves Prometheus metrics while it is open."""
    if not (
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise UsageError(
            "no display found (DISPLAY is not set); run ndelab in a desktop session "
            "or under xvfb-run, or use `ndelab screenshot` for a headless render"
        )
    from ndelab.app.logs import setup_logging
    from ndelab.widgets.main_window import MainWindow, application

    _before_first_window()
    app = application()
    window = MainWindow()
    window.install_excepthook(setup_logging())  # the log file's path (logging is set up once)
    exporter = None
    if metrics is not None:
        from ndelab.app.metrics import MetricsExporter

        port, addr = metrics
        exporter = MetricsExporter(port=port, addr=addr, store=window.current_store).start()
    window.show()
    if demo:
        window.open_demo()
    elif path is not None:
        window.open_path(path, read_options)
    try:
        return int(app.exec())
    finally:
        from ndelab.app.jobs import wait_for_jobs

        wait_for_jobs(10.0)  # closing the window cancelled its jobs: let them end first
        if exporter is not None:
            exporter.stop()


DISPLAY_TIMEOUT_S = 600.0  # a slow disk may take minutes to read a large scan's 3D copy


def _wait_for_display(app: Any, window: Any) -> None:
    """The histogram and the 3D copy are read in background jobs: the picture waits for them."""
    end = time.monotonic() + DISPLAY_TIMEOUT_S
    while window.display_pending():
        if window.background_error is not None:
            raise NdelabError(window.background_error)
        if time.monotonic() > end:
            raise NdelabError(
                "the histogram and 3D view took too long to prepare for the screenshot"
            )
        app.processEvents()
        time.sleep(0.01)
    if window.background_error is not None:
        raise NdelabError(window.background_error)


def take_screenshot(
    *,
    path: str | None,
    demo: bool,
    out: Path,
    size: tuple[int, int] = (1600, 1000),
    read_options: dict[str, Any] | None = None,
    detectability: bool = False,
) -> Path:
    """Render the real main window (3D view included) for ``path`` or the demo into a PNG."""
    _ensure_platform()
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage, QPainter

    from ndelab.app.demo import demo_volume
    from ndelab.app.qt_images import rgb_to_qimage
    from ndelab.volumes.io import open_volume
    from ndelab.widgets.main_window import MainWindow, application

    _before_first_window()
    if demo:
        volume = demo_volume()
    else:
        assert path is not None
        options = {k: v for k, v in (read_options or {}).items() if v is not None}
        volume = open_volume(path, **options)
    app = application()
    window = MainWindow()
    window.resize(*size)
    window.show()
    window.show_volume(volume)
    store = window.wait_for_store()
    if store is not None:
        from ndelab.app.workspace import open_review

        session = open_review(store, volume, window.user, prelabel_if_new=demo)
        window.review.set_session(session)
        if session.rows:
            window.review.step(+1)  # show the top call of the queue, as a reviewer starts
    window.refresh_3d_indications()
    if store is not None:
        window.inbox.wait()  # the inbox panel's first read of the database
    if detectability and window.detectability_action is not None:
        window.detectability_action.setChecked(True)
        window.toggle_detectability(True)
        end = time.monotonic() + DISPLAY_TIMEOUT_S
        while window.detectability is None and window.background_error is None:
            if time.monotonic() > end:
                raise NdelabError("the detectability map took too long for the screenshot")
            app.processEvents()
            time.sleep(0.01)
    _wait_for_display(app, window)
    for _ in range(5):
        app.processEvents()
    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    if window.view3d is not None and window.view3d.isVisible():
        frame = window.view3d.capture()
        image = rgb_to_qimage(frame)
        origin = window.view3d.mapTo(window, QPoint(0, 0))
        painter = QPainter(shot)
        target = window.view3d.rect().translated(origin)
        painter.drawImage(target, image)
        painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not shot.save(str(out), "PNG"):
        raise NdelabError(f"{out}: could not write the screenshot")
    window.close()
    app.processEvents()
    return out


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("open", help="open the workstation on a file or folder")
    p.add_argument("path")
    add_read_options(p)
    add_metrics_options(p)
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("demo", help="open the workstation on a phantom part")
    add_metrics_options(p)
    p.set_defaults(func=cmd_gui, path=None, shape=None, dtype=None, header_bytes=0, dataset=None)
    p = sub.add_parser("screenshot", help="render the main window to a PNG")
    p.add_argument("path", nargs="?")
    p.add_argument("--demo", action="store_true")
    p.add_argument(
        "--detectability",
        action="store_true",
        help="show the smallest-detectable-pore map over a radiograph",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1000)
    add_read_options(p)
    p.set_defaults(func=cmd_screenshot)


def metrics_option(args: argparse.Namespace) -> tuple[int, str] | None:
    """(port, address) from ``--metrics-port``/``--metrics-addr``, given after the command
    (``ndelab open X --metrics-port N``) or before it (``ndelab --metrics-port N``)."""
    port = getattr(args, "metrics_port", None)
    addr = getattr(args, "metrics_addr", None)
    if port is None:
        port = getattr(args, "top_metrics_port", None)
        addr = getattr(args, "top_metrics_addr", None)
    return None if port is None else (int(port), str(addr or METRICS_ADDR))


def cmd_gui(args: argparse.Namespace) -> int:
    path = getattr(args, "path", None)
    return run_gui(
        path=path,
        demo=args.command == "demo",
        read_options=read_kwargs(args) if path else None,
        metrics=metrics_option(args),
    )


def cmd_screenshot(args: argparse.Namespace) -> int:
    if (args.path is None) == (not args.demo):
        raise UsageError("screenshot needs either a PATH or --demo")
    out = take_screenshot(
        path=args.path,
        demo=args.demo,
        out=Path(args.out),
        size=(args.width, args.height),
        read_options=read_kwargs(args),
        detectability=args.detectability,
    )
    print(out)
    return 0


def cmd_no_command(args: argparse.Namespace) -> int:
    return run_gui(path=None, demo=False, read_options=None, metrics=metrics_option(args))
