"""The V10 -> V11 step: every transcribed recording becomes a knowledge capture.

What it needs of a library (`REQUIRED`) is only what the rules cannot run without;
every other column the rules read may be absent (it reads NULL), and anything else the
library holds is left as it is. Its schema is completed, not compared (`completion`), so
the "version 11 in name only" libraries the app left (the tables of an earlier script,
no data migrated) and half-finished ones (the original per-row migration stopped part
way) are finished, whatever their stored version says:
- eligible: a transcript, not migrated to a capture that exists, and no capture naming
  it as its source: its capture, audio source and action items by the rules (`rules`);
- adopted: a capture already names it: migrated to the oldest such capture, no second;
- skipped: no transcript and nothing to adopt.
The rows are computed into a stage (on two cores for big WAL libraries: `split_pass`),
published in key order, verified (`verify`), and quick_checked, inside the engine's
transaction.
"""

from __future__ import annotations

from functools import lru_cache

import apsw

from app.engine import completion, errors, library, schema, snapshots
from app.engine.progress import ProgressTracker
from app.engine.steps import Plan, Report, Step, StepRun
from app.engine.steps.v11 import rows, split_pass, verify

# table -> columns the rules cannot run without.
REQUIRED = {"recordings": ("id", "filename", "date_recorded"), "transcripts": ("id", "recording_id"),
            "meetings": ("id",), "schema_version": ("version",)}
TABLES_FILE = "v11-knowledge-captures.sql"
INDEX_FILE = "v11-indexes.sql"
MIGRATION_COLUMNS = ("migrated_to_capture_id", "migration_status", "migrated_at")


@lru_cache(maxsize=1)
def spec() -> completion.Spec:
    """The V11 objects: what the step's scripts add to a canonical V10 library."""
    return completion.spec_for((schema.read(schema.V10_FILE),), schema.read(TABLES_FILE), schema.read(INDEX_FILE))


