"""Operator commands (`flask tenants|users|tokens|demo …`). Each runs in one transaction."""

from ..plugin_host.cli import plugins_cli
from ..plugin_host.migrations import install_upgrade_command
from ..shell.plugins import add_command
from .commands import demo_cli, tenants_cli, tokens_cli, users_cli


def register_cli(app) -> None:
    install_upgrade_command()
    for group in (tenants_cli, users_cli, tokens_cli, demo_cli, plugins_cli):
        add_command(app, group)

