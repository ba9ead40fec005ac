"""A plugin's life after its first release: new revisions made by the CLI in its own history, default grants that a
later version adds reaching tenants that enabled an earlier one, and `plugin_upgraded`."""
import os
import re
import subprocess
import sys
import types

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from storecrm.hooks import hookimpl
from storecrm.hooks.info import PluginInfo

APP_MODULE = """\
import storecrm_lc_notes
from storecrm.app import create_app

# the scaffolded plugin is put on sys.path by the test, not installed into the shared environment
app = create_app({"STORECRM_LOAD_PLUGINS": False, "STORECRM_EXTRA_PLUGINS": [storecrm_lc_notes]})
"""

NEW_MODEL = '''

class LcNotesLabel(TenantScoped):
    """A second table, added in the plugin's second release."""

    __tablename__ = "lc_notes_labels"

    name: Mapped[str] = mapped_column(String(40))
'''


def _scaffolded(tmp_path):
    from storecrm.plugin_host.scaffold import scaffold

    package = scaffold("lc_notes", tmp_path, label_zh="生命周期笔记")
    (tmp_path / "lifecycle_app.py").write_text(APP_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(package)])}
    env.pop("FLASK_APP", None)

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "lifecycle_app:app", "plugins", "db", *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    return package, flask


def _columns(engine, table):
    return {c["name"] for c in sa_inspect(engine).get_columns(table)}


def _drop(owner_engine):
    with owner_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS lc_notes_labels, lc_notes_items, alembic_version_lc_notes CASCADE"))


def test_a_plugin_revision_is_made_by_the_cli_applied_and_rolled_back(tmp_path, app, owner_engine):
    from storecrm.testing.isolation import schema_violations

    package, flask = _scaffolded(tmp_path)
    versions = package / "storecrm_lc_notes" / "migrations" / "versions"
    try:
        first = flask("upgrade", "--plugin", "lc_notes")
        assert first.returncode == 0, first.stderr[-3000:]
        models = package / "storecrm_lc_notes" / "models.py"
        source = models.read_text()
        source = source.replace('    title: Mapped[str] = mapped_column(String(120))\n',
                                '    title: Mapped[str] = mapped_column(String(120))\n'
                                '    colour: Mapped[str | None] = mapped_column(String(20))\n')
        models.write_text(source + NEW_MODEL)

        made = flask("revision", "--plugin", "lc_notes", "--autogenerate", "-m", "colour and labels")
        assert made.returncode == 0, made.stderr[-3000:]
        second = versions / "0002_colour_and_labels.py"
        assert str(second) in made.stdout
        body = second.read_text()
        assert "revision = 'lc_notes_0002'" in body and "down_revision = 'lc_notes_0001'" in body
        assert "op.add_column('lc_notes_items', sa.Column('colour'" in body
        assert "op.create_table('lc_notes_labels'" in body and "enable_rls(op, 'lc_notes_labels')" in body
        touched = set(re.findall(r"op\.(?!f\()\w+\('(\w+)'", body))
        assert touched == {"lc_notes_items", "lc_notes_labels"}  # the plugin's own tables, nothing of the core
        imported = re.findall(r"^(?:from|import) (storecrm\S*)", body, flags=re.M)
        assert imported == ["storecrm.sdk.migrations"]

        empty = flask("revision", "--plugin", "lc_notes", "-m", "backfill colours")
        assert empty.returncode == 0, empty.stderr[-3000:]
        third = (versions / "0003_backfill_colours.py").read_text()
        assert "revision = 'lc_notes_0003'" in third and "down_revision = 'lc_notes_0002'" in third

        up = flask("upgrade", "--plugin", "lc_notes")
        assert up.returncode == 0, up.stderr[-3000:]
        assert "colour" in _columns(owner_engine, "lc_notes_items")
        with owner_engine.connect() as conn:
            assert schema_violations(conn, {"lc_notes_items", "lc_notes_labels"}) == []
            assert conn.execute(text("SELECT version_num FROM alembic_version_lc_notes")).scalar() == "lc_notes_0003"
            # the core's own history is untouched by the plugin's
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1

        down = flask("downgrade", "--plugin", "lc_notes", "lc_notes_0001")
        assert down.returncode == 0, down.stderr[-3000:]
        assert "colour" not in _columns(owner_engine, "lc_notes_items")
        assert not sa_inspect(owner_engine).has_table("lc_notes_labels")
        assert flask("downgrade", "--plugin", "lc_notes", "base").returncode == 0
        assert not sa_inspect(owner_engine).has_table("lc_notes_items")

        unknown = flask("upgrade", "--plugin", "nosuch")
        assert unknown.returncode == 1 and "no plugin 'nosuch' is installed" in unknown.stderr
        bad = flask("downgrade", "--plugin", "lc_notes", "lc_notes_0099")
        assert bad.returncode == 1 and "lc_notes_0099" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        _drop(owner_engine)


