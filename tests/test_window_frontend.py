"""The page's files as shipped: local only, strict CSP, stable ids, accessible markup, and
data put into the page as text only. No window needed."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'")
STABLE_IDS = ("upgrade", "progress", "cancel", "result", "rollback", "create-sample", "fix",
              "close-confirm-yes", "close-confirm-no", "rollback-confirm-yes", "rollback-force",
              "library-path", "show-in-folder", "upgrade-preview", "copy-report", "open-log-folder", "report-text",
              "fix-confirm-list")


class Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._stack: list[str] = []
        self.inline_scripts = 0
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes, list(self._stack)))
        if tag == "script":
            self._in_script = True
        if tag not in ("meta", "link", "input", "br", "img"):
            self._stack.append(f"{tag}#{attributes.get('id', '')}[{attributes.get('aria-live', '')}]")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def by_id(self, id_: str):
        (found,) = [e for e in self.elements if e[1].get("id") == id_]
        return found


@pytest.fixture(scope="module")
def page() -> Page:
    return Page((FRONTEND / "index.html").read_text())


# The page's scripts, in the order index.html loads them (each uses the earlier ones).
SCRIPTS = ("dom.js", "format.js", "words.js", "cleanup.js", "backups.js", "support.js", "progress.js", "dialogs.js", "app.js")
MAX_LINES = 450  # a file longer than this is to be split


def test_nothing_remote_nothing_inline(page: Page) -> None:
    for name in ("index.html", "style.css") + SCRIPTS:
        text = (FRONTEND / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name
        assert "@import" not in text and "url(" not in text, name
    assert page.inline_scripts == 0
    assert tuple(a.get("src") for t, a, _ in page.elements if t == "script") == SCRIPTS
    for tag, attrs, _ in page.elements:
        assert "style" not in attrs, tag
        assert not any(a.startswith("on") for a in attrs), (tag, attrs)
        if tag == "script":
            assert "defer" in attrs and attrs.get("src") in SCRIPTS
        if tag == "link":
            assert attrs.get("href") == "style.css"
    assert not any(tag == "style" for tag, _, _ in page.elements)


def test_the_csp_is_strict(page: Page) -> None:
    (meta,) = [a for t, a, _ in page.elements if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert meta["content"] == CSP


@pytest.mark.parametrize("name", SCRIPTS)
def test_data_goes_into_the_page_as_text_only(name: str) -> None:
    js = (FRONTEND / name).read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", js, flags=re.S)  # comments may name what is banned
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   "setAttribute('style'", ".style.", "_jsApiCallback", "pywebview._", "setTimeout('",
                   "window.open", "location.href ="):
        assert banned not in code, banned
    assert "'use strict'" in code and len(js.splitlines()) <= MAX_LINES, name


def test_the_scripts_share_one_global() -> None:
    """Every script adds its part to window.UpgradePage and defines nothing else globally."""
    for name in SCRIPTS:
        js = (FRONTEND / name).read_text()
        assert js.rstrip().endswith("}(window.UpgradePage = window.UpgradePage || {}));"), name


def test_stable_ids_and_accessible_controls(page: Page) -> None:
    for id_ in STABLE_IDS:
        page.by_id(id_)
    assert page.by_id("progress")[0] == "progress"
    result = page.by_id("result")[1]
    assert result["data-state"] == "idle" and result["aria-live"] == "polite"
    assert any("[polite]" in parent for parent in page.by_id("progress")[2])  # inside an aria-live region
    for tag, attrs, _ in page.elements:
        if tag == "button":
            assert attrs.get("type") == "button" and attrs.get("id"), attrs
    dialog = [a for t, a, _ in page.elements if a.get("role") == "alertdialog"]
    assert dialog and dialog[0].get("aria-labelledby") and dialog[0].get("aria-describedby")
    html = [a for t, a, _ in page.elements if t == "html"][0]
    assert html.get("lang") == "en"


def test_light_and_dark_and_small_windows() -> None:
    css = (FRONTEND / "style.css").read_text()
    assert "@media (prefers-color-scheme: dark)" in css
    assert ":focus-visible" in css
    assert "[hidden] { display: none !important; }" in css


def test_the_page_ships_as_package_data(tmp_path: Path) -> None:
    folder = resources.files("app.frontend")
    for name in ("index.html", "style.css") + SCRIPTS:
        assert folder.joinpath(name).read_text()
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("app/frontend/index.html", "app/frontend/style.css", "app/desktop/shell.py", "app/desktop/api.py",
                 "app/desktop/opener.py", "app/engine/preview.py", "app/engine/cleanup_plan.py") + \
            tuple(f"app/frontend/{js}" for js in SCRIPTS):
        assert name in names, name
