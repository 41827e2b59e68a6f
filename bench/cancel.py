"""Cancel latency: start migrate, cancel it after `delay` seconds, time until it returns.

Run as `python -m bench.cancel LIBRARY DELAY`; prints JSON {latency, code, phase}.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from app.engine.migrate import migrate
from app.engine.progress import REGISTRY


def run(library: str, delay: float) -> dict[str, object]:
    phase = {"now": ""}
    REGISTRY.subscribe(lambda e: phase.__setitem__("now", e.phase))
    out: dict[str, object] = {}
    worker = threading.Thread(target=lambda: out.setdefault("result", migrate(library)))
    worker.start()
    time.sleep(delay)
    at = phase["now"]
    asked = time.perf_counter()
    REGISTRY.cancel_all()
    worker.join()
    result = out["result"]
    return {"latency": round(time.perf_counter() - asked, 3), "phase": at,
            "code": result.errors[0].code if result.errors else "OK"}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], float(sys.argv[2]))))
