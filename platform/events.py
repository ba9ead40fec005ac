"""Events: the one way a change tells the rest of StoreCRM (after datasette's `track_event`).

A service that changed something emits one typed event, inside its transaction:

    events.emit(CustomerMerged(survivor, merged))

and every subscriber hears it, in this order: outbound webhooks (an outbox row, sent after commit), plugins enabled
for the tenant (the generic `storecrm_event` hook and the typed conveniences such as `customer_merged`), and the
automation rules (`RecordEvent`s and the core events rules react to). They all run in the caller's transaction, so
a transaction that rolls back has delivered nothing: no webhook leaves, no rule firing or plugin row stays.
Services never call the rules engine or the webhook sender themselves.

This module is foundation: it knows no subscriber. The application assembly hands them over (`init_app`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from flask import current_app

EXTENSION = "storecrm.events"


@dataclass(frozen=True)
class Event:
    """Base of every event. A plugin subclasses it (or `RecordEvent`, for events rules may react to) for its own."""


@dataclass(frozen=True)
class RecordEvent(Event):
    """Something happened to a record automation rules may watch: `code` is the rule trigger (a plugin's
    `RuleTrigger` code, or "created" / "changed"), `entity` the engine entity of `record` ("customer", "asset" or a
    plugin's), `changes` `{field: [before, after]}`."""

    entity: str
    record: Any
    code: str
    changes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StaffAccessChanged(Event):
    """A staff member's way in changed: a new password (`password_changed`) or the account switched off. Whoever
    keeps sessions or tokens ends them (storecrm.auth)."""

    user: Any
    password_changed: bool = False


@dataclass(frozen=True)
class CustomerCreated(Event):
    """A customer was created (by hand, the API, a rule, or one by one in an import)."""

    customer: Any


@dataclass(frozen=True)
class CustomersImported(Event):
    """Customers created together by a bulk import, by id: subscribers load them in one query if they need them,
    so an import stays set-based. Plugins receive one `CustomerCreated` per customer instead."""

    customer_ids: tuple[int, ...]


@dataclass(frozen=True)
class CustomerChanged(Event):
    """A customer's fields changed; `changes` is `{field: [before, after]}`."""

    customer: Any
    changes: dict


@dataclass(frozen=True)
class CustomerMerged(Event):
    """Customer `merged` was folded into `survivor` (and is now soft-deleted, pointing at it)."""

    survivor: Any
    merged: Any


@dataclass(frozen=True)
class CustomerUnmerged(Event):
    """A merge was undone: `restored` lives again with its identities, `survivor` has its fields back."""

    survivor: Any
    restored: Any


@dataclass(frozen=True)
class AssetCreated(Event):
    """An asset was created."""

    asset: Any


@dataclass(frozen=True)
class AssetChanged(Event):
    """An asset changed (fields, attributes or owner); `changes` is `{field: [before, after]}`. Not on creation."""

    asset: Any
    changes: dict


@dataclass(frozen=True)
class TaskCreated(Event):
    """A task was created for staff."""

    task: Any


@dataclass(frozen=True)
class WorkflowStateEntered(Event):
    """Workflow item `item` entered its current state (`item.code`, `item.state`); `record` is the record it runs on."""

    item: Any
    record: Any


# --- sales (storecrm.sales): record events rules may start from, on the engine entities "quote" and "order" ---------

@dataclass(frozen=True)
class QuoteSent(RecordEvent):
    """A quote was sent to its customer: its share link works from now on."""

    entity: str = "quote"
    record: Any = None
    code: str = "quote_sent"


@dataclass(frozen=True)
class QuoteAccepted(RecordEvent):
    """The customer accepted a quote (name and signature on the share link, or staff recorded it); `order` is the
    order it became."""

    entity: str = "quote"
    record: Any = None
    code: str = "quote_accepted"
    order: Any = None


@dataclass(frozen=True)
class QuoteExpired(RecordEvent):
    """A sent quote passed its valid-until date without an answer."""

    entity: str = "quote"
    record: Any = None
    code: str = "quote_expired"


@dataclass(frozen=True)
class OrderConfirmed(RecordEvent):
    """An order was confirmed (stock reserved for its item lines)."""

    entity: str = "order"
    record: Any = None
    code: str = "order_confirmed"


@dataclass(frozen=True)
class OrderPaid(RecordEvent):
    """A payment was recorded on an order; `payment` is it (the order may still have a balance due)."""

    entity: str = "order"
    record: Any = None
    code: str = "order_paid"
    payment: Any = None


@dataclass(frozen=True)
class OrderRefunded(RecordEvent):
    """A refund was recorded on an order; `payment` is the refund row (kind "refund")."""

    entity: str = "order"
    record: Any = None
    code: str = "order_refunded"
    payment: Any = None
@dataclass(frozen=True)
class StockBelowReorderLevel(Event):
    """Available stock (on hand minus reserved) of `item` at `location` fell to or below the level's reorder
    level. Once per crossing: it is heard again only after stock rose above the level in between."""

    level: Any
    item: Any
    location: Any


@dataclass(frozen=True)
class OnlinePaymentReceived(Event):
    """A customer paid online (WeChat Pay …) for `purpose` ("retail.topup", …) of record `reference_id`: the plugin
    that owns the purpose applies it, once per `request_key` (a provider may notify twice). `amount` is a Decimal."""

    purpose: str
    reference_id: int
    amount: Any
    method: str
    transaction_id: str
    request_key: str


@dataclass(frozen=True)
class OnlinePaymentRefundRequested(Event):
    """Staff are about to ask the provider to give back `amount` (Decimal) of an online payment for `purpose` of record
    `reference_id` (`transaction_id`: the provider's id of the payment; `payment_request_key`: the `request_key` of its
    `OnlinePaymentReceived`). Emitted before the provider is called: the plugin owning the purpose raises
    marshmallow.ValidationError (field "amount", a reason in the user's language) to refuse, e.g. a top-up refund
    larger than what is left on the member's card."""

    purpose: str
    reference_id: int
    amount: Any
    method: str
    transaction_id: str
    payment_request_key: str


@dataclass(frozen=True)
class OnlinePaymentRefunded(Event):
    """The provider confirmed (verified notification) that `amount` (Decimal) of an online payment for `purpose` of
    record `reference_id` went back to the customer: the plugin owning the purpose books it, once per `request_key`
    ("wechatrefund:<out_refund_no>"). `transaction_id` is the payment's, `payment_request_key` the `request_key` of
    its `OnlinePaymentReceived`, `refund_id` the provider's refund id."""

    purpose: str
    reference_id: int
    amount: Any
    method: str
    transaction_id: str
    payment_request_key: str
    refund_id: str
    request_key: str


@dataclass(frozen=True)
class AppointmentEvent(Event):
    """Something happened to an appointment (storecrm.scheduling); `code` names it for webhooks and rules
    ("appointment.booked" …). Subscribers match this base class or one of the subclasses below."""

    appointment: Any
    code: ClassVar[str] = "appointment.changed"


@dataclass(frozen=True)
class AppointmentBooked(AppointmentEvent):
    """An appointment was booked (by staff, the public page or the API), or a walk-in was taken in."""

    code: ClassVar[str] = "appointment.booked"


@dataclass(frozen=True)
class AppointmentRescheduled(AppointmentEvent):
    """An appointment moved to another time, staff member or resource."""

    code: ClassVar[str] = "appointment.rescheduled"


@dataclass(frozen=True)
class AppointmentConfirmed(AppointmentEvent):
    """The store confirmed an appointment."""

    code: ClassVar[str] = "appointment.confirmed"


@dataclass(frozen=True)
class AppointmentArrived(AppointmentEvent):
    """The customer arrived (到店); waiting time counts from here."""

    code: ClassVar[str] = "appointment.arrived"


@dataclass(frozen=True)
class AppointmentStarted(AppointmentEvent):
    """Work on the appointment started (in service)."""

    code: ClassVar[str] = "appointment.started"


@dataclass(frozen=True)
class AppointmentCompleted(AppointmentEvent):
    """The appointment is done."""

    code: ClassVar[str] = "appointment.completed"


@dataclass(frozen=True)
class AppointmentNoShow(AppointmentEvent):
    """The customer did not come."""

    code: ClassVar[str] = "appointment.no_show"


@dataclass(frozen=True)
class AppointmentCancelled(AppointmentEvent):
    """The appointment was cancelled (by staff or by the customer through the manage link)."""

    code: ClassVar[str] = "appointment.cancelled"


@dataclass(frozen=True)
class SurveyAnswered(Event):
    """A customer answered a satisfaction survey (`response`: its score, comment, store); `low` when the score is at
    or below the survey's threshold (a follow-up task for the manager was created: `response.escalation_task_id`)."""

    response: Any
    customer: Any
    low: bool = False


@dataclass(frozen=True)
class KpiThresholdCrossed(Event):
    """A KPI crossed a threshold a tenant admin set (`threshold`: its KPI code, direction, value); `value` is the
    KPI's value that crossed it. Heard once per crossing."""

    threshold: Any
    value: Any


@dataclass(frozen=True)
class LeadEvent(Event):
    """Something happened to a lead (storecrm.leads); `code` names it for webhooks, rules and plugins
    ("lead.captured" …). Subscribers match this base class or one of the subclasses below."""

    lead: Any
    code: ClassVar[str] = "lead.changed"


@dataclass(frozen=True)
class LeadCaptured(LeadEvent):
    """A new lead came in (public form, API, signed webhook, import or staff). A repeat enquiry of an open lead is
    `LeadEnquiryRepeated` instead."""

    code: ClassVar[str] = "lead.captured"


@dataclass(frozen=True)
class LeadEnquiryRepeated(LeadEvent):
    """The mobile of an open lead asked again: the enquiry was added to the lead's history (One-ID)."""

    code: ClassVar[str] = "lead.enquiry_repeated"


@dataclass(frozen=True)
class LeadAssigned(LeadEvent):
    """The lead got an owner (by an assignment rule, the fallback or by hand)."""

    code: ClassVar[str] = "lead.assigned"


@dataclass(frozen=True)
class LeadContacted(LeadEvent):
    """The first contact with the lead was made (its first-contact clock stopped)."""

    code: ClassVar[str] = "lead.contacted"


@dataclass(frozen=True)
class LeadQualified(LeadEvent):
    """The lead was qualified (a real buyer)."""

    code: ClassVar[str] = "lead.qualified"


@dataclass(frozen=True)
class LeadConverted(LeadEvent):
    """The lead was won and converted into (or linked to) a customer (`lead.customer_id`)."""

    code: ClassVar[str] = "lead.converted"


@dataclass(frozen=True)
class LeadLost(LeadEvent):
    """The lead was lost (`lead.lost_reason`)."""

    code: ClassVar[str] = "lead.lost"


@dataclass(frozen=True)
class LeadFirstContactOverdue(LeadEvent):
    """Nobody contacted the lead before its first-contact deadline: it was escalated."""

    code: ClassVar[str] = "lead.first_contact_overdue"


Subscriber = Callable[[Event], None]


def init_app(app, subscribers: tuple[Subscriber, ...]) -> None:
    """Give the application its subscribers, in the order they hear every event."""
    app.extensions[EXTENSION] = tuple(subscribers)


def emit(event: Event) -> None:
    """Tell every subscriber that `event` happened, now, inside the current tenant and transaction."""
    if not isinstance(event, Event):
        raise TypeError(f"emit() takes an Event, not {type(event).__name__}")
    try:
        subscribers = current_app.extensions[EXTENSION]
    except KeyError:
        raise RuntimeError("events have no subscribers: the application was not built by create_app()") from None
    for subscriber in subscribers:
        subscriber(event)
