"""(a) The project's migrate as the CLI runs it, with progress on.

Run as `python -m bench.project LIBRARY`: runs `app.cli.main(["migrate", ...])` (snapshot,
verification and the progress bar included; the CLI's own output is captured), and
prints phase timings, the largest gap between two progress events and the peak memory
(this process's plus the data pass's helper's, when there is one) as one JSON line.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

from app import cli
from app.engine.steps.v11 import split_pass
from app.engine.progress import REGISTRY, ProgressEvent
from bench import peak_rss_mb


def run(library: str) -> dict[str, float]:
    start = time.perf_counter()
    phases: dict[str, float] = {}
    gaps = {"max_event_gap": 0.0}
    last = {"phase": None, "t": start, "event": start}

    def listener(event: ProgressEvent) -> None:
        now = time.perf_counter()
        gaps["max_event_gap"] = max(gaps["max_event_gap"], now - last["event"])
        last["event"] = now
        if event.phase != last["phase"]:
            if last["phase"]:
                phases[last["phase"]] = round(now - last["t"], 3)
            last["phase"], last["t"] = event.phase, now

    REGISTRY.subscribe(listener)
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["migrate", "--library", library])
    if code != 0:
        raise SystemExit(f"migrate failed: {out.getvalue()}")
    phases["total"] = round(time.perf_counter() - start, 3)
    phases["max_event_gap"] = round(gaps["max_event_gap"], 3)
    return phases


if __name__ == "__main__":
    timings = run(sys.argv[1])
    # The helper process's peak counts too: the two run at the same time.
    print(json.dumps({**timings, "peak_rss_mb": peak_rss_mb() + max(split_pass.peaks_mb, default=0)}))
