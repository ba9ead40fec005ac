"""Every hook StoreCRM offers. Each docstring says when it is called, with what, and what it returns.

An implementation may accept only the arguments it needs. The core registers its own
permissions, nav items and blueprints through these same hooks (storecrm.core_plugin).
"""
from . import hookspec


@hookspec
def register_permissions():
    """Called once at start-up. Return a list of `storecrm.access.registry.Permission`."""


@hookspec
def register_default_grants():
    """Called when a tenant's built-in roles are seeded. Return {role_code: [permission codes]}."""


@hookspec
def register_nav_items():
    """Called once at start-up. Return a list of `storecrm.web.nav.NavItem` for the main navigation."""


@hookspec
def register_blueprints(app):
    """Called once while the app is built. Register Flask blueprints on `app`; return nothing."""
