"""cleanup: find (preview) and fix (run) the three V10 data problems.

- orphaned transcripts: their recording is gone;
- duplicate recordings: several recordings share a filename. The oldest (date_recorded,
  then created_at, then id; times compared as SQLite datetimes, so "2024-01-01T09:00" and
  "2024-01-01 10:00" order by time, not by text) is kept; if it has no transcript and a removed duplicate has
  one, the earliest such transcript moves to it;
- invalid meeting references: a recording points at a meeting that does not exist.

The run happens under the lock, in one transaction that commits only once a snapshot of
the library as it was is on disk (in WAL mode copied beside the steps, see
`snapshots.taking`). The steps run in an order that leaves no new orphans: duplicates
(with their transcripts) before orphans, embeddings after every transcript delete. In a
V11 library a duplicate that a knowledge capture was made from is kept, since deleting it
would orphan the capture.
"""

from __future__ import annotations

import logging
import re

import apsw

from app.engine import errors, library, snapshots
from app.engine.snapshots import identity, retention
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import CleanupPreview, CleanupResult, CleanupStep, Finding
from app.engine.steps import REGISTRY
from app.engine.transaction import WriteTransaction, relocked

log = logging.getLogger(__name__)

SAMPLE_SIZE = 20

_RANKED = """
SELECT id, filename, rn, keeper, n FROM (
  SELECT id, filename,
         row_number() OVER w AS rn,
         first_value(id) OVER w AS keeper,
         count(*) OVER (PARTITION BY filename) AS n
  FROM recordings
  -- Only filenames that occur more than once are ranked (all NULLs, which partition
  -- together): the window then sorts the duplicates, not the whole table.
  WHERE filename IS NULL OR filename IN (SELECT filename FROM recordings GROUP BY filename HAVING count(*) > 1)
  WINDOW w AS (PARTITION BY filename ORDER BY coalesce(datetime(date_recorded), date_recorded),
                                              coalesce(datetime({created}), {created}), id)
) AS ranked WHERE rn > 1 {protect}
"""
_PROTECT_CAPTURED = "AND NOT EXISTS (SELECT 1 FROM knowledge_captures k WHERE k.source_recording_id = ranked.id)"

ORPHANED_TRANSCRIPTS = """SELECT t.id, t.recording_id FROM transcripts t
  WHERE NOT EXISTS (SELECT 1 FROM recordings r WHERE r.id = t.recording_id)"""
INVALID_MEETING_REFS = """SELECT r.id, r.meeting_id FROM recordings r WHERE r.meeting_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.id = r.meeting_id)"""
NONE = "SELECT NULL AS id, NULL AS meeting_id WHERE 0"


def _columns(conn: apsw.Connection, table: str) -> set[str]:
    """The table's columns (lowercased): users' libraries lack some optional ones."""
    return {c.lower() for c in library.column_names(conn, table)}


def _duplicates_sql(conn: apsw.Connection) -> str:
    captured = "source_recording_id" in _columns(conn, "knowledge_captures")
    created = "created_at" if "created_at" in _columns(conn, "recordings") else "NULL"
    return _RANKED.format(protect=_PROTECT_CAPTURED if captured else "", created=created)


def _invalid_refs_sql(conn: apsw.Connection) -> str:
    return INVALID_MEETING_REFS if "meeting_id" in _columns(conn, "recordings") else NONE


def _embeddings(conn: apsw.Connection) -> bool:
    return "transcript_id" in _columns(conn, "embeddings")


def _base_name(filename: str | None) -> str | None:
    """Samples show a file's name only: a stored name can hold a user's folders."""
    return None if filename is None else re.split(r"[\\/]", filename)[-1]


def _finding(conn: apsw.Connection, sql: str, names: tuple[str, ...], keys: tuple[str, ...]) -> Finding:
    """The count of `sql`'s rows and a sample, its columns `names` shown as `keys`."""
    count = conn.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    # Text as its bytes, decoded here with U+FFFD: a library's text need not be UTF-8.
    as_bytes = ", ".join(f"CASE typeof({n}) WHEN 'text' THEN CAST({n} AS BLOB) ELSE {n} END" for n in names)
    rows = conn.execute(f"SELECT {as_bytes} FROM ({sql}) ORDER BY 1 LIMIT {SAMPLE_SIZE}").fetchall()
    return Finding(count=count, sample=[dict(zip(keys, map(_readable, row))) for row in rows])


