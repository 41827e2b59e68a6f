"""Drives one real window in this process: `python -m tests.window_driver CONFIG.json`.

Qt cannot open a second window in one process, so every window test runs this in a
subprocess of its own (`run_window`). The window is opened through the app's real entry
point, `app.cli.main(argv)`; only `webview.start` is wrapped, to hand pywebview the
scenario as its start function. A scenario clicks the real buttons of the real page
(Qt offscreen), and everything it saw goes to `config["out"]` as JSON, which the pytest
side asserts on. Nothing here changes the app: a scenario that needs an operation to stay
mid-way holds the operation's own thread in a progress listener (`Gate`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "screenshots"
WINDOW_ENV = {"QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1"}


# ---- the pytest side ------------------------------------------------------------------

class WindowRun:
    def __init__(self, proc: subprocess.CompletedProcess, seen: dict, seconds: float, leftovers: list[str]):
        self.proc, self.seen, self.seconds, self.leftovers = proc, seen, seconds, leftovers

    def __repr__(self) -> str:
        return (f"WindowRun(rc={self.proc.returncode}, {self.seconds:.1f}s)\n--- stdout\n{self.proc.stdout[-3000:]}"
                f"\n--- stderr\n{self.proc.stderr[-3000:]}")


def session_processes(sid: int) -> list[str]:
    """Processes still alive in session `sid` (the driver runs as a session leader)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            found.append(text.split(")")[0] + ")")
    return found


def run_window(scenario: str, tmp_path: Path, argv: list[str], *, env: dict | None = None,
               timeout: float = 60, **config: Any) -> WindowRun:
    """Run one scenario in a fresh process; returns what it saw, its output and exit code."""
    out = tmp_path / f"seen-{scenario}.json"
    cfg = tmp_path / f"config-{scenario}.json"
    cfg.write_text(json.dumps({"scenario": scenario, "argv": argv, "out": str(out), **config}))
    started = time.monotonic()
    # Run in tmp_path: whatever a probe might write to a relative path stays in the test's
    # folder, where the exposure tests look for changes.
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "tests.window_driver", str(cfg)], cwd=tmp_path,
                            env={**os.environ, **WINDOW_ENV, "PYTHONPATH": python_path, **(env or {})},
                            start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate()
    seconds = time.monotonic() - started
    leftovers = []
    for _ in range(40):  # Chromium's helpers may take a moment to go after the browser
        leftovers = session_processes(proc.pid)
        if not leftovers:
            break
        time.sleep(0.05)
    if leftovers:
        os.killpg(proc.pid, 9)
    seen = json.loads(out.read_text()) if out.exists() else {}
    return WindowRun(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), seen,
                     seconds, leftovers)


