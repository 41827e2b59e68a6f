"""One window over one library: `open_window()` builds it, wires it, runs it, returns 0.

The wiring, in one place:
- the API functions are exposed with `window.expose()` and `js_api=None` (see api);
- the engine's progress reaches the page through `ProgressPush` (see page), which leaves
  the registry when the window closes;
- `closing` goes through `CloseGuard` (see closing);
- on Qt, the window never leaves its page (see navigation), grants no web permission
  (pywebview's own answer to a request aborts the process) and may write the clipboard
  for "Copy report" (see permissions);
- on every page load, Python listens to two buttons through pywebview's DOM events
  (`#create-sample`, `#close-confirm-yes`) and then tells the page `desktop:ready`, with
  where the library is (its full path: the window is its owner's, so it may show it; no
  result, report or log line carries it) and whether a sample library may be offered
  (only at the app's own default location: a mistyped `--library` gets no offer).

`--debug` turns on pywebview's debug mode (devtools, Chromium remote debugging on
127.0.0.1) without opening the inspector window, which would keep the process alive after
the main window closes. It is never on without the flag.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from app import __version__
from app.desktop.api import OperationWatch, make_api
from app.desktop.navigation import confine
from app.desktop.permissions import restrict
from app.desktop.assets import page_file
from app.desktop.closing import CloseGuard
from app.desktop.firstrun import SampleOffer
from app.desktop.page import ProgressPush, dispatch
from app.engine.locations import default_library
from app.engine.progress import REGISTRY, ProgressRegistry

log = logging.getLogger(__name__)

TITLE = f"Upgrade library {__version__}"
SIZE = (960, 760)
MIN_SIZE = (800, 600)
GUIS = ("qt", "gtk")
DESKTOP_READY = "desktop:ready"


def at_default_location(library: str) -> bool:
    """The library named is the app's own default one (however it was named)."""
    return os.path.abspath(os.path.expanduser(library)) == os.path.abspath(default_library())


def ready_detail(library: str) -> dict[str, Any]:
    """What the page learns with `desktop:ready`: where the library is, and whether a
    missing one may be replaced by a sample library."""
    return {"library_path": os.path.abspath(library), "sample_offer": at_default_location(library)}


class CannotOpen(Exception):
    """The window cannot open here (no display, missing GUI toolkit...); the message says why."""


def check_can_open(gui: str) -> None:
    """Fail early, in words, where the toolkit would otherwise abort the process."""
    if not sys.platform.startswith("linux"):
        return
    offscreen = gui == "qt" and os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal"))
    if not offscreen and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise CannotOpen("There is no display to open the window on (DISPLAY and WAYLAND_DISPLAY "
                         "are not set). The command line works without one: python -m app --help")
    if gui == "qt" and hasattr(os, "geteuid") and os.geteuid() == 0 \
            and not os.environ.get("QTWEBENGINE_DISABLE_SANDBOX"):
        raise CannotOpen("The Qt web view refuses to run as root with its sandbox on. Run the app "
                         "as a normal user, or set QTWEBENGINE_DISABLE_SANDBOX=1 if you accept "
                         "running without it.")


# Chromium switches that open a debugging port or let pages reach one: never inherited.
_DEBUG_SWITCHES = ("--remote-debugging", "--remote-allow-origins", "--auto-open-devtools")


def scrub_debug_environment() -> None:
    """Remove inherited debugging settings before Qt starts: an exported
    QTWEBENGINE_REMOTE_DEBUGGING (or a --remote-debugging-port in the Chromium flags) would
    otherwise open a port that any local user can drive the window through, without
    --debug. With --debug, pywebview sets its own port after this."""
    os.environ.pop("QTWEBENGINE_REMOTE_DEBUGGING", None)
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS")
    if flags is None:
        return
    kept = [flag for flag in flags.split() if not flag.startswith(_DEBUG_SWITCHES)]
    if kept:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(kept)
    else:
        del os.environ["QTWEBENGINE_CHROMIUM_FLAGS"]


def _devtools_for_own_pages_only() -> None:
    """Pick the debugging port before pywebview does (its rule: 8228 or the next free one)
    and let only the devtools' own pages on it open a debugging session: QtWebEngine
    otherwise accepts WebSocket connections from any origin, so any web page open in a
    browser on this computer could drive the window."""
    from webview.platforms import qt

    port = qt.BrowserView._get_debug_port()
    qt.BrowserView.inspector_port = port  # pywebview then keeps it
    os.environ["QTWEBENGINE_REMOTE_DEBUGGING"] = port
    # The frontend the port serves itself, and a browser's built-in one (chrome://inspect).
    own = f"http://127.0.0.1:{port},http://localhost:{port},devtools://devtools"
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --remote-allow-origins={own}".strip()


