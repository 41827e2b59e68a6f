"""Scrubbing of anything that could identify a user or a machine from outgoing text.

Messages are written from templates, so this is the second line of defence: it runs on
every message that leaves the engine (results, progress events) and removes file paths in
POSIX, Windows drive, UNC, `file://` and %-encoded forms, the home directory and the user
name. The original, unscrubbed detail goes to the log only.
"""

from __future__ import annotations

import getpass
import os
import re
from functools import lru_cache
from urllib.parse import quote, unquote

PLACEHOLDER = "<path>"

_FILE_URI = re.compile(r"file:(?://[^/\s]*)?/*", re.IGNORECASE)

_PATTERNS = [
    # UNC paths: \\server\share\... and //server/share/...
    re.compile(r"(?:\\\\|//)[^\s\\/'\"<>]+[\\/][^\s'\"<>]*"),
    # Windows drive paths: C:\... or C:/...
    re.compile(r"\b[A-Za-z]:[\\/](?:[^\\/'\"<>\n]+[\\/])*(?:[^\s\\/'\"<>][^\\/'\"<>\n]*?\.[A-Za-z0-9]{1,8}\b|[^\s'\"<>\\/]*)"),
    # ~/something
    re.compile(r"~[\\/][^\s'\"<>]*"),
    # POSIX paths. Directory names may hold spaces; a last segment with spaces is taken
    # up to a file extension ("/home/a b/My Library.db"). Over-redacting is the safe side.
    re.compile(
        r"(?<![\w.:])/(?:[^/'\"<>\n]+/)*"
        r"(?:[^\s/'\"<>][^/'\"<>\n]*?\.[A-Za-z0-9]{1,8}\b|[^\s/'\"<>]*)"
    ),
    # Relative paths with a separator and a file-like last segment: dir/file.db, a\b.sqlite
    re.compile(r"[^\s'\"<>]*[\\/][^\s'\"<>]*\.[A-Za-z0-9]{1,8}\b"),
]


@lru_cache(maxsize=1)
def _identities() -> tuple[str, ...]:
    names: set[str] = set()
    home = os.path.expanduser("~")
    if home and home not in ("/", "~"):
        names.add(home)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER variable: nothing to hide
        user = ""
    if len(user) >= 3:  # a one- or two-letter name would shred ordinary words
        names.add(user)
    return tuple(sorted(names, key=len, reverse=True))


def _variants(secret: str) -> set[str]:
    forms = {secret, os.path.realpath(secret), os.path.dirname(secret)}
    forms |= {f.replace("/", "\\") for f in list(forms)}
    forms |= {quote(f) for f in list(forms)}
    return {f for f in forms if len(f) > 1}


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return `text` with paths, the home directory and the user name replaced.

    `secrets` are strings known to be sensitive (the library's path): they are removed in
    every spelling first, so even a path no pattern recognises does not get through.
    """
    if not text:
        return text
    for secret in secrets:
        for form in sorted(_variants(secret), key=len, reverse=True):
            text = text.replace(form, PLACEHOLDER)
    if "%" in text:
        text = unquote(text)
    # file: URIs become the path they name, which the patterns below then remove.
    text = _FILE_URI.sub("/", text)
    for pattern in _PATTERNS:
        text = pattern.sub(PLACEHOLDER, text)
    for ident in _identities():
        text = re.sub(re.escape(ident), "<user>", text, flags=re.IGNORECASE)
    return text
