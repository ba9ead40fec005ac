"""Configuration, read only from the environment.

Every variable is listed in docs/configuration.md; nothing is read from files except the
development secret key that the embedded defaults keep under var/.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def source_checkout() -> Path | None:
    """The repository folder when StoreCRM runs from a source checkout (an editable install), else None."""
    here = Path(__file__).resolve().parent  # platform/ in a checkout, site-packages/storecrm/ in a wheel install
    root = here.parent
    if here.name == "platform" and (root / "setup.cfg").is_file() and (root / "migrations").is_dir():
        return root
    return None


def default_var_dir(environ=os.environ) -> Path:
    """Where embedded data lives when STORECRM_VAR_DIR is unset: the checkout's var/ (what `make run` and the
    tests use), or else the user's data folder ($XDG_DATA_HOME/storecrm, ~/.local/share/storecrm). Never the
    current folder: a command typed elsewhere must not start a second, empty database there."""
    root = source_checkout()
    if root is not None:
        return root / "var"
    data_home = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "storecrm"


def var_dir(environ=os.environ) -> Path:
    """STORECRM_VAR_DIR, else `default_var_dir()`; created if missing."""
    path = Path(environ.get("STORECRM_VAR_DIR") or default_var_dir(environ)).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _dev_secret_key(var: Path) -> str:
    key_file = var / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def sqlalchemy_url(url: str | None) -> str | None:
    """Pin the psycopg2 driver: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3."""
    if url is None:
        return None
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme):]
    return url


@dataclass
class Settings:
    env: str
    secret_key: str
    database_url: str
    database_owner_url: str
    database_system_url: str
    redis_url: str
    base_url: str
    var_dir: Path
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str
    log_format: str
    log_level: str
    login_rate_limit: str
    api_rate_limit: str
    session_cookie_secure: bool
    proxy_hops: int
    signup_open: bool = True
    signup_rate_limit: str = "5 per hour"
    signup_plan: str | None = None  # the plan new signups get; None: no limits (self-hosted)
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # e.g. a localstripe server in tests
    grace_days: int = 7
    import_max_rows: int = 200_000  # rows one import file may hold (checked by the job)
    read_database_url: str | None = None  # a streaming replica for heavy reads (storecrm.tenancy.reads)
    read_max_lag_seconds: float = 30.0  # a replica further behind is not read from
    auth_cache_seconds: float = 5.0  # staleness bound of the in-process token and plan caches (storecrm.localcache)
    broker_url: str | None = None  # amqp://… (RabbitMQ) or redis://… / unix://…; unset: REDIS_URL
    # Fernet keys for credentials at rest (storecrm.crypto); empty: one derived from secret_key
    encryption_keys: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def billing_enabled(self) -> bool:
        """Stripe billing exists only when keys are configured; without them (self-hosted) there is no billing UI."""
        return bool(self.stripe_secret_key)

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def load_settings(environ=os.environ) -> Settings:
    env = environ.get("STORECRM_ENV", "development")
    var = var_dir(environ)
    secret = environ.get("STORECRM_SECRET_KEY")
    if not secret:
        if env == "production":
            raise RuntimeError("STORECRM_SECRET_KEY must be set in production")
        secret = _dev_secret_key(var)
    database_url = environ.get("DATABASE_URL")
    redis_url = environ.get("REDIS_URL")
    if not database_url or not redis_url:
        raise RuntimeError(
            "DATABASE_URL and REDIS_URL are not set; start through `make run` "
            "(or call storecrm.embedded.apply_defaults) to use the embedded services"
        )
    return Settings(
        env=env,
        secret_key=secret,
        database_url=sqlalchemy_url(database_url),
        database_owner_url=sqlalchemy_url(environ.get("DATABASE_OWNER_URL") or database_url),
        database_system_url=sqlalchemy_url(environ.get("DATABASE_SYSTEM_URL") or database_url),
        redis_url=redis_url,
        base_url=environ.get("STORECRM_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        var_dir=var,
        smtp_host=environ.get("SMTP_HOST") or None,
        smtp_port=int(environ.get("SMTP_PORT", "587")),
        smtp_user=environ.get("SMTP_USER") or None,
        smtp_password=environ.get("SMTP_PASSWORD") or None,
        smtp_starttls=_bool(environ.get("SMTP_STARTTLS"), True),
        mail_from=environ.get("MAIL_FROM", "StoreCRM <no-reply@storecrm.local>"),
        log_format=environ.get("LOG_FORMAT", "json" if env == "production" else "text"),
        log_level=environ.get("LOG_LEVEL", "INFO"),
        login_rate_limit=environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        api_rate_limit=environ.get("API_RATE_LIMIT", "600 per minute"),
        session_cookie_secure=_bool(environ.get("SESSION_COOKIE_SECURE"), env == "production"),
        proxy_hops=int(environ.get("STORECRM_PROXY_HOPS", "0")),
        signup_open=environ.get("STORECRM_SIGNUP", "open") != "closed",
        signup_rate_limit=environ.get("SIGNUP_RATE_LIMIT", "5 per hour"),
        signup_plan=environ.get("STORECRM_SIGNUP_PLAN") or ("free" if environ.get("STRIPE_SECRET_KEY") else None),
        stripe_secret_key=environ.get("STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=environ.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_api_base=environ.get("STRIPE_API_BASE") or None,
        grace_days=int(environ.get("BILLING_GRACE_DAYS", "7")),
        import_max_rows=int(environ.get("IMPORT_MAX_ROWS", "200000")),
        read_database_url=sqlalchemy_url(environ.get("READ_DATABASE_URL") or None),
        read_max_lag_seconds=float(environ.get("READ_MAX_LAG_SECONDS", "30")),
        auth_cache_seconds=float(environ.get("AUTH_CACHE_SECONDS", "5")),
        broker_url=environ.get("BROKER_URL") or None,
        encryption_keys=[k.strip() for k in environ.get("STORECRM_ENCRYPTION_KEYS", "").split(",") if k.strip()],
    )
