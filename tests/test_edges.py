"""Failures at the edges (the database file, TLS, the network) are one line that says what to do."""

from __future__ import annotations

import datetime as dt
import gc
import ipaddress
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config.servers import Imap, Smtp
from mailtriage.errors import FetchError, StoreError
from mailtriage.mail.imap import Mailbox as ImapMailbox
from mailtriage.mail.imap import tls_context
from mailtriage.store.db import Store
from tests.cli import run_process
from tests.conftest import IMAP_PASSWORD, SMTP_PASSWORD, Mailbox
from tests.servers import PrivateDovecot, SmtpSink, free_port

CA_LINE = "set tls_ca_file if it is signed by your own CA"


def one_line(text: str) -> str:
    """stderr of a failed command: exactly one line, no traceback, no Python repr."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text and "b'" not in text and "Error:" not in text, text
    return lines[0]


# --- the database file ----------------------------------------------------------------------------


def test_the_folders_mailtriage_creates_are_owner_only(tmp_path: Path) -> None:
    before = stat.S_IMODE(tmp_path.stat().st_mode)
    path = tmp_path / "state" / "deeper" / "mailtriage.db"
    Store(path).close()
    for folder in (tmp_path / "state", tmp_path / "state" / "deeper"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == before  # a folder that was there is left as it was


def test_an_existing_empty_file_is_not_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "mailtriage.db"
    path.touch()
    for opening in (lambda: Store(path), lambda: Store.snapshot(path)):
        with pytest.raises(StoreError) as caught:
            opening()
        assert "empty file, not a database: was it truncated?" in str(caught.value)
        assert f"mv {path} {path}.broken" in str(caught.value)
        assert path.stat().st_size == 0  # left exactly as found


def test_a_file_we_create_in_this_call_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "mailtriage.db"
    Store(path).close()
    Store(path).close()  # and it is a database from then on
    assert path.stat().st_size > 0


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_names_the_file_and_how_to_move_it_aside(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "mailtriage.db"
    store = Store(path)
    with store.transaction():
        store.conn.executemany("INSERT INTO meta VALUES (?, ?)", [(f"k{i}", "v" * 200) for i in range(2000)])
    store.close()
    if damage == "garbage":
        path.write_bytes(b"this is no SQLite file " * 200)
    else:
        os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(StoreError) as caught:
        Store(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path} is damaged (")
    assert f"mv {path} {path}.broken" in line and "the next check starts a new baseline" in line
    assert f"old history stays in {path}.broken" in line


def test_a_damaged_database_is_one_line_from_the_cli_and_the_daemon(
        tmp_path: Path, write_rules: Callable[[str], Path], capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import MINIMAL

    rules = write_rules(MINIMAL + "database: state/mailtriage.db\n")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "mailtriage.db").write_bytes(b"x" * 4096)
    done = run_process("-c", rules, "check", timeout=60)
    assert done.returncode == 1
    assert "is damaged (file is not a database)" in one_line(done.stderr)

    from mailtriage.app.daemon import Daemon
    from mailtriage.config.rulesfile import load

    loaded = load(rules).model_copy(update={"check_on_days_off": True})
    Daemon(rules, loaded).run_check()  # never raises: one log line, then waits for the next check time
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"check failed: {tmp_path}/state/mailtriage.db is damaged (file is not a database). "
        f"Move it aside with `mv {tmp_path}/state/mailtriage.db {tmp_path}/state/mailtriage.db.broken` and run "
        f"again: the next check starts a new baseline, and the old history stays in "
        f"{tmp_path}/state/mailtriage.db.broken"]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount small tmpfs file systems (root only); unmounted whatever the test did."""
    mounted: list[Path] = []

    def mount(size: str = "1m", name: str = "disk") -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root; the max_page_count test covers a full disk elsewhere")
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _messages(box: Mailbox, count: int) -> None:
    for i in range(count):
        box.deliver((f"From: Client {i} <client{i}@acme.pl>\r\nTo: kasia@example.com\r\n"
                     f"Subject: Order {i} {'details ' * 60}\r\nMessage-ID: <order-{i}@acme.pl>\r\n"
                     f"Date: Mon, 23 Nov 2026 12:00:00 +0100\r\n\r\nHello\r\n").encode())


