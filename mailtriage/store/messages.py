"""Messages: what each check decided about each fetched message, and the \\Flagged we set on them."""

from __future__ import annotations

from mailtriage.core.models import Decision, ThreadState
from mailtriage.store.base import Database, Params, placeholders
from mailtriage.store.rows import Message

WAITING = f"('{ThreadState.OPEN}', '{ThreadState.OVERDUE}')"


class Messages(Database):
    def insert_message(self, message: Message, *, or_ignore: bool = False) -> None:
        self.insert("messages", message.columns(), or_ignore=or_ignore)

    def seen_message(self, message_id: str, sender: str) -> bool:
        """This message was recorded before: the same Message-ID from the same sender. The same id
        from another sender is a collision (or a forgery), not a copy: it gets its own record."""
        return self.one("SELECT 1 AS x FROM messages WHERE account = ? AND message_id = ? AND coalesce(sender, '') = ?"
                        " LIMIT 1", [self.account, message_id, sender]) is not None

    def messages_by_id(self, message_id: str) -> list[Message]:
        """Every recorded message with this Message-ID (a copy in two folders, a collision), of every account."""
        return self._messages("WHERE message_id = ?", [message_id])

    def messages_at(self, folder: str, uid: int) -> list[Message]:
        """The message at this UID of a folder, under each UIDVALIDITY it was seen with, newest first."""
        return self._messages("WHERE account = ? AND folder = ? AND uid = ?", [self.account, folder, uid],
                              "uidvalidity DESC")

    def messages_of_thread(self, number: int) -> list[Message]:
        """Every recorded message of thread `number`, in order of arrival."""
        return self._messages("WHERE (account, thread_id) = (SELECT account, id FROM threads WHERE number = ?)",
                              [number])

    def _messages(self, where: str, params: Params, order: str = "received_at, id") -> list[Message]:
        return [Message.from_row(row) for row in self.rows(f"SELECT * FROM messages {where} ORDER BY {order}", params)]

    def recorded_uids(self, folder: str, uidvalidity: int, uids: list[int]) -> set[int]:
        """Which of `uids` are recorded already (by push, between checks): the check passes over them."""
        if not uids:
            return set()
        rows = self.rows(f"SELECT uid FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ?"
                         f" AND uid IN ({placeholders(uids)})", [self.account, folder, uidvalidity, *uids])
        return {row["uid"] for row in rows}

    def open_messages(self, folder: str, uidvalidity: int, uids: list[int] | None = None) -> dict[int, str]:
        """uid -> thread id, for recorded messages of open or overdue threads in this folder."""
        sql = ("SELECT m.uid, m.thread_id FROM messages m"
               " JOIN threads t ON t.account = m.account AND t.id = m.thread_id"
               f" WHERE m.account = ? AND m.folder = ? AND m.uidvalidity = ? AND t.state IN {WAITING}")
        params: list[str | int] = [self.account, folder, uidvalidity]
        if uids is not None:
            if not uids:
                return {}
            sql += f" AND m.uid IN ({placeholders(uids)})"
            params += uids
        return {row["uid"]: row["thread_id"] for row in self.rows(sql, params)}

    def set_flagged(self, folder: str, uidvalidity: int, uids: list[int], flagged: bool) -> None:
        if uids:
            self.execute(
                f"UPDATE messages SET flagged_by_us = ? WHERE account = ? AND folder = ? AND uidvalidity = ?"
                f" AND uid IN ({placeholders(uids)})", [int(flagged), self.account, folder, uidvalidity, *uids])

    def flagged_but_settled(self, folder: str, uidvalidity: int) -> list[int]:
        """Messages we flagged whose thread is no longer overdue (answered, closed or snoozed)."""
        rows = self.rows(
            "SELECT m.uid FROM messages m JOIN threads t ON t.account = m.account AND t.id = m.thread_id"
            " WHERE m.flagged_by_us = 1 AND m.account = ? AND m.folder = ? AND m.uidvalidity = ? AND t.state != ?",
            [self.account, folder, uidvalidity, ThreadState.OVERDUE])
        return [row["uid"] for row in rows]

    def unflagged_overdue(self, folder: str, uidvalidity: int) -> list[int]:
        """The newest client message of each overdue thread in this folder, where we have not flagged it."""
        rows = self.rows(
            "SELECT m.uid FROM messages m JOIN threads t ON t.account = m.account AND t.id = m.thread_id"
            " WHERE t.state = ? AND m.account = ? AND m.folder = ? AND m.uidvalidity = ? AND m.decision != ?"
            " AND m.flagged_by_us = 0 AND m.received_at = (SELECT max(received_at) FROM messages n"
            " WHERE n.account = t.account AND n.thread_id = t.id AND n.decision != ?)",
            [ThreadState.OVERDUE, self.account, folder, uidvalidity, Decision.SKIP, Decision.SKIP])
        return [row["uid"] for row in rows]
