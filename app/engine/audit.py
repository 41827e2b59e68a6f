"""The upgrade log: one structured line per operation, for support and for the user.

Each line is a JSON object (time, operation, library file name, version before and after,
counts, duration, error and warning codes) written to the `app.audit` logger, which
`app.logsetup` sends to the rotating log file in the platformdirs user log folder. The
file name only, never its folder: the log may be attached to a support request.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone

from app.engine.results import OperationResult

log = logging.getLogger("app.audit")

_NOT_COUNTS = {"duration_seconds", "version", "version_before", "success"}


def counts_of(result: OperationResult) -> dict[str, int]:
    return {key: value for key, value in result.model_dump().items()
            if isinstance(value, int) and not isinstance(value, bool) and key not in _NOT_COUNTS}


def line_for(result: OperationResult, library: object) -> str:
    return json.dumps({
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "operation": result.operation,
        "library": os.path.basename(library) if isinstance(library, str) else None,
        "success": result.success,
        "version_before": getattr(result, "version_before", None),
        "version_after": result.version,
        "counts": counts_of(result),
        "duration_seconds": result.duration_seconds,
        "errors": [e.code for e in result.errors],
        "warnings": [w.code for w in result.warnings],
    }, ensure_ascii=False)


def record(result: OperationResult, library: object) -> None:
    try:
        log.info(line_for(result, library))
    except Exception:  # the log is for support: it must never turn a result into a failure
        logging.getLogger(__name__).exception("could not write the upgrade log line")
