"""The permission registry: core and plugins contribute permissions through `register_permissions`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    code: str  # "customers.view"
    label: object  # a lazy_gettext string
    group: object


class PermissionRegistry:
    def __init__(self) -> None:
        self._by_code: dict[str, Permission] = {}

    def add(self, permission: Permission) -> None:
        if permission.code in self._by_code:
            raise ValueError(f"permission {permission.code!r} registered twice")
        self._by_code[permission.code] = permission

    def __contains__(self, code: str) -> bool:
        return code in self._by_code

    def all(self) -> list[Permission]:
        return list(self._by_code.values())

    def codes(self) -> list[str]:
        return list(self._by_code)

    def grouped(self) -> list[tuple[object, list[Permission]]]:
        groups: dict[str, tuple[object, list[Permission]]] = {}
        for p in self._by_code.values():
            groups.setdefault(str(p.group), (p.group, []))[1].append(p)
        return list(groups.values())