class KnowledgeCaptures(Step):
    id = "v11-knowledge-captures"
    source = 10
    target = 11
    description = "knowledge captures with first-class action items, from every transcribed recording"
    inserts = ("knowledge_captures", "audio_sources", "action_items")
    sets = {"recordings": MIGRATION_COLUMNS}
    stamps = ("created_at", "updated_at", "migrated_at")

    def canonical_tables(self) -> tuple[str, ...]:
        return tuple(spec().tables)

    def require(self, conn: apsw.Connection) -> None:
        lacking = []
        for table, needed in REQUIRED.items():
            have = {r[1].lower() for r in conn.execute(f"PRAGMA main.table_info({table})")}
            if not have:
                lacking.append(f"there is no {table} table")
            lacking += [f"the {table} table has no {c} column" for c in needed if have and c not in have]
        if lacking:
            raise errors.LibraryUnsupported(lacking)

    def plan(self, conn: apsw.Connection) -> Plan:
        layout = rows.Layout.read(conn)
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731 - three one-liners below
        transcribed = "EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)"
        return Plan(counts={
            "to_upgrade": one(layout.count_sql()),
            "to_adopt": one(f"SELECT count(*) FROM recordings r WHERE NOT ({layout.done()}) AND {layout.named()}"),
            "to_skip": one(f"SELECT count(*) FROM recordings r WHERE {layout.pending()} AND {layout.unnamed()} "
                           f"AND NOT {transcribed}"),
        }, schema_missing=completion.missing(conn, spec()))

    def apply(self, run: StepRun) -> Report:
        conn, report = run.conn, Report(self.id)
        run.tracker.update("schema")
        completion.complete_tables(conn, spec())
        if drifted := completion.drift(conn, spec()):
            report.warnings.append(run.problem(
                "SCHEMA_DRIFT", "These columns differ from the version-11 definition and were left as "
                f"they are: {', '.join(drifted)}.", count=len(drifted)))
        before = verify.counts(conn)
        total = rows.total(conn)
        run.tracker.update("migrating", 0, total)

        def on_batch(processed: int) -> None:
            run.check()
            run.tracker.update("migrating", processed, total)

        # Two cores: the snapshot copies beside the data pass, unless a helper process takes
        # the second core for part of it; then, in WAL mode, the copy runs beside what
        # follows (publish, indexes, verification, all in SQLite, on one core). In
        # rollback-journal mode the copy must have read the library before `publish`
        # writes (a reader blocks the writer's spill), so it runs beside the data pass,
        # which writes only its temp stage. The helper reads the library as it was before
        # the transaction (the last commit): only for the first step.
        helper = None
        if run.first:
            helper = run.defer(split_pass.Helper(snapshots.snapshot_dir(run.library)))
        start = split_pass.split_point(conn, total, run.journal_mode) if helper is not None else None
        if start is None or run.journal_mode != "wal":
            run.begin_snapshot()
        counts, also = split_pass.stage(conn, run.library, on_batch, helper, start)
        run.wait_copied()
        run.begin_snapshot()
        prior = "main.knowledge_captures"  # before `publish`: the captures that existed
        adopted = rows.adopt(conn, run.migrated_at, "main.recordings", prior)
        rows.mark(conn, run.migrated_at, "main.recordings", also)
        skipped = rows.skip(conn, "main.recordings", "main.transcripts", prior)
        rows.publish(conn, also=also)
        if helper is not None:
            helper.discard_scratch()
        run.tracker.update("migrating", total, total, message="building indexes")
        completion.complete_indexes(conn, spec())

        run.tracker.update("verifying")
        verify.verify_upgrade(conn, verify.Expected(counts.captures, counts.action_items, adopted, before,
                                                    run.migrated_at, also), spec())
        rows.drop_stage(conn)
        # The pages this transaction wrote, checked before COMMIT (a failure still rolls
        # back); the snapshot's quick_check covered every page the library held before.
        for table in verify.WRITTEN_TABLES:
            library.require_intact(conn, table)
        report.counts = {"captures_created": counts.captures, "audio_sources_created": counts.captures,
                         "action_items_created": counts.action_items, "recordings_skipped": skipped,
                         "captures_adopted": adopted, "dangling_meeting_refs": counts.dangling_meetings,
                         "undecodable_recordings": counts.undecodable}
        if counts.dangling_meetings:
            report.warnings.append(run.problem(
                "DANGLING_MEETING_REF",
                f"{counts.dangling_meetings} recording(s) pointed at a meeting that no longer "
                "exists; their captures were made without a meeting.", count=counts.dangling_meetings))
        if counts.undecodable:
            report.warnings.append(run.problem(
                "UNDECODABLE_TEXT",
                f"{counts.undecodable} recording(s) hold text that is not valid UTF-8. It was kept "
                "exactly as it was; titles and action items made from it show \ufffd where a "
                "character could not be read.", count=counts.undecodable))
        return report

    def expected(self, scratch: apsw.Connection, source: str, tracker: ProgressTracker) -> None:
        layout = rows.Layout.read(scratch, source)
        # The tables as `apply` leaves them in the library: the source's own definitions
        # (its defaults and extra columns), completed like the library's; else canonical.
        for table in self.inserts:
            own = scratch.execute(f"SELECT sql FROM {source}.sqlite_schema WHERE type = 'table' AND lower(name) = ?",
                                  (table,)).fetchone()
            scratch.execute(own[0] if own else spec().tables[table])
        completion.complete_tables(scratch, completion.Spec(
            {}, tuple(c for c in spec().columns if c.table in self.inserts), ()))
        scratch.execute("CREATE INDEX expected_source ON knowledge_captures(source_recording_id)")
        have = layout.recordings
        columns = ", ".join(c if c in have else "NULL" for c in MIGRATION_COLUMNS)
        scratch.execute(f"CREATE TABLE recordings (id PRIMARY KEY, {', '.join(MIGRATION_COLUMNS)})")
        scratch.execute(f"INSERT INTO recordings SELECT id, {columns} FROM {source}.recordings")
        prior = None
        if {"id", "source_recording_id"} <= layout.captures:
            created = "created_at" if "created_at" in layout.captures else "NULL"
            scratch.execute("CREATE TABLE prior (id PRIMARY KEY, source_recording_id, created_at)")
            scratch.execute(f"INSERT INTO prior SELECT id, source_recording_id, {created} "
                            f"FROM {source}.knowledge_captures")
            prior = "main.prior"
        total = rows.total(scratch, source)

        def on_batch(processed: int) -> None:
            tracker.update("checking", processed, total)
            if tracker.cancelled:
                raise errors.Cancelled()

        rows.stage(scratch, source=source, on_batch=on_batch)
        rows.adopt(scratch, "", "main.recordings", prior)
        rows.mark(scratch, "", "main.recordings")
        rows.skip(scratch, "main.recordings", f"{source}.transcripts", prior)
        rows.publish(scratch)
        rows.drop_stage(scratch)
