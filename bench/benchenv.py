"""The benchmark's own embedded PostgreSQL cluster (var/bench-pg) and Redis, apart from the dev database."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("STORECRM_VAR_DIR") or ROOT / "var")
BIG_DB = "storecrm_bench"  # every tenant
SMALL_DB = "storecrm_bench10"  # ten tenants, the probe tenant among them (B6)
PASSWORD = "bench-pass-2026"


def scale() -> float:
    return float(os.environ.get("BENCH_SCALE", "1"))


def start(database: str) -> dict[str, str]:
    """Start (or reuse) the cluster, make sure `database` exists with the app's roles; return its URLs."""
    from storecrm.embedded import start_postgres, start_redis

    env = start_postgres(VAR / "bench-pg", database)
    env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL") or start_redis(VAR / "bench-redis.db")
    return env


def stop() -> None:
    """Stop the benchmark cluster and Redis this process started (nothing is left running after make bench)."""
    from storecrm.embedded import stop_postgres, stop_redis

    stop_redis()
    stop_postgres(VAR / "bench-pg")


def app_env(env: dict[str, str], **extra) -> dict[str, str]:
    """Environment for running the app (or a migration) against a bench database in production settings."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STORECRM_EMBEDDED"))}
    out.update(env)
    out.update({"STORECRM_ENV": "production", "STORECRM_SECRET_KEY": "bench-secret-not-for-real-use",
                "API_RATE_LIMIT": "100000000 per minute", "LOG_LEVEL": "WARNING", "STORECRM_VAR_DIR": str(VAR),
                "SESSION_COOKIE_SECURE": "0"})
    out.update(extra)
    return out


def python() -> str:
    return sys.executable