def folder_fingerprint(folder: Path) -> dict[str, str]:
    """Every file under `folder` (the library, its sidecars, its snapshots...) by content hash;
    the driver's own config and output files aside."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(("seen-", "config-"))}


# ---- the window side ------------------------------------------------------------------

RESULT_STATE = "document.getElementById('result').dataset.state"
SNAPSHOT_JS = """(function () {
  function t(id) { var e = document.getElementById(id); return e ? e.textContent.trim() : null; }
  var buttons = {};
  Array.prototype.forEach.call(document.querySelectorAll('button[id]'), function (b) {
    buttons[b.id] = {disabled: b.disabled, hidden: !!b.closest('[hidden]') || b.hidden};
  });
  var counts = {}, was = {};
  Array.prototype.forEach.call(document.querySelectorAll('[data-count]'), function (d) {
    counts[d.dataset.count] = (d.querySelector('.value') || d).textContent.trim();
    var w = d.querySelector('.was');
    if (w && w.textContent.trim()) { was[d.dataset.count] = w.textContent.trim(); }
  });
  // The library's full path is shown in its location line, by design, and nowhere else:
  // `body` has it masked, `location_count` says how often it appeared.
  var shown = document.getElementById('library-path') ? document.getElementById('library-path').textContent : '';
  var text = document.body.innerText;
  var locationCount = shown ? text.split(shown).length - 1 : 0;
  return {
    state: document.getElementById('result').dataset.state,
    title: t('result-title'), message: t('result-message'), next: t('result-next'),
    details: Array.prototype.map.call(document.querySelectorAll('#result-details li'), function (l) { return l.textContent; }),
    name: t('library-name'), version: t('library-version'), counts: counts, about: t('about'),
    plan: document.getElementById('library-plan') && !document.getElementById('library-plan').hidden
      ? t('library-plan') : null,
    lead: document.querySelector('.lead') && document.querySelector('.lead').textContent.replace(/\\s+/g, ' ').trim(),
    notes: Array.prototype.map.call(document.querySelectorAll('#result-details li.note'), function (l) {
      return {code: l.dataset.code, text: l.textContent};
    }),
    windowTitle: document.title,
    cleanup: t('cleanup-summary'), phase: t('phase'), eta: t('eta'),
    progress: document.getElementById('progress').value,
    buttons: buttons, body: shown ? text.split(shown).join('<location>') : text, location_count: locationCount,
    was: was, upgrade_hint: t('upgrade-hint'), changes: document.getElementById('library-changes').hidden ? null
      : t('library-changes'),
    preview: {state: document.getElementById('upgrade-preview').dataset.state, text: t('upgrade-preview')},
    firstRun: !document.getElementById('first-run').hidden
  };
})()"""

RECORD_PROGRESS_JS = """window.__seen = [];
window.addEventListener('migration:progress', function (e) { window.__seen.push(e.detail); }); true"""

TWO_FRAMES_JS = """window.__frames = false;
requestAnimationFrame(function () { requestAnimationFrame(function () { window.__frames = true; }); }); true"""


class OnGui:
    """Runs a callable on Qt's GUI thread and waits for its result (screenshots, window lists).

    Made in the main thread before the GUI loop starts; a queued signal carries each call
    to that thread's event loop.
    """

    def __init__(self) -> None:
        from qtpy.QtCore import QObject, Qt, Signal

        class Bridge(QObject):
            call = Signal(object)

        self._bridge = Bridge()
        self._bridge.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _run(job: list) -> None:
        func, done, box = job
        try:
            box.append(func())
        except Exception as exc:  # reported to the waiting thread
            box.append(exc)
        done.set()

    def __call__(self, func: Callable[[], Any], timeout: float = 15) -> Any:
        done, box = threading.Event(), []
        self._bridge.call.emit([func, done, box])
        if not done.wait(timeout):
            raise TimeoutError("the GUI thread did not run the call")
        if isinstance(box[0], Exception):
            raise box[0]
        return box[0]


class Gate:
    """A progress listener that holds an operation's own thread at one phase until released."""

    def __init__(self, operation: str, phase: str) -> None:
        self.operation, self.phase = operation, phase
        self.reached, self.released = threading.Event(), threading.Event()

    def __call__(self, event: Any) -> None:
        if event.operation == self.operation and event.phase == self.phase and not self.reached.is_set():
            self.reached.set()
            self.released.wait(60)


class Page:
    def __init__(self, window: Any, on_gui: OnGui, config: dict) -> None:
        self.window, self.on_gui, self.config = window, on_gui, config

    def js(self, script: str) -> Any:
        return self.window.evaluate_js(script)

    def wait(self, expr: str, timeout: float = 20, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expr)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout}s for {what or expr}")
            time.sleep(0.02)

    def ready(self, desktop: bool = True) -> None:
        self.window.events.loaded.wait(30)
        self.wait("document.documentElement.dataset.ready === 'true'", what="the page's first status")
        if desktop:
            self.wait("document.documentElement.dataset.desktopReady === 'true'", what="desktop:ready")
        # The upgrade preview counts in the background after the status: let it finish, so
        # that what a scenario sees (and cancels) does not depend on how quick it was.
        self.wait("!document.getElementById('upgrade-preview') || "
                  "document.getElementById('upgrade-preview').dataset.state !== 'counting'",
                  timeout=60, what="the upgrade preview")

    def click(self, selector: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).click(); true")

    def snapshot(self) -> dict:
        return self.js(SNAPSHOT_JS)

    def wait_state(self, *states: str, timeout: float = 30) -> str:
        wanted = json.dumps(list(states))
        return self.wait(f"{wanted}.indexOf({RESULT_STATE}) >= 0 && {RESULT_STATE}", timeout, f"#result in {states}")

    def settle(self) -> None:
        self.js(TWO_FRAMES_JS)
        self.wait("window.__frames === true", what="two animation frames")

    def screenshot(self, name: str, changed_from: str | None = None) -> str | None:
        """Capture the window. `changed_from`: an earlier capture of a state that looks
        different; the page's frame can reach the Qt widget a little after the DOM changed
        (seen offscreen under load), so the capture is retried for up to 3 s until it
        differs (and if it never does, the caller's comparison fails)."""
        folder = self.config.get("screenshots")
        if not folder:
            return None
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = str(Path(folder) / f"{name}.png")
        self.settle()
        before = Path(changed_from).read_bytes() if changed_from else None
        deadline = time.monotonic() + 3
        while True:
            ok = self.on_gui(lambda: self.window.native.grab().save(path, "PNG"))
            if not ok or before is None or Path(path).read_bytes() != before or time.monotonic() > deadline:
                return path if ok else None
            time.sleep(0.05)


# ---- scenarios ------------------------------------------------------------------------

def _registry():
    from app.engine.progress import REGISTRY
    return REGISTRY