def _spy(version, grants, seen):
    spy = types.ModuleType("spy_plugin")
    spy.PLUGIN = PluginInfo(name="spy", label={"en": "Spy"}, version=version, core=">=0")
    spy.register_default_grants = hookimpl(lambda: grants)
    spy.plugin_upgraded = hookimpl(
        lambda tenant, from_version, to_version: seen.append((tenant.slug, from_version, to_version)))
    return spy


class _Installed:
    """Install, then upgrade, a plugin in the running app the way a new package version would arrive."""

    def __init__(self, app):
        from storecrm.hooks.runtime import host

        self.host = host(app)

    def install(self, module):
        if self.host.pm.get_plugin("spy") is not None:
            self.host.pm.unregister(name="spy")
        self.host.pm.register(module, name="spy")
        self.host.infos["spy"] = module.PLUGIN
        self.host.collect("register_default_grants")

    def remove(self):
        if self.host.pm.get_plugin("spy") is not None:
            self.host.pm.unregister(name="spy")
        self.host.infos.pop("spy", None)
        self.host.collect("register_default_grants")


def _permissions(system_db, world, role):
    with system_db.connect() as conn:
        return set(conn.execute(text("SELECT permissions FROM roles WHERE tenant_id = :t AND code = :c"),
                                {"t": world.id, "c": role}).scalar())


def _record(system_db, world):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT version, grants_applied FROM tenant_plugins WHERE tenant_id = :t "
                                 "AND name = 'spy'"), {"t": world.id}).one()


def test_grants_of_a_plugin_upgrade_reach_existing_tenants_but_removed_ones_stay_removed(
        two_tenants, in_tenant, app, system_db):
    from storecrm.access.models import Role
    from storecrm.extensions import db
    from storecrm.plugin_host.lifecycle import upgrade_tenants
    from storecrm.plugin_host.migrations import upgrade_all
    from storecrm.plugin_host.services import disable, enable

    alpha, beta = two_tenants
    seen = []
    installed = _Installed(app)
    installed.install(_spy("1.0", {"manager": ["spy.view", "spy.edit"], "advisor": ["spy.view"]}, seen))
    try:
        with in_tenant(alpha):
            enable("spy")
        with in_tenant(beta):  # beta ran 1.0 too, then switched it off
            enable("spy")
            disable("spy")
        assert _record(system_db, alpha) == ("1.0", [["advisor", "spy.view"], ["manager", "spy.edit"],
                                                     ["manager", "spy.view"]])
        with in_tenant(alpha):  # alpha's admin decides managers shall not edit
            manager = db.session.scalar(select(Role).where(Role.code == "manager"))
            manager.permissions = [p for p in manager.permissions if p != "spy.edit"]

        installed.install(_spy("1.1", {"manager": ["spy.view", "spy.edit", "spy.export"],
                                       "advisor": ["spy.view", "spy.export"], "technician": ["spy.view"]}, seen))
        with app.app_context():
            upgrade_all()  # what `flask db upgrade` runs after a new plugin version is installed

        assert {"spy.view", "spy.export"} <= _permissions(system_db, alpha, "advisor")
        assert "spy.view" in _permissions(system_db, alpha, "technician")
        manager_now = _permissions(system_db, alpha, "manager")
        assert "spy.export" in manager_now and "spy.edit" not in manager_now  # removed on purpose: stays removed
        version, applied = _record(system_db, alpha)
        assert version == "1.1" and ["technician", "spy.view"] in applied and ["manager", "spy.edit"] in applied
        assert seen == [("alpha", "1.0", "1.1")]  # beta has it off: nothing yet
        assert "spy.export" not in _permissions(system_db, beta, "advisor")

        with app.app_context():
            assert upgrade_tenants() == 0  # up to date: no second call, nothing given twice
        assert seen == [("alpha", "1.0", "1.1")]

        with in_tenant(beta):  # switched back on: brought up to the installed version then
            enable("spy")
        assert seen == [("alpha", "1.0", "1.1"), ("beta", "1.0", "1.1")]
        assert "spy.export" in _permissions(system_db, beta, "advisor")
        assert "spy.edit" in _permissions(system_db, beta, "manager")
        with system_db.connect() as conn:
            actions = conn.execute(text("SELECT action FROM audit_log WHERE tenant_id = :t AND entity_type = 'plugin' "
                                        "ORDER BY id"), {"t": alpha.id}).scalars().all()
        assert actions == ["enable", "grant", "upgrade"]
    finally:
        installed.remove()


