"""Vehicle sales contracts (购车合同) with a deposit (定金).

The contract holds what a car sale needs on paper (model, trim, colour, VIN once allocated, price, discount, deposit,
expected delivery day, terms); the money is the commerce core's. Making a contract drafts a core quote of one line
(the car at its price after the discount), so the customer signs on the quote's own share link with the core's
signature pad, and that signature creates the core order on which the deposit, the balance and any refund are
recorded. A contract follows its quote and order:

    draft ──(customer signs the quote link)──▶ signed ──(deposit paid)──▶ deposit_paid ──(VIN, balance)──▶ delivered
      └──────────────┴────────────────────────────┴──▶ cancelled (a paid deposit is refunded on the order first)
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from storecrm.sdk import (Customer, Lead, QuoteAccepted, Store, User, cancel_sales_order, confirm_order,
                          create_sales_document, db, document_totals, fulfil_order, get_lead, get_quote,
                          get_sales_order, get_scoped, normalize_identity, record_audit, record_order_payment,
                          record_order_refund, send_quote, tenant_today, utcnow)

from .models import VehicleContract

ENTITY = "dealer_contract"
METHODS = ("cash", "wechat_pay", "alipay", "bank_card", "transfer")
STATE_LABELS = {"draft": _l("Draft (contract)"), "signed": _l("Signed"), "deposit_paid": _l("Deposit paid"),
                "delivered": _l("Car delivered"), "cancelled": _l("Cancelled (contract)")}
SIGN_DAYS = 7  # how long the signing link stays open
MONEY = {"as_string": True, "places": 2}


class VehicleContractSchema(Schema):
    lead_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1))
    customer_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1))
    store_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1))
    model = fields.String(required=True, validate=validate.Length(min=1, max=120))
    trim = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    colour = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    vin = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    price = fields.Decimal(required=True, validate=validate.Range(min=Decimal("0.01"), max=Decimal("99999999")), **MONEY)
    discount = fields.Decimal(load_default=Decimal("0"), validate=validate.Range(min=0, max=Decimal("99999999")),
                              **MONEY)
    deposit = fields.Decimal(required=True, validate=validate.Range(min=0, max=Decimal("99999999")), **MONEY)
    delivery_on = fields.Date(load_default=None, allow_none=True)
    terms = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


def _err(field: str, message: str):
    raise ValidationError({field: [message]})


def _sees(user, contract: VehicleContract | None) -> bool:
    return contract is not None and (user.sees_all_stores or contract.store_id in (user.store_ids or []))


def get_contract(user, contract_id) -> VehicleContract | None:
    contract = get_scoped(VehicleContract, contract_id)
    return contract if _sees(user, contract) else None


def list_contracts(user, *, state: str | None = None, lead_id: int | None = None, after_id: int | None = None,
                   limit: int = 51) -> list[VehicleContract]:
    query = select(VehicleContract).order_by(VehicleContract.id.desc()).limit(limit)
    if state:
        query = query.where(VehicleContract.state == state)
    if lead_id:
        query = query.where(VehicleContract.lead_id == lead_id)
    if after_id:
        query = query.where(VehicleContract.id < after_id)
    if not user.sees_all_stores:
        query = query.where(VehicleContract.store_id.in_(user.store_ids or [-1]))
    return list(db.session.scalars(query))


def contracts_of_lead(lead_id: int) -> list[VehicleContract]:
    return list(db.session.scalars(select(VehicleContract).where(VehicleContract.lead_id == lead_id)
                                   .order_by(VehicleContract.id.desc())))


def _vin(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return normalize_identity("vin", raw)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, list) else [str(err.messages)]
        raise ValidationError({"vin": [str(m) for m in messages]})


def _yuan(amount) -> str:
    return f"¥{amount:,.2f}"


def _line(contract: VehicleContract) -> dict:
    car = " ".join(p for p in (contract.model, contract.trim, contract.colour) if p)
    description = car if not contract.discount else _("%(car)s (list price %(price)s, discount %(discount)s)",
                                                      car=car, price=_yuan(contract.price),
                                                      discount=_yuan(contract.discount))
    # a car's price is quoted tax included (含税价): the line carries no tax of its own
    return {"description": description[:300], "quantity": "1", "unit_price": str(contract.total), "tax_rate": "0"}


def create_contract(user, data: dict) -> VehicleContract:
    """A draft contract for a lead (its customer, store and advisor; the lead is converted first if it has no
    customer yet) or for `customer_id` + `store_id`, with its draft core quote. ValidationError by field."""
    data = VehicleContractSchema().load(data)
    lead = None
    if data["lead_id"]:
        lead = get_lead(user, data["lead_id"])
        if lead is None:
            _err("lead_id", _("Choose one of the listed leads."))
        if not lead.customer_id:
            _err("lead_id", _("Convert the lead into a customer first."))
        customer_id, store_id = lead.customer_id, lead.store_id or data["store_id"]
    else:
        customer_id, store_id = data["customer_id"], data["store_id"]
    customer = get_scoped(Customer, customer_id) if customer_id else None
    if customer is None:
        _err("customer_id", _("Choose a customer."))
    store = get_scoped(Store, store_id) if store_id else None
    if store is None or not (user.sees_all_stores or store.id in (user.store_ids or [])):
        _err("store_id", _("Choose one of your stores."))
    if data["discount"] >= data["price"]:
        _err("discount", _("The discount must be less than the price."))
    if data["deposit"] > data["price"] - data["discount"]:
        _err("deposit", _("The deposit cannot exceed the price after the discount."))
    if data["delivery_on"] is not None and data["delivery_on"] < tenant_today():
        _err("delivery_on", _("Give a delivery day from today on."))
    contract = VehicleContract(
        lead_id=lead.id if lead else None, customer_id=customer.id, store_id=store.id,
        advisor_id=(lead.owner_id if lead and lead.owner_id else user.id), model=data["model"].strip(),
        trim=(data["trim"] or "").strip() or None, colour=(data["colour"] or "").strip() or None,
        vin=_vin(data["vin"]), price=data["price"], discount=data["discount"], deposit=data["deposit"],
        delivery_on=data["delivery_on"], terms=(data["terms"] or "").strip() or None, state="draft", number="")
    db.session.add(contract)
    db.session.flush()
    contract.number = f"HT{contract.id:06d}"
    quote = create_sales_document(user, "quote", customer_id=customer.id, store_id=store.id,
                                  source=(ENTITY, contract.id), lines=[_line(contract)],
                                  valid_until=tenant_today() + timedelta(days=SIGN_DAYS), notes=terms_text(contract))
    contract.quote_id = quote.id
    db.session.flush()
    record_audit("create", ENTITY, contract.id, f"{contract.number} {contract.model}")
    return contract


def terms_text(contract: VehicleContract) -> str:
    """What the customer reads above the signature on the quote link: the car, deposit, delivery and terms."""
    parts = [_("Vehicle sales contract %(number)s", number=contract.number),
             _("Car: %(car)s", car=" / ".join(p for p in (contract.model, contract.trim, contract.colour) if p))]
    if contract.vin:
        parts.append(_("VIN: %(vin)s", vin=contract.vin))
    parts.append(_("Price %(price)s, discount %(discount)s, deposit %(deposit)s (due on signing)",
                   price=_yuan(contract.price), discount=_yuan(contract.discount), deposit=_yuan(contract.deposit)))
    if contract.delivery_on:
        parts.append(_("Expected delivery: %(day)s", day=contract.delivery_on.isoformat()))
    if contract.terms:
        parts.append(contract.terms)
    # the core's quote page shows notes as one paragraph: sentences end with a full stop of their own
    return "；".join(parts)[:5000]


class _ContractsReader:
    """Who reads a contract's own quote: the caller has already been checked against the contract's store."""

    sees_all_stores, store_ids = True, []


def quote_of(contract: VehicleContract):
    return get_quote(_ContractsReader(), contract.quote_id) if contract.quote_id else None


def send_for_signature(user, contract: VehicleContract):
    """Draft: open the quote's share link, where the customer reads the terms and signs; returns the quote."""
    if contract.state != "draft":
        _err("state", _("Only a draft contract is sent for signature."))
    quote = quote_of(contract)
    if quote is None:
        _err("state", _("This contract has lost its quote."))
    if quote.state == "draft":
        send_quote(user, quote)
    return quote


