"""Every hook is documented in docs/plugins.md with its exact signature, and has a docstring; every hook has a
caller in the core and a test that names it (after datasette's `test_plugin_hooks_have_tests`)."""
import functools
import inspect
import re
from pathlib import Path

import pytest

from storecrm.hooks import specs

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def _hooks():
    return {name: fn for name, fn in vars(specs).items()
            if callable(fn) and getattr(fn, "storecrm_spec", None) is not None}


def test_there_are_hooks():
    assert {"register_permissions", "register_nav_items", "register_blueprints"} <= set(_hooks())


def test_every_hook_has_a_docstring_and_a_reference_entry():
    documented = dict(re.findall(r"^### `(\w+)\(([^)]*)\)`", DOC, flags=re.M))
    for name, fn in _hooks().items():
        assert (fn.__doc__ or "").strip(), f"{name} has no docstring"
        assert name in documented, f"{name} is missing from docs/plugins.md"
        params = ", ".join(inspect.signature(fn).parameters)
        assert documented[name] == params, f"{name}: docs say ({documented[name]}), code says ({params})"


@functools.lru_cache(maxsize=None)
def _sources(*folders) -> dict[str, str]:
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
            for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))}


def _callers(name: str) -> list[str]:
    """Where the core calls hook `name`. A registration hook is collected by the plugin host (every `register_*` of
    specs.py); then either the host mounts it itself (MOUNTED) or something reads what it collected by its name
    (`items("register_x", …)`, `contributions.get("register_x")`): collected and never read does not count. A tenant
    hook is called through `tenant_hook("name")`, `subset_hook_caller("name", …)`, `pm.hook.name` or
    `call_one(…, "name")`, or is named in a module that dispatches hooks by name from a table (the event listener's
    `TYPED_HOOKS`)."""
    from storecrm.hooks.runtime import MOUNTED, registration_hooks

    sources = {path: text for path, text in _sources("platform", "tenants").items()
               if path != "platform/hooks/specs.py"}
    quoted = re.compile(rf"[\"']{name}[\"']")
    if name.startswith("register_"):
        if name not in registration_hooks():
            return []
        if name in MOUNTED:
            return ["platform/shell/plugins.py"]
        return [path for path, text in sources.items()
                if any(quoted.search(line) and "MOUNTED" not in line for line in text.splitlines())]
    call = re.compile(rf"(?:tenant_hook|subset_hook_caller)\(\s*[\"']{name}[\"']|\.hook\.{name}\b"
                      rf"|call_one\([^()]*?[\"']{name}[\"']", re.S)
    by_table = re.compile(r"(?:tenant_hook|subset_hook_caller|call_one)\(\s*[a-z_]+\s*[,)]")
    return [path for path, text in sources.items()
            if call.search(text) or (quoted.search(text) and by_table.search(text))]


def _tests_naming(name: str) -> list[str]:
    """Test modules (not the example plugins, which implement hooks rather than test them) naming hook `name`."""
    this = str(Path(__file__).resolve().relative_to(ROOT))
    return [path for path, text in _sources("tests").items()
            if path != this and "example_plugins" not in path and re.search(rf"\b{name}\b", text)]


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_every_hook_has_a_caller_in_the_core(name):
    assert _callers(name), f"hook {name} is in specs.py but nothing in platform/ or tenants/ calls it or reads " \
                           "what it returns"


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_every_hook_has_a_test(name):
    assert _tests_naming(name), f"hook {name} is named by no test under tests/"
