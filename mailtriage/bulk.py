"""Machine mail without list headers: mass mailers, notifications, challenges, spam verdicts.

Header-only signs, after SpamAssassin's header rules and the signatures that email service
providers (ESPs) put on every message they send. Each check is general and conservative: a
person writing from a phone, a webmail or a desktop client carries none of these signs.
"""

from __future__ import annotations

import re

from mailtriage.models import Incoming
from mailtriage.senders import domain, is_freemail, local_part, robot_kind, squeezed

# Headers only an email service provider or campaign tool adds (their own documentation names them).
_ESP_HEADERS = (
    "x-sg-eid", "x-sg-id",  # SendGrid
    "x-ses-outgoing",  # Amazon SES
    # Not X-PM-Message-Id: Postmark sets it, but so does Proton Mail on every person's message.
    "x-msys-api", "x-msfbl",  # SparkPost
    "x-sib-id",  # Brevo / Sendinblue
    "x-mc-user", "x-mandrill-user",  # Mailchimp, Mandrill
    "x-sfmc-stack", "x-job",  # Salesforce Marketing Cloud (ExactTarget)
    "x-roving-id", "x-roving-campaignid",  # Constant Contact
    "x-csa-complaints",  # Certified Senders Alliance: only whitelisted bulk senders carry it
    "x-mailer-recptid", "x-report-abuse", "x-marketoid", "x-mailgun-tag",
)
_ESP_PREFIXES = ("x-mailgun-", "x-mailin-", "x-mj-", "x-campaign", "x-newsletter", "x-hubspot-", "x-emarsys-",
                 "x-mailchimp-", "x-sendgrid-", "x-cmae-")
# Programs and libraries that send mail for an application or a campaign, never a person's mail client.
_MASS_MAILER = re.compile(
    r"phpmailer|swift ?mailer|symfony mailer|nodemailer|mime::lite|aspnetemail|zend_mail|laminas|mail::sender|"
    r"^php/|javamail|sap netweaver|mailchimp|mailerlite|sendinblue|brevo|mailjet|activecampaign|getresponse|"
    r"mautic|phplist|interspire|oempro|acumbamail|sendy|mailpoet|cleverreach|newsletter2go|emarsys|createsend|"
    r"campaign monitor|hubspot|constant ?contact|marketo|pardot|sparkpost|postmark|amazon ses|mailgun|sendgrid",
    re.IGNORECASE)
# Mail from a scanner or copier (scan-to-email): the device borrows a person's address as From.
_DEVICE = re.compile(r"canontxno|imagerunner|xerox|workcentre|ricoh|kyocera|bizhub|konica|lexmark|"
                     r"hp digital sending|scan to e-?mail|brother mfc", re.IGNORECASE)
# Addresses of a function, not a person: software writes from them.
_ROLE = re.compile(r"info|office|sales|support|hello|team|contact|welcome|admin|marketing|service|billing|"
                   r"accounts?|orders?|shop|store|help|feedback|noc|mail|newsroom|reply|members?")
# Challenge/response systems mark each challenge with their vendor's header.
_CHALLENGE_HEADER = re.compile(r"x-challenge.*|x-boxbe-.*|x-spamarrest-.*|x-tmda-.*|x-ask-.*|x-bluebottle-.*|"
                               r"x-mailblocks.*|x-sender-verification.*|x-verification-request.*")
_CHALLENGE_SUBJECT = re.compile(r"verify (your )?(e-?mail|address|message)|anti-?spam verification|"
                                r"confirm (that )?you(r message| sent)|whitelist request|sender verification|"
                                r"please (verify|confirm) (you|that)|verify you are (a )?human", re.IGNORECASE)
# Top-level domains that abuse reports name most (Spamhaus, SURBL): rarely a person's address.
_ABUSED_TLD = re.compile(r"top|click|loan|work|date|racing|download|stream|gq|cf|tk|ml|ga|bid|win|trade|review|"
                         r"party|cricket|accountant|faith|men|kim|country|xin|buzz|rest|fit|surf")
