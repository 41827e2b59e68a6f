"""Smoke test of the BUILT app (dist/meeting-library-upgrade/), run by `make package-test`.

    .venv/bin/python packaging/smoke_test.py [--bundle EXE] [--keep] [--screenshot PNG]

Everything runs through the frozen executable, never through this source tree:

1. `--version` prints the source tree's version;
2. `demo-library` writes a fresh V10 sample library in a temporary folder;
3. `status --json` says version 10, success; the upgrade's helper process (started as
   `--split-pass-helper`) computes rows without changing the library; `migrate --json`
   says version 11, success; `status --json` says version 11;
4. the window opens offscreen on that library (`QT_QPA_PLATFORM=offscreen`, and as root
   `QTWEBENGINE_DISABLE_SANDBOX=1`) with `--debug`, whose Chromium remote debugging on
   127.0.0.1 is how we look in: `/json` must list the page `Upgrade library` served from
   the bundle, and the page itself (Runtime.evaluate over the DevTools websocket) must
   have shown the library's status through the pywebview bridge (`<html data-ready>`,
   `data-desktop-ready`, version "11 (upgraded)"): the bundle's frontend, pywebview's
   injected JS, the bridge and the engine all work frozen;
5. SIGINT closes it (pywebview's Qt backend quits its event loop on SIGINT, as on Ctrl-C),
   and it must exit 0 within 15 s with no process of its session left; if not, the whole
   process group is killed and the test fails;
6. the library is untouched by the window (same SHA-256, still version 11), and the log
   went to the platformdirs log folder under the temporary XDG_STATE_HOME.

HOME and the XDG folders point into the temporary folder, so nothing touches the real
user's library, log or QtWebEngine profile. Stdlib only. Exit status 0 = all passed.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "meeting-library-upgrade"
DEFAULT_BUNDLE = ROOT / "dist" / NAME / NAME
TITLE = "Upgrade library"
WINDOW_TIMEOUT = 60.0  # from start to page ready (--window-timeout); ~1.5 s here
EXIT_TIMEOUT = 15.0


class SmokeFailure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def source_version() -> str:
    tree = ast.parse((ROOT / "app" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SmokeFailure("app/__init__.py has no __version__")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- a minimal DevTools (websocket) client: one connection, text frames only -----------

class DevTools:
    def __init__(self, ws_url: str, timeout: float = 10.0) -> None:
        url = urllib.parse.urlsplit(ws_url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SmokeFailure("DevTools closed the websocket during the handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        check(head.split(b"\r\n", 1)[0].split(b" ")[1] == b"101",
              f"DevTools refused the websocket: {head[:200]!r}")
        self.next_id = 0

    def _recv_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SmokeFailure("DevTools closed the websocket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send(self, payload: bytes, opcode: int = 0x1) -> None:
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _recv_message(self) -> str:
        parts = []
        while True:
            b0, b1 = self._recv_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._recv_exact(8))[0]
            mask = self._recv_exact(4) if b1 & 0x80 else None
            payload = self._recv_exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise SmokeFailure("DevTools closed the websocket")
            if opcode == 0x9:
                self._send(payload, opcode=0xA)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            message = json.loads(self._recv_message())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise SmokeFailure(f"DevTools {method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise SmokeFailure(f"the page threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self._send(b"", opcode=0x8)
        except OSError:
            pass
        self.sock.close()


# ---- the steps -----------------------------------------------------------------------

class Smoke:
    def __init__(self, bundle: Path, work: Path, screenshot: Path | None,
                 window_timeout: float = WINDOW_TIMEOUT) -> None:
        self.bundle, self.work, self.screenshot = bundle, work, screenshot
        self.window_timeout = window_timeout
        self.library = work / "sample.db"
        home = work / "home"
        self.env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
                    "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
                    "XDG_CACHE_HOME": str(home / "cache"), "QT_QPA_PLATFORM": "offscreen"}
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self.env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
        self.env.pop("QTWEBENGINE_REMOTE_DEBUGGING", None)
        self.timings: list[tuple[str, float]] = []

    def step(self, name: str, func) -> None:
        started = time.monotonic()
        func()
        self.timings.append((name, time.monotonic() - started))
        print(f"  ok  {name} ({self.timings[-1][1]:.1f} s)", flush=True)

    def run(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.bundle), *args], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=300)
        check(proc.returncode == expect,
              f"`{NAME} {' '.join(args)}` exited {proc.returncode}, expected {expect}\n"
              f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}")
        return proc

    def run_json(self, *args: str) -> dict:
        out = self.run(*args, "--json").stdout
        try:
            return json.loads(out)
        except ValueError:
            raise SmokeFailure(f"`{' '.join(args)} --json` printed no single JSON object: {out[:500]!r}")

    # 1-3: the command line

    def version(self) -> None:
        out = self.run("--version").stdout.strip()
        check(out.endswith(" " + source_version()), f"--version printed {out!r}, the source is {source_version()}")

    def demo(self) -> None:
        self.run("demo-library", str(self.library), "--recordings", "200")
        check(self.library.is_file(), "demo-library wrote no file")

    def status_before(self) -> None:
        result = self.run_json("status", "--library", str(self.library))
        check(result.get("success") is True and result.get("version") == 10,
              f"status before the upgrade: {result}")

    def helper(self) -> None:
        # The upgrade's data-pass helper (app.engine.steps.v11.split_pass) is started through the
        # frozen executable's one hidden flag; it only reads the library.
        scratch = self.work / "helper-scratch.tmp"
        scratch.touch()
        before = sha256(self.library)
        job = json.dumps({"library": str(self.library), "scratch": str(scratch), "start": "",
                          "parent": os.getpid()})
        proc = subprocess.run([str(self.bundle), "--split-pass-helper"], input=job + "\n", cwd=self.work,
                              env=self.env, capture_output=True, text=True, timeout=120)
        last = (proc.stdout.strip().splitlines() or [""])[-1].split()
        check(proc.returncode == 0 and last[:1] == ["done"] and int(last[1]) > 0,
              f"the helper exited {proc.returncode}: {proc.stdout[-500:]!r} {proc.stderr[-2000:]}")
        check(sha256(self.library) == before, "the helper changed the library")
        scratch.unlink()

    def migrate(self) -> None:
        result = self.run_json("migrate", "--library", str(self.library))
        check(result.get("success") is True and result.get("version") == 11 and not result.get("errors"),
              f"migrate: {result}")

    def status_after(self) -> None:
        result = self.run_json("status", "--library", str(self.library))
        check(result.get("success") is True and result.get("version") == 11, f"status after migrate: {result}")

    # 4-6: the window

    def window(self) -> None:
        before = sha256(self.library)
        snapshots = sorted(p.name for p in (self.library.parent / (self.library.name + ".snapshots")).iterdir())
        log = self.work / "window.log"
        with open(log, "w", encoding="utf-8") as sink:
            proc = subprocess.Popen([str(self.bundle), "--library", str(self.library), "--debug"],
                                    cwd=self.work, env=self.env, start_new_session=True,
                                    stdout=subprocess.PIPE, stderr=sink, text=True)
            lines: list[str] = []
            reader = threading.Thread(target=lambda: [lines.append(line) for line in proc.stdout], daemon=True)
            reader.start()
            try:
                self._look_at_the_page(proc, lines)
                self._close(proc)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                self._no_leftovers(proc.pid)
                reader.join(timeout=5)
        check(proc.returncode == 0, f"the window exited {proc.returncode} after SIGINT; see {log}")
        check(sha256(self.library) == before, "the window changed the library file")
        after = sorted(p.name for p in (self.library.parent / (self.library.name + ".snapshots")).iterdir())
        check(after == snapshots, f"the window changed the snapshots: {snapshots} -> {after}")
        result = self.run_json("status", "--library", str(self.library))
        check(result.get("success") is True and result.get("version") == 11, f"status after the window: {result}")
        logfile = Path(self.env["XDG_STATE_HOME"]) / "MeetingRecorder" / "log" / "upgrade.log"
        check(logfile.is_file() and logfile.stat().st_size > 0, f"no log at {logfile}")

    def _look_at_the_page(self, proc: subprocess.Popen, lines: list[str]) -> None:
        deadline = time.monotonic() + self.window_timeout

        def alive() -> None:
            check(proc.poll() is None, f"the window exited {proc.returncode} before its page was ready; "
                                       f"stdout: {''.join(lines)[-2000:]}; see {self.work / 'window.log'}")
            check(time.monotonic() < deadline, f"the page was not ready within {self.window_timeout:.0f} s")

        address = None
        while address is None:
            alive()
            found = [m for m in (re.search(r"Developer tools: (http://127\.0\.0\.1:\d+)", line) for line in lines) if m]
            address = found[0].group(1) if found else None
            time.sleep(0.1)

        page = None
        while page is None:
            alive()
            try:
                with urllib.request.urlopen(address + "/json", timeout=2) as response:
                    targets = json.load(response)
            except (OSError, ValueError):
                targets = []
            pages = [t for t in targets if t.get("type") == "page" and t.get("title", "").startswith(TITLE)
                     and urllib.parse.urlsplit(t.get("url", "")).hostname == "127.0.0.1"
                     and t.get("url", "").endswith("/index.html")]
            page = pages[0] if pages else None
            time.sleep(0.2)

        tools = DevTools(page["webSocketDebuggerUrl"])
        try:
            probe = ("JSON.stringify({ready: document.documentElement.dataset.ready || null,"
                     " desktop: document.documentElement.dataset.desktopReady || null,"
                     " name: document.getElementById('library-name').textContent,"
                     " version: document.getElementById('library-version').textContent,"
                     " api: typeof (window.pywebview && window.pywebview.api && window.pywebview.api.get_status)})")
            seen: dict = {}
            while not (seen.get("ready") and seen.get("desktop")):
                alive()
                seen = json.loads(tools.evaluate(probe))
                time.sleep(0.2)
            check(seen["api"] == "function", f"pywebview.api.get_status is missing: {seen}")
            check(seen["name"] == self.library.name, f"the page shows library {seen['name']!r}")
            check(seen["version"].startswith("11"), f"the page shows version {seen['version']!r}")
            if self.screenshot:
                shot = tools.call("Page.captureScreenshot", format="png")
                self.screenshot.parent.mkdir(parents=True, exist_ok=True)
                self.screenshot.write_bytes(base64.b64decode(shot["data"]))
        finally:
            tools.close()

    @staticmethod
    def _close(proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGINT)  # pywebview's Qt backend: QApplication.quit()
        try:
            proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"the window did not exit within {EXIT_TIMEOUT:.0f} s of SIGINT (killed)")

    @staticmethod
    def _no_leftovers(sid: int) -> None:
        """QtWebEngine helpers of the window's session must be gone (killed if they linger)."""
        def alive_in_session() -> list[int]:
            pids = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[-1].split()
                except OSError:
                    continue
                if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
                    pids.append(int(stat.parent.name))
            return pids

        if not Path("/proc").is_dir():
            return
        for _ in range(50):
            if not alive_in_session():
                return
            time.sleep(0.1)
        left = alive_in_session()
        os.killpg(sid, signal.SIGKILL)
        raise SmokeFailure(f"processes of the window's session outlived it: {left} (killed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="the built executable")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the window's page here")
    parser.add_argument("--window-timeout", type=float, default=WINDOW_TIMEOUT, metavar="SECONDS",
                        help="how long the window may take to show the library (default %(default).0f)")
    args = parser.parse_args(argv)
    if not args.bundle.is_file():
        print(f"smoke test: no built app at {args.bundle}: run `make package` first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="smoke-"))
    smoke = Smoke(args.bundle.resolve(), work, args.screenshot, args.window_timeout)
    started = time.monotonic()
    print(f"Smoke test of {args.bundle} (in {work})", flush=True)
    try:
        smoke.step("--version", smoke.version)
        smoke.step("demo-library (200 recordings)", smoke.demo)
        smoke.step("status --json: version 10", smoke.status_before)
        smoke.step("the upgrade's helper process: rows computed, library unchanged", smoke.helper)
        smoke.step("migrate --json: success, version 11", smoke.migrate)
        smoke.step("status --json: version 11", smoke.status_after)
        smoke.step("window offscreen: page ready, shows version 11; SIGINT; exit 0; library untouched",
                   smoke.window)
    except (SmokeFailure, subprocess.TimeoutExpired) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        print(f"(kept {work})", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Smoke test passed in {time.monotonic() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
