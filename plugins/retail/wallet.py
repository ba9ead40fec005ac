"""Stored value (储值): top-ups with a bonus, spending as a payment of a commerce order, refunds, the ledger.

Every change is one statement on the member's balance that the database checks (`stored_balance >= amount` for a
spend, `<= the card limit` for a top-up), so two tills spending the last yuan cannot both succeed. The ledger
(`retail_stored_value_entries`) sums to the balance. A refunded top-up loses its bonus first (clawed back), then gives
back at most its own money and at most what is left on the card."""
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select, update

from storecrm.sdk import BoundedDecimal, db, get_scoped, money, plugin_settings, record_audit, Trimmed

from .labels import TOPUP_METHODS
from .models import Member, StoredValueEntry
from .points import lock


def bonus_for(amount: Decimal) -> Decimal:
    """The bonus a top-up earns: the highest step of the tenant's `topup_bonus_steps` it reaches."""
    best = Decimal(0)
    for step in str(plugin_settings("retail").get("topup_bonus_steps") or "").split(","):
        try:
            least, bonus = (Decimal(x.strip()) for x in step.split(":"))
        except (ValueError, ArithmeticError):
            continue
        if amount >= least:
            best = max(best, bonus)
    return money(best)


class TopUpSchema(Schema):
    amount = BoundedDecimal(required=True, as_string=True, places=2, validate=validate.Range(
        min=Decimal("0.01"), max=Decimal("1000000"), error=_("Enter an amount above zero.")))
    method = fields.String(required=True, validate=validate.OneOf(TOPUP_METHODS, error=_("Choose one of the listed options.")))
    store_id = fields.Integer(load_default=None, allow_none=True, strict=False)
    reference = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=80))


def _change(member_id, delta: Decimal, *, at_least: Decimal | None = None, at_most: Decimal | None = None) -> bool:
    query = update(Member).where(Member.id == member_id)
    if at_least is not None:
        query = query.where(Member.stored_balance >= at_least)
    if at_most is not None:
        query = query.where(Member.stored_balance + delta <= at_most)
    done = db.session.execute(query.values(stored_balance=Member.stored_balance + delta).returning(Member.id)
                              .execution_options(synchronize_session=False)).scalar()
    return done is not None


def top_up(member: Member, data: dict, *, request_key: str | None = None) -> StoredValueEntry:
    data = TopUpSchema().load(data)
    if request_key:
        again = db.session.scalar(select(StoredValueEntry).where(StoredValueEntry.request_key == request_key,
                                                                 StoredValueEntry.kind == "topup"))
        if again is not None:
            return again
    settings = plugin_settings("retail")
    amount = money(data["amount"])
    if data["method"] == "cash" and amount >= Decimal(str(settings["stored_value_cash_limit"])):
        raise ValidationError({"method": [_("A top-up this large must be paid by bank transfer, not in cash.")]})
    bonus = bonus_for(amount)
    limit = Decimal(str(settings["stored_value_max_balance"]))
    if not _change(member.id, amount + bonus, at_most=limit):
        raise ValidationError({"amount": [_("The card may hold at most %(n)s.", n=limit)]})
    topup = StoredValueEntry(member_id=member.id, kind="topup", amount=amount, store_id=data["store_id"],
                             method=data["method"], request_key=request_key)
    db.session.add(topup)
    db.session.flush()
    if bonus:
        db.session.add(StoredValueEntry(member_id=member.id, kind="bonus", amount=bonus, store_id=data["store_id"],
                                        topup_id=topup.id))
    db.session.flush()
    record_audit("create", "retail_topup", topup.id, f"{member.member_no} +{amount} (+{bonus})")
    return topup


def spend(member_id, amount: Decimal, *, purchase_id=None, store_id=None) -> StoredValueEntry:
    amount = money(amount)
    if amount <= 0:
        raise ValidationError({"stored_value": [_("Enter an amount above zero.")]})
    if not _change(member_id, -amount, at_least=amount):
        raise ValidationError({"stored_value": [_("The stored-value balance is not enough.")]})
    entry = StoredValueEntry(member_id=member_id, kind="spend", amount=-amount, purchase_id=purchase_id,
                             store_id=store_id)
    db.session.add(entry)
    db.session.flush()
    return entry


