"""Schema completion: add what a step's canonical schema has and a library lacks.

Users' libraries were written by many releases of the app, so a step cannot compare the
file with its canonical schema and give up on any difference. Instead: a table that is
missing is created from its canonical definition; a column that is missing is added to
the table that exists (`ALTER TABLE ... ADD COLUMN`, with its canonical definition); an
index is missing only when no index on the same table has the same columns, whatever its
name. What exists keeps its definition; where it differs from the canonical one, the
difference is named (`drift`), never changed.

The canonical objects are read from SQLite itself: the step's scripts run on an
in-memory database over the schema they start from, and whatever they added is the spec.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import apsw

from app.engine import errors
from app.engine.library import quote_ident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    definition: str  # as written in the canonical CREATE TABLE, for ADD COLUMN
    info: tuple      # (type, notnull, default, pk), as PRAGMA table_info reads it


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class Spec:
    """What a step's scripts add to the schema they start from."""

    tables: dict[str, str]        # created tables -> CREATE TABLE statement
    columns: tuple[Column, ...]   # every column those tables have, and columns added to others
    indexes: tuple[Index, ...]


def _table_info(conn: apsw.Connection, table: str, schema: str = "main") -> dict[str, tuple]:
    return {r[1].lower(): (str(r[2]).upper(), r[3], r[4], r[5]) for r in conn.execute(
        f"PRAGMA {schema}.table_info({quote_ident(table)})")}


def _tables(conn: apsw.Connection, schema: str = "main") -> dict[str, str]:
    return {name.lower(): sql for name, sql in conn.execute(
        f"SELECT name, sql FROM {schema}.sqlite_schema WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_'")}


def _indexes(conn: apsw.Connection, table: str, schema: str = "main") -> dict[str, tuple[str, ...]]:
    """name -> column names (lowercased, in order) of every index on `table`."""
    out = {}
    for row in conn.execute(f"PRAGMA {schema}.index_list({quote_ident(table)})"):
        cols = tuple((r[2] or "").lower() for r in conn.execute(
            f"PRAGMA {schema}.index_info({quote_ident(row[1])})"))
        out[row[1].lower()] = cols
    return out


def column_definitions(create_sql: str) -> dict[str, str]:
    """Column name -> its definition text, from a CREATE TABLE statement: the body split at
    its top-level commas (outside parentheses, quotes and comments)."""
    body = create_sql[create_sql.index("(") + 1:create_sql.rindex(")")]
    parts: list[str] = []
    current: list[str] = []
    depth, i, quote = 0, 0, ""
    while i < len(body):
        ch = body[i]
        if quote:
            current.append(ch)
            quote = "" if ch == quote else quote
        elif body.startswith("--", i):
            i = body.find("\n", i)
            i = len(body) if i < 0 else i
            continue
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif ch == "(":
            depth += 1
            current.append(ch)
        elif ch == ")":
            depth -= 1
            current.append(ch)
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    out = {}
    for part in (p.strip() for p in parts):  # as written: ADD COLUMN keeps the canonical text
        name = part.split(None, 1)[0].strip('"`[]').lower() if part else ""
        if part and name not in ("constraint", "primary", "foreign", "check", "unique"):
            out[name] = part
    return out


