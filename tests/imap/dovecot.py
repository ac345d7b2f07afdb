"""A private Dovecot IMAP server on 127.0.0.1 for the tests (recipe: shared/reference/imap-test-server.md)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import free_port

USER = "leads@example.test"
PASSWORD = "s3cret-pass"


@dataclass
class Dovecot:
    port: int
    workdir: Path
    config: Path
    tls_port: int | None = None

    @property
    def ca_file(self) -> Path:
        return self.workdir / "cert.pem"

    def kick(self, user: str = USER) -> None:
        """The server drops every open session of `user` (as a restart or an idle timeout would)."""
        subprocess.run(["doveadm", "-c", str(self.config), "kick", user], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def _mail_user() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("vmail")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "vmail"],
                       check=True, capture_output=True)
        entry = pwd.getpwnam("vmail")
    return entry.pw_uid, entry.pw_gid


def make_certificate(workdir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1; the test trusts it via ca_file."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def write_config(workdir: Path, port: int, tls_port: int | None = None,
                 introspection_url: str | None = None) -> Path:
    uid, gid = _mail_user()
    for sub in ("run", "state", "mail"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir / "mail", uid, gid)
    (workdir / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    non_root = "" if os.geteuid() == 0 else f"""
default_internal_user = {pwd.getpwuid(uid).pw_name}
default_internal_group = {pwd.getpwuid(uid).pw_name}
default_login_user = {pwd.getpwuid(uid).pw_name}
"""
    config = workdir / "dovecot.conf"
    config.write_text(f"""
base_dir = {workdir}/run
state_dir = {workdir}/state
log_path = {workdir}/dovecot.log
protocols = imap
listen = 127.0.0.1
{"ssl = no" if tls_port is None else _tls(workdir)}
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2 oauthbearer" if introspection_url else ""}
first_valid_uid = {uid}
# Brute-force defence off: refused logins answer at once and do not slow the next tests' logins down.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
  {"" if os.geteuid() == 0 else "chroot ="}
}}
mail_location = maildir:{workdir}/mail/%u/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {workdir}/users
}}
{_oauth2_passdb(workdir, introspection_url)}userdb {{
  driver = static
  args = uid={uid} gid={gid} home={workdir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port or 0}
  }}
  {"" if os.geteuid() == 0 else "chroot ="}
}}
{non_root}
""")
    return config


def _oauth2_passdb(workdir: Path, introspection_url: str | None) -> str:
    """Bearer tokens checked against an introspection endpoint; the token must name the login user."""
    if introspection_url is None:
        return ""
    settings = workdir / "oauth2.conf.ext"
    settings.write_text(f"""introspection_mode = post
introspection_url = {introspection_url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
""")
    return f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {settings}
}}
"""


def _tls(workdir: Path) -> str:
    cert, key = make_certificate(workdir)
    return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"


def start(config: Path, port: int) -> None:
    # dovecot daemonises and its children keep inherited pipes open: never capture its output.
    subprocess.run(["dovecot", "-c", str(config)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}: {(config.parent / 'dovecot.log').read_text()[-2000:]}")


def stop(config: Path) -> None:
    subprocess.run(["doveadm", "-c", str(config), "stop"], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    pid_file = config.parent / "run" / "master.pid"
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def dovecot_server(workdir: Path, tls: bool = False, introspection_url: str | None = None) -> Iterator[Dovecot]:
    """With `introspection_url`, XOAUTH2/OAUTHBEARER logins are accepted too (password logins still work)."""
    if shutil.which("dovecot") is None:
        raise RuntimeError("dovecot is not installed: run scripts/test.sh, which installs dovecot-imapd")
    port = free_port()
    tls_port = free_port() if tls else None
    config = write_config(workdir, port, tls_port, introspection_url)
    start(config, port)
    try:
        yield Dovecot(port=port, workdir=workdir, config=config, tls_port=tls_port)
    finally:
        stop(config)