def _held_upgrade(page: Page) -> Gate:
    """Click #upgrade and hold the upgrade's thread in its 'migrating' phase."""
    gate = page.gate = Gate("migrate", "migrating")
    page.unsubscribe_gate = _registry().subscribe(gate)
    page.click("#upgrade")
    if not gate.reached.wait(20):
        raise TimeoutError("the upgrade never reached its 'migrating' phase")
    page.wait("document.getElementById('progress').value > 0", what="progress on the page")
    return gate


def scenario_upgrade(page: Page, seen: dict) -> None:
    page.ready()
    seen["remote_debugging"] = os.environ.get("QTWEBENGINE_REMOTE_DEBUGGING")
    seen["chromium_flags"] = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    seen["idle"] = page.snapshot()
    seen["shots"] = [page.screenshot("idle")]
    page.js(RECORD_PROGRESS_JS)
    gate = _held_upgrade(page)
    seen["running"] = page.snapshot()
    seen["shots"].append(page.screenshot("running", changed_from=seen["shots"][0]))
    gate.released.set()
    seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()
    seen["shots"].append(page.screenshot("done", changed_from=seen["shots"][1]))
    seen["events"] = page.js("window.__seen")
    seen["focused"] = page.js("document.activeElement && document.activeElement.id")


def scenario_cancel(page: Page, seen: dict) -> None:
    page.ready()
    page.js(RECORD_PROGRESS_JS)
    gate = _held_upgrade(page)
    seen["running"] = page.snapshot()
    page.click("#cancel")
    page.wait("document.getElementById('cancel').disabled", what="#cancel to be disabled once clicked")
    deadline = time.monotonic() + 10
    while not all(t.cancelled for t in _registry().active() if t.operation == "migrate"):
        if time.monotonic() > deadline:
            raise TimeoutError("the cancel never reached the upgrade")
        time.sleep(0.02)
    seen["cancelling"] = page.snapshot()
    gate.released.set()
    seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()
    seen["events"] = page.js("window.__seen")


def scenario_preflight(page: Page, seen: dict) -> None:
    page.ready()
    seen["loaded"] = page.snapshot()
    if not seen["loaded"]["buttons"]["upgrade"]["disabled"]:
        page.click("#upgrade")
        page.wait_state("failed", "done", "cancelled")
    seen["done"] = page.snapshot()


def scenario_rollback(page: Page, seen: dict) -> None:
    page.ready()
    seen["loaded"] = page.snapshot()
    page.click("#rollback")
    page.wait("!document.getElementById('rollback-confirm').hidden", what="the restore confirmation")
    seen["confirm"] = page.js("document.getElementById('rollback-confirm').innerText")
    seen["confirm_focus"] = page.js("document.activeElement.id")
    page.click("#rollback-confirm-yes")
    page.wait("!document.getElementById('rollback-force').hidden && "
              "!document.getElementById('rollback-force').disabled", what="the discard-changes question")
    seen["force_question"] = page.js("document.getElementById('rollback-confirm').innerText")
    seen["after_first_try"] = page.snapshot()
    page.js("document.getElementById('rollback-confirm').scrollIntoView(); true")
    page.screenshot("restore-confirm")
    page.click("#rollback-force")
    seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()


def scenario_cleanup(page: Page, seen: dict) -> None:
    page.ready()
    seen["loaded"] = page.snapshot()
    seen["findings"] = page.js("Array.prototype.map.call(document.querySelectorAll('#cleanup-findings li'), "
                               "function (l) { return l.textContent; })")
    page.click("#fix")
    page.wait("!document.getElementById('fix-confirm').hidden", what="the clean-up confirmation")
    page.click("#fix-confirm-yes")
    seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()


def scenario_upgrade_plain(page: Page, seen: dict) -> None:
    """Click Upgrade once the page is ready; what the page showed before and after."""
    page.ready()
    seen["loaded"] = page.snapshot()
    if not seen["loaded"]["buttons"]["upgrade"]["disabled"]:
        page.click("#upgrade")
        seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()


def scenario_first_run(page: Page, seen: dict) -> None:
    page.ready()
    seen["loaded"] = page.snapshot()
    page.click("#create-sample")
    page.wait("document.getElementById('library-name').textContent === 'library.db' && "
              f"{RESULT_STATE} === 'done'", what="the sample library in the status card")
    seen["done"] = page.snapshot()