# The first hop, as MTAs write it: "from HOST (...) by MX ... with PROTO".
_HOP = re.compile(r"\bfrom\s+(?P<host>[^\s()\[\]]+).*?\bby\s+\S+.*?\bwith\s+(?P<proto>[A-Za-z]+)\b")
# A host name made of its own IP address, or of a word ISPs use for customer lines.
_POOL_HOST = re.compile(r"\d{1,3}[.-]\d{1,3}[.-]\d{1,3}[.-]\d{1,3}|(^|[.-])(dynamic|dyn|static|dsl|adsl|dialup|"
                        r"dhcp|ppp|pool|broadband|cable|customer|client)[.-]", re.IGNORECASE)
# Labels of a domain set up for campaigns (news.example.com, newsletter-shop.example, marketing.example).
_CAMPAIGN_LABEL = re.compile(r"(news|newsletters?|marketing|promo|promotions?|campaigns?|mailings?|mkt|edm)([-_].*)?")
_CALENDAR_SUBJECT = re.compile(r"^((updated )?invitation|cancell?ed event|invitation from google calendar)"
                               r": .+ @ .+", re.IGNORECASE)


def esp_headers(msg: Incoming) -> str | None:
    for name in msg.headers:
        if name in _ESP_HEADERS or name.startswith(_ESP_PREFIXES):
            return f"sent by a bulk mail service ({name} header)"
    return None


def relays_a_person(msg: Incoming) -> bool:
    """A web form or a relay writing for a visitor: the Reply-To is a person's address on another domain."""
    if not msg.reply_to or msg.reply_to == msg.sender or domain(msg.reply_to) == domain(msg.sender):
        return False
    return _ROLE.fullmatch(squeezed(local_part(msg.reply_to))) is None and robot_kind(msg.reply_to) is None


def mass_mailer(msg: Incoming) -> str | None:
    agent = msg.header("x-mailer") or msg.header("user-agent")
    if _MASS_MAILER.search(agent) and not relays_a_person(msg):
        return f"sent by a mass-mailing program (X-Mailer: {agent[:40]})"
    return None


def device(msg: Incoming) -> str | None:
    found = _DEVICE.search(f"{msg.header('x-mailer')} {msg.header('message-id')}")
    return f"sent by a scanner or copier ({found.group(0)})" if found else None


def role_software(msg: Incoming) -> str | None:
    # A role address alone is often a person (info@ of a small firm); with HTML-only content or a
    # message missing its Date or Message-ID (built by a program, not a mail client) it is software.
    if not _ROLE.fullmatch(squeezed(local_part(msg.sender))):
        return None
    if msg.content_type == "text/html":
        return f"HTML-only mail from the role address {msg.sender}"
    missing = [name for name in ("date", "message-id") if name not in msg.headers]
    return f"role address {msg.sender} and no {' or '.join(missing)} header" if missing else None


def challenge(msg: Incoming) -> str | None:
    for name in msg.headers:
        if _CHALLENGE_HEADER.fullmatch(name):
            return f"a challenge/response request ({name} header)"
    if "tmda" in msg.header("x-delivery-agent").lower():
        return "a challenge/response request (X-Delivery-Agent: TMDA)"
    # The subject alone could be a person's; with the sender named for it, or HTML-only, it is the system.
    if _CHALLENGE_SUBJECT.search(msg.subject) and (
            re.search(r"verif|confirm|challenge|spam|whitelist|approv", local_part(msg.sender))
            or msg.content_type == "text/html"):
        return f"a challenge/response request (subject {msg.subject[:50]!r})"
    return None


def campaign_domain(msg: Incoming) -> str | None:
    labels = domain(msg.sender).split(".")[:-1]
    hit = next((label for label in labels if _CAMPAIGN_LABEL.fullmatch(label)), None)
    return f"sent from a campaign domain {domain(msg.sender)}" if hit else None


