"""The import contracts in `.importlinter` hold: plugins (built-in, the example, a fresh scaffold) import only
`storecrm.sdk`, and the core imports no plugin. A deliberate violation is reported as broken.

`storecrm` is installed editable from three folders (platform/, plugins/, tenants/); import-linter reads packages
from disk, so the checks run on a folder of symlinks that puts the three together the way the wheel does.
"""
import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"


def _mirror(tmp_path) -> Path:
    top = tmp_path / "lintroot"
    package = top / "storecrm"
    package.mkdir(parents=True)
    for entry in (ROOT / "platform").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "plugins").symlink_to(ROOT / "plugins")
    (package / "tenants").symlink_to(ROOT / "tenants")
    return top


def _lint(tmp_path, config: Path, *paths) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_mirror(tmp_path)), *map(str, paths)])}
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; "
                           "raise SystemExit(c())", str(config), "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _contract(source: str, config_path: Path) -> Path:
    """The plugins-use-the-sdk contract of `.importlinter`, applied to package `source`."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    forbidden = "".join(f"\n    {m}" for m in parser["importlinter:contract:plugins-use-the-sdk"]["forbidden_modules"].split())
    config_path.write_text(f"""[importlinter]
root_packages =
    storecrm
    {source}
include_external_packages = False

[importlinter:contract:sdk-only]
name = {source} imports only storecrm.sdk
type = forbidden
source_modules =
    {source}
forbidden_modules ={forbidden}
allow_indirect_imports = True
""")
    return config_path


def test_the_import_contracts_hold(tmp_path):
    run = _lint(tmp_path, CONFIG)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_the_sdk_contract_forbids_every_other_part_of_the_core():
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    forbidden = set(parser["importlinter:contract:plugins-use-the-sdk"]["forbidden_modules"].split())
    core = {f"storecrm.{p.name.removesuffix('.py')}" for p in (ROOT / "platform").iterdir()
            if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())}
    assert forbidden == (core - {"storecrm.sdk", "storecrm.testing"}) | {"storecrm.tenants"}


@pytest.mark.parametrize("imported,kept", [("storecrm.sdk", True), ("storecrm.customers.services", False),
                                           ("storecrm.tenants.billing", False)])
def test_a_plugin_reaching_past_the_sdk_breaks_the_contract(imported, kept, tmp_path):
    plugin = tmp_path / "src" / "storecrm_probe"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(f"import {imported}\n")
    run = _lint(tmp_path, _contract("storecrm_probe", tmp_path / "probe.ini"), tmp_path / "src")
    assert (run.returncode == 0) is kept, run.stdout[-3000:]
    if not kept:
        assert f"storecrm_probe is not allowed to import {'.'.join(imported.split('.')[:2])}" in run.stdout


def test_a_scaffolded_plugin_imports_only_the_sdk(tmp_path):
    from storecrm.plugin_host.scaffold import scaffold

    made = scaffold("pet_grooming", tmp_path / "src")
    run = _lint(tmp_path, _contract("storecrm_pet_grooming", tmp_path / "scaffold.ini"), made)
    assert run.returncode == 0, run.stdout[-3000:]


def test_every_sdk_name_has_a_docstring_and_is_documented():
    import storecrm.sdk as sdk

    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = doc[doc.index("## The SDK"):doc.index("## Rules your plugin must keep")]
    for name in sdk.__all__:
        value = getattr(sdk, name)
        assert name in section, f"storecrm.sdk.{name} is missing from docs/plugins.md"
        if callable(value):
            assert (value.__doc__ or "").strip(), f"storecrm.sdk.{name} has no docstring"


def test_every_core_module_has_a_layer():
    """A new top-level module must be placed in the layers contract (docs/architecture.md says where things go)."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    listed = {m.strip() for m in parser["importlinter:contract:layers"]["layers"].replace(":", " ").split()}
    core = {f"storecrm.{p.name.removesuffix('.py')}" for p in (ROOT / "platform").iterdir()
            if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())}
    assert core - listed == set()
