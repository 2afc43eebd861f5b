"""--metrics-port/--metrics-addr reach the window from `ndelab open X ...`, `ndelab demo ...`
and the bare `ndelab ...`; the default address is loopback."""

from __future__ import annotations

from ndelab.cli import build_parser
from ndelab.cli.gui import metrics_option


def test_metrics_options_before_or_after_the_command() -> None:
    parser = build_parser()
    assert metrics_option(parser.parse_args([])) is None
    assert metrics_option(parser.parse_args(["--metrics-port", "9464"])) == (9464, "127.0.0.1")
    args = parser.parse_args(["open", "x.nrrd", "--metrics-port", "9465"])
    assert metrics_option(args) == (9465, "127.0.0.1")
    args = parser.parse_args(["demo", "--metrics-port", "9466", "--metrics-addr", "0.0.0.0"])
    assert metrics_option(args) == (9466, "0.0.0.0")
    args = parser.parse_args(["prelabel", "d", "--db", "x.db", "--metrics-port", "9467"])
    assert (args.metrics_port, args.metrics_addr) == (9467, "127.0.0.1")
    assert args.engine is None  # local, unless RAY_ADDRESS is set
