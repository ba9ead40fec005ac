"""`flask plugins new NAME`: a working plugin package from the skeleton/ templates.

Templates are str.format templates ({name}, {pkg}, {cls}, {title}, {label_zh}); `PKG` and `NAME` in paths
become the package and plugin names; `.mako` files are copied as they are; the zh_Hans_CN catalog is compiled,
so the new plugin speaks Chinese before its author runs `make compile-translations`.
"""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ScaffoldError(ValueError):
    pass


def scaffold(name: str, target: str | Path = ".", label_zh: str | None = None) -> Path:
    """Write package `storecrm-NAME` under `target`; `label_zh` is its Chinese name (default: "<Title>模块")."""
    if not NAME_RE.match(name) or name == "core":
        raise ScaffoldError("NAME must be 2-40 lowercase letters, digits or _, starting with a letter")
    if label_zh is not None and (not 0 < len(label_zh.strip()) <= 40 or any(c in label_zh for c in '"\\{}\n')):
        raise ScaffoldError("the Chinese label must be 1-40 characters, without quotes, braces or backslashes")
    root = Path(target).resolve() / f"storecrm-{name}"
    if root.exists():
        raise ScaffoldError(f"{root} already exists")
    values = {"name": name, "pkg": f"storecrm_{name}", "cls": "".join(p.title() for p in name.split("_")) + "Item",
              "title": name.replace("_", " ").title()}
    values["label_zh"] = (label_zh or "").strip() or f"{values['title']}模块"
    skeleton = resources.files("storecrm.plugin_host").joinpath("skeleton")
    for source in _walk(skeleton):
        relative = source.relative_to_skeleton
        path = root / relative.replace("PKG", values["pkg"]).replace("NAME", name).removesuffix(".tmpl")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        path.write_text(text if relative.endswith(".mako.tmpl") else text.format(**values), encoding="utf-8")
    _compile_catalogs(root / values["pkg"] / "translations")
    return root


def _compile_catalogs(folder: Path) -> None:
    """messages.po -> messages.mo, as `pybabel compile` does (Babel comes with Flask-Babel)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in folder.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        with po.with_suffix(".mo").open("wb") as target:
            write_mo(target, catalog)


class _Entry:
    def __init__(self, traversable, relative):
        self.traversable, self.relative_to_skeleton = traversable, relative

    def read_text(self, encoding):
        return self.traversable.read_text(encoding=encoding)


def _walk(node, prefix=""):
    for child in node.iterdir():
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            yield from _walk(child, relative + "/")
        elif child.name.endswith(".tmpl"):
            yield _Entry(child, relative)
