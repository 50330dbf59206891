"""One connection and our own transactions: BEGIN IMMEDIATE, savepoints, and the one place every write passes.

The sqlite3 module's implicit BEGIN is off (isolation_level None): a transaction is ours alone,
opened by `transaction()`, so nothing commits half a batch behind our back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from mailtriage.core.models import DEFAULT_ACCOUNT
from mailtriage.store.rows import SqlValue

Params = Sequence[SqlValue] | Mapping[str, SqlValue]  # ? placeholders, or :named ones
# The tables whose rows belong to one account: an insert into them is stamped with the store's.
ACCOUNT_TABLES = frozenset({"folders", "threads", "answers", "messages", "refs", "replies", "reminders"})


def text(value: SqlValue) -> SqlValue:
    """Text SQLite can store: a surrogate escape (a raw 8-bit header byte) becomes U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def texts(params: Params) -> Params:
    if isinstance(params, Mapping):
        return {name: text(value) for name, value in params.items()}
    return [text(value) for value in params]


def placeholders(values: Collection[object]) -> str:
    return ",".join("?" * len(values))


class Database:
    """A connection with transactions that nest as savepoints."""

    path: Path | None
    conn: sqlite3.Connection
    _depth: int = 0
    # The account this store reads and writes (rules.yaml `accounts:`); reports read across all.
    account: str = DEFAULT_ACCOUNT

    def _prepare(self) -> None:
        # Transactions are ours alone: no implicit BEGIN from the sqlite3 module.
        self.conn.isolation_level = None
        self.conn.row_factory = sqlite3.Row
        self._depth = 0

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: BEGIN IMMEDIATE (the write lock is taken at once, so two processes queue
        instead of failing half-way), or a savepoint when already inside a transaction."""
        if self._depth:
            with self.savepoint():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the current transaction that can fail alone (one message of a batch)."""
        name = f"sp{self._depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
            self.conn.execute(f"RELEASE {name}")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Every write goes through here (one place to see them, and to inject faults in tests)."""
        return self.conn.execute(sql, params)

    def insert(self, table: str, row: dict[str, SqlValue], *, or_ignore: bool = False) -> int:
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        if table in ACCOUNT_TABLES:
            row = {**row, "account": self.account}
        cursor = self.execute(f"{verb} INTO {table} ({', '.join(row)}) VALUES ({placeholders(row)})",
                              [text(v) for v in row.values()])
        return int(cursor.lastrowid or 0)

    def update(self, table: str, key: int, fields: dict[str, SqlValue]) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        self.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*(text(v) for v in fields.values()), key])

    def rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Read: every row of a query (never a write: those go through `execute`)."""
        return self.conn.execute(sql, texts(params)).fetchall()

    def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, texts(params)).fetchone()
        return row

    def count(self, sql: str, params: Params = ()) -> int:
        """The single number a `SELECT count(*) ...` gives."""
        row = self.one(sql, params)
        return int(row[0]) if row else 0
