"""`make bench`: the project's migrate (a) against the floor (b) and the original (c);
rollback and clean-up against their own floors (`bench.restore`, `bench.cleaning`).

Each run copies the same generated library and runs one variant in its own process
(peak RSS from the OS), rotating the order of variants. Medians of the runs are reported,
with ratios measured in the same run, and written into README between the bench markers.

    python -m bench [--sizes 10000,100000] [--runs 3] [--cold 100000] [--real 10000,100000]
                    [--once 1000000] [--no-readme]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from app.samples.demo import create_demo_library

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


# Transcripts of about 3 KB of text: the "100k library is about 400 MB".
TRANSCRIPT_BYTES = 3000


def library_for(size: int) -> Path:
    path = DATA / f"demo-{size}-{TRANSCRIPT_BYTES}.db"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        create_demo_library(str(path), recordings=size, seed=1, journal_mode="wal",
                            transcript_bytes=TRANSCRIPT_BYTES)
    return path


def real_library_for(size: int) -> Path:
    """A library as the version-10 app left it (tests/real_layouts.py's app_v10): rollback
    journal, page size 4096, 16 tables, no title_suggestion; transcripts as long as the demo's."""
    path = DATA / f"real-{size}-{TRANSCRIPT_BYTES}.db"
    if not path.exists():
        from tests.real_layouts import build
        DATA.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")  # an interrupted build is not taken for a library
        partial.unlink(missing_ok=True)
        build(partial, "app_v10", recordings=size, seed=1, transcript_bytes=TRANSCRIPT_BYTES)
        partial.rename(path)
    return path


def rows_for(library: Path) -> Path:
    rows = DATA / f"rows-{library.stem.removeprefix('demo-')}.db"
    if not rows.exists():
        from bench.floor import precompute
        work = fresh_copy(library, "precompute")
        precompute(str(work), str(rows))
    return rows


def fresh_copy(library: Path, name: str) -> Path:
    work = DATA / f"work-{name}.db"
    for leftover in DATA.glob(f"work-{name}.db*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(library, work)
    # Written back now, with whatever the previous run left dirty, not during the run,
    # so that the run's own fsyncs do not also flush the copy just made.
    os.sync()
    return work


def drop_caches() -> bool:
    """Empty the OS page cache (root on Linux only), for the cold-cache runs."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError:
        return False


def in_child(*args: str) -> dict:
    """Run `python -m ARGS` in its own process; return the JSON line it prints last."""
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{args} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_time(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, check=True, capture_output=True)
    return round(time.perf_counter() - started, 3)


def bench_size(size: int, runs: int, cold: bool = False, real: bool = False) -> dict:
    library = real_library_for(size) if real else library_for(size)
    rows = rows_for(library)
    samples: dict[str, list[dict]] = {"a": [], "b": [], "c": []}
    rss: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    variants = {"a": lambda w: ("bench.project", str(w)),
                "b": lambda w: ("bench.floor", str(w), str(rows)),
                "c": lambda w: ("bench.original", str(w))}
    for run in range(runs):
        order = list(variants)
        random.Random(run).shuffle(order)
        for key in order:
            work = fresh_copy(library, key)
            if cold:
                drop_caches()
            timings = in_child(*variants[key](work))
            rss[key].append(timings.pop("peak_rss_mb"))
            samples[key].append(timings)
    median = {k: {phase: statistics.median(s[phase] for s in v) for phase in v[0]} for k, v in samples.items()}
    recordings = size
    result = {"size": size, "cold": cold, "real": real, "file_mb": round(library.stat().st_size / 1e6), "runs": runs,
              "median": median, "rss_mb": {k: max(v) for k, v in rss.items()},
              "a_over_b": round(median["a"]["total"] / median["b"]["total"], 2),
              "c_over_a": round(median["c"]["total"] / median["a"]["total"], 2),
              "recordings_per_s": round(recordings / median["a"]["total"]),
              "b_writes": statistics.median(s["total"] - s["snapshot"] for s in samples["b"])}
    return result


def bench_other_operations(size: int, migrate_seconds: float) -> dict:
    """Cleanup and rollback (CLI), and cancels spread over the upgrade's measured time."""
    library = library_for(size)
    work = fresh_copy(library, "ops")
    cleanup = cli_time("cleanup", "--library", str(work))
    cli_time("migrate", "--library", str(work))
    rollback = cli_time("rollback", "--library", str(work))
    latencies = []
    for fraction in (0.05, 0.25, 0.45, 0.65, 0.85):
        delay = round(fraction * migrate_seconds, 2)
        work = fresh_copy(library, "cancel")
        latencies.append(in_child("bench.cancel", str(work), str(delay)))
    return {"size": size, "cleanup_s": cleanup, "rollback_s": rollback, "cancel": latencies}


def upgraded_for(library: Path) -> Path:
    """`library` upgraded once by the project (untimed), with its snapshots folder."""
    upgraded = DATA / f"upgraded-{library.name}"
    if not upgraded.exists():
        work = fresh_copy(library, "upgrading")
        cli_time("migrate", "--library", str(work))
        os.rename(f"{work}.snapshots", f"{upgraded}.snapshots")  # the folder first: the file marks it done
        os.rename(work, upgraded)
    return upgraded


def fresh_upgraded(upgraded: Path, name: str, edit: bool = False) -> Path:
    """A copy of an upgraded library and its snapshots (moved together, rollback works);
    `edit`: 1% of its captures renamed by the user since the upgrade."""
    work = fresh_copy(upgraded, name)
    shutil.copytree(f"{upgraded}.snapshots", f"{work}.snapshots")
    if edit:
        import apsw
        conn = apsw.Connection(str(work))
        conn.execute("UPDATE knowledge_captures SET title = title || ' (edited)' WHERE rowid % 100 = 0")
        conn.close()
    os.sync()
    return work


def bench_restore_and_cleanup(size: int, runs: int, real: bool) -> dict:
    """Rollback (nothing changed since the upgrade, and 1% of captures edited: then the
    answer is WOULD_LOSE_DATA with what would be lost) and clean-up, each beside its floor."""
    library = real_library_for(size) if real else library_for(size)
    upgraded = upgraded_for(library)
    snapshot = next(Path(f"{upgraded}.snapshots").glob("pre-upgrade-*.sqlite")).name
    variants = {
        "rollback": lambda: ("bench.restore", "project", str(fresh_upgraded(upgraded, "rb"))),
        "rollback_floor": lambda: ("bench.restore", "floor", str(w := fresh_upgraded(upgraded, "rbf")),
                                   f"{w}.snapshots/{snapshot}"),
        "rollback_edited": lambda: ("bench.restore", "project", str(fresh_upgraded(upgraded, "rbe", edit=True))),
        "cleanup": lambda: ("bench.cleaning", "project", str(fresh_copy(library, "cl"))),
        "cleanup_floor": lambda: ("bench.cleaning", "floor", str(fresh_copy(library, "clf"))),
    }
    samples: dict[str, list[dict]] = {k: [] for k in variants}
    for run in range(runs):
        order = list(variants)
        random.Random(run).shuffle(order)
        for key in order:
            samples[key].append(in_child(*variants[key]()))
    median = {k: statistics.median(s["total"] for s in v) for k, v in samples.items()}
    return {"size": size, "real": real, "runs": runs, "median": median,
            "lost_rows": samples["rollback_edited"][0]["would_lose"],
            "rollback_ratio": round(median["rollback"] / median["rollback_floor"], 2),
            "cleanup_ratio": round(median["cleanup"] / median["cleanup_floor"], 2)}


def restore_table(rows: list[dict]) -> str:
    lines = ["| recordings | rollback, nothing changed | its floor | ratio | rollback, 1% of captures edited "
             "(answer: what would be lost) | cleanup | its floor | ratio |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["median"]
        label = f"{r['size']:,}{' (real layout, rollback journal)' if r['real'] else ''}"
        lines.append(f"| {label} | {m['rollback']:.2f} s | {m['rollback_floor']:.2f} s | {r['rollback_ratio']} | "
                     f"{m['rollback_edited']:.2f} s ({r['lost_rows']:,} rows) | {m['cleanup']:.2f} s | "
                     f"{m['cleanup_floor']:.2f} s | {r['cleanup_ratio']} |")
    return "\n".join(lines)


def table(results: list[dict], other: dict | None) -> str:
    lines = ["| recordings | file | (a) migrate | (b) floor | (c) original | a/b | c/a | recordings/s (a) | peak RSS a / b / c | max gap between progress events |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        m = r["median"]
        label = f"{r['size']:,}{kind(r, ' (', ')')}{' (1 run)' if r['runs'] == 1 else ''}"
        lines.append(f"| {label} | {r['file_mb']} MB | {m['a']['total']:.2f} s | {m['b']['total']:.2f} s | "
                     f"{m['c']['total']:.2f} s | {r['a_over_b']} | {r['c_over_a']} | {r['recordings_per_s']:,} | "
                     f"{r['rss_mb']['a']} / {r['rss_mb']['b']} / {r['rss_mb']['c']} MB | {m['a']['max_event_gap']:.2f} s |")
    for r in results:
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in r["median"]["a"].items() if k not in ("total", "max_event_gap"))
        floor = ", ".join(f"{k} {v:.2f} s" for k, v in r["median"]["b"].items() if k != "total")
        lines.append(f"\n{r['size']:,} recordings{kind(r, ', ')}, phases of (a): {phases}.  "
                     f"\nPhases of (b): {floor}.  \n{budget(r)}")
    if other:
        worst = max(other["cancel"], key=lambda c: c["latency"])
        lines.append(f"\nOn the {other['size']:,}-recording library: cleanup {other['cleanup_s']:.2f} s, rollback "
                     f"{other['rollback_s']:.2f} s (CLI, process start included); cancel honoured within "
                     f"{worst['latency']:.2f} s at worst over {len(other['cancel'])} cancels "
                     f"({', '.join(c['phase'] + ' ' + str(c['latency']) + ' s' for c in other['cancel'])}).")
    return "\n".join(lines)


def kind(result: dict, before: str, after: str = "") -> str:
    """What sets a row apart from the warm WAL demo rows, for its label ('' for those)."""
    what = "cold cache" if result["cold"] else "real layout, rollback journal" if result.get("real") else ""
    return f"{before}{what}{after}" if what else ""


def budget(result: dict) -> str:
    """What c/a >= 2.5 asks of (a) in this run, beside the floor's writes alone.

    The floor's phases after its snapshot (insert, update, indexes, commit) are writes any
    upgrade that makes these rows must do; when they alone take longer than c / 2.5, no
    such upgrade can be 2.5 times faster than (c) on this machine.
    """
    m = result["median"]
    allowed = m["c"]["total"] / 2.5
    writes = result["b_writes"]
    verdict = "more than" if writes > allowed else "within"
    return (f"c/a >= 2.5 would need (a) <= {allowed:.2f} s; the floor's writes alone (its phases "
            f"after the snapshot) took {writes:.2f} s, {verdict} that.")


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--once", default="",
                        help="larger sizes run once each (e.g. 1000000), after the others")
    parser.add_argument("--cold", default="100000",
                        help="sizes also run with the OS page cache emptied before each run ('' for none)")
    parser.add_argument("--real", default="10000,100000",
                        help="sizes also run on a library laid out as users' (app_v10, rollback journal; '' for none)")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = [bench_size(size, args.runs) for size in sizes]
    cold_sizes = [int(size) for size in args.cold.split(",") if size]
    if cold_sizes and not drop_caches():
        print("cold-cache runs skipped: emptying the page cache needs root on Linux")
        cold_sizes = []
    results += [bench_size(size, args.runs, cold=True) for size in cold_sizes]
    results += [bench_size(int(size), args.runs, real=True) for size in args.real.split(",") if size]
    results += [bench_size(int(size), 1) for size in args.once.split(",") if size]
    restores = [bench_restore_and_cleanup(size, args.runs, real=False) for size in sizes]
    restores += [bench_restore_and_cleanup(int(size), args.runs, real=True) for size in args.real.split(",") if size]
    other = None
    if sizes:  # --sizes '' runs only the other rows (e.g. --real), without cleanup, rollback and cancel
        largest = next(r for r in results if r["size"] == max(sizes) and not r["cold"] and not r["real"])
        other = bench_other_operations(max(sizes), largest["median"]["a"]["total"])
    text = table(results, other)
    if restores:
        text += ("\n\nRollback and clean-up, each against its floor (medians of the same runs; the "
                 "floors are in bench/restore.py and bench/cleaning.py):\n\n" + restore_table(restores))
    print(text)
    (DATA / "results.json").write_text(json.dumps({"results": results, "restores": restores, "other": other},
                                                  indent=1))
    if not args.no_readme:
        write_readme(text)


if __name__ == "__main__":
    main()
