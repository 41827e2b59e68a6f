"""The window stays on its own page: every other navigation goes nowhere.

pywebview exposes the API functions to whatever page the window shows, so a page that
got the window to load another address (a link, a script, a redirect) would get them too.
QtWebEngine asks `QWebEnginePage.acceptNavigationRequest` before every navigation: the
window's pages accept only the page the window was opened on (its own address, reloads
included), in the main frame; pages opened as new windows (`window.open`, target=_blank)
accept nothing, instead of pywebview's default of handing the address to the system
browser. This patches pywebview 6.2.1's Qt classes (`BrowserView.WebPage`,
`BrowserView.NavigationHandler`: the version is pinned), once, before the first window.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def _own_address(page: Any) -> str | None:
    """The address the window was opened on: the WebPage's view's BrowserView's window."""
    try:
        return page.parent().parent().pywebview_window.real_url
    except AttributeError:  # not a window's page (pywebview's internals changed): nothing is ours
        return None


def _without_fragment(address: str) -> str:
    return address.split("#", 1)[0]


def confine() -> None:
    """Patch the Qt backend's page classes (Qt with QtWebEngine only; others unchanged)."""
    from webview.platforms import qt

    view = qt.BrowserView
    if not qt.is_webengine or getattr(view.WebPage, "_confined", False):
        return

    def accept_own_page_only(page: Any, url: Any, nav_type: Any, is_main_frame: bool) -> bool:
        own = _own_address(page)
        allowed = (is_main_frame and own is not None
                   and _without_fragment(url.toString()) == _without_fragment(own))
        if not allowed:
            log.warning("the window refused to navigate away from its page")
        return allowed

    def accept_nothing(handler: Any, url: Any, nav_type: Any, is_main_frame: bool) -> bool:
        log.warning("the window refused to open a new window")
        return False

    view.WebPage.acceptNavigationRequest = accept_own_page_only
    view.NavigationHandler.acceptNavigationRequest = accept_nothing
    view.WebPage._confined = True
