"""Machine mail without list headers: mass mailers, notifications, challenges, spam verdicts.

Header-only signs, after SpamAssassin's header rules and the signatures that email service
providers (ESPs) put on every message they send. Each check is general and conservative: a
person writing from a phone, a webmail or a desktop client carries none of these signs.
"""

from __future__ import annotations

import re

from mailtriage.core.models import Incoming
from mailtriage.core.senders import domain, is_freemail, local_part, robot_kind, squeezed

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
    "x-pm-rcpt", "x-pm-message-options", "x-pm-tag",  # Postmark's own (Proton uses only X-Pm-Message-Id)
    "x-email-type-id", "x-broadcast-id",  # Apple's notification mail
    "x-cron-env",  # cron mailing a job's output
)
_ESP_PREFIXES = ("x-mailgun-", "x-mailin-", "x-mj-", "x-campaign", "x-newsletter", "x-hubspot-", "x-emarsys-",
                 "x-mailchimp-", "x-sendgrid-", "x-sfdc-", "x-fm-", "x-salesmanago", "x-getresponse",
                 "x-mailerlite", "x-linkedin-", "x-facebook-", "x-zendesk-", "x-freshdesk-", "x-helpscout-",
                 "x-intercom-", "x-atlassian-", "x-otrs-", "x-allegro-", "x-ebay-", "x-lemlist", "x-klaviyo",
                 "x-braze-", "x-customerio", "x-iterable-")
# Any header named for what only a sending platform tracks: X-Campaign-Id, X-Newsletter-Id,
# X-Broadcast-Id, X-Mail-Type, X-Email-Category ... (a person's mail client writes none of them).
_PLATFORM_HEADER = re.compile(r"x-.*(campaign|newsletter|broadcast|mass-?mail|bulk-?mail|mail-?type|email-?type|"
                              r"email-?category|message-?category|notification-?type|template-?id).*")
# Programs and libraries that send mail for an application or a campaign, never a person's mail client.
_MASS_MAILER = re.compile(
    r"phpmailer|swift ?mailer|symfony mailer|nodemailer|mime::lite|aspnetemail|zend_mail|laminas|mail::sender|"
    r"^php/|javamail|sap netweaver|mailchimp|mailerlite|sendinblue|brevo|mailjet|activecampaign|getresponse|"
    r"mautic|phplist|interspire|oempro|acumbamail|sendy|mailpoet|cleverreach|newsletter2go|emarsys|createsend|"
    r"campaign monitor|hubspot|constant ?contact|marketo|pardot|sparkpost|postmark|amazon ses|mailgun|sendgrid|"
    # help desks, shops, booking engines, devices and servers writing their own notifications
    r"zendesk|freshdesk|otrs|znuny|help ?scout|servicenow|salesforce|wordpress|woocommerce|prestashop|shoper|"
    r"shopify|magento|booking engine|apple inc\. mail server|synology|qnap|dsm\b",
    re.IGNORECASE)
# Mail from a scanner or copier (scan-to-email): the device borrows a person's address as From.
# Its X-Mailer names it, or its Message-ID ends in the device's own name instead of a domain.
_DEVICE = re.compile(r"canontxno|imagerunner|xerox|workcentre|ricoh|kyocera|bizhub|konica|lexmark|"
                     r"hp digital sending|scan to e-?mail|brother mfc|^brn[0-9a-f]{6,}|sharp mx-|epson|"
                     r"^npi[0-9a-f]+|^kmbt|^mfp", re.IGNORECASE)
# Java application servers (banks, public services) sign their ids; Zimbra, a webmail people
# use, is built on the same library and keeps its name in the id.
# (older Zimbra, Comcast's webmail among them, ran as root: JavaMail.root).
_APP_SERVER_ID = re.compile(r"\.JavaMail\.(?!zimbra@|root@)", re.IGNORECASE)
_PERSON_CLIENT = re.compile(r"outlook|thunderbird|apple mail|iphone mail|ipad mail|android|k-9|roundcube|horde|"
                            r"squirrelmail|rainloop|sogo|zimbra|evolution|mutt|the bat|em client|mailbird|"
                            r"gmail|yahoo mail|open-xchange|spark", re.IGNORECASE)
