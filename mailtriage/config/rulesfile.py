"""Read rules.yaml: YAML with line numbers, validation, and every problem as `file:line: path: message`.

Loading is all or nothing: `load()` returns a complete, checked Rules or raises ConfigError
listing every problem it found, so a caller (the CLI, a reload) either swaps in the new rules
whole or keeps the last good ones.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from mailtriage.config.model import Account, Rules
from mailtriage.config.oauth2 import TOKEN_FILE, OAuth2
from mailtriage.config.servers import Server
from mailtriage.core.windows import NEXT_CHECK, promised_check_times
from mailtriage.errors import ConfigError, Problem

Loc = tuple[str | int, ...]

# Unknown keys that deserve more than "did you mean": the reason we refuse them.
EXPLAINED_KEYS = {
    "password": "an inline password is refused: rules.yaml gets copied, shared and backed up; "
    "use password_env, password_file (systemd credentials: ${CREDENTIALS_DIRECTORY}/imap) "
    "or password_command",
}
CLIENT_SECRET = ("an inline client secret is refused: rules.yaml gets copied, shared and backed up; use "
                 "client_secret_env or client_secret_file")


def load(path: str | Path) -> Rules:
    """Read, validate and cross-check a rules file; raise ConfigError with every problem found."""
    path = Path(path)
    name = str(path)
    data = read_yaml(path)
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(name, data, err) for err in _for_accounts(data, exc.errors())]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from None
    problems = [Problem(name, line_of(data, loc), dotted(loc), msg) for loc, msg in check_accounts(rules)]
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    database = os.path.expandvars(str(rules.database).replace("${STATE_DIRECTORY}", state_directory()))
    if "$" in database:
        raise ConfigError([Problem(name, line_of(data, ("database",)), "database",
                                   f"{rules.database}: a variable in it is not set")])
    update: dict[str, object] = {"database": (path.parent / database).resolve()}
    if rules.templates is not None:
        update["templates"] = (path.parent / rules.templates).resolve()
    if rules.deadline_calendar is not None:
        ics = rules.deadline_calendar
        update["deadline_calendar"] = ics.model_copy(update={"file": (path.parent / ics.file).resolve()})
    if rules.oauth2 is not None:
        update["oauth2"] = _token_file(rules.oauth2, path, data, update["database"])
    update["accounts"] = [_account_token_file(a, i, path, data) for i, a in enumerate(rules.accounts)]
    return rules.model_copy(update=update)


def _account_token_file(account: Account, index: int, path: Path, data: CommentedMap) -> Account:
    """An account's own oauth2.token_file made absolute like the top-level one; without one, its
    file is named after the account (config/accounts.py)."""
    oauth2 = account.oauth2
    if oauth2 is None or oauth2.token_file is None:
        return account
    given = os.path.expandvars(str(oauth2.token_file).replace("${STATE_DIRECTORY}", state_directory()))
    if "$" in given:
        loc = ("accounts", index, "oauth2", "token_file")
        raise ConfigError([Problem(str(path), line_of(data, loc), dotted(loc),
                                   f"{oauth2.token_file}: a variable in it is not set")])
    own = oauth2.model_copy(update={"token_file": (path.parent / given).resolve()})
    return account.model_copy(update={"oauth2": own})


def _for_accounts(data: CommentedMap, errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """With `accounts:`, a top-level identity or imap left out is the first account's: its errors are
    reported there once, and a key missing from both is missing from the first account."""
    if not isinstance(data.get("accounts"), list) or not data["accounts"]:
        return errors
    kept = []
    for err in errors:
        loc = err["loc"]
        if loc and loc[0] in ("identity", "imap") and loc[0] not in data:
            if err["type"] != "missing" or len(loc) != 1:
                continue  # the same error is reported at accounts[0]
            err = {**err, "loc": ("accounts", 0, loc[0])}
        kept.append(err)
    return kept


def _token_file(oauth2: OAuth2, path: Path, data: CommentedMap, database: object) -> OAuth2:
    """The oauth2 block with its token_file absolute: given (relative to rules.yaml, like database), or
    beside the database."""
    if oauth2.token_file is None:
        assert isinstance(database, Path)
        return oauth2.model_copy(update={"token_file": database.parent / TOKEN_FILE})
    given = os.path.expandvars(str(oauth2.token_file).replace("${STATE_DIRECTORY}", state_directory()))
    if "$" in given:
        raise ConfigError([Problem(str(path), line_of(data, ("oauth2", "token_file")), "oauth2.token_file",
                                   f"{oauth2.token_file}: a variable in it is not set")])
    return oauth2.model_copy(update={"token_file": (path.parent / given).resolve()})


def state_directory() -> str:
    """systemd's StateDirectory= for the service; by hand (`mailtriage status` on the server), the
    same folder: /var/lib/mailtriage for root, ~/.local/state/mailtriage for a user."""
    if os.environ.get("STATE_DIRECTORY"):
        return os.environ["STATE_DIRECTORY"].split(":")[0]
    if os.geteuid() == 0:
        return "/var/lib/mailtriage"
    return str(Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "mailtriage")


def read_yaml(path: Path) -> CommentedMap:
    """Parse YAML 1.2 (so 08:00 stays a string), keeping line numbers; refuse duplicate keys."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([Problem(name, None, "", f"cannot read: {reason}")]) from None
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        if isinstance(exc, DuplicateKeyError):
            # ruamel's text quotes both values, and a value may be a secret: name only the key.
            key = re.search(r'duplicate key "(.*?)"', exc.problem or "")
            first = f" (first given at line {exc.context_mark.line + 1})" if exc.context_mark else ""
            what = f"duplicate key '{key.group(1) if key else '?'}'{first}"
        raise ConfigError([Problem(name, line, "", f"YAML syntax: {what}")]) from None
    except YAMLError as exc:
        raise ConfigError([Problem(name, None, "", f"YAML syntax: {exc}")]) from None
    if data is None:
        raise ConfigError([Problem(name, 1, "", "the file is empty; see the commented example rules.yaml")])
    if not isinstance(data, CommentedMap):
        raise ConfigError([Problem(name, 1, "", "the top level must be a mapping of keys (timezone: ...)")])
    return data


