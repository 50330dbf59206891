"""What a check tells its caller: one Line per message, and the Report of the whole cycle."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from mailtriage.core.models import IGNORE, REPLY, SKIP, Decision, JsonObject
from mailtriage.core.wording import when
from mailtriage.store.rows import Thread


@dataclass
class Line:
    """What happened to one message: printed as one line, or one JSON object."""

    folder: str
    uid: int
    message_id: str
    sender: str
    client: str | None
    decision: Decision
    reason: str
    deadline: str | None
    thread: str | None
    guard: str | None = None
    reply_to: str | None = None

    def text(self, tz: ZoneInfo, now: datetime) -> str:
        where = f"{self.folder} {self.uid} from {self.sender or '(no sender)'}:"
        due = when(datetime.fromisoformat(self.deadline), tz, now) if self.deadline else ""
        who = f" ({self.client})" if self.client else ""
        if self.decision == REPLY:
            return f"{where} holding reply → {self.reply_to}, due {due}{who}"
        if self.decision == IGNORE:
            return f"{where} ignored: {self.reason}"
        if self.decision == SKIP:
            return f"{where} no reply: {self.reason}"
        return f"{where} recorded, no reply: {self.reason}" + (f"; due {due}{who}" if due else "")


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overdue: list[Thread] = field(default_factory=list)  # threads that became overdue at this check
    sent: int = 0
    failed: int = 0
    answered: int = 0
    waiting: int = 0
    send_error: str | None = None


def line_dict(line: Line, tz: ZoneInfo) -> JsonObject:
    """The line as JSON: the deadline in ISO 8601 with the offset of the user's zone, as everywhere."""
    data: JsonObject = asdict(line)
    if line.deadline:
        data["deadline"] = datetime.fromisoformat(line.deadline).astimezone(tz).isoformat()
    return data