def spec_for(start: tuple[str, ...], tables_script: str, index_script: str) -> Spec:
    """The objects `tables_script` and `index_script` add to the schema `start` builds."""
    conn = apsw.Connection(":memory:")
    try:
        for script in start:
            conn.execute(script)
        before = {t: _table_info(conn, t) for t in _tables(conn)}
        conn.execute(tables_script)
        after = _tables(conn)
        created = {t: sql for t, sql in after.items() if t not in before}
        columns = []
        for table, sql in after.items():
            definitions = column_definitions(sql)
            for name, info in _table_info(conn, table).items():
                if name not in before.get(table, {}):
                    columns.append(Column(table, name, definitions[name], info))
        old_indexes = {(t, n) for t in after for n in _indexes(conn, t)}
        conn.execute(index_script)
        indexes = tuple(
            Index(name, table, cols, conn.execute(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND lower(name) = ?", (name,)).fetchone()[0])
            for table in after for name, cols in _indexes(conn, table).items()
            if (table, name) not in old_indexes and not name.startswith("sqlite_"))
        return Spec(created, tuple(columns), indexes)
    finally:
        conn.close()


def missing(conn: apsw.Connection, spec: Spec, schema: str = "main") -> list[str]:
    """The spec's objects the library lacks, in words."""
    tables = _tables(conn, schema)
    out = [f"table {t}" for t in spec.tables if t not in tables]
    info = {t: _table_info(conn, t, schema) for t in {c.table for c in spec.columns} if t in tables}
    out += [f"column {c.table}.{c.name}" for c in spec.columns if c.table in info and c.name not in info[c.table]]
    for index in spec.indexes:
        if index.table not in tables or index.columns not in _indexes(conn, index.table, schema).values():
            out.append(f"index on {index.table}({', '.join(index.columns)})")
    return out


def drift(conn: apsw.Connection, spec: Spec) -> list[str]:
    """Columns the library has whose definition differs from the spec's."""
    tables = _tables(conn)
    info = {t: _table_info(conn, t) for t in {c.table for c in spec.columns} if t in tables}
    return [f"{c.table}.{c.name}" for c in spec.columns
            if c.name in info.get(c.table, {}) and info[c.table][c.name] != c.info]


def complete_tables(conn: apsw.Connection, spec: Spec) -> list[str]:
    """Create the missing tables and add the missing columns; returns what was added."""
    tables = _tables(conn)
    added = []
    for table, sql in spec.tables.items():
        if table not in tables:
            conn.execute(sql)
            added.append(f"table {table}")
    tables = _tables(conn)
    for column in spec.columns:
        if column.table not in tables or column.table in spec.tables and f"table {column.table}" in added:
            continue
        if column.name in _table_info(conn, column.table):
            continue
        try:
            _add_column(conn, column)
        except apsw.SQLError as exc:  # e.g. NOT NULL without a default: SQLite cannot add it
            log.warning("cannot add %s.%s: %r", column.table, column.name, exc)
            raise errors.LibraryUnsupported(
                [f"the {column.table} table has no {column.name} column, and it cannot be added"]) from exc
        added.append(f"column {column.table}.{column.name}")
    return added


_CLOCK_DEFAULT = re.compile(r"\s+DEFAULT\s+CURRENT_(?:TIMESTAMP|DATE|TIME)\b", re.IGNORECASE)


def _add_column(conn: apsw.Connection, column: Column) -> None:
    """ALTER TABLE ... ADD COLUMN with the canonical definition. SQLite refuses a clock
    default (CURRENT_TIMESTAMP) on a table that has rows: the column is then added
    without it (existing rows read NULL), and `drift` names the difference."""
    table = quote_ident(column.table)
    try:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column.definition}")
    except apsw.SQLError:
        plain = _CLOCK_DEFAULT.sub("", column.definition)
        if plain == column.definition:
            raise
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {plain}")


def complete_indexes(conn: apsw.Connection, spec: Spec) -> list[str]:
    """Create each index no index on the same columns stands for; returns what was added.
    A canonical name already taken by another index gets a numbered one."""
    added = []
    for index in spec.indexes:
        existing = _indexes(conn, index.table)
        if index.columns in existing.values():
            continue
        sql, name = index.sql, index.name
        taken = {r[0].lower() for r in conn.execute("SELECT name FROM sqlite_schema")}
        n = 1
        while name.lower() in taken:
            name = f"{index.name}_{n}"
            n += 1
        if name != index.name:
            sql = sql.replace(index.name, name, 1)
        conn.execute(sql)
        added.append(f"index {name}")
    return added