def debug_address(renderer: str) -> str:
    """Where the developer tools are, as pywebview set them up for this run's renderer."""
    if renderer.startswith("qt"):
        # pywebview's Qt backend picks a free port from 8228 and hands it to QtWebEngine
        # through this variable when the first window is created.
        value = os.environ.get("QTWEBENGINE_REMOTE_DEBUGGING", "")
        if value:
            return "http://" + (value if ":" in value else f"127.0.0.1:{value}")
        return "remote debugging is not on"
    return "right-click the page and choose Inspect Element"


def open_window(library: str, *, is_default: bool = False, debug: bool = False, gui: str = "qt",
                registry: ProgressRegistry | None = None,
                on_start: Callable[[Any], None] | None = None) -> int:
    """Show the window until it closes; returns the exit code (0).

    `on_start(window)` runs in a thread of its own once the GUI loop runs, as with
    `webview.start(func, args)`: for scripting the window (the window tests use it).
    """
    if gui not in GUIS:
        raise CannotOpen(f"Unknown GUI toolkit {gui!r}: choose one of {', '.join(GUIS)}.")
    check_can_open(gui)
    scrub_debug_environment()
    import webview  # here, not at the top: the command line must not load Qt
    from webview.errors import WebViewException

    registry = registry or REGISTRY
    watch = OperationWatch()
    webview.settings["OPEN_DEVTOOLS_IN_DEBUG"] = False  # the inspector window would outlive ours
    webview.settings["REMOTE_DEBUGGING_PORT"] = None

    with page_file() as page:
        window = webview.create_window(TITLE, str(page), js_api=None, width=SIZE[0], height=SIZE[1],
                                       min_size=MIN_SIZE, text_select=True)
        window.expose(*make_api(library, registry, watch))

        push = ProgressPush(window, registry)
        push.attach()
        guard = CloseGuard(window, registry, watch, on_accept=push.detach)
        window.events.closing += guard.on_closing
        # `is_default` says --library was not given; the location decides either way.
        offer = SampleOffer(window, library, is_default or at_default_location(library))

        def on_loaded() -> None:  # a worker thread, after every page load
            _listen_to_buttons(window, offer, guard)
            dispatch(window, DESKTOP_READY, ready_detail(library))

        window.events.loaded += on_loaded
        if debug:
            def on_shown() -> None:
                # The renderer pywebview really loaded: asked for GTK, it falls back to Qt.
                renderer = getattr(window.gui, "renderer", "") or ""
                print(f"Developer tools: {debug_address(renderer)}", flush=True)
                print("Warning: while the window is open, anyone who can log in to this computer can "
                      "connect to that address and use the window, its upgrade and restore included.",
                      flush=True)
            window.events.shown += on_shown
        if gui == "qt":
            confine()
            restrict()
            if debug:
                _devtools_for_own_pages_only()
        try:
            webview.start(on_start, (window,) if on_start else None, gui=gui, debug=debug)
        except WebViewException as exc:  # the toolkit failed to load: a system library is missing
            log.exception("the GUI toolkit could not be loaded")
            raise CannotOpen(f"The {gui} toolkit could not be loaded. A system library is probably "
                             "missing: see README, 'What the window needs'.") from exc
        finally:
            push.detach()
            _free_stranded_calls(window)
    return 0


def _free_stranded_calls(window: Any, timeout: float = 5.0) -> None:
    """Once the GUI loop has ended, free the threads still waiting for the page.

    pywebview's Qt `evaluate_js` waits on a semaphore that only the GUI thread releases. A
    call that began just before the window closed (a progress event, or pywebview handing
    an API result back to the page) would wait forever, and its thread, not a daemon,
    would keep the process alive. Released, such a call returns nothing, as any call made
    after the window closed does. `_js_results` is pywebview 6.2.1's Qt internals: where it
    is missing (GTK), there is nothing to free.
    """
    pending = getattr(getattr(window, "native", None), "_js_results", None)
    if not isinstance(pending, dict):
        return
    deadline = time.monotonic() + timeout
    while True:
        for entry in list(pending.values()):
            entry["semaphore"].release()
        waiting = [t for t in threading.enumerate()
                   if t is not threading.current_thread() and not t.daemon and t.is_alive()]
        if not waiting or time.monotonic() > deadline:
            if waiting:
                log.warning("threads still running after the window closed: %s", [t.name for t in waiting])
            return
        time.sleep(0.02)


def _listen_to_buttons(window: Any, offer: SampleOffer, guard: CloseGuard) -> None:
    for selector, handler in (("#create-sample", offer.on_click), ("#close-confirm-yes", guard.on_confirm)):
        element = window.dom.get_element(selector)
        if element is None:
            log.error("the page has no %s button", selector)
            continue
        element.events.click += handler