def credit_back(member_id, amount: Decimal, *, purchase_id=None, store_id=None) -> None:
    """A refund of a purchase paid with stored value goes back onto the card."""
    _change(member_id, money(amount))
    db.session.add(StoredValueEntry(member_id=member_id, kind="refund", amount=money(amount), purchase_id=purchase_id,
                                    store_id=store_id))
    db.session.flush()


def refund_topup(member: Member, topup_id) -> Decimal:
    """Give back a top-up: its bonus is clawed back first, then at most its money and what is left on the card.
    Returns the money to hand back (by the top-up's own method)."""
    member = lock(member.id)
    topup = get_scoped(StoredValueEntry, topup_id)
    if topup is None or topup.member_id != member.id or topup.kind != "topup":
        raise ValidationError({"topup_id": [_("Choose a top-up of this member.")]})
    if db.session.scalar(select(StoredValueEntry.id).where(StoredValueEntry.topup_id == topup.id,
                                                           StoredValueEntry.kind == "topup_refund")):
        raise ValidationError({"topup_id": [_("This top-up has already been refunded.")]})
    bonus = db.session.scalar(select(func.coalesce(func.sum(StoredValueEntry.amount), 0)).where(
        StoredValueEntry.topup_id == topup.id, StoredValueEntry.kind == "bonus"))
    clawback = min(Decimal(bonus), member.stored_balance)
    back = min(topup.amount, member.stored_balance - clawback)
    if clawback:
        db.session.add(StoredValueEntry(member_id=member.id, kind="clawback", amount=-clawback, topup_id=topup.id))
    db.session.add(StoredValueEntry(member_id=member.id, kind="topup_refund", amount=-back, topup_id=topup.id,
                                    method=topup.method))
    member.stored_balance -= clawback + back
    db.session.flush()
    record_audit("update", "retail_topup", topup.id, f"{member.member_no} refunded {back}, bonus -{clawback}")
    return back


def ledger_of(member_id, limit: int = 50):
    return list(db.session.scalars(select(StoredValueEntry).where(StoredValueEntry.member_id == member_id)
                                   .order_by(StoredValueEntry.id.desc()).limit(limit)))


def ledger_sum(member_id) -> Decimal:
    return db.session.scalar(select(func.coalesce(func.sum(StoredValueEntry.amount), 0))
                             .where(StoredValueEntry.member_id == member_id))


def settlement(start, end) -> list[dict]:
    """Settlement between the stores of a chain for [start, end) (aware datetimes): per store, the money it took in
    as top-ups (principal only; the bonus is the chain's cost) and the stored value its tills accepted as payment
    (net of refunds to the card). `owed_to_store` = accepted − taken in: what HQ owes the store (negative: the store
    owes HQ), so a member who tops up in one store and spends in another settles fairly."""
    from sqlalchemy import case

    from storecrm.sdk import Store

    taken = func.sum(case((StoredValueEntry.kind.in_(("topup", "topup_refund")), StoredValueEntry.amount), else_=0))
    accepted = func.sum(case((StoredValueEntry.kind.in_(("spend", "refund")), -StoredValueEntry.amount), else_=0))
    rows = db.session.execute(
        select(StoredValueEntry.store_id, taken, accepted)
        .where(StoredValueEntry.at >= start, StoredValueEntry.at < end, StoredValueEntry.store_id.is_not(None))
        .group_by(StoredValueEntry.store_id)).all()
    names = dict(db.session.execute(select(Store.id, Store.name)).all())
    return [{"store_id": store_id, "store": names.get(store_id, ""), "taken_in": money(t or 0),
             "accepted": money(a or 0), "owed_to_store": money((a or 0) - (t or 0))}
            for store_id, t, a in sorted(rows, key=lambda r: r[0])]


