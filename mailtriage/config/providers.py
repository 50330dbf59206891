"""Mail providers `mailtriage init` knows: IMAP and SMTP settings, each with the page it was taken from.

A value no source confirmed is marked `verified=False` and the note says so; README's "Providers"
table is this data, printed. Hosts left as None are asked for (they differ per customer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Security = Literal["tls", "starttls"]


@dataclass(frozen=True)
class Endpoint:
    """One server: host (None when each customer has their own), port and how TLS starts."""

    host: str | None
    port: int
    security: Security


@dataclass(frozen=True)
class Provider:
    """A provider preset for rules.yaml, with where its values come from."""

    key: str
    name: str
    imap: Endpoint
    smtp: Endpoint
    note: str
    sources: tuple[str, ...]
    verified: bool = True
    username: Literal["address", "localpart"] = "address"  # what the login name is
    sent_folder: str | None = None  # None: found by the server's \Sent mark (RFC 6154)
    oauth2: Literal["microsoft", "google"] | None = None  # its OAuth2 sign-in, for `init --auth oauth2`
    auth: Literal["password", "oauth2"] = "password"  # what `init` writes by default


GOOGLE = "https://developers.google.com/gmail/imap/imap-smtp"
MICROSOFT_IMAP = ("https://support.microsoft.com/en-us/office/"
                  "pop-imap-and-smtp-settings-8361e398-8af4-4e97-b147-6c6c4ac95353")
MICROSOFT_SMTP = ("https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/how-to-set-up-a-"
                  "multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365")
MICROSOFT_BASIC = ("https://techcommunity.microsoft.com/blog/exchange/"
                   "exchange-online-to-retire-basic-auth-for-client-submission-smtp-auth/4114750")
MICROSOFT_OAUTH2 = ("https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/"
                    "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth")
GOOGLE_XOAUTH2 = "https://developers.google.com/gmail/imap/xoauth2-protocol"
APPLE = "https://support.apple.com/en-us/102525"
FASTMAIL = "https://www.fastmail.com/help/technical/servernamesandports.html"
ZOHO = "https://www.zoho.com/mail/help/imap-access.html"
OVH = ("https://github.com/ovh/docs/blob/master/pages/web_cloud/email_and_collaborative_solutions/"
       "mx_plan/how_to_configure_thunderbird_windows/guide.pl-pl.md")
ISPDB_O2 = "https://github.com/thunderbird/autoconfig/blob/master/ispdb/o2.pl.xml"

UNVERIFIED = ("NOT verified: no page of the provider's own confirmed these values; check them in its help "
              "pages or web mail settings and correct rules.yaml if they differ.")

PROVIDERS: dict[str, Provider] = {p.key: p for p in (
    Provider("gmail", "Gmail / Google Workspace",
             Endpoint("imap.gmail.com", 993, "tls"), Endpoint("smtp.gmail.com", 465, "tls"),
             "Use an app password (Google account > Security > App passwords; it needs 2-Step Verification), "
             "or OAuth2 sign-in with `init --auth oauth2` (README: Gmail / Google Workspace), which works even "
             "where a Workspace administrator forbids app passwords. In Google Workspace the administrator may "
             "have to allow IMAP.",
             (GOOGLE, GOOGLE_XOAUTH2), oauth2="google"),
    Provider("microsoft365", "Microsoft 365 / Exchange Online",
             Endpoint("outlook.office365.com", 993, "tls"), Endpoint("smtp.office365.com", 587, "starttls"),
             "Microsoft 365 and Outlook.com accept only OAuth2 sign-in for IMAP, and are retiring passwords for "
             "SMTP too: mailtriage signs in with OAuth2 (register your own app, then `mailtriage login`; README: "
             "Microsoft 365 / Outlook.com). SMTP AUTH may have to be switched on for the mailbox.",
             (MICROSOFT_IMAP, MICROSOFT_SMTP, MICROSOFT_BASIC, MICROSOFT_OAUTH2), oauth2="microsoft",
             auth="oauth2"),
    Provider("icloud", "iCloud Mail",
             Endpoint("imap.mail.me.com", 993, "tls"), Endpoint("smtp.mail.me.com", 587, "starttls"),
             "Use an app-specific password (account.apple.com > Sign-In and Security; needs two-factor "
             "authentication). The IMAP user name is the part of the address before @; if login fails, "
             "try the whole address.",
             (APPLE,), username="localpart"),
    Provider("fastmail", "Fastmail",
             Endpoint("imap.fastmail.com", 993, "tls"), Endpoint("smtp.fastmail.com", 465, "tls"),
             "Fastmail needs an app password for IMAP and SMTP (Settings > Privacy & Security); "
             "the normal password does not work.",
             (FASTMAIL,)),
    Provider("zoho", "Zoho Mail (own domain, EU data centre)",
             Endpoint("imappro.zoho.eu", 993, "tls"), Endpoint("smtppro.zoho.eu", 465, "tls"),
             "Turn IMAP Access on first (Settings > Mail Accounts > IMAP). The host depends on the account: "
             "imappro/smtppro for your own domain, imap/smtp for @zoho addresses, and the data centre's "
             "ending (.eu, .com, .in ...). With two-factor authentication, use an application-specific password. "
             "Zoho's page names the .com hosts; the .eu ones follow its naming by data centre, unconfirmed.",
             (ZOHO,), verified=False),
    Provider("homepl", "home.pl",
             Endpoint(None, 993, "tls"), Endpoint(None, 465, "tls"),
             "Each home.pl server has its own name: copy the IMAP and SMTP server names from the home.pl "
             "panel (the mailbox's configuration details). Ports 993 and 465 (TLS): " + UNVERIFIED,
             (), verified=False),
    Provider("ovh", "OVHcloud MX Plan (ovh.pl)",
             Endpoint("ssl0.ovh.net", 993, "tls"), Endpoint("ssl0.ovh.net", 465, "tls"),
             "For MX Plan mailboxes; the user name is the whole address. Email Pro and Exchange at OVHcloud "
             "use other servers, shown in the OVHcloud Control Panel.",
             (OVH,)),
    Provider("wp", "WP Poczta (wp.pl)",
             Endpoint("imap.wp.pl", 993, "tls"), Endpoint("smtp.wp.pl", 465, "tls"),
             "Access for mail programs may have to be turned on in WP Poczta's settings. " + UNVERIFIED,
             (), verified=False),
    Provider("onet", "Onet Poczta (onet.pl)",
             Endpoint("imap.poczta.onet.pl", 993, "tls"), Endpoint("smtp.poczta.onet.pl", 465, "tls"),
             "Access for mail programs may have to be turned on in Onet Poczta's settings. " + UNVERIFIED,
             (), verified=False),
    Provider("interia", "Interia Poczta (interia.pl)",
             Endpoint("poczta.interia.pl", 993, "tls"), Endpoint("poczta.interia.pl", 465, "tls"),
             "Access for mail programs may have to be turned on in Interia Poczta's settings. " + UNVERIFIED,
             (), verified=False),
    Provider("o2", "o2 Poczta (o2.pl)",
             Endpoint("poczta.o2.pl", 993, "tls"), Endpoint("poczta.o2.pl", 465, "tls"),
             "Turn on access for mail programs first (o2 Poczta settings). The user name is the part of the "
             "address before @. Taken from Mozilla's provider database, not from o2's own pages: check them.",
             (ISPDB_O2,), verified=False, username="localpart"),
    Provider("other", "another provider",
             Endpoint(None, 993, "tls"), Endpoint(None, 465, "tls"),
             "Your provider's help pages name its IMAP and SMTP servers; ports 993 and 465 (TLS) are the "
             "usual ones; change port and security in rules.yaml if yours differ (587: security starttls).",
             (), verified=False),
)}


def login_name(provider: Provider, address: str) -> str:
    """The user name to log in with: the whole address, or its part before @ where the provider says so."""
    return address.rsplit("@", 1)[0] if provider.username == "localpart" else address


def markdown_table() -> str:
    """README's Providers table, made from this data so the two cannot drift apart (a test compares)."""
    def server(end: Endpoint) -> str:
        return f"{'`' + end.host + '`' if end.host else '*yours*'} {end.port} {end.security}"

    rows = ["| provider | IMAP | SMTP | Sent folder | note | source |", "|---|---|---|---|---|---|"]
    for p in PROVIDERS.values():
        sources = ", ".join(f"[{n}]({url})" for n, url in enumerate(p.sources, 1)) or "none found"
        sent = f"`{p.sent_folder}`" if p.sent_folder else "its \\Sent mark"
        rows.append(f"| `{p.key}` {p.name} | {server(p.imap)} | {server(p.smtp)} | {sent} | {p.note} | {sources} |")
    return "\n".join(rows)