# Addresses of a function, not a person: software writes from them.
_ROLE = re.compile(r"info|office|sales|support|hello|team|contact|welcome|admin|marketing|service|billing|"
                   r"accounts?|orders?|shop|store|help|feedback|noc|mail|newsroom|reply|members?")
# Challenge/response systems mark each challenge with their vendor's header.
_CHALLENGE_HEADER = re.compile(r"x-challenge.*|x-boxbe-.*|x-spamarrest-.*|x-tmda-.*|x-ask-.*|x-bluebottle-.*|"
                               r"x-mailblocks.*|x-sender-verification.*|x-verification-request.*|x-boxtrapper.*")
_CHALLENGE_SUBJECT = re.compile(r"verify (your )?(e-?mail|address|message)|anti-?spam verification|"
                                r"confirm (that )?you(r message| sent)|whitelist request|sender verification|"
                                r"please (verify|confirm) (you|that)|verify you are (a )?human|^verify#|"
                                r"potwierd[źz],? że jeste[śs] nadawc|weryfikacja nadawcy|potwierd[źz] nadawc",
                                re.IGNORECASE)
# Top-level domains that abuse reports name most (Spamhaus, SURBL): rarely a person's address.
# Only those with next to no legitimate use: .work, .fit or .rest are also small firms' domains.
_ABUSED_TLD = re.compile(r"top|click|loan|racing|download|gq|cf|tk|ml|ga|bid|cricket|accountant|faith|xin")
# The first hop, as MTAs write it: "from HOST (...) by MX ... with PROTO".
_HOP = re.compile(r"\bfrom\s+(?P<host>[^\s()\[\]]+).*?\bby\s+\S+.*?\bwith\s+(?P<proto>[A-Za-z]+)\b")
# A host name made of its own IP address, or of a word ISPs use for customer lines.
_POOL_HOST = re.compile(r"\d{1,3}[.-]\d{1,3}[.-]\d{1,3}[.-]\d{1,3}|(^|[.-])(dynamic|dyn|static|dsl|adsl|dialup|"
                        r"dhcp|ppp|pool|broadband|cable|customer|client)[.-]", re.IGNORECASE)
# Labels of a domain set up for campaigns (news.example.com, newsletter-shop.example, marketing.example).
_CAMPAIGN_LABEL = re.compile(r"(news|newsletters?|marketing|promo|promotions?|campaigns?|mailings?|mkt|edm)([-_].*)?")
_SECOND_LEVEL = re.compile(r"\.(com|net|org|co|gov|edu|biz|info|waw)\.[a-z]{2}$")
_CALENDAR_SUBJECT = re.compile(r"^((updated |zaktualizowane )?(invitation|zaproszenie|einladung)|cancell?ed event|"
                               r"odwołane wydarzenie|invitation from google calendar)\s*: .+ @ .+", re.IGNORECASE)


def esp_headers(msg: Incoming) -> str | None:
    for name in msg.headers:
        if name in _ESP_HEADERS or name.startswith(_ESP_PREFIXES) or _PLATFORM_HEADER.fullmatch(name):
            return f"sent by a bulk mail service or platform ({name} header)"
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
    if _APP_SERVER_ID.search(msg.message_id):
        return f"built by an application server (Message-ID {msg.message_id[:50]})"
    return None


def form_program(msg: Incoming) -> str | None:
    """A web form's program relaying a visitor (PHPMailer, a PHP script): its From is the site's
    robot, whatever its name, so only a form listed under forms: may be answered, at its Reply-To."""
    agent = msg.header("x-mailer") or msg.header("user-agent")
    if _MASS_MAILER.search(agent) and relays_a_person(msg):
        return f"a web form's program (X-Mailer: {agent[:30]})"
    return None


def device(msg: Incoming) -> str | None:
    local, _, host = msg.message_id.strip("<>").rpartition("@")
    for value in (msg.header("x-mailer").strip(), local, "" if "." in host else host):  # a domain names no device
        found = _DEVICE.search(value) if value else None
        if found:
            return f"sent by a scanner or copier ({found.group(0)})"
    return None