def apply_online_topup(event) -> StoredValueEntry | None:
    """A top-up the member paid online (`OnlinePaymentReceived` with purpose "retail.topup", e.g. WeChat Pay): booked
    once per `request_key`, and the member gets the top-up notice on WeChat when their openid is bound (the WeChat
    Official Account plugin's identity kind; without it there is no one to send to)."""
    from storecrm.sdk import identities_of, send_message, tenant_zone

    member = lock(event.reference_id)
    if member is None:
        return None
    topup = top_up(member, {"amount": str(event.amount), "method": event.method, "reference": event.transaction_id},
                   request_key=event.request_key)
    openid = next((i.value for i in identities_of(member.customer_id) if i.kind == "wechat_openid"), None)
    if openid:
        db.session.refresh(member)
        bonus = db.session.scalar(select(func.coalesce(func.sum(StoredValueEntry.amount), 0)).where(
            StoredValueEntry.topup_id == topup.id, StoredValueEntry.kind == "bonus"))
        params = {"member_no": member.member_no, "amount": f"{topup.amount:.2f}", "bonus": f"{money(bonus):.2f}",
                  "balance": f"{member.stored_balance:.2f}", "points": str(member.points_balance),
                  "at": topup.at.astimezone(tenant_zone()).strftime("%Y-%m-%d %H:%M")}
        send_message("wechat", openid, _("Stored value topped up"),
                     _("Your member card %(no)s was topped up by %(amount)s; balance %(balance)s.",
                       no=member.member_no, amount=params["amount"], balance=params["balance"]),
                     payload={"template": "retail.topup", "params": params}, dedupe_key=f"retail.topup:{topup.id}")
    return topup


def _online_topup(member_id, payment_request_key: str) -> StoredValueEntry | None:
    return db.session.scalar(select(StoredValueEntry).where(
        StoredValueEntry.member_id == member_id, StoredValueEntry.kind == "topup",
        StoredValueEntry.request_key == payment_request_key))


def _topup_left(topup: StoredValueEntry) -> tuple[Decimal, Decimal]:
    """(money of the top-up not yet given back, bonus of it not yet clawed back)."""
    rows = dict(db.session.execute(select(StoredValueEntry.kind, func.sum(StoredValueEntry.amount)).where(
        StoredValueEntry.topup_id == topup.id).group_by(StoredValueEntry.kind)).all())
    money_left = topup.amount + Decimal(rows.get("topup_refund") or 0)
    bonus_left = Decimal(rows.get("bonus") or 0) + Decimal(rows.get("clawback") or 0)
    return money(money_left), money(bonus_left)


def check_online_refund(event) -> None:
    """`OnlinePaymentRefundRequested` for a top-up paid online: refused (before the provider is called) when the card
    no longer holds the refund plus the top-up's bonus that would be clawed back, or more is asked than the top-up
    still has."""
    member = lock(event.reference_id)
    topup = _online_topup(event.reference_id, event.payment_request_key) if member is not None else None
    if topup is None:
        return                      # not booked on a card (a failed booking): nothing to take off
    money_left, bonus_left = _topup_left(topup)
    amount = money(event.amount)
    if amount > money_left:
        raise ValidationError({"amount": [_("This top-up has only %(n)s left to refund.", n=money_left)]})
    if member.stored_balance < amount + bonus_left:
        raise ValidationError({"amount": [_(
            "The card holds %(balance)s: a refund of %(amount)s (plus the top-up's bonus %(bonus)s taken back) is "
            "more than is left on it.", balance=member.stored_balance, amount=amount, bonus=bonus_left)]})


def apply_online_refund(event) -> StoredValueEntry | None:
    """`OnlinePaymentRefunded` of a top-up paid online: the money left the merchant, so the card gives it back once
    (by `request_key`): the top-up's bonus is clawed back first (as `refund_topup` does), then the refund, each at
    most what is left on the card."""
    member = lock(event.reference_id)
    topup = _online_topup(event.reference_id, event.payment_request_key) if member is not None else None
    if topup is None:
        return None
    again = db.session.scalar(select(StoredValueEntry).where(StoredValueEntry.request_key == event.request_key,
                                                             StoredValueEntry.kind == "topup_refund"))
    if again is not None:
        return again
    _money_left, bonus_left = _topup_left(topup)
    clawback = min(bonus_left, member.stored_balance)
    back = min(money(event.amount), member.stored_balance - clawback)
    if clawback:
        db.session.add(StoredValueEntry(member_id=member.id, kind="clawback", amount=-clawback, topup_id=topup.id))
    entry = StoredValueEntry(member_id=member.id, kind="topup_refund", amount=-back, topup_id=topup.id,
                             method=event.method, request_key=event.request_key)
    db.session.add(entry)
    member.stored_balance -= clawback + back
    db.session.flush()
    record_audit("update", "retail_topup", topup.id,
                 f"{member.member_no} refunded online {event.amount} (card -{back}, bonus -{clawback})")
    return entry