def on_quote_accepted(event) -> None:
    """The customer signed the contract's quote on the link (or staff recorded it): the contract is signed and
    follows the order the signature created."""
    if not isinstance(event, QuoteAccepted) or event.record.source_type != ENTITY:
        return
    contract = get_scoped(VehicleContract, event.record.source_id)
    if contract is None or contract.state != "draft":
        return
    contract.state, contract.order_id = "signed", event.order.id
    contract.signed_name, contract.signed_at = event.record.accepted_name, event.record.accepted_at or utcnow()
    db.session.flush()
    record_audit("update", ENTITY, contract.id, f"{contract.number}: signed")


def _order(contract: VehicleContract):
    order = get_sales_order(contract.order_id) if contract.order_id else None
    if order is None:
        _err("state", _("The customer has not signed this contract yet."))
    return order


def _method(method: str | None) -> str:
    if method not in METHODS:
        _err("method", _("Choose how the customer paid."))
    return method


def record_deposit(user, contract: VehicleContract, method: str | None, *, reference: str | None = None,
                   request_key: str | None = None, now: datetime | None = None) -> VehicleContract:
    """Signed → deposit paid: the deposit is a payment on the contract's order."""
    if contract.state != "signed":
        _err("state", _("The deposit is taken once the contract is signed, and once."))
    method = _method(method)
    order = _order(contract)
    if contract.deposit > 0:
        record_order_payment(user, order, method, contract.deposit, reference=reference, request_key=request_key)
    contract.state, contract.deposit_paid_at = "deposit_paid", now or utcnow()
    db.session.flush()
    record_audit("update", ENTITY, contract.id, f"{contract.number}: deposit {contract.deposit}")
    return contract


