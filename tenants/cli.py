"""The control plane's commands: `flask tenants plan SLUG [PLAN]` and `flask tenants restore EXPORT.zip --slug S`
(they join the core's `flask tenants` group) and `flask operators create`."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..users.passwords import MIN_LENGTH, hash_password
from ..tenancy.models import Tenant
from ..tenancy.scoping import unscoped
from .models import Operator, Plan, account_row
from .restore import RestoreRefused, restore

tenants_cli = AppGroup("tenants", help="Create and list tenants.")
operators_cli = AppGroup("operators", help="Operator accounts of the console at /ops/.")


@tenants_cli.command("plan")
@click.argument("slug")
@click.argument("plan_code", required=False)
def set_plan_cmd(slug, plan_code):
    """Give tenant SLUG the plan PLAN_CODE (free, pro, enterprise…), or no plan (no limits) when omitted."""
    with unscoped(reason=f"operator sets the plan of {slug}") as system:
        tenant = system.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None or (plan_code and system.get(Plan, plan_code) is None):
            raise click.ClickException("no such tenant or plan")
        account_row(system, tenant.id).plan_code = plan_code
    click.echo(f"{slug}: plan {plan_code or '(none)'}")


@tenants_cli.command("restore")
@click.argument("export", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", required=True, help="the new tenant's slug (must be free)")
@click.option("--name", help="the new tenant's name; default: the exported one")
def restore_cmd(export, slug, name):
    """Restore a tenant export (zip from the console or the owner's settings) as a new tenant SLUG."""
    try:
        done = restore(export, slug, name)
    except RestoreRefused as err:
        raise click.ClickException(f"nothing restored: {err}")
    click.echo(f"restored {sum(done.rows.values())} rows in {len(done.rows)} tables and {done.files} files "
               f"as tenant {done.slug} (id {done.tenant_id}); staff set their passwords with 'forgot password'")


@operators_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="Operator")
@click.password_option()
def create_operator_cmd(email, name, password):
    """Create an operator (not a tenant user) who signs in at /ops/."""
    if len(password) < MIN_LENGTH:
        raise click.ClickException(f"use at least {MIN_LENGTH} characters")
    with unscoped(reason="operator account created from the command line") as system:
        system.add(Operator(email=email.strip().lower(), display_name=name, password_hash=hash_password(password)))
    click.echo(f"operator {email} created")
