from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import event as sa_event

from storecrm.access.models import Role
from storecrm.customers.models import Customer
from storecrm.embedded import apply_defaults, stop_postgres, stop_redis
from storecrm.stores.models import Store
from storecrm.stores.services import create_store
from storecrm.tenancy.context import TenantRef
from storecrm.tenancy.models import Tenant
from storecrm.users.models import User
from .. import localcache
from ..api import ratelimit as api_ratelimit
from ..app import create_app
from ..customers.identities import add as add_identity
from ..extensions import db, limiter
from ..hooks.runtime import host
from ..plugin_host.migrations import upgrade_all
from ..plugin_host.services import enable as enable_service
from ..tenancy.context import tenant_context

PASSWORD = "correct-horse-battery"
ROLE_CODES = ("owner", "admin", "manager", "advisor", "technician")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def storecrm_services():
    """Embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set; stopped at the end if we started them."""
    import os
    from pathlib import Path

    for key in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_SYSTEM_URL"):
        if os.environ.get(key):  # a server given from outside: make sure it is a test database
            _refuse_non_test_database(os.environ[key])
    database = os.environ.get("STORECRM_TEST_DATABASE", "storecrm_test")
    started = apply_defaults(database=database, prefix="test-")
    yield started
    if started.get("STORECRM_EMBEDDED_STARTED_BY") == str(os.getpid()):
        stop_postgres(Path(started["STORECRM_EMBEDDED_PGDATA"]))
    if "REDIS_URL" in started:
        stop_redis()


def _refuse_non_test_database(url: str) -> None:
    """The suite drops and recreates the schema: never let it near a database not meant for tests."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if "test" not in name.lower():
        raise pytest.UsageError(
            f"DATABASE_URL points at database {name!r}; the test suite wipes its database, so it only runs on a "
            "database whose name contains 'test' (unset DATABASE_URL to use the embedded one)")


@pytest.fixture(scope="session")
def app(storecrm_services):
    app = create_app({"TESTING": True, "SERVER_NAME": "localhost", "PREFERRED_URL_SCHEME": "http"})
    settings = app.config["STORECRM"]
    settings.login_rate_limit = "1000 per minute"
    owner = create_engine(app.config["DATABASE_OWNER_URL"])
    with owner.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    owner.dispose()
    with app.app_context():
        upgrade_all()
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from storecrm.jobs.middleware import bind_app

    bind_app(app)
    yield app


@pytest.fixture(scope="session")
def owner_engine(app):
    engine = create_engine(app.config["DATABASE_OWNER_URL"])
    _sees_its_writes(engine)
    yield engine
    engine.dispose()


def _sees_its_writes(engine) -> None:
    """A test that changes rows with plain SQL (a tenant suspended, a plan changed) expects the next request to see
    it: the in-process caches (storecrm.localcache) would, in production, only after their staleness bound."""
    sa_event.listen(engine, "commit", lambda conn: localcache.clear_all())


@pytest.fixture(scope="session")
def system_db(app):
    """The BYPASSRLS system role: sees every tenant's rows (for asserting on B's data)."""
    engine = create_engine(app.config["DATABASE_SYSTEM_URL"])
    _sees_its_writes(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def tables(owner_engine):
    with owner_engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]


@pytest.fixture(autouse=True)
def storecrm_clean_state(request, owner_engine):
    """After each test: every table truncated, rate limits reset, queued jobs dropped."""
    yield
    if "app" not in request.fixturenames and "db_app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        limiter.reset()
        api_ratelimit.forget()
    with owner_engine.begin() as conn:
        names = [r[0] for r in conn.execute(text(  # plans are reference data a migration seeds: kept; and so are
            # the plugins' version tables, or a later `flask db upgrade` would create their tables a second time
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'plans') AND tablename NOT LIKE 'alembic\\_version\\_%'"))]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    localcache.clear_all()  # ids restart: a cached token 1 of tenant 1 is another test's
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from storecrm.jobs import broker

    broker.flush_all()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@dataclass
class TenantWorld:
    """One tenant as a test sees it: ids of its stores and of one user per built-in role."""

    slug: str
    id: int
    stores: list[int] = field(default_factory=list)
    users: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    customers: list[int] = field(default_factory=list)
    roles: dict[str, int] = field(default_factory=dict)


def build_tenant(app, slug: str, *, customers: int = 3, locale: str = "en") -> TenantWorld:
    """A tenant with two stores, one user per role (store staff in the first store) and customers."""
    from sqlalchemy import select

    # imported here: loads users.passwords (argon2 cost read at import) before the pytest plugin's pytest_configure
    from storecrm.workspace.services import create_tenant
    # imported here: loads users.passwords (argon2 cost read at import) before the pytest plugin's pytest_configure
    from storecrm.users.services import create_user

    with app.app_context():
        tenant = create_tenant(slug=slug, name=f"Chain {slug.upper()}", locale=locale,
                               store={"code": "S1", "name": f"{slug.upper()} Store One"},
                               owner={"display_name": f"{slug} owner", "email": f"owner@{slug}.test",
                                      "password": PASSWORD})
        world = TenantWorld(slug=slug, id=tenant.id)
        with tenant_context(tenant):
            roles = {r.code: r for r in db.session.scalars(select(Role))}
            world.roles = {code: r.id for code, r in roles.items()}

            first = db.session.scalar(select(Store).where(Store.code == "S1"))
            second = create_store({"code": "S2", "name": f"{slug.upper()} Store Two", "active": True})
            world.stores = [first.id, second.id]

            owner = db.session.scalar(select(User).where(User.email == f"owner@{slug}.test"))
            world.users["owner"], world.emails["owner"] = owner.id, owner.email
            for code in ROLE_CODES[1:]:
                email = f"{code}@{slug}.test"
                user = create_user({"display_name": f"{slug} {code}", "email": email, "password": PASSWORD,
                                    "role_id": roles[code].id, "store_ids": [first.id]})
                world.users[code], world.emails[code] = user.id, email

            for n in range(customers):
                c = Customer(name=f"{slug.upper()}-customer-{n}", mobile=f"+86138{world.id:02d}{n:06d}"[:14],
                             store_id=world.stores[n % 2], email=f"c{n}@{slug}.example")
                db.session.add(c)
                db.session.flush()
                add_identity(c, "mobile", c.mobile, primary=True)
                add_identity(c, "email", c.email, primary=True)
                world.customers.append(c.id)
            db.session.commit()
    return world


def marked_plugins(request, app) -> tuple[str, ...]:
    """The plugins `@pytest.mark.storecrm_plugins(...)` names for this test; the closest mark wins (a test's over
    its class's over its module's `pytestmark`), so `storecrm_plugins()` on one test means none. A name that is
    not installed fails the test at once rather than letting it pass against a tenant without the plugin."""
    marker = request.node.get_closest_marker("storecrm_plugins")
    names = tuple(dict.fromkeys(marker.args)) if marker else ()

    installed = host(app).infos
    unknown = [n for n in names if n not in installed]
    if unknown:
        pytest.fail(f"storecrm_plugins: {', '.join(unknown)} not installed (installed: "
                    f"{', '.join(sorted(installed)) or 'none'})", pytrace=False)
    return names


def enable_plugins(app, world: TenantWorld, names) -> None:
    """Switch plugins on for a test tenant as its admin would (requirements, grants, seeding), committed."""
    for name in names:
        with _InTenant(app, world):
            enable_service(name)


@pytest.fixture
def make_tenant(app, request):
    """`make_tenant(slug, customers=3, locale="en", plugins=…)`: one more tenant (see `build_tenant`), with the
    plugins of the test's `storecrm_plugins` mark switched on unless `plugins=` names others (or none)."""
    marked = marked_plugins(request, app)

    def factory(slug: str, *, plugins=None, **kwargs) -> TenantWorld:
        world = build_tenant(app, slug, **kwargs)
        enable_plugins(app, world, marked if plugins is None else plugins)
        return world

    return factory