PROBE_JS = """window.__probeRun = function (names, argLists, timeoutMs) {
  var cbs = window.pywebview._returnValuesCallbacks, results = {}, pending = 0;
  window.__probeDone = false;
  function finish() { pending -= 1; if (pending === 0) { window.__probeResults = results; window.__probeDone = true; } }
  names.forEach(function (name) {
    argLists.forEach(function (args, k) {
      pending += 1;
      var id = 'probe' + k + Math.random().toString(36).slice(2);
      var key = name + ' ' + JSON.stringify(args);
      if (!cbs[name]) { cbs[name] = {}; }
      var timer = setTimeout(function () { delete cbs[name][id]; results[key] = {outcome: 'no answer'}; finish(); }, timeoutMs);
      cbs[name][id] = function (ret) {
        clearTimeout(timer);
        delete cbs[name][id];
        var value;
        try { value = JSON.parse(ret.value); } catch (e) { value = String(ret.value); }
        results[key] = ret.isError ? {outcome: 'rejected', name: value && value.name}
                                   : {outcome: 'resolved', value: value};
        finish();
      };
      try { window.pywebview._jsApiCallback(name, args, id); }
      catch (e) { clearTimeout(timer); results[key] = {outcome: 'threw'}; finish(); }
    });
  });
  return true;
};
true"""

CALL_JS = """window.__calls = {}; window.__callsDone = false;
(function (calls) {
  var pending = calls.length;
  calls.forEach(function (c) {
    var f = window.pywebview.api[c[0]];
    f.apply(null, c[1]).then(function (r) { window.__calls[c[2]] = {resolved: r}; },
                             function (e) { window.__calls[c[2]] = {rejected: String(e && e.name)}; })
      .then(function () { pending -= 1; if (!pending) { window.__callsDone = true; } });
  });
})(%s); true"""


def call_api(page: Page, calls: list[tuple[str, list, str]]) -> dict:
    """Call pywebview.api functions from the page, as a console user would; their results."""
    page.js(CALL_JS % json.dumps(calls))
    page.wait("window.__callsDone === true", what="API calls from the page")
    return page.js("window.__calls")


def python_state(window: Any) -> dict:
    import app.desktop.api as api_module
    return {"functions": sorted(window._functions), "js_api": repr(window._js_api),
            "api_module": sorted(vars(api_module)), "listeners": _registry().listener_count(),
            "threads_alive": threading.main_thread().is_alive()}


def resolve_like_pywebview(window: Any, name: str) -> Any:
    """What pywebview 6.2.1's js_bridge_call would call for `name` (util.js_bridge_call)."""
    func = window._functions.get(name)
    if func is not None:
        return func
    obj = window._js_api
    for attr in name.split("."):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def scenario_exposure(page: Page, seen: dict, desktop: bool = True) -> None:
    page.ready(desktop=desktop)
    seen["resolution"] = {name: repr(resolve_like_pywebview(page.window, name))
                          for name in page.config["names"]}
    folder = Path.cwd()  # the test's folder: the library's, and this process's working folder
    before = folder_fingerprint(folder)
    seen["listed"] = page.js("Object.keys(window.pywebview.api)")
    seen["python_before"] = python_state(page.window)
    page.js(PROBE_JS)
    page.js(f"window.__probeRun({json.dumps(page.config['names'])}, {json.dumps(page.config['arglists'])}, "
            f"{int(page.config.get('probe_ms', 1500))})")
    seen["probe"] = page.wait("window.__probeDone === true && window.__probeResults", timeout=60,
                              what="every probe to answer or time out")
    # pywebview's own DOM-event channel reaches Python's two button listeners: a forged
    # click must do nothing while a library exists and no close was asked for.
    page.js("""(function () {
      ['create-sample', 'close-confirm-yes'].forEach(function (id) {
        var node = document.getElementById(id).getAttribute('data-pywebview-id');
        if (node) { window.pywebview._jsApiCallback('pywebviewEventHandler', {event: {type: 'click'}, nodeId: node}, 'probe'); }
      });
    })(); true""")
    time.sleep(0.5)
    seen["files_unchanged"] = folder_fingerprint(folder) == before
    seen["files_after"] = sorted(folder_fingerprint(folder))
    seen["listed_after"] = page.js("Object.keys(window.pywebview.api)")
    seen["python_after"] = python_state(page.window)
    seen["window_open"] = not page.window.events.closed.is_set()
    seen["after"] = call_api(page, [("get_status", [], "status")])
    seen["page_after"] = page.snapshot() if desktop else None