def line_of(data: CommentedMap, loc: Loc) -> int | None:
    """The 1-based line of the deepest node of `loc` that exists in the YAML document."""
    line, node = None, data
    for part in loc:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and part in node and lc is not None:
            line, node = lc.key(part)[0] + 1, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node) and lc is not None:
            line, node = lc.item(part)[0] + 1, node[part]
        else:
            break
    if line is None and getattr(data, "lc", None) is not None:
        line = data.lc.line + 1
    return line


def dotted(loc: Loc) -> str:
    """('clients', 0, 'match') -> 'clients[0].match'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(file: str, data: CommentedMap, err: ErrorDetails) -> Problem:
    loc: Loc = tuple(p for p in err["loc"] if isinstance(p, int | str))
    kind = err["type"]
    if kind == "extra_forbidden":
        parent, key = loc[:-1], str(loc[-1])
        return Problem(file, line_of(data, loc), dotted(parent), _unknown_key(parent, key))
    if kind == "missing":
        return Problem(file, line_of(data, loc[:-1]), dotted(loc[:-1]), f"missing required key '{loc[-1]}'")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(file, line_of(data, loc), dotted(loc),
                       f"should be a mapping of keys (key: value), not {_show(err.get('input'))}")
    message = err["msg"]
    message = message[0].lower() + message[1:]
    if "input" in err and kind in ("literal_error", "bool_parsing", "int_parsing", "date_from_datetime_parsing",
                                   "date_parsing", "float_parsing", "greater_than", "less_than_equal",
                                   "greater_than_equal", "string_type", "list_type", "model_type"):
        message += f" (got {_show(err['input'])})"
    return Problem(file, line_of(data, loc), dotted(loc), message)


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(parent: Loc, key: str) -> str:
    model = _model_at(parent)
    if model is not None and issubclass(model, Server) and key in EXPLAINED_KEYS:
        return EXPLAINED_KEYS[key]
    if model is OAuth2 and key == "client_secret":
        return CLIENT_SECRET
    known = [f.alias or name for name, f in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else (f"; known keys: {', '.join(known)}" if known else "")
    return f"unknown key '{key}'{hint}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at `loc`, to name its keys."""
    model: type[BaseModel] | None = Rules
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        if part not in fields:
            return None
        model = _unwrap(fields[part].annotation)
    return model


