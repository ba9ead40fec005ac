"""`make run`: embedded services, migrations, demo data, then web + worker + scheduler via honcho."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .embedded import apply_defaults, stop_postgres, stop_redis


class Stop:
    """Ctrl-C (SIGINT) or a service manager's SIGTERM asks the stack to stop: that is a normal end, exit status 0.

    Without this, honcho answers a TERM with status 143 (128 + SIGTERM) and `make run` ends with "Error 143".
    """

    def __init__(self):
        self.requested = False
        self.child: subprocess.Popen | None = None

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame) -> None:
        self.requested = True
        # the terminal's SIGINT reaches every process of the foreground group already; a TERM from a service
        # manager reaches only us: pass it on so that honcho stops its processes first
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def run(self, cmd: list[str]) -> int:
        """Run one step of the stack; a stop requested meanwhile ends it with 0, a failure with its status."""
        if self.requested:
            return 0
        self.child = subprocess.Popen(cmd)
        try:
            while True:
                try:
                    code = self.child.wait()
                    break
                except KeyboardInterrupt:  # pragma: no cover - only if SIGINT arrives before install()
                    self.requested = True
        finally:
            self.child = None
        return 0 if self.requested else code


def supervise(cmd: list[str]) -> int:
    """Run `cmd` (honcho) until it ends or we are asked to stop; 0 when stopped by Ctrl-C or SIGTERM."""
    stop = Stop()
    stop.install()
    return stop.run(cmd)


def _flask(stop: Stop, *args: str) -> None:
    code = stop.run([sys.executable, "-m", "flask", "--app", "storecrm.wsgi:app", *args])
    if stop.requested:
        raise SystemExit(0)
    if code:
        raise SystemExit(code)


def run() -> int:
    stop = Stop()
    stop.install()
    # the Procfile names console scripts (gunicorn, dramatiq, periodiq) of this interpreter's environment
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    apply_defaults()
    try:
        return _run_stack(stop)
    finally:
        stop_redis()
        pgdata = os.environ.get("STORECRM_EMBEDDED_PGDATA")
        if pgdata:
            stop_postgres(Path(pgdata))


def _run_stack(stop: Stop) -> int:
    os.environ.setdefault("STORECRM_ENV", "development")
    port = os.environ.setdefault("PORT", "5000")
    os.environ.setdefault("STORECRM_BASE_URL", f"http://127.0.0.1:{port}")
    _flask(stop, "db", "upgrade")
    _flask(stop, "demo", "load")
    # imported here: after apply_defaults() above: demo.loader loads storecrm.jobs, which reads REDIS_URL at import
    from .demo.loader import DEMO_PASSWORD, DEMO_USERS

    print("\n" + "=" * 64)
    print(f"StoreCRM is starting at  http://127.0.0.1:{port}/t/demo/login")
    # imported here: after apply_defaults() above, like demo.loader below (storecrm.jobs reads REDIS_URL at import)
    from .app import create_app  # imported here: as the line above says
    from .demo.verticals import registered  # imported here: as above

    with create_app().app_context():
        for _plugin, demo in registered():
            print(f"  {demo.name}:  http://127.0.0.1:{port}/t/{demo.slug}/login")
    print("Demo logins, the same in every demo tenant (password for all: %s):" % DEMO_PASSWORD)
    for email, role in DEMO_USERS:
        print(f"  {role:<11} {email}")
    print("=" * 64 + "\n", flush=True)
    # package data of storecrm (the repository root's Procfile links to it), so a non-editable install has it too
    procfile = Path(__file__).resolve().parent / "Procfile"
    return stop.run([sys.executable, "-m", "honcho", "-f", str(procfile), "start", "web", "worker", "scheduler"])


if __name__ == "__main__":
    if sys.argv[1:] == ["run"]:
        raise SystemExit(run())
    if sys.argv[1:2] == ["supervise"] and len(sys.argv) > 2:  # the stop handling alone, around any command
        raise SystemExit(supervise(sys.argv[2:]))
    print("usage: python -m storecrm.devstack run | supervise COMMAND…", file=sys.stderr)
    raise SystemExit(2)
