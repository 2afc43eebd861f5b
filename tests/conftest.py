"""Shared fixtures: isolated settings, real data, a Qt application and leak-checked windows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"
REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(autouse=True, scope="session")
def _triton_before_opengl() -> None:
    """Every worker loads Triton's LLVM before any test opens an OpenGL context (see preload)."""
    from ndelab.inference.preload import preload_before_gl

    preload_before_gl()


@pytest.fixture(autouse=True, scope="session")
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the user's real settings, logs or database."""
    saved = {k: os.environ.get(k) for k in ("NDELAB_CONFIG_DIR", "NDELAB_DATA_DIR")}
    os.environ["NDELAB_CONFIG_DIR"] = str(tmp_path_factory.mktemp("ndelab-config"))
    os.environ["NDELAB_DATA_DIR"] = str(tmp_path_factory.mktemp("ndelab-data"))
    yield
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def need(condition: bool, why: str) -> None:
    """Skip when a service is missing on a developer's machine; in CI that is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {why}")
        pytest.skip(why)


@pytest.fixture(scope="session")
def require() -> object:
    """``require(condition, why)``: skip locally, fail in CI."""
    return need


@pytest.fixture(scope="session")
def real_data() -> Path:
    need(REAL_DATA.is_dir(), f"real scan data folder {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def qapp() -> object:
    need(bool(os.environ.get("DISPLAY")), "an X display (run the GUI tests under xvfb-run)")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from ndelab.widgets.main_window import application

    return application()


@pytest.fixture
def make_main_window(qapp: object, tmp_path: Path) -> Iterator[object]:
    """Build MainWindows; after the test, close them and check no top-level widget leaked."""
    from PySide6.QtWidgets import QApplication

    from ndelab.app.jobs import wait_for_jobs
    from ndelab.app.settings import Settings
    from ndelab.widgets.main_window import MainWindow

    before = {id(w) for w in QApplication.topLevelWidgets()}
    made: list[MainWindow] = []

    def factory(**kwargs: object) -> MainWindow:
        kwargs.setdefault("store_url", str(tmp_path / f"review-{len(made)}.db"))
        window = MainWindow(settings=Settings(user="tester"), **kwargs)  # type: ignore[arg-type]
        made.append(window)
        return window

    yield factory
    for window in made:
        window.close()
    # Jobs still running would report to windows (and signals) that are gone.
    wait_for_jobs(60.0)
    for window in made:
        window.deleteLater()
    QApplication.sendPostedEvents(None, 0)
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if id(w) not in before and w.isVisible()]
    assert not leaked, f"widgets left open: {leaked}"


@pytest.hookimpl(tryfirst=True)  # before -m selects: the mark must be there first
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the X display is a GUI test.

    GUI tests share one screen, so the test command runs them in one process, one after the
    other (two windows at once would take each other's keyboard focus and clicks), and the
    rest in parallel.
    """
    for item in items:
        if "qapp" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[object]:
    """ONE local Ray runtime for the whole run (ray.init costs ~10 s and ~830 MB here); its
    tests carry @pytest.mark.xdist_group("ray") so that they share one xdist worker."""
    import logging

    try:
        import ray
    except ImportError:
        need(False, "Ray (install ndelab[ray])")
    started = False
    if not ray.is_initialized():
        try:
            ray.init(
                num_cpus=2, include_dashboard=False, log_to_driver=False,
                logging_level=logging.WARNING,
            )  # fmt: skip
        except Exception as exc:
            need(False, f"a local Ray runtime could not start: {exc}")
        started = True
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    """Debian's prometheus binary (installers/run_tests.sh installs it when missing)."""
    from ndelab.benchmarks.prometheus_server import find_prometheus

    found = find_prometheus()
    need(found is not None, "prometheus (apt-get install -y prometheus)")
    assert found is not None
    return found
