"""report: a support report about a library that a user can send without a second thought.

It says what support asks first (app and library versions, journal mode, recordings by
state, snapshots and their sizes) and what happened lately: the last operations the
upgrade log recorded for a library of this file name (`app.engine.audit` writes one JSON
line per operation). It holds no path, no file or user name, no recording contents and no
SQL: it reads only counts and codes, and the whole result passes through
`app.engine.redact` once more before it is returned, as a second line of defence.

A library that cannot be read still gets a report: the failure is its error, and the app
version and the recent operations (read from the log, not the library) are there all the
same, since that is when support needs them most. Reads only.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from app.engine import errors, library
from app.engine.library import is_path_argument
from app.engine.locations import log_dir
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.redact import redact
from app.engine.results import AuditEntry, RecordingCounts, ReportSnapshot, SupportReport
from app.engine.snapshots import retention
from app.engine.steps import REGISTRY
from app.logsetup import LOG_FILE

log = logging.getLogger(__name__)

RECENT = 20  # operations shown
_AUDIT_MARK = " app.audit "  # the logger's name in each line (`app.logsetup`'s format)


def build_report(library_path: str, log_folder: Path | None = None,
                 registry: ProgressRegistry | None = None) -> SupportReport:
    """The support report for the library at `library_path`; `log_folder` is where the
    upgrade log is (default: the user's log folder, where `app.logsetup` writes it)."""
    facts = SupportReport(python_version=platform.python_version(), system=platform.system(),
                          oldest_version=REGISTRY.oldest, latest_version=REGISTRY.latest)
    result = run(facts, library_path, _report, writes=False, registry=registry)
    if is_path_argument(library_path):
        result.recent_operations = recent_operations(os.path.basename(library_path), log_folder or log_dir())
    return scrubbed(result, library_path)


def _report(ctx: Context, result: SupportReport) -> None:
    """The library's facts. Any version is reported, also one this tool does not upgrade:
    that is a question for support too."""
    with library.reading(ctx.library) as conn:
        result.version = library.read_version(conn)
        result.journal_mode = library.journal_mode(conn)
        result.recordings = RecordingCounts(**library.recording_counts(conn))
        result.library_bytes = library.size_bytes(conn)
    try:
        review = retention.review(ctx.library, upgraded=result.version > REGISTRY.oldest, exact=False)
    except errors.EngineError as exc:  # e.g. an unsafe snapshots folder: the rest still helps
        result.warnings.append(ctx.problem(exc.code, exc.message))
        return
    result.snapshots = [ReportSnapshot(kind=e.manifest.kind, created_at=e.manifest.created_at,
                                       version=e.manifest.version, size_bytes=e.manifest.size_bytes,
                                       valid=e.problem is None, way_back=e.way_back)
                        for e in review.entries]
    result.snapshot_count = len(result.snapshots)
    result.snapshots_bytes = sum(s.size_bytes for s in result.snapshots)


def recent_operations(library_name: str, folder: Path, limit: int = RECENT) -> list[AuditEntry]:
    """The last `limit` operations the log recorded for `library_name`, oldest first.

    The log names a library by its file name only (it may be attached to a request), so
    two libraries of the same name share their lines. The reports themselves are left out:
    asking for a report twice must not push the operations out of it."""
    found: list[AuditEntry] = []
    for line in _newest_first(folder):
        entry = _entry(line, library_name)
        if entry is not None and entry.operation != "report":
            found.append(entry)
            if len(found) == limit:
                break
    return found[::-1]


def _log_files(folder: Path) -> list[Path]:
    """The log and its rotated copies (upgrade.log.1 is the newest of those), newest first."""
    rotated = [p for p in folder.glob(f"{LOG_FILE}.*") if p.suffix[1:].isdigit()]
    return [folder / LOG_FILE] + sorted(rotated, key=lambda p: int(p.suffix[1:]))


def _newest_first(folder: Path) -> Iterator[str]:
    """The log's lines, newest first, across its rotated files."""
    for path in _log_files(folder):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:  # not rotated that far yet
            continue
        except OSError:  # unreadable: the report goes on with what it has
            log.warning("could not read the upgrade log for a report", exc_info=True)
            continue
        yield from reversed(lines)


def _entry(line: str, library_name: str) -> AuditEntry | None:
    """The audit entry on `line` if it is one for `library_name`; None for any other line."""
    _, mark, text = line.partition(_AUDIT_MARK)
    if not mark:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # a line cut short by a crash, or not ours
        return None
    if not isinstance(data, dict) or data.get("library") != library_name:
        return None
    try:
        return AuditEntry.model_validate({k: v for k, v in data.items() if k in AuditEntry.model_fields})
    except ValidationError:  # an older or damaged line: left out rather than guessed at
        return None


def scrubbed(report: SupportReport, library_path: str) -> SupportReport:
    """The report with every text in it passed through `redact` (the library's path as a
    known secret): nothing in it should hold a path, and if something ever does, it goes."""
    secrets = (library_path,) if is_path_argument(library_path) else ()
    return SupportReport.model_validate(_scrub(report.model_dump(mode="json"), secrets))


def _scrub(value: object, secrets: tuple[str, ...]) -> object:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


__all__ = ["build_report", "recent_operations", "scrubbed", "RECENT"]
