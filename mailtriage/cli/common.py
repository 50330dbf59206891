"""What every command shares: the context (rules.yaml, loaded on first use), output, the store, the clock."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mailtriage.config.accounts import Account
    from mailtriage.config.model import Rules
    from mailtriage.store.db import Store


class Context:
    """What every command gets: the path of rules.yaml, loaded on first use."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.database: Path | None = None  # known once the rules are loaded: named by database errors

    def rules(self) -> Rules:
        from mailtriage.config.rulesfile import load

        rules = load(self.config)
        self.database = rules.database
        return rules


pass_ctx = click.make_pass_decorator(Context)


def account_named(obj: Context, rules: Rules, name: str) -> Account:
    """The account `name` of rules.yaml (`default` for a file without `accounts:`), else a usage error
    naming the accounts there are."""
    from mailtriage.config.accounts import select

    found = select(rules, name)
    if not found:
        known = ", ".join(a.name for a in select(rules, None))
        raise click.BadParameter(f"no account {name!r} in {obj.config} (its accounts: {known})",
                                 param_hint="--account")
    return found[0]


def emit(data: Mapping[str, object], as_json: bool, text: str) -> None:
    """Print DATA as one JSON object with --json, else TEXT."""
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


def open_store(rules: Rules) -> Store:
    from mailtriage.store.db import Store

    return Store(rules.database)


def utc_now() -> datetime:
    return datetime.now(UTC)
