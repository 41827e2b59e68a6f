"""Window scenarios for what the page says in each state of a library, and for support
without a terminal (tests/test_window_states.py). Run by tests/window_driver.py, which
looks here for a scenario it does not know itself; each runs in the window's own process,
clicks the real buttons and records what the page showed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.window_driver import Page, call_api, folder_fingerprint

PAGE_JS = """(function () {
  function el(id) { return document.getElementById(id); }
  function t(id) { var e = el(id); return e ? e.textContent.replace(/\\s+/g, ' ').trim() : null; }
  function shown(id) { var e = el(id); return !!e && !e.hidden && !e.closest('[hidden]'); }
  function items(sel) {
    return Array.prototype.map.call(document.querySelectorAll(sel), function (l) {
      return l.textContent.replace(/\\s+/g, ' ').trim();
    });
  }
  var up = el('upgrade').getBoundingClientRect();
  return {
    path: t('library-path'), location_shown: shown('library-location'),
    first_run: shown('first-run'), create_sample_shown: shown('create-sample'),
    cleanup_title: t('cleanup-title'), cleanup_summary: t('cleanup-summary'), findings: items('#cleanup-findings li'),
    cleanup_after_upgrade: shown('cleanup-after-upgrade') ? t('cleanup-after-upgrade') : null,
    upgrade_hint: t('upgrade-hint'),
    preview_state: el('upgrade-preview').dataset.state, preview: shown('upgrade-preview') ? t('upgrade-preview') : null,
    progress_shown: shown('progress-region'), progress: el('progress').value, phase: t('phase'),
    changes: shown('library-changes') ? t('library-changes') : null,
    fix_list: items('#fix-confirm-list li'),
    fix_restore: shown('fix-confirm-restore') ? t('fix-confirm-restore') : null,
    location_message: t('location-message'), location_state: el('location-message').dataset.state || null,
    support_message: t('support-message'), support_state: el('support-message').dataset.state || null,
    report: el('report-text').value, report_shown: shown('report-box'),
    iso_times: document.body.innerText.match(/\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}/g) || [],
    upgrade_rect: {top: up.top, bottom: up.bottom},
    viewport: {width: window.innerWidth, height: window.innerHeight, scroll_y: window.scrollY,
               scroll_width: document.documentElement.scrollWidth}
  };
})()"""

PREVIEW_SETTLED = "document.getElementById('upgrade-preview').dataset.state !== 'counting'"


def look(page: Page, seen: dict, key: str, shot: str | None = None) -> dict:
    """What the page shows now (the driver's snapshot and this module's), and a capture."""
    seen[key] = {**page.snapshot(), **page.js(PAGE_JS)}
    if shot:
        time.sleep(0.4)  # offscreen, the frame can reach the widget a little after the DOM
        seen[key]["shot"] = page.screenshot(shot)
    return seen[key]


def settled(page: Page) -> None:
    """The first status, desktop:ready, and the upgrade preview (when one is shown)."""
    page.ready()
    page.wait(PREVIEW_SETTLED, timeout=60, what="the upgrade preview")


def scenario_state(page: Page, seen: dict) -> None:
    """The page as it opens on the library; with `small`, also at 800x600, not scrolled."""
    settled(page)
    look(page, seen, "loaded", page.config.get("shot"))
    seen["preview_api"] = call_api(page, [("preview_upgrade", [], "preview")])["preview"]
    if page.config.get("small"):
        page.window.resize(800, 600)
        page.wait("window.innerWidth <= 800", what="the window at 800x600")
        page.js("window.scrollTo(0, 0); true")
        page.settle()
        look(page, seen, "small", page.config["small"])


def scenario_changed(page: Page, seen: dict) -> None:
    """The command line changes the library while the window shows it; the page says
    what changed once the window is back in front."""
    settled(page)
    look(page, seen, "before")
    done = subprocess.run([sys.executable, "-m", "app", *page.config["command"], "--library", page.config["library"]],
                          capture_output=True, text=True, timeout=120)
    seen["cli_exit"] = done.returncode
    reads = int(page.js("document.documentElement.dataset.reads"))
    page.js("window.dispatchEvent(new Event('focus')); true")
    page.wait(f"Number(document.documentElement.dataset.reads) > {reads}", what="the page to read the library again")
    page.wait(PREVIEW_SETTLED, timeout=60, what="the upgrade preview, again")
    look(page, seen, "after", page.config.get("shot"))


def scenario_typo(page: Page, seen: dict) -> None:
    """A library file that is not there: no offer; a forged click on the offer writes nothing."""
    page.ready()
    folder = Path(page.config["library"]).parent
    before = folder_fingerprint(folder)
    look(page, seen, "loaded", page.config.get("shot"))
    page.js("""(function () {
      var node = document.getElementById('create-sample').getAttribute('data-pywebview-id');
      if (node) {
        window.pywebview._jsApiCallback('pywebviewEventHandler', {event: {type: 'click'}, nodeId: node}, 'x');
      }
    })(); true""")
    page.click("#create-sample")  # disabled and hidden: a real click does nothing either
    time.sleep(1.0)
    seen["unchanged"] = folder_fingerprint(folder) == before
    seen["exists"] = Path(page.config["library"]).exists()
    look(page, seen, "after")


def scenario_fix_confirm(page: Page, seen: dict) -> None:
    """"Fix these" asks first and lists what it will do; "Not now" changes nothing; with
    `confirm`, the fix then runs."""
    settled(page)
    folder = Path(page.config["library"]).parent
    before = folder_fingerprint(folder)
    look(page, seen, "loaded")
    page.wait("!document.getElementById('fix').disabled", what="#fix to be enabled")
    page.click("#fix")
    page.wait("!document.getElementById('fix-confirm').hidden", what="the clean-up confirmation")
    time.sleep(0.3)
    page.js("document.getElementById('fix-confirm').scrollIntoView(); true")
    look(page, seen, "asked", page.config.get("shot"))
    page.click("#fix-confirm-no")
    page.wait("document.getElementById('fix-confirm').hidden", what="the confirmation to close")
    time.sleep(0.3)
    seen["unchanged"] = folder_fingerprint(folder) == before
    if page.config.get("confirm"):
        page.click("#fix")
        page.wait("!document.getElementById('fix-confirm').hidden", what="the clean-up confirmation, again")
        page.click("#fix-confirm-yes")
        seen["final_state"] = page.wait_state("done", "failed", "cancelled", timeout=60)
        look(page, seen, "done")


def _support_done(message: str) -> str:
    return f"['done', 'failed'].indexOf(document.getElementById({message!r}).dataset.state) >= 0"


def scenario_support(page: Page, seen: dict) -> None:
    """Show in folder, Open log folder, Copy report: each clicked once, what each said."""
    settled(page)
    page.click("#show-in-folder")
    page.wait(_support_done("location-message"), what="Show in folder to answer")
    page.click("#open-log-folder")
    page.wait(_support_done("support-message"), what="Open log folder to answer")
    look(page, seen, "folders")
    page.click("#copy-report")
    page.wait("document.getElementById('report-text').value.length > 0 && " + _support_done("support-message"),
              what="the report")
    look(page, seen, "report", page.config.get("shot"))
    from qtpy.QtWidgets import QApplication
    seen["clipboard"] = page.on_gui(lambda: QApplication.clipboard().text())
    seen["console"] = call_api(page, [
        ("show_in_folder", ["/etc"], "folder_arg"), ("open_log_folder", [1], "log_arg"),
        ("support_report", [True], "report_arg"), ("preview_upgrade", [{}], "preview_arg")])
    # A page asking for permissions (pywebview's own answer aborted the process): denied, still open.
    page.js("window.__asked = []; navigator.clipboard.writeText('probe').then(function () { __asked.push('granted'); },"
            " function () { __asked.push('denied'); }); Notification.requestPermission().then(function (p) {"
            " __asked.push(p); }); true")
    seen["permissions"] = page.wait("window.__asked.length === 2 && window.__asked", what="the permission answers")
    seen["open_after_asking"] = call_api(page, [("get_status", [], "status")])["status"]


HOLD_LOCK = """import sys, apsw
conn = apsw.Connection(sys.argv[1])
conn.execute('BEGIN IMMEDIATE')
print('locked', flush=True)
sys.stdin.read()
conn.execute('ROLLBACK')
conn.close()
"""


def scenario_busy(page: Page, seen: dict) -> None:
    """Another copy of the app holds the library's write lock while Upgrade is clicked."""
    settled(page)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, page.config["library"]], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        seen["holder"] = holder.stdout.readline().strip()
        page.click("#upgrade")
        seen["final_state"] = page.wait_state("done", "failed", "cancelled", timeout=60)
        look(page, seen, "failed", page.config.get("shot"))
    finally:
        holder.stdin.close()
        holder.wait(10)


def scenario_next_steps(page: Page, seen: dict) -> None:
    """The page's next step for each failure the config names ({code, message}), as its
    result card would show it."""
    settled(page)
    page.js(f"window.__errors = {json.dumps(page.config['errors'])}; true")
    seen["steps"] = page.js("window.__errors.map(function (e) { return window.UpgradePage.words.nextStep(e); })")


SCENARIOS = {
    "state": scenario_state, "changed": scenario_changed, "typo": scenario_typo, "fix_confirm": scenario_fix_confirm,
    "support": scenario_support, "busy": scenario_busy, "next_steps": scenario_next_steps,
}
