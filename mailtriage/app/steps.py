"""A step of `mailtriage doctor`: its name, how it went, why, and what to do; shared by the local
steps (doctor.py) and the network ones (doctor_net.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
MARKS = {OK: "✔", FAIL: "✘", WARN: "⚠", SKIP: "–"}


@dataclass(frozen=True)
class Step:
    """One checked step: its name, ok/fail/warn (or skip, after a failure it depends on), why, what to do."""

    step: str
    status: str
    detail: str
    fix: str = ""
    account: str = ""  # with `accounts:`: the account this step checked ("" for the whole file's steps)

    def line(self) -> str:
        whose = f"{self.account}: " if self.account else ""
        return f"{MARKS[self.status]} {whose}{self.step}: {self.detail}" + (f" → {self.fix}" if self.fix else "")

    def as_dict(self) -> dict[str, str]:
        """{step, status, detail, fix}, and `account` for a step of one account of `accounts:`."""
        data = asdict(self)
        if not self.account:
            del data["account"]
        return data


def safe_to_go_live(steps: list[Step]) -> bool:
    """Warnings are allowed; a failure (and so anything skipped because of one) is not."""
    return all(step.status in (OK, WARN) for step in steps)
