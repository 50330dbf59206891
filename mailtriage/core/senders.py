"""Which addresses must never get an automatic reply: ours, system and list robots, no-reply, roles.

One judgement used twice: on the sender of a message (the sender guards) and on wherever a reply
would go (a Reply-To). Local parts are compared with their separators (`-`, `_`, `.`) removed, so
`mailer_daemon`, `mailer.daemon` and `MAILER-DAEMON` are one name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailtriage.core.models import GuardContext

OWN, SYSTEM, NOREPLY, ROLE = "own", "system", "no-reply", "role"

# Mail systems and accounts of programs (RFC 3834, Pigeonhole, simvacation), separators removed.
_SYSTEM_NAMES = re.compile(
    r"mailerdaemon|mailerdeamon|listserv|majordomo|mailman|mailer|daemon|nobody|root|cron|oracle|wwwdata|apache|"
    r"nginx|postgres|mysql|bounce[sd]?|bounceback|returns?|verp|"
    # monitoring and calendar robots
    r"zabbix|nagios|icinga|grafana|prometheus|alertmanager|monitoring|monit|uptimerobot|crond?|cronjob|"
    r"calendarnotification|calendarserver")
# List robots and bounce handlers, also in VERP form (list-bounces+user=example.org@, bounce-12345@).
_LIST_ROBOT = re.compile(
    r"(owner|bounces?|returns?|verp|srsbounce)[-_.+=].*"  # owner-list, bounce-12345, bounces+xyz
    r"|.*[-+_](request|owner|bounces?|errors?|relay)([-+=].*)?")  # list-request, list+owner, foo-bounces+a=b
# Never-answer senders (Zammad, Discourse, FreeScout), in several languages, separators removed.
_NOREPLY = re.compile(
    r"(no|do|dont|donot|never)(reply|respond|response|answer)|noreply|nepasrepondre|nichtantworten|keineantwort|"
    r"nieodpowiadaj|nieodpowiadac|noresponder|nonrispondere|notifications?|notifier|alerts?|newsletters?|"
    r"automated|autoreply|autoresponder|"
    # the same in Polish and German: powiadomienia@, benachrichtigung@ (a person writes from marketing@)
    r"powiadomieni[ea]|powiadamianie|benachrichtigungen?|notificaciones|notifiche")
# Whole local parts only: "news" inside a name is Newsome or Newson.
_NOREPLY_NAMES = re.compile(r"news|mailings?|newsroom|info(rmacje)?news")
# Roles a person reads but no robot may answer (RFC 5230 warns of postmaster).
_HUMAN_READ = re.compile(r"postmaster|abuse|hostmaster|webmaster|security|spam|antispam")


def local_part(address: str) -> str:
    return address.rpartition("@")[0].lower()


def squeezed(local: str) -> str:
    """The local part without separators and without a +detail: how names are compared."""
    return re.sub(r"[-_.]", "", local.split("+", 1)[0])


def address_kind(address: str, ctx: GuardContext) -> tuple[str, str] | None:
    """(kind, reason) when `address` must never get an automatic reply, else None."""
    if address and ctx.is_ours(address):
        return OWN, f"our own address {address}"
    return robot_kind(address)


def robot_kind(address: str) -> tuple[str, str] | None:
    """(kind, reason) when `address` is a role, a system, a list robot or a no-reply sender."""
    if not address:
        return None
    local = local_part(address)
    name = squeezed(local)
    if _HUMAN_READ.fullmatch(name):
        return ROLE, f"role address {address}: a person reads it, but it gets no automatic answer"
    if _SYSTEM_NAMES.fullmatch(name) or _LIST_ROBOT.fullmatch(local):
        return SYSTEM, f"system sender {address}"
    if _NOREPLY.search(re.sub(r"[-_.+]", "", local)) or _NOREPLY_NAMES.fullmatch(name):
        return NOREPLY, f"no-reply sender {address}"
    return None


def address_objection(address: str, ctx: GuardContext) -> str | None:
    """Why `address` must never receive an automatic reply (our own, a robot, no-reply, a role), or None."""
    found = address_kind(address, ctx)
    return found[1] if found else None


# Free mail providers (after SpamAssassin's freemail list): anyone can open an address there.
_FREEMAIL = re.compile(
    r"(gmail|googlemail|hotmail|outlook|live|msn|aol|yahoo|ymail|gmx|web|mail|yandex|bk|list|inbox|rambler|qq|163|126|"
    r"21cn|sina|sohu|ybb|rediffmail|icloud|me|mac|zoho|wp|o2|interia|onet|op|seznam|libero|laposte|orange|free|"
    r"tutanota|protonmail|proton|mailinator|aim|"
    # the big ISPs' and paid providers' mailboxes: strangers share those domains too
    r"t-online|comcast|posteo|fastmail|mailbox|btinternet|virginmedia|sky|ntlworld|sbcglobal|att|verizon|"
    r"earthlink|cox|charter|bigpond|shaw|rogers|telenet|skynet|ziggo|kpnmail|freenet|arcor|tiscali|virgilio|"
    r"wanadoo|sfr|centrum|atlas|abv|ukr|vp|tlen|gazeta|poczta|o2|buziaczek|autograf|int)\.[a-z.]{2,8}")


def is_freemail(address: str) -> bool:
    return bool(_FREEMAIL.fullmatch(address.rpartition("@")[2]))


def domain(address: str) -> str:
    return address.rpartition("@")[2].lower()