def test_a_tenant_enabled_before_versions_were_recorded_is_given_nothing_back(two_tenants, in_tenant, app,
                                                                                system_db, owner_engine):
    from storecrm.plugin_host.lifecycle import upgrade_tenants
    from storecrm.plugin_host.services import enable

    alpha, _ = two_tenants
    seen = []
    installed = _Installed(app)
    installed.install(_spy("2.0", {"advisor": ["spy.view", "spy.export"]}, seen))
    try:
        with in_tenant(alpha):
            enable("spy")
        with owner_engine.begin() as conn:  # as the migration leaves rows enabled before it, minus one grant
            conn.execute(text("ALTER TABLE tenant_plugins NO FORCE ROW LEVEL SECURITY"))
            conn.execute(text("UPDATE tenant_plugins SET version = NULL, grants_applied = NULL"))
            conn.execute(text("ALTER TABLE tenant_plugins FORCE ROW LEVEL SECURITY"))
            conn.execute(text("ALTER TABLE roles NO FORCE ROW LEVEL SECURITY"))
            conn.execute(text("UPDATE roles SET permissions = array_remove(permissions, 'spy.export')"))
            conn.execute(text("ALTER TABLE roles FORCE ROW LEVEL SECURITY"))
        with app.app_context():
            assert upgrade_tenants() == 1
        assert "spy.export" not in _permissions(system_db, alpha, "advisor")  # unknown history: nothing re-added
        assert _record(system_db, alpha) == ("2.0", [["advisor", "spy.export"], ["advisor", "spy.view"]])
        assert seen == []  # no version to upgrade from
    finally:
        installed.remove()


def test_a_scaffold_speaks_chinese_and_sends_pip_to_no_index(tmp_path):
    import tomllib

    from babel.support import Translations

    from storecrm.plugin_host.scaffold import scaffold

    package = scaffold("lc_notes", tmp_path, label_zh="生命周期笔记")
    source = (package / "storecrm_lc_notes" / "__init__.py").read_text()
    assert 'label={"zh_CN": "生命周期笔记", "en": "Lc Notes"}' in source
    assert 'NavItem("lc_notes.index", _l("Lc Notes")' in source
    catalog = Translations.load(str(package / "storecrm_lc_notes" / "translations"), ["zh_Hans_CN"])
    assert catalog.gettext("Lc Notes") == "生命周期笔记" and catalog.gettext("View Lc Notes") == "查看生命周期笔记"
    assert {"babel.cfg", "Makefile"} <= {p.name for p in package.iterdir()}
    assert "compile-translations:" in (package / "Makefile").read_text()
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("storecrm")]
