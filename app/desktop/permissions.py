"""What the page may do beyond showing itself: write the clipboard, nothing else.

- No web permission is granted, and asking for one cannot crash the window. pywebview
  6.2.1's Qt page answers QtWebEngine's `featurePermissionRequested` with a plain int
  where PyQt6 6.11 wants a `QWebEnginePage.PermissionPolicy`: the call raises inside a Qt
  slot, and PyQt aborts the process. So any script asking for a permission (the clipboard
  API, notifications, the microphone) killed the app, an upgrade in progress with it; and
  pywebview granted microphone and camera capture to whatever page asked. Every request
  is now denied, with the enum Qt expects.
- The page may write the clipboard with the browser's copy command ("Copy report"): the
  report arrives from Python after the click, when Chromium no longer counts the copy as
  the user's, so QtWebEngine's JavascriptCanAccessClipboard is turned on for the window's
  own pages (it never shows another page: `navigation.confine`). Reading the clipboard
  stays off (JavascriptCanPaste is not set, and the clipboard API is denied above).

This patches pywebview's Qt `WebPage` (the version is pinned), once, before the first
window, like `navigation.confine`.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def restrict() -> None:
    """Patch the Qt backend's page class (Qt with QtWebEngine only; others unchanged)."""
    from webview.platforms import qt

    page_class = qt.BrowserView.WebPage
    if not qt.is_webengine or getattr(page_class, "_restricted", False):
        return
    denied = qt.QWebPage.PermissionPolicy.PermissionDeniedByUser
    clipboard = qt.QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard
    original_init = page_class.__init__

    def deny(page: Any, url: Any, feature: Any) -> None:
        log.info("the window denied a permission the page asked for (%s)", getattr(feature, "name", feature))
        try:
            page.setFeaturePermission(url, feature, denied)
        except Exception:  # an exception in a Qt slot aborts the process: never let one out
            log.warning("answering a permission request failed", exc_info=True)

    def init_with_clipboard(page: Any, *args: Any, **kwargs: Any) -> None:
        original_init(page, *args, **kwargs)
        page.settings().setAttribute(clipboard, True)

    page_class.onFeaturePermissionRequested = deny
    page_class.__init__ = init_with_clipboard
    page_class._restricted = True
