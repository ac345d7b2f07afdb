"""One statement, many rows, straight through the DBAPI cursor's executemany.

`conn.execute(stmt, rows)` costs SQLAlchemy about as much per row as the database's write itself:
for every parameter set it builds a dict of every bind (defaults, expanding binds, key lookups)
before applying the column types. The process stage writes about ten rows per lead (inbox, decisions,
rotation ledger, profiles, identities, transitions, inbox status, the local CRM's lead), so that
per-row work was a sixth of a run's CPU. `ManyRows` compiles its statement once per dialect, keeps the column types' own
bind processors (PackedJSON, timestamps, JSON, booleans: the stored bytes are exactly those of
`conn.execute`), and hands the DBAPI plain tuples (SQLite) or dicts (PostgreSQL) through
`exec_driver_sql`, inside the caller's transaction.

Only for statements whose every value is a parameter of the row (no IN lists, no Python-side
column defaults): a missing key raises KeyError rather than writing a default. `returning` runs an
INSERT ... RETURNING the same way. Shared by the state store and the local CRM (like sqlite_wal.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


class _Compiled:
    def __init__(self, stmt: ClauseElement, dialect: Dialect, columns: Sequence[str] | None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns) if columns is not None else None)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        self.names = list(compiled.positiontup) if compiled.positiontup is not None else list(compiled.binds)
        escaped: Mapping[str, str] = compiled.escaped_bind_names or {}
        self.keys = [escaped.get(name, name) for name in self.names]  # as the SQL text names them
        # The dialect's own implementation of each type (SQLite's DATETIME, psycopg's JSONB...), as
        # SQLAlchemy itself applies it; None is processed too (a JSON column may store 'null').
        self.processors: list[Processor] = [compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                                            for name in self.names]
        self._processed = [(index, process) for index, process in enumerate(self.processors) if process is not None]

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        values = [self._values(row) for row in rows]
        if self.positional:
            return values
        return [dict(zip(self.keys, row, strict=True)) for row in values]

    def _values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        gathered = [row[name] for name in self.names]
        for index, process in self._processed:
            gathered[index] = process(gathered[index])
        return tuple(gathered)


class ManyRows:
    """A statement built once per dialect by `build` and run with many rows.

    `columns_from_rows`: an INSERT without explicit values, setting the columns the rows have (the
    first row's keys, as SQLAlchemy's executemany does; compiled once per set of keys).
    """

    def __init__(self, build: Callable[[Dialect], ClauseElement], *, columns_from_rows: bool = False) -> None:
        self._build = build
        self._columns_from_rows = columns_from_rows
        self._compiled: dict[tuple[str, tuple[str, ...] | None], _Compiled] = {}

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            compiled = self._compile(conn.dialect, rows)
            conn.exec_driver_sql(compiled.sql, compiled.parameters(rows))

    def returning(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """An INSERT ... RETURNING: the rows it returns (in no set order), each value read back through
        its column's type (a key stored in a short form comes back as the key).

        SQLite: multi-row VALUES statements of as many rows as its bound on parameters allows, built from
        the compiled single-row statement. Elsewhere SQLAlchemy's own batching (PostgreSQL: insertmanyvalues).
        """
        if not rows:
            return []
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return list(conn.execute(cast(Executable, self._build(dialect)), list(rows)))
        compiled = self._compile(dialect, rows)
        one = "(" + ", ".join("?" * len(compiled.names)) + ")"
        head, values, tail = compiled.sql.partition(f"VALUES {one}")
        if not values or one in tail:
            raise ValueError(f"not a single-row INSERT of parameters only: {compiled.sql}")
        per = max(1, min(dialect.insertmanyvalues_page_size,
                         dialect.insertmanyvalues_max_parameters // len(compiled.names)))
        parameters = compiled.parameters(rows)
        found: list[Any] = []
        for start in range(0, len(parameters), per):
            chunk = parameters[start:start + per]
            sql = f"{head}VALUES {', '.join([one] * len(chunk))}{tail}"
            found += conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row)).fetchall()
        return _decoded(found, self._build(dialect), dialect)

    def _compile(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> _Compiled:
        columns = tuple(rows[0]) if self._columns_from_rows else None
        key = (f"{dialect.name}+{dialect.driver}", columns)  # SQL text and bind processors are the driver's
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self._build(dialect), dialect, columns)
        return compiled


def _decoded(rows: list[Any], stmt: ClauseElement, dialect: Dialect) -> list[Any]:
    """RETURNING rows with the columns' result processors applied, as SQLAlchemy's own results are."""
    described = getattr(stmt, "returning_column_descriptions", None) or []
    processors = [d["type"].dialect_impl(dialect).result_processor(dialect, None) for d in described]
    if not any(processors):
        return rows
    names = [d["name"] for d in described]
    return [_Returned(names, [value if process is None else process(value)
                              for value, process in zip(row, processors, strict=True)]) for row in rows]


class _Returned(tuple[Any, ...]):
    """A returned row: a tuple whose values are also attributes by column name (like a Row)."""

    def __new__(cls, names: list[str], values: list[Any]) -> _Returned:
        row = super().__new__(cls, values)
        row.__dict__.update(zip(names, values, strict=True))
        return row
