"""`make run`: embedded services, migrations, demo data, then web + worker + scheduler via honcho."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .embedded import apply_defaults, stop_postgres, stop_redis


def _flask(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "storecrm.wsgi:app", *args], check=True)


def run() -> int:
    # the Procfile names console scripts (gunicorn, dramatiq, periodiq) of this interpreter's environment
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    apply_defaults()
    os.environ.setdefault("STORECRM_ENV", "development")
    port = os.environ.setdefault("PORT", "5000")
    os.environ.setdefault("STORECRM_BASE_URL", f"http://127.0.0.1:{port}")
    _flask("db", "upgrade")
    _flask("demo", "load")
    # imported here: after apply_defaults() above: demo.loader loads storecrm.jobs, which reads REDIS_URL at import
    from .demo.loader import DEMO_PASSWORD, DEMO_USERS

    print("\n" + "=" * 64)
    print(f"StoreCRM is starting at  http://127.0.0.1:{port}/t/demo/login")
    print("Demo logins (password for all: %s):" % DEMO_PASSWORD)
    for email, role in DEMO_USERS:
        print(f"  {role:<11} {email}")
    print("=" * 64 + "\n", flush=True)
    procfile = Path(__file__).resolve().parent.parent / "Procfile"
    if not procfile.exists():  # installed non-editable: use the packaged copy
        procfile = Path(__file__).resolve().parent / "Procfile"
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "-f", str(procfile), "start",
                               "web", "worker", "scheduler"])

    def stop(signum, frame):  # Ctrl-C or a service manager's TERM: let honcho stop its processes first
        honcho.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        return honcho.wait()
    finally:
        stop_redis()
        pgdata = os.environ.get("STORECRM_EMBEDDED_PGDATA")
        if pgdata:
            stop_postgres(Path(pgdata))


if __name__ == "__main__":
    if sys.argv[1:] == ["run"]:
        raise SystemExit(run())
    print("usage: python -m storecrm.devstack run", file=sys.stderr)
    raise SystemExit(2)
