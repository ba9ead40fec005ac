"""The core's KPIs on customers and tasks, registered through `register_kpis` like any plugin's (core_plugin.py).

Each is one SELECT of the records it counts (see engine.py); the definitions below are what staff read.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select

from ..activities.models import INTERACTION_KINDS, Interaction, Task
from ..customers.models import Customer
from ..hooks.contrib import Kpi
from ..stores.models import Store
from .engine import case_bool, statement_cacheable

DORMANT_DAYS = 180
MANAGERS = ("owner", "admin", "manager")

CHANNELS = {"call": _l("Call"), "visit": _l("Visit"), "message": _l("Message"), "note": _l("Note")}
assert set(CHANNELS) == set(INTERACTION_KINDS)

CUSTOMER_COLUMNS = {"id": _l("ID"), "name": _l("Name"), "store_id": _l("Store"), "at": _l("Date")}


def _customers(scope):
    """Customers not deleted; with the store's name for the drill-down and breakdowns (`scope.details`). The value
    alone needs no join: every customer has a store (store_id NOT NULL, a foreign key), so the rows are the same."""
    query = select(Customer.id.label("id"), Customer.name.label("name"), Customer.store_id.label("store_id"))
    if scope.details:
        query = query.add_columns(Store.name.label("store_id_name")).join(
            Store, and_(Store.tenant_id == Customer.tenant_id, Store.id == Customer.store_id))
    return query.where(Customer.deleted_at.is_(None))


@statement_cacheable
def new_customers(scope):
    query = _customers(scope).add_columns(Customer.created_at.label("at")).where(
        Customer.created_at >= scope.start, Customer.created_at < scope.end, scope.stores(Customer.store_id))
    if scope.staff_id is not None:
        query = query.where(Customer.owner_id == scope.staff_id)
    if scope.channel is not None:
        query = query.where(Customer.source == scope.channel)
    return query


@statement_cacheable
def active_customers(scope):
    """Customers with at least one interaction (call, visit, message, note) in the period."""
    seen = [Interaction.customer_id == Customer.id, Interaction.occurred_at >= scope.start,
            Interaction.occurred_at < scope.end]
    if scope.staff_id is not None:
        seen.append(Interaction.user_id == scope.staff_id)
    if scope.channel is not None:
        seen.append(Interaction.kind == scope.channel)
    query = _customers(scope).where(scope.stores(Customer.store_id), exists(select(Interaction.id).where(*seen)))
    if scope.details:  # the last contact, for the drill-down
        last = select(func.max(Interaction.occurred_at)).where(*seen).correlate(Customer).scalar_subquery()
        query = query.add_columns(last.label("at"))
    return query


@statement_cacheable
def dormant_customers(scope):
    """Customers known for DORMANT_DAYS or more at the end of the period with no interaction in the DORMANT_DAYS
    before it."""
    as_of = scope.as_of
    cutoff = as_of - timedelta(days=DORMANT_DAYS)
    recent = select(Interaction.id).where(Interaction.customer_id == Customer.id, Interaction.occurred_at >= cutoff,
                                          Interaction.occurred_at < as_of)
    query = _customers(scope).add_columns(Customer.created_at.label("at")).where(
        scope.stores(Customer.store_id), Customer.created_at < cutoff, ~exists(recent))
    if scope.staff_id is not None:
        query = query.where(Customer.owner_id == scope.staff_id)
    return query


def _tasks(scope):
    """Tasks, with their customer's name and store (and the store's name) for the drill-down (`scope.details`). The
    value alone joins the customer only when the viewer's stores or the store filter need its store: the joins are
    outer joins on a key, so they never add or drop a task."""
    query = select(Task.id.label("id"), Task.title.label("title"), Task.assignee_id.label("assignee_id"),
                   Task.due_at.label("at"), Task.status.label("status"))
    needs_customer = scope.details or not scope.user.sees_all_stores or scope.store_id is not None
    if needs_customer:
        query = query.add_columns(Customer.name.label("customer"), Customer.store_id.label("store_id")).outerjoin(
            Customer, and_(Customer.tenant_id == Task.tenant_id, Customer.id == Task.customer_id))
    if scope.details:
        query = query.add_columns(Store.name.label("store_id_name")).outerjoin(
            Store, and_(Store.tenant_id == Customer.tenant_id, Store.id == Customer.store_id))
    if not scope.user.sees_all_stores:
        # store staff: tasks about customers of their stores, and their own
        query = query.where(or_(scope.viewer_stores(Customer.store_id), Task.assignee_id == scope.user.id))
    if scope.store_id is not None:
        query = query.where(Customer.store_id == scope.store_id)
    if scope.staff_id is not None:
        query = query.where(Task.assignee_id == scope.staff_id)
    return query


@statement_cacheable
def follow_ups(scope):
    """Tasks about a customer falling due in the period (cancelled ones left out); `done`: completed."""
    return _tasks(scope).add_columns(case_bool(Task.status == "done").label("done")).where(
        Task.customer_id.is_not(None), Task.status != "cancelled", Task.due_at >= scope.start, Task.due_at < scope.end)


@statement_cacheable
def overdue_tasks(scope):
    """Tasks past due at the end of the period (or now): still open, or done only after that moment."""
    as_of = scope.as_of
    return _tasks(scope).where(Task.due_at < as_of, or_(
        Task.status == "open", and_(Task.status == "done", Task.done_at > as_of)))


TASK_COLUMNS = {"id": _l("ID"), "title": _l("Title"), "customer": _l("Customer"), "store_id": _l("Store"),
                "at": _l("Due"), "status": _l("Status")}
BY_STORE = {"store_id": _l("Store")}


def kpis() -> list[Kpi]:
    return [
        Kpi("customers.new", _l("New customers"),
            _l("Customers created in the period (tenant time zone), not deleted. Channel: the customer's source."),
            permission="customers.view", records=new_customers, filters=("store", "staff", "channel"),
            columns=CUSTOMER_COLUMNS, group_by=BY_STORE, link=lambda r: f"/customers/{r['id']}"),
        Kpi("customers.active", _l("Active customers"),
            _l("Customers with at least one call, visit, message or note in the period. Staff: who logged it; "
               "channel: its kind."),
            permission="customers.view", records=active_customers, filters=("store", "staff", "channel"),
            channels=CHANNELS, columns=CUSTOMER_COLUMNS, time_column=None, group_by=BY_STORE,
            link=lambda r: f"/customers/{r['id']}"),
        Kpi("customers.dormant", _l("Dormant customers"),
            _l("Customers known for at least 180 days with no call, visit, message or note in the 180 days before "
               "the end of the period (or today)."),
            permission="customers.view", records=dormant_customers, filters=("store", "staff"),
            columns=CUSTOMER_COLUMNS, time_column=None, group_by=BY_STORE, higher_is_better=False,
            roles=MANAGERS, link=lambda r: f"/customers/{r['id']}"),
        Kpi("tasks.follow_up_completion", _l("Follow-up completion"),
            _l("Of the tasks about a customer falling due in the period (cancelled ones left out), the share "
               "marked done. Staff: the assignee."),
            permission="customers.view", records=follow_ups, measure="rate:done", unit="%",
            filters=("store", "staff"), columns={**TASK_COLUMNS, "done": _l("Done")}, group_by=BY_STORE),
        Kpi("tasks.overdue", _l("Overdue tasks"),
            _l("Tasks past their due time at the end of the period (or now) and not done by then."),
            permission="customers.view", records=overdue_tasks, filters=("store", "staff"), columns=TASK_COLUMNS,
            time_column=None, group_by=BY_STORE, higher_is_better=False),
    ]
