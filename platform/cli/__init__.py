"""Operator commands (`flask tenants|users|tokens|demo …`). Each runs in one transaction."""


def register_cli(app) -> None:
    from ..plugin_host.cli import plugins_cli
    from ..plugin_host.migrations import install_upgrade_command
    from .commands import demo_cli, tenants_cli, tokens_cli, users_cli

    install_upgrade_command()
    for group in (tenants_cli, users_cli, tokens_cli, demo_cli, plugins_cli):
        add_command(app, group)


def add_command(app, command) -> None:
    """Add a click command or group to `flask`; a group named like one already there adds its commands to it (the
    control plane's `flask tenants plan` joins the core's `flask tenants`)."""
    import click

    existing = app.cli.commands.get(command.name)
    if isinstance(existing, click.Group) and isinstance(command, click.Group):
        for name, sub in command.commands.items():
            existing.add_command(sub, name)
    else:
        app.cli.add_command(command)