def deliver(user, contract: VehicleContract, *, vin: str | None = None, method: str | None = None,
            now: datetime | None = None) -> VehicleContract:
    """Deposit paid → delivered: the car's VIN is known, the balance is paid (with `method` if any is due) and the
    order is confirmed and fulfilled, so it closes settled."""
    if contract.state != "deposit_paid":
        _err("state", _("A car is delivered after the deposit is paid."))
    if vin:
        contract.vin = _vin(vin)
    if not contract.vin:
        _err("vin", _("Allocate the car: enter its VIN."))
    order = _order(contract)
    balance = document_totals(order)["balance_due"]
    if balance > 0:
        record_order_payment(user, order, _method(method), balance)
        order = get_sales_order(order.id)
    if order.state == "draft":
        order = confirm_order(user, order)
    if order.state == "confirmed":
        fulfil_order(user, order)
    contract.state, contract.delivered_at = "delivered", now or utcnow()
    db.session.flush()
    record_audit("update", ENTITY, contract.id, f"{contract.number}: delivered {contract.vin}")
    return contract


def cancel(user, contract: VehicleContract, reason: str | None, *, method: str | None = None,
           now: datetime | None = None) -> VehicleContract:
    """Any open contract → cancelled, with a reason. Money received on its order (the deposit) goes back through a
    commerce refund by `method` first, then the order is cancelled."""
    if contract.state in ("delivered", "cancelled"):
        _err("state", _("A delivered or cancelled contract cannot be cancelled."))
    reason = (reason or "").strip()
    if not reason:
        _err("reason", _("Say why the contract is cancelled."))
    if contract.order_id:
        order = get_sales_order(contract.order_id)
        paid = document_totals(order)["paid"]
        if paid > 0:
            record_order_refund(user, order, _method(method), paid, _("Contract %(number)s cancelled: %(reason)s",
                                                                        number=contract.number, reason=reason)[:200])
            order = get_sales_order(order.id)
        if order.state in ("draft", "confirmed"):
            cancel_sales_order(user, order, reason)
    contract.state, contract.cancelled_at, contract.cancel_reason = "cancelled", now or utcnow(), reason[:200]
    db.session.flush()
    record_audit("update", ENTITY, contract.id, f"{contract.number}: cancelled")
    return contract


def advisors_names(ids) -> dict[int, str]:
    ids = [i for i in ids if i]
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids or [-1]))).all())


def lead_of(contract: VehicleContract) -> Lead | None:
    return get_scoped(Lead, contract.lead_id) if contract.lead_id else None
