"""Exactly once for the engineer's phone (离线工作): every action the job page sends — accept, check-in, a photo, a
part, a part request, the signed completion — carries an idempotency key the phone made when the engineer tapped.
The phone may send a queued action again (the answer was lost, the signal came back twice, two tabs flushed at once):
the first sending claims the key and acts; every later one gets the first one's result back and changes nothing."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from storecrm.sdk import User, current_tenant_id, db, load_form, utcnow

from . import services
from .models import ActionReceipt, WorkOrder

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SCHEMAS = {"accept": None, "check-in": services.CheckInSchema, "parts": services.PartSchema,
           "request-part": services.PartRequestSchema, "photo": None, "return-part": services.PartReturnSchema,
           "complete": services.CompleteSchema, "sign-quote": services.QuoteSchema, "pay": services.PaymentSchema}


def _messages():
    return {"accept": _("Job accepted. Drive safely."), "check-in": _("Checked in on site."),
            "parts": _("Part issued from your van."), "request-part": _("Part requested from the store."),
            "photo": _("Photo added."), "return-part": _("Defective part recorded for return."),
            "complete": _("Job completed."), "sign-quote": _("Quote signed by the customer."),
            "pay": _("Payment recorded.")}


def perform(user, order: WorkOrder, action: str, data: dict, files=None, now=None, key=None) -> dict:
    """Do one engineer action on `order` from loaded data; ValidationError (field → messages) when refused."""
    if action == "accept":
        services.accept(user, order, now=now)
    elif action == "check-in":
        services.check_in(user, order, data, now=now)
    elif action == "parts":
        services.use_part(user, order, data, now=now)
    elif action == "request-part":
        services.request_part(user, order, data)
    elif action == "photo":
        upload = (files or {}).get("photo")
        services.add_photo(user, order, upload.filename if upload else None, upload.read() if upload else b"")
    elif action == "return-part":
        services.record_part_return(user, order, data, now=now)
    elif action == "complete":
        services.complete(user, order, data, now=now)
    elif action == "sign-quote":
        services.sign_quote(user, order, data, now=now)
    elif action == "pay":  # the commerce core keeps the key too: the payment is recorded once whoever asks
        services.take_payment(user, order, data, request_key=f"smart_home:{key}" if key else None)
    else:
        raise ValidationError({"action": [_("This step is not possible now.")]})
    return {"action": action, "state": order.state, "message": _messages()[action]}


TAPPED_WINDOW = timedelta(hours=24)


def tapped_at(raw: str | None, now: datetime | None = None) -> datetime | None:
    """When the engineer tapped, as the phone queued it: a check-in sent two hours later still happened then (time
    on site, first response). Only believed within the last 24 hours and not in the future (a phone's clock can be
    wrong); otherwise None, and the step takes the server's time."""
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw.strip()[:40].replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    now = now or utcnow()
    return at if now - TAPPED_WINDOW <= at <= now else None


def load(action: str) -> dict:
    """The submitted form through its schema; ValidationError with field errors in the user's language."""
    schema = SCHEMAS.get(action)
    if schema is None:
        return {}
    data, errors = load_form(schema())
    if data is None:
        raise ValidationError(errors)
    return data


def run_once(user, order: WorkOrder, key: str | None, action: str, act) -> tuple[dict, bool]:
    """Run `act()` (which returns the JSON result) once per `key`: returns (result, replayed). The key is claimed by
    INSERT … ON CONFLICT DO NOTHING on the unique (tenant, key), after the job's row is locked: a second sending at
    the same moment waits for the first one's commit and then finds its receipt. A refused action raises and rolls back with its receipt, so sending
    it again is judged again. Without a key (an old page) the action just runs."""
    if key is not None and not KEY.match(key):
        raise ValidationError({"idempotency_key": [_("This request cannot be sent again; reload the page.")]})
    # one step at a time per job, taken before the claim: the receipt's foreign key share-locks the job's row, and
    # two sendings each holding that share lock and then asking for this one would deadlock. A second sending waits
    # here, then finds the receipt (same key) or the new state (another step).
    db.session.execute(select(WorkOrder).where(WorkOrder.id == order.id).with_for_update()
                       .execution_options(populate_existing=True))
    if key:
        claimed = db.session.scalar(insert(ActionReceipt).values(
            tenant_id=current_tenant_id(), key=key, work_order_id=order.id, action=action,
            user_id=user.id if isinstance(user, User) else None, result={}, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["tenant_id", "key"]).returning(ActionReceipt.id))
        if claimed is None:
            receipt = db.session.scalar(select(ActionReceipt).where(ActionReceipt.key == key))
            if receipt is None or receipt.work_order_id != order.id or receipt.action != action:
                raise ValidationError({"idempotency_key": [_("This request cannot be sent again; reload the page.")]})
            return dict(receipt.result), True
    result = act()
    if key:
        db.session.execute(update(ActionReceipt).where(ActionReceipt.key == key).values(result=result))
    return result, False