def scenario_console(page: Page, seen: dict) -> None:
    """What a developer typing in the console gets: bad arguments, and the CSP holding."""
    page.ready()
    folder = Path(page.config["library"]).parent
    before = folder_fingerprint(folder)
    seen["calls"] = call_api(page, [
        ("rollback", ["yes"], "rollback_string"), ("rollback", [1], "rollback_number"),
        ("rollback", [None], "rollback_null"), ("rollback", [False, True], "rollback_two"),
        ("migrate", [1], "migrate_arg"), ("get_status", [{}], "status_arg"),
        ("preview_cleanup", [[]], "preview_arg"), ("run_cleanup", ["now"], "cleanup_arg"),
        ("cancel", ["all"], "cancel_arg"), ("cancel", [], "cancel_ok"), ("rollback", [], "rollback_v10"),
    ])
    seen["files_unchanged"] = folder_fingerprint(folder) == before
    page.js("""window.__csp = [];
      document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.effectiveDirective); });
      var s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.head.appendChild(s);
      var r = document.createElement('script'); r.src = 'https://example.com/x.js'; document.head.appendChild(r);
      var st = document.createElement('style'); st.textContent = 'body { display: none }'; document.head.appendChild(st);
      var i = document.createElement('img'); i.src = 'https://example.com/x.png'; document.body.appendChild(i);
      true""")
    page.wait("window.__csp.length >= 4", what="CSP violation reports")
    seen["csp"] = {"violations": page.js("window.__csp"), "inline_ran": page.js("window.__inline === 1"),
                   "body_hidden": page.js("getComputedStyle(document.body).display === 'none'"),
                   "meta": page.js("document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")}
    # Readable at the smallest size: 800x600 without sideways scrolling.
    page.window.resize(800, 600)
    page.wait("window.innerWidth <= 800", what="the window at 800x600")
    page.settle()
    seen["small"] = page.js("({width: window.innerWidth, height: window.innerHeight, "
                            "scroll: document.documentElement.scrollWidth})")


def scenario_close(page: Page, seen: dict) -> None:
    page.ready()
    window = page.window
    gate = _held_upgrade(page)
    window.destroy()  # what the title bar's close button does: Qt's close event, then `closing`
    page.wait("!document.getElementById('close-confirm').hidden", what="the close confirmation")
    seen["asked"] = page.js("document.getElementById('close-confirm').innerText")
    seen["focus"] = page.js("document.activeElement.id")
    page.click("#close-confirm-no")
    seen["kept_open"] = not window.events.closed.is_set() and page.js(
        "document.getElementById('close-confirm').hidden")
    window.destroy()
    page.wait("!document.getElementById('close-confirm').hidden", what="the close confirmation, again")
    page.click("#close-confirm-yes")
    deadline = time.monotonic() + 10
    while not all(t.cancelled for t in _registry().active() if t.operation == "migrate"):
        if time.monotonic() > deadline:
            raise TimeoutError("closing never cancelled the upgrade")
        time.sleep(0.02)
    seen["open_while_rolling_back"] = not window.events.closed.is_set()
    gate.released.set()
    seen["closed"] = window.events.closed.wait(30)


