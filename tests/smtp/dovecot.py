"""A real IMAP server for the mailbox tests: Debian's Dovecot (``dovecot-imapd``), one
instance per test, started with ``dovecot -F -c <conf>`` from a generated config:
127.0.0.1 on free ports (IMAP with STARTTLS, and IMAPS), a throw-away Maildir, one
user in a passwd-file, and the tests' self-signed certificate.

Run as root (CI containers), Dovecot refuses to serve mail as root: its login and
mail processes then run as Debian's ``dovenull`` and ``dovecot`` users, and the
folders they use are made theirs.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path

USER, PASSWORD = "news@example.org", "imap-pw-5d21e9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    folder: Path
    imap_port: int
    imaps_port: int
    cert: Path
    process: subprocess.Popen[bytes]

    def env(self, security: str = "starttls") -> dict[str, str]:
        """The IMAP_* variables (and SSL_CERT_FILE) that point postpipe at this server."""
        return {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(self.imaps_port if security == "ssl" else self.imap_port),
            "IMAP_SECURITY": security,
            "IMAP_USER": USER,
            "IMAP_PASSWORD": PASSWORD,
            "SSL_CERT_FILE": str(self.cert),
        }

    def connect(self) -> imaplib.IMAP4:
        """A plain test client (loopback only) logged in, INBOX selected."""
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        return imap

    def append(self, msg: Message | bytes, flags: str = "") -> None:
        """Deliver ``msg`` into INBOX (IMAP APPEND)."""
        data = msg if isinstance(msg, bytes) else msg.as_bytes()
        imap = self.connect()
        try:
            status, answer = imap.append("INBOX", flags or None, None, data)
            assert status == "OK", answer
        finally:
            imap.logout()

    def messages(self) -> list[tuple[set[str], EmailMessage]]:
        """Every message in INBOX with its flags, in order (read without setting \\Seen)."""
        from email import message_from_bytes, policy

        imap = self.connect()
        try:
            out: list[tuple[set[str], EmailMessage]] = []
            _, data = imap.uid("SEARCH", "ALL")
            for uid in (data[0] or b"").decode().split():
                _, parts = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                head, raw = next(p for p in parts if isinstance(p, tuple))
                flags = set(imaplib.ParseFlags(head + b")") or ())
                parsed = message_from_bytes(raw, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                out.append(({f.decode() for f in flags}, parsed))
            return out
        finally:
            imap.logout()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_dovecot(cert: Path, key: Path) -> Dovecot:
    """A running Dovecot with an empty INBOX; ``stop()`` it."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    folder = Path(tempfile.mkdtemp(prefix="postpipe-dovecot-"))
    folder.chmod(0o755)  # the mail and login users must reach the Maildir and the sockets
    mail, run = folder / "mail", folder / "run"
    mail.mkdir()
    (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", encoding="utf-8")
    if os.geteuid() == 0:
        internal, login = pwd.getpwnam("dovecot"), pwd.getpwnam("dovenull")
        os.chown(mail, internal.pw_uid, internal.pw_gid)
        users = (internal.pw_name, login.pw_name, internal.pw_uid, internal.pw_gid)
    else:
        me = pwd.getpwuid(os.getuid())
        users = (me.pw_name, me.pw_name, me.pw_uid, me.pw_gid)
    imap_port, imaps_port = free_port(), free_port()
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {run}/state
instance_name = postpipe-test-{imap_port}
log_path = {folder}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {users[0]}
default_internal_group = {users[0] if os.geteuid() != 0 else "dovecot"}
default_login_user = {users[1]}
first_valid_uid = 1
mail_location = maildir:{mail}/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={users[2]} gid={users[3]} home={mail}/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""",
        encoding="utf-8",
    )
    log = (folder / "stderr.log").open("wb")
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=log, stderr=log)
    server = Dovecot(folder, imap_port, imaps_port, cert, process)
    deadline = time.monotonic() + 20
    while True:  # ready when a login works (the listeners come up after the master)
        try:
            server.connect().logout()
            return server
        except (OSError, imaplib.IMAP4.error) as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                logs = "".join(
                    p.read_text(errors="replace")
                    for p in (folder / "stderr.log", folder / "dovecot.log")
                    if p.exists()
                )
                raise RuntimeError(f"dovecot did not start: {exc}\n{logs}") from None
            time.sleep(0.05)
