from __future__ import annotations

import click
from flask.cli import AppGroup
from marshmallow import ValidationError
from sqlalchemy import select

from ..access.models import Role
from ..auth.services import create_token
from ..demo.loader import DEMO_PASSWORD, DEMO_USERS, load_demo
from ..demo.verticals import load_vertical_demos
from ..extensions import db
from ..stores.models import Store
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from ..users.models import User
from ..users.schemas import UserSchema
from ..users.services import create_user
from ..workspace.services import create_tenant

tenants_cli = AppGroup("tenants", help="Create and list tenants.")
users_cli = AppGroup("users", help="Manage staff accounts of a tenant.")
tokens_cli = AppGroup("tokens", help="Issue personal API tokens.")
demo_cli = AppGroup("demo", help="Demo data.")


def _fail(err: ValidationError):
    for field, messages in (err.messages.items() if isinstance(err.messages, dict) else [("error", err.messages)]):
        click.echo(f"{field}: {'; '.join(str(m) for m in messages)}", err=True)
    raise SystemExit(2)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    db.session.rollback()
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return tenant


@tenants_cli.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True)
@click.option("--admin-name", default="Owner")
@click.option("--locale", default="zh_CN", type=click.Choice(["zh_CN", "en"]))
def create_tenant_cmd(slug, name, admin_email, admin_password, admin_name, locale):
    """Create a tenant with its built-in roles, a first store and an owner account."""
    try:
        tenant = create_tenant(slug=slug, name=name, locale=locale,
                               owner={"display_name": admin_name, "email": admin_email.lower(),
                                      "password": admin_password})
    except ValidationError as err:
        _fail(err)
    click.echo(f"created tenant {tenant.slug} (id {tenant.id})")


@tenants_cli.command("list")
def list_tenants_cmd():
    for t in db.session.scalars(select(Tenant).order_by(Tenant.id)):
        click.echo(f"{t.id}\t{t.slug}\t{t.status}\t{t.name}")


@users_cli.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--email")
@click.option("--mobile")
@click.option("--password", required=True)
@click.option("--role", default="advisor")
@click.option("--store", "store_codes", multiple=True, help="store code; repeat for several")
def create_user_cmd(slug, name, email, mobile, password, role, store_codes):
    """Create a staff account."""
    with tenant_context(_tenant(slug)):
        role_row = db.session.scalar(select(Role).where(Role.code == role))
        if role_row is None:
            raise click.ClickException(f"no role {role!r}")
        stores = list(db.session.scalars(select(Store).where(Store.code.in_(store_codes)))) if store_codes else []
        try:
            data = UserSchema().load({"display_name": name, "email": email, "mobile": mobile, "password": password,
                                      "role_id": role_row.id, "store_ids": [s.id for s in stores]})
            user = create_user(data)
        except ValidationError as err:
            _fail(err)
        db.session.commit()
        click.echo(f"created user {user.id} {user.login_name}")


@tokens_cli.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--email", required=True)
@click.option("--name", default="cli")
def create_token_cmd(slug, email, name):
    """Create a personal API token for a user and print it (it is shown only once)."""
    with tenant_context(_tenant(slug)):
        user = db.session.scalar(select(User).where(User.email == email.lower()))
        if user is None:
            raise click.ClickException(f"no user with email {email!r}")
        _token, plain = create_token(user, name)
        db.session.commit()
        click.echo(plain)


@demo_cli.command("load")
@click.option("--customers", default=300, show_default=True)
def demo_load_cmd(customers):
    """Load the demo tenant (slug `demo`) and the plugins' demo tenants unless they exist; print the logins."""
    created = load_demo(customers=customers)
    click.echo("demo tenant " + ("created" if created else "already present"))
    for slug, made in load_vertical_demos():
        click.echo(f"demo tenant {slug} " + ("created" if made else "already present"))
    for email, role in DEMO_USERS:
        click.echo(f"  {role:<11} {email} / {DEMO_PASSWORD}")