def _readable(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def findings(conn: apsw.Connection) -> dict[str, Finding]:
    duplicates = _finding(conn, f"SELECT id, filename, keeper, n FROM ({_duplicates_sql(conn)})",
                          ("id", "filename", "keeper", "n"), ("id", "filename", "kept_id", "count"))
    for row in duplicates.sample:
        row["filename"] = _base_name(row["filename"])  # type: ignore[arg-type]
    return {
        "orphaned_transcripts": _finding(conn, ORPHANED_TRANSCRIPTS, ("id", "recording_id"), ("id", "recording_id")),
        "duplicate_recordings": duplicates,
        "invalid_meeting_refs": _finding(conn, _invalid_refs_sql(conn), ("id", "meeting_id"), ("id", "meeting_id")),
    }


def preview_cleanup(library_path: str, registry: ProgressRegistry | None = None) -> CleanupPreview:
    """What cleanup would fix, with samples. Changes nothing."""
    return run(CleanupPreview(), library_path, _preview, writes=False, registry=registry)


def _preview(ctx: Context, result: CleanupPreview) -> None:
    with library.reading(ctx.library) as conn:
        result.version = library.read_version(conn)  # read here: no second connection after
        REGISTRY.require_supported(result.version)
        for name, finding in findings(conn).items():
            setattr(result, name, finding)


def run_cleanup(library_path: str, registry: ProgressRegistry | None = None) -> CleanupResult:
    """Fix what the preview finds, all or nothing."""
    return run(CleanupResult(), library_path, _run, writes=True, registry=registry)


# (step name, SQL, result field). Order matters: see the module docstring.
STEPS = (
    ("move transcripts to kept recordings", """
        UPDATE transcripts SET recording_id = (SELECT d.keeper FROM dup_remove d WHERE d.id = transcripts.recording_id)
        WHERE id IN (
          SELECT (SELECT t.id FROM transcripts t JOIN dup_remove d ON d.id = t.recording_id
                  WHERE d.keeper = k.keeper ORDER BY {transcript_created}, d.rn, t.id LIMIT 1)
          FROM (SELECT DISTINCT keeper FROM dup_remove) k
          WHERE NOT EXISTS (SELECT 1 FROM transcripts t2 WHERE t2.recording_id = k.keeper))""",
     "transcripts_moved"),
    ("remove transcripts of duplicates",
     "DELETE FROM transcripts WHERE recording_id IN (SELECT id FROM dup_remove)", None),
    ("remove duplicate recordings",
     "DELETE FROM recordings WHERE id IN (SELECT id FROM dup_remove)", "duplicate_recordings_removed"),
    ("remove orphaned transcripts",
     "DELETE FROM transcripts WHERE NOT EXISTS (SELECT 1 FROM recordings r WHERE r.id = transcripts.recording_id)",
     "orphaned_transcripts_removed"),
    ("remove orphaned embeddings",
     "DELETE FROM embeddings WHERE NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.id = embeddings.transcript_id)",
     "embeddings_removed"),
    ("clear invalid meeting references", """
        UPDATE recordings SET {clear}
        WHERE meeting_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.id = recordings.meeting_id)""",
     "invalid_meeting_refs_fixed"),
)
MEETING_COLUMNS = ("meeting_id", "correlation_confidence", "correlation_method")


def statements(conn: apsw.Connection) -> list[tuple[str, str | None, str | None]]:
    """STEPS for this library's columns: a step whose table or column the library lacks
    has nothing to do (its SQL is None)."""
    recordings = _columns(conn, "recordings")
    created = "t.created_at" if "created_at" in _columns(conn, "transcripts") else "NULL"
    clear = ", ".join(f"{c} = NULL" for c in MEETING_COLUMNS if c in recordings)
    out = []
    for name, sql, field in STEPS:
        if name == "remove orphaned embeddings" and not _embeddings(conn):
            sql = None
        elif name == "clear invalid meeting references" and "meeting_id" not in recordings:
            sql = None
        else:
            sql = sql.replace("{transcript_created}", created).replace("{clear}", clear)
        out.append((name, sql, field))
    return out


def _run(ctx: Context, result: CleanupResult) -> None:
    conn = library.connect(ctx.library)
    try:
        # Integrity is checked on the snapshot below: one quick_check pass instead of two.
        info = library.inspect(conn, ctx.library, check_integrity=False)
        with WriteTransaction(conn, ctx.tracker) as txn:
            version = library.read_version(conn)
            REGISTRY.require_supported(version)
            rank_duplicates(conn)
            if not any(_left(conn, exists=True, duplicates="SELECT 1 FROM dup_remove").values()):
                library.require_intact(conn)  # no snapshot to check it: a damaged library must say so
                result.warnings.append(ctx.problem("NOTHING_TO_CLEAN", "The library has nothing to clean up."))
                return
            retention.make_room(ctx.library, info.size_bytes + info.size_bytes // 4, snapshots.PRE_CLEANUP,
                                upgraded=version > REGISTRY.oldest)
            library_id = identity.read(conn) or identity.new_id()
            with snapshots.taking(ctx.library, snapshots.PRE_CLEANUP, ctx.tracker,
                                  info.journal_mode, library_id) as snapshot:
                snapshot.begin()  # the steps are SQL, off the GIL: the copy runs beside them
                identity.ensure(conn, library_id)
                _clean(conn, ctx, result, snapshot)
                result.snapshot_id = snapshot.wait().id
            ctx.tracker.update("committing")
            txn.commit()
        with relocked(conn) as held:
            if held:
                retention.prune_quietly(ctx.library, version > REGISTRY.oldest, (result.snapshot_id,))
    except BaseException:
        _report_rolled_back(result)
        raise
    finally:
        conn.close()


def _clean(conn: apsw.Connection, ctx: Context, result: CleanupResult,
           snapshot: snapshots.Taking) -> None:
    """The steps, in order, and the check that nothing is left to clean."""
    steps = statements(conn)
    for index, (name, sql, field) in enumerate(steps):
        snapshot.raise_if_failed()
        ctx.tracker.update("cleaning", index, len(steps), message=name)
        try:
            result.steps.append(_step(conn, name, sql))
        except errors.EngineError as exc:
            result.steps.append(CleanupStep(name=name, error=ctx.problem(exc.code, exc.message)))
            raise
        if field:
            setattr(result, field, result.steps[-1].count)
    ctx.tracker.update("verifying")
    _verify(conn)


def _report_rolled_back(result: CleanupResult) -> None:
    """After a rollback nothing was removed: the counts say so; the failing step keeps its error."""
    for _, _, field in STEPS:
        if field:
            setattr(result, field, 0)
    result.steps = [step.model_copy(update={"count": 0}) for step in result.steps]


def rank_duplicates(conn: apsw.Connection) -> None:
    """The duplicates to remove, once, for the check and the steps (temp table dup_remove)."""
    conn.execute(f"CREATE TEMP TABLE dup_remove AS {_duplicates_sql(conn)}")
    # The steps look duplicates up by id and by the recording kept: without these, the
    # move of transcripts grows with the square of the duplicates.
    conn.execute("CREATE INDEX temp.dup_remove_id ON dup_remove(id)")
    conn.execute("CREATE INDEX temp.dup_remove_keeper ON dup_remove(keeper)")


_ORPHANED_EMBEDDINGS = ("SELECT 1 FROM embeddings e WHERE NOT EXISTS "
                        "(SELECT 1 FROM transcripts t WHERE t.id = e.transcript_id)")


def _left(conn: apsw.Connection, exists: bool = False, duplicates: str | None = None) -> dict[str, int]:
    """What is there to clean, per kind, without samples: counts, or 1/0 (`exists`).
    Duplicates are ranked afresh (the library as it is now) unless `duplicates` says where
    they already are."""
    queries = {"orphaned_transcripts": ORPHANED_TRANSCRIPTS,
               "duplicate_recordings": duplicates or _duplicates_sql(conn),
               "invalid_meeting_refs": _invalid_refs_sql(conn),
               "orphaned_embeddings": _ORPHANED_EMBEDDINGS if _embeddings(conn) else NONE}
    how = "SELECT EXISTS ({})" if exists else "SELECT count(*) FROM ({})"
    return {name: conn.execute(how.format(sql)).fetchone()[0] for name, sql in queries.items()}


def _step(conn: apsw.Connection, name: str, sql: str | None) -> CleanupStep:
    if sql is None:
        return CleanupStep(name=name)
    try:
        conn.execute(sql)
    except apsw.Error as exc:
        log.error("cleanup step %r failed: %r", name, exc)
        raise library.translate(exc, f"cleanup step {name}") from exc
    return CleanupStep(name=name, count=conn.changes())


def _verify(conn: apsw.Connection) -> None:
    left = _left(conn)
    if any(left.values()):
        log.error("cleanup left problems behind: %s", left)
        raise errors.VerificationFailed("Cleanup did not leave the library clean, so nothing was "
                                        "changed.", left=left)