def _listening(ports: set[int]) -> list[tuple[str, int]]:
    """Every socket listening on one of `ports`: (local address in the kernel's hex, port)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) in ports:
                found.append((address, int(port, 16)))
    return found


def _websocket_status(url: str, origin: str) -> str:
    """The status line the devtools WebSocket answers a handshake from `origin` with."""
    import base64
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Origin: {origin}\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request.encode())
        return conn.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def scenario_debug(page: Page, seen: dict) -> None:
    import urllib.request

    page.ready()
    port = os.environ.get("QTWEBENGINE_REMOTE_DEBUGGING")
    seen["port"] = port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=10) as response:
        seen["devtools"] = json.loads(response.read().decode())
    seen["listening_on"] = [address for address, _ in _listening({int(port)})]
    target = seen["devtools"].get("webSocketDebuggerUrl", "")
    seen["origin_answers"] = {origin: _websocket_status(target, origin)
                              for origin in ("https://evil.example", f"http://127.0.0.1:{port}")}
    from qtpy.QtWidgets import QApplication
    seen["visible_windows"] = page.on_gui(
        lambda: [w.windowTitle() for w in QApplication.topLevelWidgets() if w.isVisible()])


def scenario_no_debug_port(page: Page, seen: dict) -> None:
    """What listens on the ports an inherited environment asked for, once the page is up."""
    page.ready()
    seen["listening"] = [port for _, port in _listening({int(p) for p in page.config["ports"]})]
    seen["remote_debugging"] = os.environ.get("QTWEBENGINE_REMOTE_DEBUGGING")
    seen["chromium_flags"] = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")


def _navigation_probe(page: Page, seen: dict) -> None:
    """Try to take the window elsewhere (another server on 127.0.0.1, another file of the
    page's own server, a new window) and record what happened: requests that reached the
    other server, the page's address, and whether the API still answers."""
    import http.server
    import threading

    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            body = b"<html><body>elsewhere</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other = f"http://127.0.0.1:{server.server_address[1]}"
    page.ready()
    own = page.js("location.href")
    try:
        page.js(f"window.open({json.dumps(other + '/popup')}); true")
        time.sleep(1.0)
        page.js(f"setTimeout(function () {{ location.href = {json.dumps(other + '/evil')}; }}, 0); true")
        time.sleep(1.5)
        seen["after_other_server"] = page.js("location.href")
        page.js("setTimeout(function () { location.href = new URL('app.js', location.href).href; }, 0); true")
        time.sleep(1.0)
        seen["after_own_server"] = page.js("location.href")
        seen["api_names"] = page.js("Object.keys(window.pywebview && window.pywebview.api || {}).sort()")
    finally:
        server.shutdown()
    seen["own"] = own
    seen["hits"] = hits


def scenario_navigate(page: Page, seen: dict) -> None:
    _navigation_probe(page, seen)


def scenario_navigate_control(page: Page, seen: dict) -> None:
    """The same probe with pywebview's own navigation rules put back: it must see the
    window leave (the negative control of `scenario_navigate`)."""
    from webview.platforms import qt

    del qt.BrowserView.WebPage.acceptNavigationRequest  # QWebEnginePage's own again
    _navigation_probe(page, seen)


def scenario_back_to_front(page: Page, seen: dict) -> None:
    """Another process upgrades the library while the window is open; the page says so
    only once the window comes back to the front."""
    page.ready()
    stage = "document.getElementById('library-version').dataset.stage"
    seen["before"] = page.js(stage)
    done = subprocess.run([sys.executable, "-m", "app", "migrate", "--library", page.config["library"], "--json"],
                          capture_output=True, text=True, timeout=120)
    seen["cli_exit"] = done.returncode
    time.sleep(1.0)
    seen["without_focus"] = page.js(stage)
    page.js("window.dispatchEvent(new Event('focus')); true")
    page.wait(stage + " === 'upgraded'", what="the page to re-read the library")
    seen["after_focus"] = page.js(stage)
    seen["version_text"] = page.js("document.getElementById('library-version').textContent")


def scenario_look(page: Page, seen: dict) -> None:
    """The colour scheme the page picked, and a capture at the smallest supported size."""
    page.ready()
    page.window.resize(800, 600)
    page.wait("window.innerWidth <= 800", what="the window at 800x600")
    seen["dark"] = page.js("window.matchMedia('(prefers-color-scheme: dark)').matches")
    seen["colors"] = page.js("({bg: getComputedStyle(document.body).backgroundColor, "
                             "text: getComputedStyle(document.body).color})")
    seen["scroll"] = page.js("document.documentElement.scrollWidth <= window.innerWidth")
    seen["shot"] = page.screenshot(page.config.get("shot_name", "look"))


# ---- Backups ---------------------------------------------------------------------------

BACKUPS_JS = """(function () {
  function t(node) { return node ? node.textContent.replace(/\\s+/g, ' ').trim() : null; }
  function q(root, sel) { return root.querySelector(sel); }
  var confirm = document.getElementById('backup-confirm');
  return {
    summary: t(document.getElementById('backups-summary')),
    message: t(document.getElementById('backups-message')),
    message_state: document.getElementById('backups-message').dataset.state,
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    locale: Intl.DateTimeFormat().resolvedOptions().locale,
    confirm: {
      hidden: confirm.hidden, action: confirm.dataset.action || null, stage: confirm.dataset.stage || null,
      snapshot: confirm.dataset.snapshot || null,
      title: t(document.getElementById('backup-confirm-title')),
      text: t(document.getElementById('backup-confirm-text')),
      lose: Array.prototype.map.call(document.querySelectorAll('#backup-lose li'), t),
      yes: {hidden: document.getElementById('backup-confirm-yes').hidden, text: t(document.getElementById('backup-confirm-yes'))},
      force: {hidden: document.getElementById('backup-force').hidden, text: t(document.getElementById('backup-force')),
              disabled: document.getElementById('backup-force').disabled},
      focus: document.activeElement && document.activeElement.id
    },
    items: Array.prototype.map.call(document.querySelectorAll('#backups-list li'), function (li) {
      var time = q(li, 'time');
      return {
        id: li.dataset.snapshot, kind: li.dataset.kind, valid: li.dataset.valid === 'true',
        way_back: li.dataset.wayBack === 'true', text: t(li),
        time: t(time), datetime: time && time.getAttribute('datetime'),
        purpose: t(q(li, '.backup-purpose')), facts: t(q(li, '.backup-facts')), problem: t(q(li, '.backup-problem')),
        actions: Array.prototype.map.call(li.querySelectorAll('button'), function (b) { return b.dataset.action; }),
        disabled: Array.prototype.map.call(li.querySelectorAll('button'), function (b) { return b.disabled; })
      };
    })
  };
})()"""


def backups(page: Page) -> dict:
    return page.js(BACKUPS_JS)


def _backup_button(page: Page, action: str) -> str:
    """The selector of `action`'s button for the copy the test chose (`snapshot`: its id, or
    "way-back" for the copy a plain rollback restores)."""
    chosen = page.config["snapshot"]
    item = "li[data-way-back='true']" if chosen == "way-back" else f"li[data-snapshot={json.dumps(chosen)}]"
    selector = f"#backups-list {item} button[data-action='{action}']"
    page.wait(f"!!document.querySelector({json.dumps(selector)}) && "
              f"!document.querySelector({json.dumps(selector)}).disabled", what=selector)
    return selector


def _library_folder(page: Page) -> Path:
    return Path(page.config["library"]).parent


BACKUP_CONFIRM_SHOWN = ("!document.getElementById('backup-confirm').hidden && "
                        "!document.getElementById('backup-confirm-no').disabled")
BACKUP_MESSAGE_STATE = "document.getElementById('backups-message').dataset.state"


def scenario_backups_list(page: Page, seen: dict) -> None:
    page.ready()
    seen["loaded"] = page.snapshot()
    seen["backups"] = backups(page)
    if page.config.get("screenshots"):
        page.js("document.getElementById('backups').scrollIntoView(); true")
        seen["shot"] = page.screenshot(page.config.get("shot_name", "backups"))


def scenario_backup_delete(page: Page, seen: dict) -> None:
    """Delete the chosen copy from the list; `second`: "yes" or "no", the answer to the
    engine's second question (SNAPSHOT_NEEDED), if it asks one."""
    page.ready()
    folder = _library_folder(page)
    seen["before"] = backups(page)
    before = folder_fingerprint(folder)
    page.click(_backup_button(page, "delete"))
    page.wait(BACKUP_CONFIRM_SHOWN, what="the delete confirmation")
    time.sleep(0.3)  # a click that did something on disk would show by now
    seen["asked"] = backups(page)
    seen["unchanged_after_asking"] = folder_fingerprint(folder) == before
    page.click("#backup-confirm-yes")
    page.wait(f"({BACKUP_CONFIRM_SHOWN} && document.getElementById('backup-confirm').dataset.stage === 'again') || "
              f"['done', 'failed'].indexOf({BACKUP_MESSAGE_STATE}) >= 0", what="the first answer")
    seen["after_first"] = backups(page)
    seen["files_after_first"] = sorted(folder_fingerprint(folder))
    if page.config.get("screenshots"):
        page.js("document.getElementById('backup-confirm').scrollIntoView(); true")
        seen["shot"] = page.screenshot("backup-delete-asked-again")
    if seen["after_first"]["confirm"]["stage"] == "again" and not seen["after_first"]["confirm"]["hidden"]:
        page.click("#backup-force" if page.config.get("second", "yes") == "yes" else "#backup-confirm-no")
        if page.config.get("second", "yes") == "yes":
            page.wait(f"['done', 'failed'].indexOf({BACKUP_MESSAGE_STATE}) >= 0", what="the second answer")
        else:
            page.wait("document.getElementById('backup-confirm').hidden", what="the confirmation to close")
            time.sleep(0.3)
    seen["done"] = backups(page)
    seen["page"] = page.snapshot()
    seen["focus"] = page.js("document.activeElement && document.activeElement.id")


def scenario_backup_restore(page: Page, seen: dict) -> None:
    """Restore the chosen copy from the list, discarding later changes if the engine asks."""
    page.ready()
    folder = _library_folder(page)
    seen["before"] = backups(page)
    before = folder_fingerprint(folder)
    page.click(_backup_button(page, "restore"))
    page.wait(BACKUP_CONFIRM_SHOWN, what="the restore confirmation")
    time.sleep(0.3)
    seen["asked"] = backups(page)
    seen["unchanged_after_asking"] = folder_fingerprint(folder) == before
    page.click("#backup-confirm-yes")
    page.wait(f"({BACKUP_CONFIRM_SHOWN} && document.getElementById('backup-confirm').dataset.stage === 'again') || "
              f"['done', 'failed'].indexOf({RESULT_STATE}) >= 0", what="the restore or its second question")
    seen["after_first"] = backups(page)
    seen["page_after_first"] = page.snapshot()
    if seen["after_first"]["confirm"]["stage"] == "again" and not seen["after_first"]["confirm"]["hidden"]:
        page.click("#backup-force")
    seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()
    seen["backups_after"] = backups(page)


def scenario_fix_asks(page: Page, seen: dict) -> None:
    """"Fix these" asks first: a click, and "Not now", change nothing; the confirmation runs it."""
    page.ready()
    folder = _library_folder(page)
    seen["loaded"] = page.snapshot()
    seen["backups_before"] = backups(page)
    before = folder_fingerprint(folder)
    page.wait("!document.getElementById('fix').disabled", what="#fix to be enabled")
    page.click("#fix")
    page.wait("!document.getElementById('fix-confirm').hidden", what="the clean-up confirmation")
    time.sleep(0.5)
    seen["asked"] = page.js("document.getElementById('fix-confirm').innerText")
    seen["asked_focus"] = page.js("document.activeElement && document.activeElement.id")
    seen["asked_page"] = page.snapshot()
    seen["unchanged_after_click"] = folder_fingerprint(folder) == before
    page.click("#fix-confirm-no")
    page.wait("document.getElementById('fix-confirm').hidden", what="the confirmation to close")
    time.sleep(0.3)
    seen["unchanged_after_no"] = folder_fingerprint(folder) == before
    page.wait("!document.getElementById('fix').disabled", what="#fix to be enabled again")
    page.click("#fix")
    page.wait("!document.getElementById('fix-confirm').hidden", what="the clean-up confirmation, again")
    page.click("#fix-confirm-yes")
    seen["final_state"] = page.wait_state("done", "failed", "cancelled")
    seen["done"] = page.snapshot()
    seen["backups_after"] = backups(page)


SCENARIOS: dict[str, Callable[[Page, dict], None]] = {
    "backups_list": scenario_backups_list, "backup_delete": scenario_backup_delete,
    "backup_restore": scenario_backup_restore, "fix_asks": scenario_fix_asks,
    "look": scenario_look, "cleanup": scenario_cleanup,
    "upgrade": scenario_upgrade, "cancel": scenario_cancel, "preflight": scenario_preflight,
    "upgrade_plain": scenario_upgrade_plain,
    "rollback": scenario_rollback, "first_run": scenario_first_run, "exposure": scenario_exposure,
    "console": scenario_console, "close": scenario_close, "debug": scenario_debug, "no_debug_port": scenario_no_debug_port,
    "navigate": scenario_navigate, "navigate_control": scenario_navigate_control,
    "back_to_front": scenario_back_to_front,
    "exposure_control": lambda page, seen: scenario_exposure(page, seen, desktop=False),
}


# The negative control: the facade the guide warns about. It keeps the library's path in an
# underscore attribute, hidden from `pywebview.api` but reachable through the raw bridge.
# It lives in a namespace of its own, so what the probe does to its globals (`__init__.
# __globals__.clear` reaches them) shows up there instead of breaking this driver.
LEAKY_SOURCE = """
from pathlib import Path

class LeakyApi:
    def __init__(self, library):
        self._library = Path(library)

    def get_status(self):
        return {"success": True, "library_name": self._library.name}
"""


def make_leaky_api(library: str) -> tuple[Any, dict]:
    namespace: dict[str, Any] = {"__name__": "leaky_api"}
    exec(LEAKY_SOURCE, namespace)
    return namespace["LeakyApi"](library), namespace


def main(config_path: str) -> int:
    import faulthandler

    import webview

    config = json.loads(Path(config_path).read_text())
    # A hang shows where every thread stood, on stderr, before the test's timeout kills us.
    faulthandler.dump_traceback_later(config.get("dump_after", 45), exit=False)
    scenario = SCENARIOS.get(config["scenario"])
    if scenario is None:  # the scenarios of tests/window_states.py (issue 14's window half)
        from tests.window_states import SCENARIOS as STATE_SCENARIOS
        scenario = STATE_SCENARIOS[config["scenario"]]
    seen: dict[str, Any] = {}
    real_start = webview.start

    def drive(window: Any, on_gui: OnGui) -> None:
        page = Page(window, on_gui, config)
        try:
            scenario(page, seen)
        except Exception:
            seen["error"] = traceback.format_exc()
        finally:
            if "error" in seen:  # fail fast: stop what runs, so that the window can close
                _registry().cancel_all()
            gate = getattr(page, "gate", None)
            if gate is not None:
                gate.released.set()
                page.unsubscribe_gate()
            for _ in range(15):  # refused while an operation still winds down: try again
                if window.events.closed.is_set():
                    break
                window.destroy()
                window.events.closed.wait(1)
            if not window.events.closed.is_set():
                seen.setdefault("error", "the window did not close")
                Path(config["out"]).write_text(json.dumps(seen, indent=1, default=str))
                os._exit(3)

    def start(func: Any = None, args: Any = None, **kwargs: Any) -> None:
        assert func is None, "the app passed its own start function"
        on_gui = OnGui()  # in the main thread, before the GUI loop starts
        return real_start(lambda: drive(webview.windows[0], on_gui), None, **kwargs)

    webview.start = start
    if config.get("toy_next_step"):  # a next version, registered the way tests/test_next_step.py does
        from app.engine.steps import REGISTRY
        from tests.test_next_step import CaptureStats
        REGISTRY.register(CaptureStats())
    if config["scenario"] == "exposure_control":
        from app.desktop.assets import page_file
        leaky, namespace = make_leaky_api(config["library"])
        with page_file() as page:
            webview.create_window("control", str(page), js_api=leaky, text_select=True)
            webview.start()
        seen["leaky_globals_left"] = sorted(k for k in namespace if not k.startswith("__"))
        seen["leaky_library_after"] = str(vars(leaky).get("_library"))
        code = 0
    else:
        from app.cli import main as app_main
        code = app_main(config["argv"])
    seen["exit_code"] = code
    seen["listeners_at_exit"] = _registry().listener_count()
    seen["threads_at_exit"] = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread()
                                     and not t.daemon)
    Path(config["out"]).write_text(json.dumps(seen, indent=1, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