@pytest.fixture
def two_tenants(make_tenant):
    """Tenants alpha and beta, each with the plugins of the test's `storecrm_plugins` mark switched on."""
    return make_tenant("alpha"), make_tenant("beta")


class Browser:
    """A test client that behaves like a browser: CSRF tokens taken from pages, cookies kept."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, **kw)
        match = CSRF_RE.search(resp.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return resp

    def post(self, url, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get(url)
            data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)

    def login(self, slug, email, password=PASSWORD):
        self.get(f"/t/{slug}/login")
        resp = self.post(f"/t/{slug}/login", {"login": email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        self.get(f"/t/{slug}/")
        return resp


@pytest.fixture
def browser(app):
    return lambda: Browser(app)


@pytest.fixture
def login(app):
    def do(world: TenantWorld, role: str = "owner") -> Browser:
        b = Browser(app)
        b.login(world.slug, world.emails[role])
        return b

    return do


@pytest.fixture
def api_token(app):
    def make(world: TenantWorld, role: str = "owner") -> dict:
        # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
        from storecrm.auth.services import create_token

        with app.app_context():
            tenant = db.session.get(Tenant, world.id)
            with tenant_context(tenant):
                user = db.session.get(User, (world.id, world.users[role]))
                _t, plain = create_token(user, "tests")
                db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


class _InTenant:
    def __init__(self, app, world):
        self.app, self.world = app, world

    def __enter__(self):
        self._app_ctx = self.app.app_context()
        self._app_ctx.push()
        self._tenant_ctx = tenant_context(TenantRef(self.world.id, self.world.slug))
        self._tenant_ctx.__enter__()
        return db.session

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                db.session.commit()
            self._tenant_ctx.__exit__(exc_type, exc, tb)
        finally:
            db.session.remove()
            self._app_ctx.pop()


@pytest.fixture
def in_tenant(app):
    """`with in_tenant(world) as session:` work as that tenant; committed at the end.

    Use it between requests, never around them: requests must get their own app context.
    """
    return lambda world: _InTenant(app, world)


@pytest.fixture
def enable_plugin(app):
    """`enable_plugin(world, "name")`: switch a plugin on for a test tenant (as its admin would)."""

    def enable(world, name):
        enable_plugins(app, world, (name,))

    return enable


# --- background work: jobs and the outbox, run to the end as a worker would ---
def run_jobs() -> None:
    """Run the queued background jobs (outbox relays, plugin actors) to the end, as a worker would."""
    import dramatiq

    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        broker.join("default")
        worker.join()
    finally:
        worker.stop()


@pytest.fixture
def run_outbox(app, system_db):
    """`run_outbox()`: relay every tenant's due outbox messages now, as the scheduler's minute sweep and a worker
    would (channels are called, failures recorded and retried later). `run_outbox(later=True)` first lets every
    waiting message's backoff pass. Returns how many tenants had due messages."""
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from ..notifications.sweeps import relay_all_due

    def run(*, later: bool = False) -> int:
        if later:
            with system_db.begin() as conn:
                conn.execute(text("UPDATE outbox_messages SET next_attempt_at = now() - interval '1 second' "
                                  "WHERE status = 'pending'"))
        with app.app_context():
            tenants = relay_all_due()
        run_jobs()
        return tenants

    return run
