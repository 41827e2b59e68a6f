"""The progress registry: monotonic events, throttling, and no reference kept afterwards."""

from __future__ import annotations

import gc
import time
import weakref

from app.engine.migrate import migrate
from app.engine.progress import MIN_INTERVAL, ProgressEvent, ProgressRegistry
from tests.conftest import fill


def test_migrate_events_are_monotonic_and_end_at_100(library) -> None:
    fill(library, 3000)
    registry = ProgressRegistry()
    events: list[ProgressEvent] = []
    registry.subscribe(events.append)
    assert migrate(str(library), registry=registry).success
    percents = [e.percent for e in events]
    assert percents == sorted(percents)
    assert events[-1].phase == "complete" and events[-1].percent == 100
    phases = [e.phase for e in events]
    for phase in ("preflight", "snapshot", "schema", "migrating", "verifying", "committing", "complete"):
        assert phase in phases
    assert phases.index("snapshot") < phases.index("schema") < phases.index("migrating")
    migrating = [e for e in events if e.phase == "migrating"]
    assert migrating[-1].processed == migrating[-1].total > 0
    assert len({e.tracker_id for e in events}) == 1 and events[0].operation == "migrate"


def test_updates_within_a_phase_are_throttled_phase_changes_are_not() -> None:
    registry = ProgressRegistry()
    events: list[ProgressEvent] = []
    registry.subscribe(events.append)
    tracker = registry.open("migrate")
    for i in range(1000):
        tracker.update("migrating", i, 1000)
    assert len(events) == 1  # all within MIN_INTERVAL of the first
    time.sleep(MIN_INTERVAL * 1.5)
    tracker.update("migrating", 1000, 1000)
    tracker.update("verifying")
    assert [e.phase for e in events] == ["migrating", "migrating", "verifying"]


def test_percent_never_goes_back_even_if_asked() -> None:
    registry = ProgressRegistry()
    events: list[ProgressEvent] = []
    registry.subscribe(events.append)
    tracker = registry.open("migrate")
    tracker.update("verifying")
    tracker.update("schema")  # an earlier phase's range
    assert events[1].percent >= events[0].percent


def test_no_reference_is_kept_after_the_operation(library) -> None:
    fill(library, 50)
    registry = ProgressRegistry()
    refs: list[weakref.ref] = []
    registry.subscribe(lambda e: refs.extend(weakref.ref(t) for t in registry.active()))
    assert migrate(str(library), registry=registry).success
    assert registry.active() == []
    gc.collect()
    assert refs and all(r() is None for r in refs)


def test_unsubscribe_and_a_failing_listener() -> None:
    registry = ProgressRegistry()
    got: list[ProgressEvent] = []

    def broken(event: ProgressEvent) -> None:
        raise RuntimeError("window closed")
    registry.subscribe(broken)
    unsubscribe = registry.subscribe(got.append)
    tracker = registry.open("status")
    tracker.update("preflight")  # the broken listener does not stop the others
    assert len(got) == 1
    unsubscribe()
    assert registry.listener_count() == 1
    tracker.update("complete")
    assert len(got) == 1


def test_exit_hook_cancels_and_drops_leftovers() -> None:
    registry = ProgressRegistry()
    tracker = registry.open("migrate")
    registry.close_leftovers()
    assert tracker.cancelled and registry.active() == []


def test_a_quiet_operation_still_sends_heartbeats() -> None:
    registry = ProgressRegistry()
    events: list[ProgressEvent] = []
    registry.subscribe(events.append)
    tracker = registry.open("migrate")
    tracker.update("committing")  # then a long step that reports nothing (COMMIT, fsync)
    time.sleep(1.0)
    registry.close(tracker)
    count = len(events)
    assert count >= 3 and all(e.phase == "committing" for e in events)
    time.sleep(0.5)
    assert len(events) == count  # nothing after close
