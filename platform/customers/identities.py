"""Identities of customers and One-ID matching: one person, one record."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record
from ..extensions import db
from ..hooks.runtime import enabled_plugins, host
from ..tenancy.models import get_scoped
from .identity import CORE_KINDS, IdentityKind
from .models import Customer, CustomerIdentity


def kinds() -> dict[str, IdentityKind]:
    """Core kinds plus those of the plugins enabled for the current tenant."""
    out = {k.code: k for k in CORE_KINDS}
    for kind in host().items("register_identity_kinds", enabled_plugins()):
        out.setdefault(kind.code, kind)
    return out


def normalize(kind: str, raw: str) -> str:
    """The normal form of identity `kind` = `raw` (E.164 phones, upper-case VINs …); ValidationError {"value": […]} if invalid."""
    known = kinds()
    if kind not in known:
        raise ValidationError({"kind": [_("Choose one of the listed options.")]})
    try:
        return known[kind].normalize(raw or "")
    except ValidationError as err:
        raise ValidationError({"value": [str(m) for m in (err.messages if isinstance(err.messages, list)
                                                           else [err.messages])]})


def owners(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """{(kind, value): customer id} for the given normal forms that already belong to someone."""
    if not pairs:
        return {}
    from sqlalchemy import String, and_, bindparam, func
    from sqlalchemy.dialects.postgresql import ARRAY

    # The pairs as two arrays joined to the unique (tenant, kind, value) index: one index probe per pair. A row-value
    # IN list of an import batch's ~700 pairs was planned as a filter over every identity of the tenant (0.3 ms of
    # an import's 1.2 ms a row).
    kinds_, values = zip(*pairs)
    wanted = func.unnest(bindparam("owner_kinds", list(kinds_), type_=ARRAY(String)),
                         bindparam("owner_values", list(values), type_=ARRAY(String))) \
        .table_valued("kind", "value").render_derived(name="wanted")
    rows = db.session.execute(
        select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id)
        .join(wanted, and_(CustomerIdentity.kind == wanted.c.kind, CustomerIdentity.value == wanted.c.value)))
    return {(k, v): cid for k, v, cid in rows}


def identities_query(customer_id):
    """The select of `identities_of` (`customer_id`: a value or a bound parameter)."""
    return (select(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id)
            .order_by(CustomerIdentity.kind, CustomerIdentity.id))


def identities_of(customer_id: int) -> list[CustomerIdentity]:
    """Every identity (mobile, email, VIN, plate, plugin kinds …) of the customer, by kind."""
    return list(db.session.scalars(identities_query(customer_id)))


def _claimed_error(kind: str, owner_id: int) -> ValidationError:
    owner = get_scoped(Customer, owner_id)
    return ValidationError({"value": [_("This already identifies customer %(name)s (#%(id)d).",
                                        name=owner.name if owner else "?", id=owner_id)]})


def add(customer: Customer, kind: str, raw: str, *, primary: bool = False) -> CustomerIdentity:
    """Attach identity `kind` = `raw` (normalised) to `customer`; ValidationError when it is invalid or belongs to someone else."""
    value = normalize(kind, raw)
    owner = owners([(kind, value)]).get((kind, value))
    if owner == customer.id:
        return next(i for i in identities_of(customer.id) if i.kind == kind and i.value == value)
    if owner is not None:
        raise _claimed_error(kind, owner)
    identity = CustomerIdentity(customer_id=customer.id, kind=kind, value=value, primary=primary)
    db.session.add(identity)
    db.session.flush()
    # the summary shows on the customer's timeline to every role: no contact details in it
    record("create", "identity", identity.id, f"{customer.name}: {kind}",
           after={"customer_id": customer.id, "kind": kind, "value": value})
    return identity


def remove(customer: Customer, identity_id) -> CustomerIdentity | None:
    identity = get_scoped(CustomerIdentity, identity_id)
    if identity is None or identity.customer_id != customer.id:
        return None
    db.session.delete(identity)
    if identity.primary and identity.kind in ("mobile", "email") and getattr(customer, identity.kind) == identity.value:
        setattr(customer, identity.kind, None)
    record("delete", "identity", identity.id, f"{customer.name}: {identity.kind}",
           before={"customer_id": customer.id, "kind": identity.kind, "value": identity.value})
    return identity


def sync_primary(customer: Customer, kind: str, value: str | None, previous: str | None) -> None:
    """Keep the identity of a customer's main mobile/email in step with the field."""
    if previous == value:
        return
    if previous:
        old = db.session.scalar(select(CustomerIdentity).where(
            CustomerIdentity.customer_id == customer.id, CustomerIdentity.kind == kind,
            CustomerIdentity.value == previous))
        if old is not None:
            db.session.delete(old)
            db.session.flush()
    if value:
        add(customer, kind, value, primary=True)
