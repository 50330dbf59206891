"""Folders' high-water marks (a triaged folder's, and the Sent folder's, told apart by kind) and
the small key-value `meta` table (last check, last summary, cached public holidays)."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mailtriage.core.models import FolderKind
from mailtriage.store.base import Database
from mailtriage.store.rows import FolderMark, Mark, iso

INCOMING = FolderKind.INCOMING
UTC_ZONE = ZoneInfo("UTC")


class Marks(Database):
    def mark(self, folder: str, kind: FolderKind = INCOMING) -> Mark | None:
        row = self.one("SELECT uidvalidity, last_uid FROM folders WHERE account = ? AND kind = ? AND name = ?",
                       [self.account, kind, folder])
        return Mark(row["uidvalidity"], row["last_uid"]) if row else None

    def set_mark(self, folder: str, mark: Mark, now: datetime, *, baseline: bool = False,
                 kind: FolderKind = INCOMING) -> None:
        """Move a folder's mark; call inside the transaction that recorded its messages."""
        if baseline:
            self.execute(
                "INSERT INTO folders (account, name, kind, uidvalidity, last_uid, baseline_at, checked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, kind, name) DO UPDATE SET"
                " uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, baseline_at = excluded.baseline_at,"
                " checked_at = excluded.checked_at",
                [self.account, folder, kind, mark.uidvalidity, mark.last_uid, iso(now), iso(now)])
        else:
            self.execute("UPDATE folders SET last_uid = ?, checked_at = ? WHERE account = ? AND kind = ? AND name = ?"
                         " AND uidvalidity = ?",
                         [mark.last_uid, iso(now), self.account, kind, folder, mark.uidvalidity])

    def folder_marks(self, *, every_account: bool = False) -> list[FolderMark]:
        """Every folder's mark of this account (or of every account, by account): the triaged folders
        by name, then the Sent folder."""
        where = "" if every_account else "WHERE account = ?"
        return [FolderMark.from_row(row) for row in self.rows(
            f"SELECT * FROM folders {where} ORDER BY account, kind = ?, name",
            [FolderKind.SENT] if every_account else [self.account, FolderKind.SENT])]

    def set_modseq(self, folder: str, modseq: int | None) -> None:
        self.execute("UPDATE folders SET highestmodseq = ? WHERE account = ? AND kind = ? AND name = ?",
                     [modseq, self.account, INCOMING, folder])

    def modseq(self, folder: str) -> int | None:
        row = self.one("SELECT highestmodseq FROM folders WHERE account = ? AND kind = ? AND name = ?",
                       [self.account, INCOMING, folder])
        return row["highestmodseq"] if row else None

    # --- meta ----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                         " SET value = excluded.value", [key, value])

    def public_holidays(self, country: str, subdivision: str | None, year: int) -> dict[date, str]:
        """A year's public holidays, computed once and then read from the database: the holidays
        package costs a check 0.1 s and 10 MB to load. Not to be called inside a transaction."""
        key = f"holidays:{country}:{subdivision or ''}:{year}"
        cached = self.get_meta(key)
        if cached is not None:
            return {date.fromisoformat(day): name for day, name in json.loads(cached).items()}
        from mailtriage.core.businessdays import BusinessCalendar

        found = BusinessCalendar(UTC_ZONE, country=country, subdivision=subdivision).public_holidays(year)
        self.set_meta(key, json.dumps({day.isoformat(): name for day, name in found.items()}))
        return found



    def claim_meta(self, key: str, value: str) -> bool:
        """Set `key` only when it is not set yet; True when this call set it (at most once, across processes)."""
        with self.transaction():
            return self.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [key, value]).rowcount == 1

    def drop_meta(self, key: str) -> None:
        with self.transaction():
            self.execute("DELETE FROM meta WHERE key = ?", [key])
