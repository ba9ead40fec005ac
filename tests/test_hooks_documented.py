"""Every hook is documented in docs/plugins.md with its exact signature, and has a docstring."""
import inspect
import re
from pathlib import Path

from storecrm.hooks import specs

DOC = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")


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
