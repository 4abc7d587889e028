"""A throwaway Dovecot IMAP server on a free 127.0.0.1 port, for tests.

    with running_dovecot() as server:
        server.append("INBOX", raw_bytes)
        ... poll it ...
        server.restart()  # same port, same mail: a server restart in the middle of a poll

    with running_dovecot(tls=True) as server:
        # server.port offers STARTTLS, server.tls_port is implicit TLS (IMAPS); the
        # certificate is self-signed for 127.0.0.1 and localhost, server.ca_file trusts it.

Everything lives in its own temporary folder (configuration, runtime sockets, maildirs,
log) and the server runs in the foreground as our child process, so nothing touches a
system Dovecot. Bounded: a server that does not answer within ``startup_timeout`` is killed
and the test fails with its log. Without a `dovecot` binary the test is skipped (and
fails under CI=true): `apt-get install dovecot-imapd`.
"""

import contextlib
import datetime
import functools
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import need_server
from tests.e2e.servers import HOST, free_port

USER = "support"
PASSWORD = "imap-test-password"


@functools.cache
def self_signed_certificate() -> tuple[bytes, bytes]:
    """(certificate, key) in PEM: self-signed for 127.0.0.1 and localhost, valid one day.

    Made once per test session; the certificate is its own CA, so it is also the CA file.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Throwaway test Dovecot")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


class Dovecot:
    def __init__(
        self, directory: Path, port: int, extra_config: str = "", tls_port: int | None = None
    ):
        self.host = HOST
        self.port = port
        self.tls_port = tls_port  # implicit TLS (IMAPS); None: no TLS at all
        self.ca_file = str(directory / "cert.pem") if tls_port else ""
        self.user = USER
        self.password = PASSWORD
        self.directory = directory
        self.config = directory / "dovecot.conf"
        self.log = directory / "dovecot.log"
        self.process: subprocess.Popen | None = None
        self._write_config(extra_config)

    def _write_config(self, extra_config: str) -> None:
        d = self.directory
        for name in ("run", "state", "mail"):
            (d / name).mkdir(exist_ok=True)
        # Dovecot refuses to run its login processes or touch mail as root: under root
        # (tests and CI) it uses the `dovecot` and `dovenull` users the package creates,
        # otherwise the current user for everything.
        if os.geteuid() == 0:
            mail_user, internal_user, login_user = "dovecot", "root", "dovenull"
            account = pwd.getpwnam(mail_user)
            os.chown(d / "mail", account.pw_uid, account.pw_gid)
        else:
            mail_user = internal_user = login_user = pwd.getpwuid(os.geteuid()).pw_name
        (d / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::{d}/mail/{USER}\n")
        if self.tls_port:
            # With ssl = yes the plain listener offers STARTTLS (plain login still allowed,
            # for the test's own client), and the imaps one speaks TLS from the start.
            certificate, key = self_signed_certificate()
            (d / "cert.pem").write_bytes(certificate)
            (d / "key.pem").write_bytes(key)
            (d / "key.pem").chmod(0o600)
            ssl_config = f"ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem"
            imaps = f"address = {HOST}\n    port = {self.tls_port}\n    ssl = yes"
        else:
            ssl_config, imaps = "ssl = no", "port = 0"
        self.config.write_text(
            f"""\
protocols = imap
listen = {HOST}
{ssl_config}
disable_plaintext_auth = no
auth_mechanisms = plain login
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log}
info_log_path = {self.log}
default_internal_user = {internal_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name}
default_login_user = {login_user}
mail_uid = {mail_user}
mail_gid = {mail_user}
first_valid_uid = 0
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    {imaps}
  }}
}}
{extra_config}
"""
        )

    def start(self, startup_timeout: float = 20) -> None:
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
            start_new_session=True,  # its own process group: stop() ends all its processes
        )
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"dovecot exited with {self.process.returncode}:\n{self.output()}"
                )
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                self.connect().logout()
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"dovecot did not answer within {startup_timeout} s:\n{self.output()}")

    def stop(self, timeout: float = 10) -> None:
        """Stop the server; its clients' connections are cut, as in a real restart."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # The whole group, not only the master: an imap process serving a client may
        # otherwise outlive it for a while, and a restart must cut every connection.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- a client for the test's side of things ------------------------------------------

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def append(self, mailbox: str, raw: bytes) -> None:
        with self._session() as conn:
            conn.create(f'"{mailbox}"')  # NO when it exists: fine
            typ, data = conn.append(f'"{mailbox}"', None, None, raw)
            assert typ == "OK", data

    def messages(self, mailbox: str) -> dict[int, tuple[set[str], bytes]]:
        """UID -> (flags, raw bytes) of every message in ``mailbox``, without marking any."""
        found = {}
        with self._session() as conn:
            typ, _ = conn.select(f'"{mailbox}"', readonly=True)
            if typ != "OK":
                return {}
            typ, data = conn.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta = item[0].decode()
                uid = int(meta.split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = set(meta.split("FLAGS (", 1)[1].split(")", 1)[0].split())
                found[uid] = (flags, item[1])
        return found

    @contextlib.contextmanager
    def _session(self) -> Iterator[imaplib.IMAP4]:
        conn = self.connect()
        try:
            yield conn
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()


@contextlib.contextmanager
def running_dovecot(*, extra_config: str = "", tls: bool = False) -> Iterator[Dovecot]:
    """Start a throwaway Dovecot; stop it and remove its folder when the block ends.

    ``tls``: a self-signed certificate, STARTTLS on ``port`` and IMAPS on ``tls_port``.
    """
    if shutil.which("dovecot") is None:
        need_server("Dovecot is not installed (apt-get install dovecot-imapd)")
    # Its own folder under /tmp, not pytest's tmp_path: Dovecot's processes run as other
    # users that must reach it, and unix socket paths must stay short.
    directory = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
    directory.chmod(0o755)
    port = free_port()
    tls_port = None
    while tls and tls_port in (None, port):
        tls_port = free_port()
    server = Dovecot(directory, port, extra_config, tls_port)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
