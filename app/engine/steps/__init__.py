"""The upgrade steps, in order: the only place that knows versions.

A step owns one version pair (`source` -> `target`), its schema (the SQL files it
completes a library with), its data pass, its verification, what it writes, and what it
would produce from a snapshot (for rollback's "would lose" check). The engine
(`migrate`, `status`, `rollback`) asks the registry which steps a library still needs and
runs them in one transaction; adding the next upgrade is registering the next step.

"Still needs" is not only "the stored version is below the target": the app recorded
version 11 on libraries it never migrated, so the step that recorded the library's
current version is asked again (`Step.plan`) whether its work is finished.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import apsw

from app.engine import errors
from app.engine.progress import ProgressTracker
from app.engine.results import Problem


@dataclass
class Plan:
    """What a step still has to do to a library: counts by name, and the schema objects
    it would add. Read without writing anything."""

    counts: dict[str, int] = field(default_factory=dict)
    schema_missing: list[str] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        return bool(self.schema_missing) or any(self.counts.values())


@dataclass
class StepRun:
    """What a step's `apply` gets: the connection inside the engine's transaction and the
    engine's hooks. `on_batch` checks cancel and the snapshot and reports progress;
    `begin_snapshot` starts the snapshot's copy when the step has a core to spare;
    `wait_copied` must come before the step's first write that may reach the library's
    file (rollback-journal mode: the copy's reader of the library would block it), and
    says the step's work on both cores is over (the copy's check runs from then on)."""

    conn: apsw.Connection
    library: str
    tracker: ProgressTracker
    journal_mode: str
    first: bool  # no step ran before it in this transaction: the file holds its input
    migrated_at: str
    check: Callable[[], None]
    begin_snapshot: Callable[[], None]
    wait_copied: Callable[[], None]
    problem: Callable[..., Problem]
    # Hand the engine a resource that outlives the transaction (a helper process): its
    # `detach(conn)` runs when the transaction is over, its `close()` after the
    # connection is closed. Returns it.
    defer: Callable[[Any], Any]


@dataclass
class Report:
    """What a step did: counts by name (summed into the result's fields of the same name)
    and its warnings."""

    step: str
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


class Step(ABC):
    id: str
    source: int
    target: int
    description: str
    # The tables this step adds rows to, and the columns of existing rows it sets: what
    # rollback compares with `expected` instead of with the snapshot.
    inserts: tuple[str, ...] = ()
    sets: Mapping[str, tuple[str, ...]] = {}
    # Columns set from the clock: never compared.
    stamps: tuple[str, ...] = ("created_at", "updated_at")

    @abstractmethod
    def require(self, conn: apsw.Connection) -> None:
        """LIBRARY_UNSUPPORTED when the library lacks what the step cannot run without."""

    @abstractmethod
    def plan(self, conn: apsw.Connection) -> Plan:
        """What is left to do, read-only (any layout the step accepts)."""

    @abstractmethod
    def apply(self, run: StepRun) -> Report:
        """Complete the schema, write the data, verify it; inside the engine's transaction."""

    @abstractmethod
    def expected(self, scratch: apsw.Connection, source: str, tracker: ProgressTracker) -> None:
        """Write into `scratch` what `apply` would write from the library attached as
        `source`: for each table of `inserts`, its new rows; for each table of `sets`,
        a table of the key and those columns as `apply` leaves them."""

    def canonical_tables(self) -> tuple[str, ...]:
        """Tables the step creates when missing (rows found there later are the user's)."""
        return ()


class Registry:
    """The steps in version order, each starting where the previous one ends."""

    def __init__(self) -> None:
        self._steps: list[Step] = []

    def register(self, step: Step) -> Step:
        if self._steps and step.source != self._steps[-1].target:
            raise ValueError(f"step {step.id} starts at {step.source}, not {self._steps[-1].target}")
        self._steps.append(step)
        return step

    @contextmanager
    def registering(self, step: Step) -> Iterator[Step]:
        """`step` registered while inside (tests add a next version this way)."""
        self.register(step)
        try:
            yield step
        finally:
            self._steps.remove(step)

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(self._steps)

    @property
    def oldest(self) -> int:
        return self._steps[0].source

    @property
    def latest(self) -> int:
        return self._steps[-1].target

    def require_supported(self, version: int) -> None:
        if version < self.oldest:
            raise errors.LibraryTooOld(version, self.oldest)
        if version > self.latest:
            raise errors.LibraryTooNew(version, self.latest)

    def chain(self, version: int) -> list[Step]:
        """The steps a library at `version` may still need: the one that recorded its
        version (to finish it), then every later one."""
        self.require_supported(version)
        return [s for s in self._steps if s.target >= version]

    def pending(self, conn: apsw.Connection, version: int,
                planned: bool = True) -> list[tuple[Step, Plan | None]]:
        """The steps a library at `version` still needs. The first of `chain` reads the
        library as it is now: it must accept it (`require`), and it is needed when its
        `plan` says so or its target is above the version (then its plan is read only if
        `planned`: status shows it, migrate does not need it). Every later step is needed
        (it records its version) and is planned only once the earlier ones have run."""
        chain = self.chain(version)
        first, rest = chain[0], chain[1:]
        first.require(conn)
        plan = first.plan(conn) if planned or first.target == version else None
        head = [(first, plan)] if first.target > version or (plan is not None and plan.needed) else []
        return head + [(step, None) for step in rest]


REGISTRY = Registry()


def _register_builtin() -> None:
    # Imported here: the step modules import this one (Step, Plan, Report).
    from app.engine.steps.v11 import KnowledgeCaptures

    REGISTRY.register(KnowledgeCaptures())


_register_builtin()