def _check(rules: Path, *, pages_limited: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MT_TEST_IMAP_PASSWORD": IMAP_PASSWORD, "MT_TEST_SMTP_PASSWORD": SMTP_PASSWORD}
    code = "from mailtriage.cli.main import main; main()"
    if pages_limited:
        # SQLite's own limit on the file's size: a database that cannot grow by a page gets SQLITE_FULL,
        # exactly as on a full disk. (RLIMIT_FSIZE does not: SQLite reports EFBIG as an I/O error.)
        code = ("import mailtriage.store.db as s; o = s.open_database\n"
                "def limited(path, create=True):\n"
                "    db = o(path, create=create)\n"
                "    pages = db.execute('PRAGMA page_count').fetchone()[0]\n"
                "    db.execute(f'PRAGMA max_page_count = {pages}')\n"
                "    return db\n"
                "s.open_database = limited\n" + code)
    return subprocess.run([sys.executable, "-c", code, "-c", str(rules), "check"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)



def _full(box: Mailbox, smtp: SmtpSink, database: Path, first: subprocess.CompletedProcess[str],
          again: Callable[[], subprocess.CompletedProcess[str]] | None) -> None:
    """The check that hit the full disk said so in one line; after space is freed (`again`),
    the next check records and answers every message exactly once."""
    import sqlite3

    assert first.returncode == 1, first.stderr
    assert one_line(first.stderr) == (f"the disk holding {database} is full: free some space and run again "
                                      "(nothing was half-written)")
    assert smtp.messages == []
    if again is None:
        return
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM threads").fetchone()[0] == 0  # the batch rolled back whole
    conn.close()
    done = again()
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 40
    conn.close()
    assert len(smtp.messages) == 40 and len({m.rcpt_tos[0] for m in smtp.messages}) == 40


def _full_by_page_limit(make: Callable[..., Mailbox], smtp: SmtpSink, recover: bool) -> None:
    box = make()
    database = box.rules.parent / "state" / "mailtriage.db"
    assert _check(box.rules).returncode == 0  # the baseline
    _messages(box, 40)
    _full(box, smtp, database, _check(box.rules, pages_limited=True), (lambda: _check(box.rules)) if recover else None)


def test_a_full_database_is_one_line(mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    _full_by_page_limit(mailbox, smtp, recover=False)


def test_after_a_full_database_nothing_is_lost_or_doubled(mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    _full_by_page_limit(mailbox, smtp, recover=True)


def _full_tmpfs(make: Callable[..., Mailbox], smtp: SmtpSink, tmpfs: Callable[..., Path], recover: bool) -> None:
    disk = tmpfs("2m")  # room for the database and the WAL of a 40-reply check once the filler is gone
    box = make()
    database = disk / "state" / "mailtriage.db"
    box.rules.write_text(box.rules.read_text().replace("database: state/mailtriage.db", f"database: {database}"))
    assert _check(box.rules).returncode == 0  # the baseline, on the small disk
    _messages(box, 40)
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:  # fill the disk, then give back just enough to open the database
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, max(filler.stat().st_size - 48 * 1024, 0))
    first = _check(box.rules)

    def freed() -> subprocess.CompletedProcess[str]:
        filler.unlink()
        return _check(box.rules)

    _full(box, smtp, database, first, freed if recover else None)


def test_a_full_disk_is_one_line(mailbox: Callable[..., Mailbox], smtp: SmtpSink,
                                 tmpfs: Callable[..., Path]) -> None:
    _full_tmpfs(mailbox, smtp, tmpfs, recover=False)


def test_after_a_full_disk_is_freed_nothing_is_lost_or_doubled(mailbox: Callable[..., Mailbox], smtp: SmtpSink,
                                                               tmpfs: Callable[..., Path]) -> None:
    _full_tmpfs(mailbox, smtp, tmpfs, recover=True)


def test_an_unwritable_database_is_one_line(tmp_path: Path, tmpfs: Callable[..., Path]) -> None:
    disk = tmpfs("1m", "readonly")
    Store(disk / "mailtriage.db").close()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.raises(StoreError) as caught:
        Store(disk / "mailtriage.db")
    assert str(caught.value).startswith(f"cannot write {disk}/mailtriage.db: its file or file system is read-only")
    with pytest.raises(StoreError) as caught:
        Store(disk / "new" / "mailtriage.db")  # the folder cannot even be made
    assert str(caught.value).startswith(f"cannot write {disk}/new/mailtriage.db: its file or file system is read-only")


def test_a_database_in_a_folder_without_permission_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions; the read-only file system test covers root")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(StoreError) as caught:
            Store(locked / "mailtriage.db")
        assert str(caught.value).startswith(f"cannot open {locked}/mailtriage.db for writing (Permission denied)")
    finally:
        locked.chmod(0o700)


# --- TLS: certificates made here, servers on 127.0.0.1 --------------------------------------------


def _certificate(tmp_path: Path, name: str, signer: tuple[Any, Any] | None = None,
                 names: tuple[str, ...] = ("127.0.0.1", "localhost")) -> tuple[Any, Any, Path, Path]:
    """A CA (no signer) or a server certificate for `names`; returns key, cert and their PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_key, issuer = signer if signer else (key, None)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.subject if issuer else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30)))
    if signer is None:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    else:
        alt: list[x509.GeneralName] = []
        for each in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(each)))
            except ValueError:
                alt.append(x509.DNSName(each))
        builder = (builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                  critical=False))
    cert = builder.sign(issuer_key, hashes.SHA256())
    key_file, cert_file = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, key_file, cert_file


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    """Our CA, a server certificate it signed for 127.0.0.1, one for another name, and a stranger CA."""
    ca_key, ca_cert, _, ca_file = _certificate(tmp_path, "our-ca")
    _, _, key, cert = _certificate(tmp_path, "server", (ca_key, ca_cert))
    _, _, other_key, other_cert = _certificate(tmp_path, "elsewhere", (ca_key, ca_cert), names=("mail.example.com",))
    _, _, _, stranger = _certificate(tmp_path, "stranger-ca")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    misnamed = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    misnamed.load_cert_chain(other_cert, other_key)
    return {"ca": str(ca_file), "stranger": str(stranger), "server": context, "misnamed": misnamed}


class TinyImap:
    """Just enough IMAP over TLS (implicit or STARTTLS) to log in and out, on 127.0.0.1."""

    def __init__(self, context: ssl.SSLContext, starttls: bool) -> None:
        self.context, self.starttls = context, starttls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            opened = [conn]
            try:
                self._session(opened)
            except OSError:
                pass  # the client refused our certificate: that is the test
            finally:
                for each in opened:
                    each.close()

    def _session(self, opened: list[socket.socket]) -> None:
        conn = opened[0]
        if not self.starttls:
            conn = self.context.wrap_socket(conn, server_side=True)
            opened.append(conn)
        caps = "IMAP4rev1 AUTH=PLAIN" + (" STARTTLS" if self.starttls else "")
        conn.sendall(f"* OK [CAPABILITY {caps}] tiny ready\r\n".encode())
        reader = conn.makefile("rb")
        while line := reader.readline():
            tag, _, rest = line.decode().strip().partition(" ")
            verb = rest.split(" ")[0].upper()
            if verb == "CAPABILITY":
                conn.sendall(f"* CAPABILITY {caps}\r\n{tag} OK done\r\n".encode())
            elif verb == "STARTTLS":
                conn.sendall(f"{tag} OK begin TLS\r\n".encode())
                conn = self.context.wrap_socket(conn, server_side=True)
                opened.append(conn)
                reader, caps = conn.makefile("rb"), "IMAP4rev1 AUTH=PLAIN"
            elif verb == "LOGOUT":
                conn.sendall(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:
                conn.sendall(f"{tag} OK done\r\n".encode())

    def close(self) -> None:
        self.listener.close()


def _imap(port: int, security: str, **more: Any) -> Imap:
    return Imap(host="127.0.0.1", port=port, security=security, username="kasia", password_env="UNUSED",
                **{"timeout": 5, **more})


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_certificate_failures_are_named_as_such(pki: dict[str, Any], security: str) -> None:
    server = TinyImap(pki["server"], starttls=security == "starttls")
    try:
        with pytest.raises(FetchError) as caught:
            ImapMailbox(_imap(server.port, security, tls_ca_file=pki["stranger"]), "pw")
        line = str(caught.value)
        assert line.startswith(f"imap 127.0.0.1:{server.port}: certificate of 127.0.0.1 not trusted: ")
        assert line.endswith(CA_LINE) and "Bad file descriptor" not in line and "\n" not in line
        with ImapMailbox(_imap(server.port, security, tls_ca_file=pki["ca"]), "pw"):
            pass  # the right CA: checked, and trusted, on loopback too
        with ImapMailbox(_imap(server.port, security), "pw"):
            pass  # no tls_ca_file: a loopback host still skips the checks
    finally:
        server.close()


def test_the_host_name_is_checked_against_the_certificate_even_on_loopback(pki: dict[str, Any]) -> None:
    server = TinyImap(pki["misnamed"], starttls=False)
    try:
        with pytest.raises(FetchError) as caught:
            ImapMailbox(_imap(server.port, "tls", tls_ca_file=pki["ca"]), "pw")
        assert ("certificate of 127.0.0.1 not trusted: IP address mismatch, certificate is not valid for "
                "'127.0.0.1'") in str(caught.value)
    finally:
        server.close()


def test_tls_ca_file_turns_the_checks_on_for_loopback() -> None:
    checked = tls_context(Smtp(host="127.0.0.1", tls_ca_file=ssl.get_default_verify_paths().openssl_cafile))
    assert checked.verify_mode == ssl.CERT_REQUIRED and checked.check_hostname
    skipped = tls_context(Smtp(host="127.0.0.1"))
    assert skipped.verify_mode == ssl.CERT_NONE and not skipped.check_hostname
    remote = tls_context(Smtp(host="mail.example.com"))
    assert remote.verify_mode == ssl.CERT_REQUIRED and remote.check_hostname


def _smtp_failure(config: Smtp, password: str | None = None) -> str:
    """Connect (and log in) with mail/smtp.py's own session; its one line, or "connected"."""
    from mailtriage.errors import SendError
    from mailtriage.mail.smtp import SmtpSession

    if password is not None:
        config = config.model_copy(update={"username": "kasia"})
    try:
        with SmtpSession(config, password, "kasia@example.com"):
            return "connected"
    except SendError as exc:
        return str(exc)


@pytest.fixture
def tls_smtp(pki: dict[str, Any]) -> Iterator[Callable[[str], int]]:
    from aiosmtpd.controller import Controller

    started: list[Any] = []

    class Quiet:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    def start(security: str) -> int:
        port = free_port()
        tls = {"ssl_context": pki["server"]} if security == "tls" else {"tls_context": pki["server"]}
        controller = Controller(Quiet(), hostname="127.0.0.1", port=port, **tls)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()
    # aiosmtpd leaves the server's end of a connection whose TLS handshake failed for the garbage
    # collector; collect it here, quietly, so its warning is not blamed on a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_smtp_certificate_failures_are_named_as_such(
        pki: dict[str, Any], tls_smtp: Callable[[str], int], security: str) -> None:
    port = tls_smtp(security)
    line = _smtp_failure(Smtp(host="127.0.0.1", port=port, security=security, tls_ca_file=pki["stranger"],
                              timeout=5))
    assert line.startswith(f"smtp 127.0.0.1:{port}: certificate of 127.0.0.1 not trusted: ")
    assert line.endswith(CA_LINE)
    assert _smtp_failure(Smtp(host="127.0.0.1", port=port, security=security, tls_ca_file=pki["ca"],
                              timeout=5)) == "connected"


# --- plain network failures ------------------------------------------------------------------------


def test_a_refused_connection_says_so() -> None:
    port = free_port()
    with pytest.raises(FetchError) as caught:
        ImapMailbox(_imap(port, "tls"), "pw")
    assert str(caught.value) == (f"imap 127.0.0.1:{port}: connection refused by 127.0.0.1:{port}: "
                                 f"is the server running, and is {port} its port?")
    assert _smtp_failure(Smtp(host="127.0.0.1", port=port, security="starttls")) == (
        f"smtp 127.0.0.1:{port}: connection refused by 127.0.0.1:{port}: "
        f"is the server running, and is {port} its port?")


def test_a_server_that_never_answers_is_a_timeout() -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does), never says a word
    port = silent.getsockname()[1]
    try:
        with pytest.raises(FetchError) as caught:
            ImapMailbox(_imap(port, "none", timeout=0.5), "pw")
        assert str(caught.value).endswith(f"no answer from 127.0.0.1:{port} in time: check the host, the port "
                                          "and any firewall between")
        assert "in time" in _smtp_failure(Smtp(host="127.0.0.1", port=port, security="none", timeout=0.5))
    finally:
        silent.close()


def test_tls_spoken_to_a_plain_port_suggests_starttls(dovecot: PrivateDovecot, smtp: SmtpSink) -> None:
    with pytest.raises(FetchError) as caught:
        ImapMailbox(_imap(dovecot.port, "tls"), "pw")
    assert f"127.0.0.1:{dovecot.port} did not answer in TLS (security: tls)" in str(caught.value)
    assert "use security: starttls for ports 143 and 587" in str(caught.value)
    assert "did not answer in TLS" in _smtp_failure(Smtp(host="127.0.0.1", port=smtp.port, security="tls"))


def test_an_unknown_host_is_a_dns_failure() -> None:
    with pytest.raises(FetchError) as caught:
        ImapMailbox(Imap(host="no-such-host.invalid", username="kasia", password_env="UNUSED", timeout=5), "pw")
    assert str(caught.value).startswith("imap no-such-host.invalid:993: cannot find the host no-such-host.invalid (")
    assert str(caught.value).endswith("): check the host name and the network")


def test_a_refused_login_shows_what_the_server_said_without_python_reprs(dovecot: PrivateDovecot) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    with pytest.raises(FetchError) as caught:
        ImapMailbox(_imap(dovecot.port, "none"), "wrong-password-77")
    line = str(caught.value)
    assert line.startswith(f"imap 127.0.0.1:{dovecot.port}: login refused ([AUTHENTICATIONFAILED] ")
    assert line.endswith("): check the username and the password")
    assert "b'" not in line and "wrong-password-77" not in line and IMAP_PASSWORD not in line

    class Quiet:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    # handled=False: aiosmtpd answers 535 itself (SmtpSink's authenticator leaves the client waiting)
    port = free_port()
    refusing = Controller(Quiet(), hostname="127.0.0.1", port=port, auth_require_tls=False,
                          authenticator=lambda *_: AuthResult(success=False, handled=False))
    refusing.start()
    try:
        line = _smtp_failure(Smtp(host="127.0.0.1", port=port, security="none", timeout=5),
                             password="wrong-password-77")
    finally:
        refusing.stop()
    assert line == (f"smtp 127.0.0.1:{port}: login refused (535 5.7.8 Authentication credentials invalid): "
                    "check the username and the password")