def spam_verdict(msg: Incoming) -> str | None:
    """A spam filter upstream already judged it: SpamAssassin, Rspamd, Exchange Online Protection."""
    if msg.header("x-spam").strip().lower().startswith("yes"):
        return "marked as spam (X-Spam: yes)"
    if msg.header("x-spam-level").count("*") >= 5:
        return f"marked as spam (X-Spam-Level {msg.header('x-spam-level')[:20]})"
    if "x-spam-status" not in msg.headers:  # where a status is given it decides; scores are scaled differently
        for name in ("x-spam-score", "x-rspamd-score"):
            if _number(msg.header(name)) >= 6.0:
                return f"marked as spam ({name}: {msg.header(name)})"
    if _number(msg.header("x-ms-exchange-organization-scl")) >= 5:
        return f"marked as spam (X-MS-Exchange-Organization-SCL: {msg.header('x-ms-exchange-organization-scl')})"
    for name in ("x-microsoft-antispam", "x-forefront-antispam-report"):
        if re.search(r"\bSFV:SPM\b", msg.header(name)):
            return f"marked as spam ({name}: SFV:SPM)"
    return None


def _number(value: str) -> float:
    found = re.match(r"\s*(-?\d+(\.\d+)?)", value)
    return float(found.group(1)) if found else float("-inf")


def undisclosed(msg: Incoming) -> str | None:
    to = f"{msg.header('to')} {msg.header('cc')}".strip()
    if not to:
        return "no To or Cc at all: sent to hidden recipients"
    if "undisclosed" in to.lower() or (re.search(r":\s*;", to) and not msg.recipients):
        return f"sent to undisclosed recipients ({to[:40]})"
    return None


def many_recipients(msg: Incoming) -> str | None:
    domains = {domain(address) for address in msg.recipients}
    if len(msg.recipients) >= 10 and len(domains) >= 5:
        return f"sent to {len(msg.recipients)} recipients at {len(domains)} domains"
    return None


def first_hop(msg: Incoming) -> tuple[str, str] | None:
    """(the sending host's name, the protocol) from the oldest Received header, if it says both.
    A protocol ending in A (ESMTPA, ESMTPSA: RFC 3848) means the sender logged in."""
    lines = msg.header("received").split("\n")
    found = _HOP.search(lines[-1]) if lines else None
    return (found.group("host").lower(), found.group("proto")) if found else None


def suspicious(msg: Incoming) -> str | None:
    """SpamAssassin-style signs that a person's mail never shows, each alone enough to withhold a reply."""
    tld = domain(msg.sender).rpartition(".")[2]
    if _ABUSED_TLD.fullmatch(tld):
        return f"sender in the much-abused top-level domain .{tld}"
    if is_freemail(msg.sender) and is_freemail(msg.reply_to) and domain(msg.reply_to) != domain(msg.sender):
        return f"free-mail sender {msg.sender} wants answers at another free-mail provider {msg.reply_to}"
    agent = msg.header("x-mailer")
    if "outlook" in agent.lower() and "message-id" not in msg.headers:
        return f"claims to be {agent[:30]} but has no Message-ID (Outlook always writes one)"
    hop = first_hop(msg)
    if hop and _POOL_HOST.search(hop[0]) and hop[1].lower() in ("smtp", "esmtp"):
        return (f"sent straight from {hop[0]}, a customer line by its name, without logging in to a provider: "
                "how spam robots send")
    letters = [c for c in msg.subject if c.isalpha() and c.lower() != c.upper()]
    if len(msg.subject.split()) >= 3 and len(letters) >= 15 and all(c.isupper() for c in letters):
        return "subject all in capitals"
    return None


def calendar(msg: Incoming) -> str | None:
    if _CALENDAR_SUBJECT.match(msg.subject):
        return f"a calendar system's invitation ({msg.subject[:40]!r})"
    return None
