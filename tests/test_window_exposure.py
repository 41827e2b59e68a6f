"""What the page can reach in Python: the twelve API functions, and nothing else that acts.

pywebview's raw bridge (`pywebview._jsApiCallback(name, args, id)`) takes any name, dotted
or underscored, hidden from `pywebview.api` or not. These tests drive that real bridge in
a real window over a list of names an attacker would try, and check that nothing changed:
the library's folder (library, sidecars, snapshots) byte for byte, the functions Python
exposes, the modules behind them, the registry, the window. A negative control runs the
same probe against a deliberately leaky js_api object and must see the damage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.desktop.api import API_NAMES
from app.samples.demo import create_demo_library
from app.engine.status import status
from tests.window_driver import WindowRun, run_window

DUNDERS = ["__init__", "__class__", "__setattr__", "__delattr__", "__dict__", "__call__", "__reduce__",
           "__reduce_ex__", "__getattribute__", "__subclasshook__", "__init_subclass__", "__new__",
           "__globals__", "__closure__", "__code__", "__builtins__", "__import__"]
PRIVATE = ["_window", "_db", "_conn", "_library", "_library_path", "_path", "_registry", "_engine",
           "_functions", "_js_api", "_watch", "_api", "_state", "_http_port", "_server"]
CHAINS = [
    "migrate.__globals__.clear", "migrate.__globals__.update", "get_status.__closure__",
    "rollback.__defaults__", "cancel.__code__.replace", "run_cleanup.__globals__.__builtins__.exec",
    "__class__.__base__.__subclasses__", "__class__.__init__", "__class__.__class__",
    "__class__.__base__.__setattr__", "__init__.__globals__.clear", "__setattr__.__self__",
    "_window.destroy", "_window.evaluate_js", "_window._functions.clear", "_db.execute", "_db.close",
    "_library.unlink", "_library.write_text", "_registry.cancel_all", "_functions.clear",
    "os.remove", "shutil.rmtree", "builtins.exec", "app.engine.migrate.migrate",
    "webview.windows.clear", "sys.exit", "globals", "exec", "eval", "open", "print",
    "getattr", "setattr", "pywebview", "api.migrate", "get_status ", "GET_STATUS", "migrate()",
    "migrate.call", "migrate.__call__", "get_status.__wrapped__",
]
# Exactly these: the engine's eight (the original IPC channels), then the window's own four
# (the upgrade preview, the support report, the library's folder, the log folder).
EXPECTED = ("get_status", "preview_cleanup", "run_cleanup", "migrate", "rollback", "cancel", "list_snapshots",
            "delete_snapshot", "preview_upgrade", "support_report", "show_in_folder", "open_log_folder")
# The twelve, called through the raw bridge with arguments they do not take: each must refuse.
ALL_WITH_BAD_ARGS = list(API_NAMES)
NAMES = DUNDERS + PRIVATE + CHAINS
ARGLISTS = [[], ["probe"]]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "lib" / "library.db"
    path.parent.mkdir()
    create_demo_library(str(path), recordings=300)
    return path


def probe(scenario: str, library: Path, tmp_path: Path, names: list[str], arglists: list) -> WindowRun:
    run = run_window(scenario, tmp_path, ["--library", str(library)], library=str(library),
                     names=names, arglists=arglists, probe_ms=1500, timeout=90)
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.leftovers == [], run
    return run


def test_only_the_twelve_are_listed_and_nothing_else_does_anything(demo: Path, tmp_path: Path) -> None:
    before = status(str(demo))
    run = probe("exposure", demo, tmp_path, NAMES, ARGLISTS)
    seen = run.seen

    assert API_NAMES == EXPECTED
    assert seen["listed"] == list(EXPECTED) == seen["listed_after"]
    assert seen["python_before"]["functions"] == sorted(API_NAMES)
    assert seen["python_before"]["js_api"] == "None"
    assert seen["python_after"] == seen["python_before"]  # exposed table, modules, registry

    results = seen["probe"]
    assert len(results) == len(NAMES) * len(ARGLISTS)
    # With js_api=None, a name that is not one of the twelve exposed functions resolves against
    # None: only None's own builtins answer (NoneType, object, type), holding nothing of the
    # app's. Nothing else (underscore names, chains off the eight, modules) answers at all.
    answered = {k.split(" ")[0] for k, v in results.items() if v["outcome"] != "no answer"}
    assert answered and all(name.split(".")[0] in DUNDERS for name in answered), answered
    for name in answered:
        where = seen["resolution"][name]
        assert "NoneType" in where or "'object'" in where or "of type object" in where \
            or where == "<class 'type'>", (name, where)
    for name in set(NAMES) - answered:
        assert seen["resolution"][name] == "None" or name.split(".")[0] in DUNDERS, name
    assert all(v["value"] is None for v in results.values() if v["outcome"] == "resolved")

    assert seen["files_unchanged"] is True and seen["window_open"] is True
    after = seen["after"]["status"]["resolved"]  # the real API still works afterwards
    assert after["success"] is True and after["recordings"] == before.model_dump(mode="json")["recordings"]
    assert seen["page_after"]["state"] == "idle"
    assert seen["listeners_at_exit"] == 0 and seen["threads_at_exit"] == []


def test_the_twelve_refuse_unexpected_arguments_through_the_raw_bridge(demo: Path, tmp_path: Path) -> None:
    run = probe("exposure", demo, tmp_path, ALL_WITH_BAD_ARGS, [["probe", 1], [{"force": True}, 2]])
    for key, value in run.seen["probe"].items():
        assert value["outcome"] == "resolved", (key, value)
        result = value["value"]
        assert result["success"] is False and result["errors"][0]["code"] == "INVALID_ARGUMENT", (key, result)
    assert run.seen["files_unchanged"] is True


def test_negative_control_the_same_probe_sees_a_leaky_facade(demo: Path, tmp_path: Path) -> None:
    """Proof that the probe can fail: a js_api object holding the library's path is caught."""
    run = probe("exposure_control", demo, tmp_path, NAMES, ARGLISTS)
    seen = run.seen
    assert seen["listed"] == ["get_status"]  # looks as harmless as ours from the list...
    # ...but the probe did damage. The probes run concurrently, so which comes first varies:
    # `__init__("probe")` may re-point the facade before `_library.unlink`/`write_text` run
    # (then they hit ./probe in the test folder instead of the library). Either way it shows.
    assert seen["files_unchanged"] is False or seen["leaky_library_after"] == "probe"
    touched = {k for k, v in seen["probe"].items() if k.startswith("_library.") and v["outcome"] == "resolved"}
    assert touched, seen["probe"]
    assert seen["probe"]["__init__.__globals__.clear []"]["outcome"] == "resolved"
    assert seen["leaky_globals_left"] == []  # the facade's module globals were wiped