def role_software(msg: Incoming) -> str | None:
    # A role address alone is often a person (info@ of a small firm); HTML-only mail from it that no
    # person's mail program wrote, or a message missing its Date or Message-ID, is software.
    if not _ROLE.fullmatch(squeezed(local_part(msg.sender))):
        return None
    if msg.content_type == "text/html" and not _person_client(msg):
        return f"HTML-only mail from the role address {msg.sender}, written by no person's mail program"
    missing = [name for name in ("date", "message-id") if name not in msg.headers]
    return f"role address {msg.sender} and no {' or '.join(missing)} header" if missing else None


def _person_client(msg: Incoming) -> bool:
    """Signs of a person's mail program: Outlook and Exchange write Thread-Index, the rest name themselves."""
    agent = f"{msg.header('x-mailer')} {msg.header('user-agent')}"
    return "thread-index" in msg.headers or bool(_PERSON_CLIENT.search(agent))


def challenge(msg: Incoming) -> str | None:
    for name in msg.headers:
        if _CHALLENGE_HEADER.fullmatch(name):
            return f"a challenge/response request ({name} header)"
    if "tmda" in msg.header("x-delivery-agent").lower():
        return "a challenge/response request (X-Delivery-Agent: TMDA)"
    # The subject alone could be a person's; with the sender named for it, or HTML-only, it is the system.
    if _CHALLENGE_SUBJECT.search(msg.subject) and (
            re.search(r"verif|confirm|challenge|spam|whitelist|approv|weryfik|potwierdz", local_part(msg.sender))
            or msg.content_type == "text/html"):
        return f"a challenge/response request (subject {msg.subject[:50]!r})"
    return None


def campaign_domain(msg: Incoming) -> str | None:
    # news/newsletter anywhere in the name; the other campaign words only in a subdomain
    # (promo.shop.example): a firm's own name may start with "promo" or "marketing".
    name = domain(msg.sender)
    if any(re.fullmatch(r"(news|newsletters?)([-_].*)?", label) for label in name.split(".")[:-1]):
        return f"sent from a campaign domain {name}"
    labels = name.split(".")[:-3 if _SECOND_LEVEL.search(name) else -2]
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
    relay = robot_kind(msg.sender) is not None or form_program(msg) is not None  # a web form: its own rules
    if is_freemail(msg.reply_to) and domain(msg.reply_to) != domain(msg.sender) and not relay:
        if is_freemail(msg.sender):
            return f"free-mail sender {msg.sender} wants answers at another free-mail provider {msg.reply_to}"
        # SpamAssassin's FREEMAIL_FORGED_REPLYTO: a firm's From, answers wanted at a free mailbox
        # (how invoice and "urgent transfer" fraud collects its answers)
        return f"a firm's address {msg.sender} wants answers at the free mailbox {msg.reply_to}"
    agent = msg.header("x-mailer")
    if "outlook" in agent.lower() and "message-id" not in msg.headers:
        return f"claims to be {agent[:30]} but has no Message-ID (Outlook always writes one)"
    hop = first_hop(msg)
    if hop and _POOL_HOST.search(hop[0]) and hop[1].lower() in ("smtp", "esmtp"):
        return (f"sent straight from {hop[0]}, a customer line by its name, without logging in to a provider: "
                "how spam robots send")
    # Scam and spam subjects shout; a person who does is still recorded, with a deadline, only unanswered.
    letters = [c for c in msg.subject if c.isalpha() and c.lower() != c.upper()]
    if len(msg.subject.split()) >= 3 and len(letters) >= 15 and all(c.isupper() for c in letters):
        return "subject all in capitals"
    auth = msg.header("authentication-results").lower()
    if "dmarc=fail" in auth and re.search(r"\b(p|action)=(o?reject|quarantine)\b", auth):
        return "its From fails DMARC where the domain asks to reject or quarantine such mail (a forgery)"
    return None


def calendar(msg: Incoming) -> str | None:
    if _CALENDAR_SUBJECT.match(msg.subject):
        return f"a calendar system's invitation ({msg.subject[:40]!r})"
    if "calendarmessage" in msg.header("content-class").lower() or msg.content_type == "text/calendar":
        return "a meeting request sent by a calendar (Content-Class or text/calendar)"
    if msg.message_id.startswith("<calendar-") or "calendar-notification@" in msg.header("sender").lower():
        return "an invitation sent by Google Calendar"
    return None
