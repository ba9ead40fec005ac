from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """An entry of the main navigation. `endpoint` is a Flask endpoint under the tenant prefix."""

    endpoint: str
    label: object  # lazy_gettext string
    icon: str = "circle"  # a bootstrap-icons name
    permission: str | None = None
    order: int = 100
    section: str = "main"  # main | admin | account (the user menu at the top right, reachable on phones)
    shown: object = None  # a callable answering whether the item applies now (e.g. only when billing exists)


def visible_items(items, user, section):
    return [i for i in items if i.section == section and (i.permission is None or user.has_permission(i.permission))
            and (i.shown is None or i.shown())]