def _unwrap(annotation: object) -> type[BaseModel] | None:
    """list[X], X | None -> X, when X is a model."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def check_accounts(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """The cross-checks of each account (an account's own keys reported at `accounts[i]`), and
    the accounts against each other; each problem once."""
    from mailtriage.config.accounts import resolve

    seen: set[tuple[Loc, str]] = set()
    for account in resolve(rules):
        own = rules.accounts[account.index].model_fields_set if account.index is not None else set()
        for loc, message in cross_check(account.rules):
            if account.index is not None and (not loc or loc[0] in own):
                loc = account.where + loc
            if (loc, message) not in seen:
                seen.add((loc, message))
                yield loc, message
    yield from _check_account_names(rules)


def _check_account_names(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """Two accounts of one name, or of one IMAP login: their records and marks would mix."""
    from mailtriage.config.accounts import resolve

    names: dict[str, int] = {}
    logins: dict[tuple[str, int, str], int] = {}
    for account in resolve(rules):
        if account.index is None:
            return
        first = names.setdefault(account.name, account.index)
        if first != account.index:
            yield (*account.where, "name"), f"duplicate account name '{account.name}' (also accounts[{first}])"
        imap = account.rules.imap
        login = (imap.host.lower(), imap.effective_port, (imap.username or "").lower())
        first = logins.setdefault(login, account.index)
        if first != account.index:
            yield account.where, (f"the same IMAP login as accounts[{first}] ({imap.username} at {imap.host}): "
                                  "one mailbox is one account")


def cross_check(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """Problems that involve several parts of the file at once."""
    yield from _check_holidays(rules)
    yield from _check_clients(rules)
    yield from _check_forms(rules)
    uses_next_check = rules.defaults.respond_within.kind == NEXT_CHECK or any(
        c.respond_within and c.respond_within.kind == NEXT_CHECK for c in rules.clients
    )
    if uses_next_check and not promised_check_times(rules.calendar(), rules.check_times):
        yield ("check_times",), "a 'next check' window needs a check time within business hours"
    replies = rules.defaults.action == "reply" or any(c.action == "reply" for c in rules.clients)
    if replies and rules.smtp is None:
        yield (), "missing required key 'smtp': holding replies (action: reply) are sent over SMTP"
    if rules.summary and rules.summary.deliver == "smtp" and rules.smtp is None:
        yield ("summary", "deliver"), "deliver: smtp needs an smtp section (or use deliver: imap)"
    for i, client in enumerate(rules.clients):
        if client.report_to and rules.smtp is None:
            yield ("clients", i, "report_to"), "a report is mailed over SMTP: add an smtp section"
    if rules.reminders and rules.summary is None:
        yield ("reminders",), "reminders go to summary.to: add a summary section (summary: {to: ...})"
    if rules.overdue_notice and rules.smtp is None:
        yield ("overdue_notice",), "overdue_notice needs an smtp section: the notice is sent over SMTP"
    yield from _check_oauth2(rules)


def _check_oauth2(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """auth: oauth2 needs somewhere to get tokens from: the oauth2 block or token_command."""
    for name, server in (("imap", rules.imap), ("smtp", rules.smtp)):
        if server is not None and server.auth == "oauth2" and not server.token_command and rules.oauth2 is None:
            yield (name, "auth"), ("auth: oauth2 needs an oauth2 block (provider, client_id; see README) or "
                                   "token_command")


def _check_holidays(rules: Rules) -> Iterator[tuple[Loc, str]]:
    country, subdivision = rules.holidays.country, rules.holidays.subdivision
    if country is None:
        if subdivision is not None:
            yield ("holidays", "subdivision"), "a subdivision needs a country"
        return
    codes = country_codes()
    if country not in codes:
        close = difflib.get_close_matches(country.upper(), sorted(codes), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else " (an ISO 3166 code such as PL, DE, GB)"
        yield ("holidays", "country"), f"unknown country '{country}'{hint}"
        return
    if subdivision is not None:
        import holidays

        known = holidays.list_supported_countries()[country]
        if subdivision not in known:
            yield ("holidays", "subdivision"), (
                f"unknown subdivision '{subdivision}' of {country}; known: {', '.join(known)}")


def country_codes() -> set[str]:
    """The ISO codes of the countries the holidays package knows. Read from its registry's source:
    importing even `holidays.registry` loads the package's every calendar (30 ms and some MB on
    each check); the import is the fallback should the file ever be laid out otherwise."""
    from importlib.util import find_spec

    spec = find_spec("holidays")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            text = (Path(folder) / "registry.py").read_text(encoding="utf-8")
        except OSError:
            continue
        block = text.partition("\nCOUNTRIES")[2].partition("\n}\n")[0]
        codes = set(re.findall(r'^\s+"\w+": \(\s*"\w+",\s*"([A-Z]{2})"', block, re.MULTILINE))
        if len(codes) > 100:
            return codes
    from holidays.registry import COUNTRIES

    return {entry[1] for entry in COUNTRIES.values()}


def _check_clients(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """Duplicate names, and the same address, domain or pattern claimed by two clients."""
    names: dict[str, int] = {}
    claimed: dict[tuple[str, str], int] = {}
    for i, client in enumerate(rules.clients):
        key = client.name.strip().lower()
        if key in names:
            yield (("clients", i, "name"), f"duplicate client name '{client.name}' (also clients[{names[key]}])")
        names.setdefault(key, i)
        for kind in ("addresses", "domains", "patterns"):
            for j, value in enumerate(getattr(client.match, kind)):
                first = claimed.setdefault((kind, value.lower()), i)
                if first != i:
                    other = rules.clients[first].name
                    yield (("clients", i, "match", kind, j),
                           f"'{value}' is matched by client '{other}' too (clients[{first}]): it must be one client's")


def _check_forms(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """A form sender listed by two clients: its relays could not tell whose they are."""
    claimed: dict[str, int] = {}
    for i, client in enumerate(rules.clients):
        for j, entry in enumerate(client.forms):
            first = claimed.setdefault(entry, i)
            if first != i:
                yield (("clients", i, "forms", j), f"form sender '{entry}' is listed by client "
                       f"'{rules.clients[first].name}' too (clients[{first}]): a form's relays belong to one client")
