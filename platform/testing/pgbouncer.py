"""A throw-away pgbouncer in transaction mode in front of a PostgreSQL server, for tests and `make scale-test`.

Debian's `pgbouncer` package provides the binary (bench/scale.py installs it when missing); the tests that need it
skip when it is absent, so `make test` runs anywhere.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.path.exists(p)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _backend(url: str) -> tuple[str, int]:
    """(host or socket folder, port) of a libpq/SQLAlchemy URL such as postgresql://u@/db?host=/run/pg."""
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or "127.0.0.1"
    port = int(parsed.query.get("port") or parsed.port or 5432)
    return host, port


class PgBouncer:
    """`PgBouncer(workdir, backend_url, users=[...]).start()`; `.url(url)` rewrites a URL to go through it."""

    def __init__(self, workdir: Path, backend_url: str, *, users, pool_size: int = 2, port: int | None = None,
                 max_client_conn: int = 400):
        self.workdir = Path(workdir)
        self.backend = _backend(backend_url)
        self.users = list(users)
        self.pool_size = pool_size
        self.port = port or free_port()
        self.max_client_conn = max_client_conn
        self.process: subprocess.Popen | None = None

    def _run_as(self) -> str | None:
        """pgbouncer refuses to run as root: then it runs as the owner of the PostgreSQL socket folder."""
        if os.geteuid() != 0:
            return None
        host = self.backend[0]
        owner = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "postgres"
        return owner if owner != "root" else "nobody"

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        host, port = self.backend
        (self.workdir / "users.txt").write_text("".join(f'"{u}" ""\n' for u in self.users))
        ini = self.workdir / "pgbouncer.ini"
        ini.write_text(f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.workdir / 'users.txt'}
pool_mode = transaction
default_pool_size = {self.pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = {self.max_client_conn}
; nothing may survive a transaction: the reset query would only run in session mode anyway
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
; a server connection idle for 2 s is checked before a client gets it: after PostgreSQL restarts, dead connections
; are dropped here instead of failing a request each
server_check_delay = 2
server_check_query = select 1
; after PostgreSQL comes back, log in again within a second (default 15 s of refusals)
server_login_retry = 1
logfile = {self.workdir / 'pgbouncer.log'}
pidfile = {self.workdir / 'pgbouncer.pid'}
""")
        user = self._run_as()
        if user:
            entry = pwd.getpwnam(user)
            for path in (self.workdir, *self.workdir.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        return ini

    def start(self, timeout: float = 10.0) -> "PgBouncer":
        ini = self.write_config()
        user = self._run_as()
        args = [pgbouncer_binary(), *(["-u", user] if user else []), str(ini)]
        # stderr into a file, never a pipe nobody reads: pgbouncer logs every connection there too, and would block
        # (and with it every client) once a pipe's buffer filled up
        stderr = self.workdir / "stderr.log"
        with open(stderr, "ab") as err:
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {stderr.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("pgbouncer did not start listening")

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)  # SIGINT: pgbouncer's fast shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, url: str) -> str:
        """The same role and database, through this pgbouncer."""
        return make_url(url).set(host="127.0.0.1", port=self.port, query={}).render_as_string(hide_password=False)
