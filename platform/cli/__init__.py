"""Operator commands (`flask tenants|users|tokens|demo …`). Each runs in one transaction."""


def register_cli(app) -> None:
    from .commands import demo_cli, tenants_cli, tokens_cli, users_cli

    for group in (tenants_cli, users_cli, tokens_cli, demo_cli):
        app.cli.add_command(group)