def test_console_gets_invalid_argument_not_a_traceback_and_the_csp_holds(demo: Path, tmp_path: Path) -> None:
    run = run_window("console", tmp_path, ["--library", str(demo)], library=str(demo))
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.leftovers == []
    calls = run.seen["calls"]
    for key in ("rollback_string", "rollback_number", "rollback_null", "rollback_two", "migrate_arg",
                "status_arg", "preview_arg", "cleanup_arg", "cancel_arg"):
        assert "resolved" in calls[key], (key, calls[key])  # never a rejected promise
        result = calls[key]["resolved"]
        assert result["success"] is False and result["errors"][0]["code"] == "INVALID_ARGUMENT", key
        assert "Traceback" not in json.dumps(result)
    assert "force must be true or false" in calls["rollback_string"]["resolved"]["errors"][0]["message"]
    assert "takes no arguments" in calls["migrate_arg"]["resolved"]["errors"][0]["message"]
    assert calls["cancel_ok"]["resolved"] == {"operation": "cancel", "success": True, "cancelled": 0,
                                              "errors": [], "warnings": []}
    # An expected failure resolves with its code too (V10: nothing to roll back).
    assert calls["rollback_v10"]["resolved"]["errors"][0]["code"] == "NOTHING_TO_ROLL_BACK"
    assert run.seen["files_unchanged"] is True

    csp = run.seen["csp"]
    assert csp["inline_ran"] is False and csp["body_hidden"] is False
    assert {"script-src-elem", "style-src-elem", "img-src"} <= set(csp["violations"])
    assert "default-src 'self'" in csp["meta"] and "object-src 'none'" in csp["meta"]
    assert "'unsafe-inline'" not in csp["meta"]

    small = run.seen["small"]
    assert small["width"] <= 800 and small["scroll"] <= small["width"]  # no sideways scrolling
