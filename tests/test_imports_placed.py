"""An import of a StoreCRM module sits at the top of its module; one left inside a function says why.

The reason is a comment `# imported here: <reason>` on the import's line or the line just above it (a cycle and
the modules in it, an environment read at import, a name the module already uses). Imports of the standard library
and of third-party packages inside functions are not this test's business.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = ROOT / "platform" / "plugin_host" / "skeleton"  # the scaffold's templates for a new plugin
MARK = "imported here:"


def _sources():
    for folder in ("platform", "tenants"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if not path.is_relative_to(SKIPPED):
                yield path


def _internal(node) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "storecrm"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "storecrm" for alias in node.names)
    return False


def _imports_in_functions(tree):
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    seen = set()
    for function in functions:
        for node in ast.walk(function):
            if _internal(node) and id(node) not in seen:
                seen.add(id(node))
                yield node


def _has_reason(lines, node) -> bool:
    here = lines[node.lineno - 1]
    above = lines[node.lineno - 2] if node.lineno > 1 else ""
    return MARK in here or above.strip().startswith("#") and MARK in above


def unexplained(path: Path) -> list[str]:
    text = path.read_text()
    lines = text.splitlines()
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
            for node in _imports_in_functions(ast.parse(text)) if not _has_reason(lines, node)]


def test_every_import_left_inside_a_function_says_why():
    found = [line for path in _sources() for line in unexplained(path)]
    assert not found, ("a StoreCRM import inside a function without `# " + MARK + " <reason>` on its line or the "
                       "line above; move it to the top of the module, or say why it cannot be there:\n"
                       + "\n".join(found))


def test_the_check_sees_relative_and_absolute_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "import os\n\n"
        "from .models import Customer\n\n\n"
        "def a():\n    from .services import merge\n\n\n"
        "def b():\n    import json\n    from storecrm.customers import services\n\n\n"
        "def c():\n    # imported here: a cycle: customers.services imports this module at load\n"
        "    from ..customers.services import merge\n\n\n"
        "def d():\n    from . import jobs  # imported here: jobs imports this module at load\n")
    found = [line.split(": ", 1)[1] for line in _lines(module)]
    assert found == ["from .services import merge", "from storecrm.customers import services"]


def _lines(path):
    text = path.read_text()
    lines = text.splitlines()
    return [f"{node.lineno}: {lines[node.lineno - 1].strip()}"
            for node in _imports_in_functions(ast.parse(text)) if not _has_reason(lines, node)]
