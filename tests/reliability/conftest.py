"""Fixtures of the reliability suite, the RELIABILITY_FULL switch and the measured counts.

`make test` runs the default sweep (small libraries, every fault point once). Set
RELIABILITY_FULL=1 for the exhaustive sweep (every fault point x every fault kind x both
journal modes x three operations, larger libraries, more crashes and races).
At the end of the run the counts behind the README table are printed; with
RELIABILITY_STATS=path they are also written there as JSON.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import apsw
import pytest

from tests.reliability import scenarios

FULL = os.environ.get("RELIABILITY_FULL") == "1"
full_only = pytest.mark.skipif(not FULL, reason="exhaustive sweep: set RELIABILITY_FULL=1")

# The default sweep uses libraries of this many recordings; the full one also larger ones.
SMALL = 20
LARGE = 200


@pytest.fixture(autouse=True)
def _normal_vfs_around_each_test():
    """A test that left a fault VFS registered would poison every later test."""
    assert apsw.vfs_names()[0] == "unix"
    yield
    assert apsw.vfs_names()[0] == "unix", "a fault VFS was left registered"


@pytest.fixture(autouse=True)
def _quiet_engine_log():
    # Thousands of injected faults: the engine logs each one with its traceback.
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture(scope="session")
def scenario_sets(tmp_path_factory: pytest.TempPathFactory):
    """{(mode, recordings): {op: Scenario}}, built once per session on demand."""
    built: dict[tuple[str, int], dict[str, scenarios.Scenario]] = {}
    root = tmp_path_factory.mktemp("templates")

    def get(mode: str, recordings: int = SMALL, layout: str | None = None) -> dict[str, scenarios.Scenario]:
        key = (mode, recordings, layout)
        if key not in built:
            logging.disable(logging.CRITICAL)
            built[key] = scenarios.build(root / f"{mode}-{recordings}-{layout}", mode, recordings, layout=layout)
        return built[key]
    return get


# Users' layouts swept by default (the one with every state: version 11 in name only, the
# original migration stopped part way, errors, captures to adopt); every layout when FULL.
REAL_LAYOUTS = ("half_done", "surrogates") if not FULL else ("app_v10", "v11_name_only", "half_done",
                                                             "surrogates", "own_drift")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not scenarios.STATS:
        return
    terminalreporter.section("reliability: what was measured")
    for key, value in sorted(scenarios.STATS.items()):
        terminalreporter.write_line(f"{key}: {value}")
    if path := os.environ.get("RELIABILITY_STATS"):
        Path(path).write_text(json.dumps(dict(sorted(scenarios.STATS.items())), indent=1))
