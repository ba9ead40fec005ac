"""First-enable seeding (tiers, coupon templates, automation rules), the rule action, periodic jobs, KPIs, demo."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Numeric, case, cast, func, literal, or_, select

from storecrm.sdk import (AUTOMATION, Customer, CustomerPanel, Kpi, Store, db, emit_event, get_scoped,
                          save_rule, tenant_today)

from . import campaigns, complaints, coupons, members, points, purchases, remedies, tiers, wallet
from .models import Complaint, Coupon, Member, PointBatch, Purchase, Tier

TIERS = (("NORMAL", "普卡会员", 0, None, None, "1.00", "0", "BIRTHDAY"),
         ("SILVER", "银卡会员", 1, "2000", 2000, "1.20", "0", "BIRTHDAY"),
         ("GOLD", "金卡会员", 2, "8000", 8000, "1.50", "5", "BIRTHDAY_VIP"),
         ("DIAMOND", "钻石会员", 3, "20000", 20000, "2.00", "10", "BIRTHDAY_VIP"))
TIER_BIRTHDAY = "@tier_birthday"   # the rule's template: "the birthday gift of the member's tier"
TEMPLATES = ({"code": "WELCOME", "name": "新会员礼券 满100减20", "kind": "amount", "value": "20", "min_spend": "100", "valid_days": 30},
             {"code": "BIRTHDAY", "name": "生日礼券 满100减50", "kind": "amount", "value": "50", "min_spend": "100", "valid_days": 30},
             {"code": "WINBACK", "name": "回归专享 9折", "kind": "percent", "value": "10", "min_spend": "0", "valid_days": 14},
             {"code": "GIFT", "name": "到店礼品一份", "kind": "gift", "value": "0", "min_spend": "0", "valid_days": 30},
             {"code": "BIRTHDAY_VIP", "name": "贵宾生日礼券 满200减100", "kind": "amount", "value": "100", "min_spend": "200",
              "valid_days": 30})


def seed_defaults():
    """Called once, on the tenant's first enable: a re-enable never re-seeds (what the admin changed stays)."""
    for code, name, rank, spend, pts, mult, disc, gift in TIERS:
        db.session.add(Tier(code=code, name=name, rank=rank, min_spend=Decimal(spend) if spend else None,
                            min_points=pts, points_multiplier=Decimal(mult), discount_pct=Decimal(disc),
                            birthday_coupon=gift))
    for template in TEMPLATES:
        coupons.save_template(template)
    db.session.flush()
    issue = lambda template: {"type": "plugin", "action": "retail.issue_coupon", "params": {"template": template}}  # noqa: E731
    save_rule({"name": _("Members: birthday coupon"), "entity": "customer", "enabled": True,
               "trigger": {"type": "date", "field": "birthday", "offset_days": 0, "annual": True},
               "actions": [issue(TIER_BIRTHDAY)]})
    save_rule({"name": _("Members: win back after 90 days without a purchase"), "entity": "customer", "enabled": True,
               "trigger": {"type": "date", "field": "last_purchase_at", "offset_days": 90},
               "actions": [issue("WINBACK")]})
    save_rule({"name": _("Members: points expiring in 30 days"), "entity": "customer", "enabled": True,
               "trigger": {"type": "event", "event": "retail.points_expiring"},
               "actions": [{"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                            "body": _("{name}, some of your member points expire in 30 days. Use them at any of our stores.")}]})
    save_rule({"name": _("Members: welcome coupon"), "entity": "customer", "enabled": True,
               "trigger": {"type": "event", "event": "retail.joined"},
               "actions": [issue("WELCOME")]})


def issue_coupon_action(record, params):
    """The rule action `retail.issue_coupon` {template}: the record's customer (a customer, or any record with a
    `customer_id`, so other verticals' rules can give coupons) gets one; a customer who is not a member yet is
    enrolled first."""
    customer = record if isinstance(record, Customer) else get_scoped(Customer, getattr(record, "customer_id", None))
    if customer is None:
        raise ValueError("the record has no customer")
    member = members.member_of_customer(customer.id) or members.enrol(customer, source="rule",
                                                                      store_id=customer.store_id, consent=False)
    template = params["template"]
    if template == TIER_BIRTHDAY:      # each tier has its own birthday gift (a benefit of the tier)
        tier = tiers.tier_named(member.tier_code)
        template = (tier.birthday_coupon if tier is not None else None) or "BIRTHDAY"
    coupon = coupons.issue(member, template, issued_by="rule")
    return f"coupon {coupon.code}"


@dataclass(frozen=True)
class PointsExpiring(members.MemberEvent):
    """Some of a member's points expire in 30 days (the daily job): the seeded rule texts them."""


def daily_points_job(today=None):
    """Expire what is due (the tenant's calendar), then tell members whose points expire in 30 days."""
    today = today or tenant_today()
    points.expire_due(today)
    soon = today + timedelta(days=30)
    ids = db.session.scalars(select(PointBatch.member_id).where(PointBatch.remaining > 0,
                                                                PointBatch.expires_on == soon).distinct()).all()
    for member_id in ids:
        member = members.get_member(member_id)
        customer = members.customer_of(member)
        if customer is not None:
            emit_event(PointsExpiring("customer", customer, "retail.points_expiring",
                                      {"expires_on": [None, soon.isoformat()]}))
    return len(ids)


def daily_tier_job(today=None):
    return tiers.evaluate(today)


# --- KPIs (the reports engine: one SELECT per KPI, the value and the drill-down are the same rows) ----------------

BY_STORE = {"store_id": _l("Store")}


def _members(scope):
    return (select(Member.id.label("id"), Member.member_no.label("member_no"), Member.store_id.label("store_id"),
                   Member.joined_at.label("at"))
            .where(Member.joined_at < scope.end, scope.stores(Member.store_id)))


def _active_members(scope):
    bought = (select(Purchase.member_id).where(Purchase.at >= scope.start, Purchase.at < scope.end,
                                               scope.stores(Purchase.store_id)).distinct().subquery())
    return (select(Member.id.label("id"), Member.member_no.label("member_no"), Member.store_id.label("store_id"))
            .join(bought, bought.c.member_id == Member.id))


def _coupons(scope):
    return (select(Coupon.id.label("id"), Coupon.code.label("code"), Coupon.issued_at.label("at"),
                   Coupon.redeemed_at.is_not(None).label("redeemed"))
            .where(Coupon.issued_at >= scope.start, Coupon.issued_at < scope.end))


def _points_liability(scope):
    return (select(Member.id.label("id"), Member.member_no.label("member_no"), Member.store_id.label("store_id"),
                   Member.points_balance.label("points"))
            .where(Member.points_balance > 0, scope.stores(Member.store_id)))


def _stored_value_liability(scope):
    return (select(Member.id.label("id"), Member.member_no.label("member_no"), Member.store_id.label("store_id"),
                   Member.stored_balance.label("balance"))
            .where(Member.stored_balance > 0, scope.stores(Member.store_id)))


def _kind(*extra):
    """The complaint's category and its words in the reader's language (the engine labels a breakdown by
    `<column>_name`), with the store's."""
    return (Complaint.id.label("id"), Complaint.kind.label("kind"),
            case({code: str(label) for code, label in complaints.KINDS.items()}, value=Complaint.kind).label("kind_name"),
            Complaint.store_id.label("store_id"), Store.name.label("store_id_name"), *extra)


def _with_store(query):
    return query.join(Store, (Store.tenant_id == Complaint.tenant_id) & (Store.id == Complaint.store_id))


def _complaints(scope):
    """Complaints received in the period; `per_100_orders` weighs each by 100 / the till orders of the same period
    and stores, so their sum is complaints per 100 orders — per category when grouped by kind — and the drill-down
    lists exactly the complaints counted."""
    orders = (select(func.count()).select_from(Purchase)
              .where(Purchase.at >= scope.start, Purchase.at < scope.end, scope.stores(Purchase.store_id))
              .scalar_subquery())
    return (_with_store(select(*_kind(Complaint.created_at.label("at"),
                          (cast(literal(100), Numeric) / func.nullif(orders, 0)).label("per_100_orders"),
                          or_(Complaint.overdue, Complaint.resolution_overdue).label("breached"))))
            .where(Complaint.created_at >= scope.start, Complaint.created_at < scope.end,
                   scope.stores(Complaint.store_id)))


def _responded(scope):
    return (_with_store(select(*_kind(Complaint.first_responded_at.label("at"),
                                      Complaint.response_minutes.label("minutes"))))
            .where(Complaint.first_responded_at >= scope.start, Complaint.first_responded_at < scope.end,
                   Complaint.response_minutes.is_not(None), scope.stores(Complaint.store_id)))


def _resolved(scope):
    return (_with_store(select(*_kind(Complaint.resolved_at.label("at"),
                                      func.round(cast(Complaint.resolution_minutes, Numeric) / 60, 2).label("hours"))))
            .where(Complaint.resolved_at >= scope.start, Complaint.resolved_at < scope.end,
                   Complaint.resolution_minutes.is_not(None), scope.stores(Complaint.store_id)))


def _rated(scope):
    return (_with_store(select(*_kind(Complaint.resolved_at.label("at"), Complaint.satisfaction.label("score"))))
            .where(Complaint.resolved_at >= scope.start, Complaint.resolved_at < scope.end,
                   Complaint.satisfaction.is_not(None), scope.stores(Complaint.store_id)))


def complaint_kpis():
    by = {"kind": _l("Category"), "store_id": _l("Store")}
    cols = {"id": _l("ID"), "kind_name": _l("Category"), "store_id": _l("Store")}
    link = lambda row: f"/retail/complaints/{row['id']}"  # noqa: E731
    common = {"permission": "retail.view", "filters": ("store",), "group_by": by, "link": link,
              "roles": ("owner", "admin", "manager")}
    return [
        Kpi("retail.complaints_per_100_orders", _l("Complaints per 100 orders"),
            _l("Complaints received in the period per 100 till orders of the same period and stores; by category "
               "when broken down."), records=_complaints, measure="sum:per_100_orders",
            columns={**cols, "at": _l("Received on")}, higher_is_better=False, **common),
        Kpi("retail.complaint_first_response", _l("Complaint first-response time"),
            _l("Average minutes from intake to the first response, counted in the store's opening hours (closures "
               "skipped), over the complaints first answered in the period."), records=_responded,
            measure="avg:minutes", columns={**cols, "minutes": _l("Minutes (store hours)")},
            higher_is_better=False, **common),
        Kpi("retail.complaint_sla_breach", _l("Complaint SLA breach rate"),
            _l("Of the complaints received in the period, the share that missed the first-response or the "
               "resolution target."), records=_complaints, measure="rate:breached", unit="%",
            columns={**cols, "breached": _l("Missed a target")}, higher_is_better=False, **common),
        Kpi("retail.complaint_resolution_time", _l("Complaint resolution time"),
            _l("Average store hours from intake to resolution, less the time spent waiting for the customer, over "
               "the complaints resolved in the period."), records=_resolved, measure="avg:hours",
            columns={**cols, "hours": _l("Hours (store hours)")}, higher_is_better=False, **common),
        Kpi("retail.complaint_satisfaction", _l("Satisfaction after a complaint"),
            _l("Average score (1-5) customers gave the resolution of complaints resolved in the period."),
            records=_rated, measure="avg:score", unit="score", columns={**cols, "score": _l("Score")}, **common),
    ]


def kpis():
    member_cols = {"id": _l("ID"), "member_no": _l("Member number"), "store_id": _l("Store")}
    return [
        Kpi("retail.members", _l("Members"), _l("Members who had joined by the end of the period."),
            permission="retail.view", records=_members, filters=("store",), columns=member_cols, group_by=BY_STORE),
        Kpi("retail.active_members", _l("Active members"), _l("Members with at least one purchase in the period."),
            permission="retail.view", records=_active_members, filters=("store",), columns=member_cols,
            time_column=None, group_by=BY_STORE),
        Kpi("retail.coupon_redemption", _l("Coupon redemption rate"),
            _l("Of the coupons issued in the period, the share already redeemed."),
            permission="retail.view", records=_coupons, measure="rate:redeemed", unit="%",
            columns={"id": _l("ID"), "code": _l("Coupon code"), "redeemed": _l("Redeemed")}),
        Kpi("retail.points_liability", _l("Points liability"),
            _l("Points members hold now (not yet redeemed or expired), summed."),
            permission="retail.view", records=_points_liability, measure="sum:points", filters=("store",),
            columns={**member_cols, "points": _l("Points")}, time_column=None, group_by=BY_STORE,
            higher_is_better=False),
        Kpi("retail.stored_value_liability", _l("Stored-value liability"),
            _l("Money held on member cards now (top-ups and bonus not yet spent or refunded)."),
            permission="retail.view", records=_stored_value_liability, measure="sum:balance", unit="money",
            filters=("store",), columns={**member_cols, "balance": _l("Balance")}, time_column=None,
            group_by=BY_STORE, higher_is_better=False),
    ] + complaint_kpis()


def customer_panel():
    def context(customer):
        member = members.member_of_customer(customer.id)
        if member is None:
            return {"member": None}
        return {"member": member, "tier": tiers.tier_named(member.tier_code),
                "coupons": coupons.coupons_of(member.id)[:5], "purchases": purchases.purchases_of(member.id, 5)}
    return CustomerPanel("retail.member", _l("Membership"), "retail/panel.html", context, "retail.view", 15)


# --- demo tenant ------------------------------------------------------------------------------------------------

DEMO_PEOPLE = ("王丽", "张伟", "李娜", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷")
DEMO_GOODS = (("纯棉T恤", "99.00"), ("牛仔裤", "299.00"), ("运动鞋", "459.00"), ("羊毛围巾", "189.00"),
              ("保温杯", "129.00"), ("双肩包", "269.00"))


def load_demo(ctx):
    """A Shanghai chain of three stores: members registered at tills and by QR, purchases, a top-up, coupons."""
    user = ctx.users["manager"]
    for n, name in enumerate(DEMO_PEOPLE):
        store = ctx.stores[n % len(ctx.stores)]
        birthday = date(1980 + n % 20, n % 12 + 1, (n * 7) % 28 + 1)
        member = members.register(AUTOMATION, {"name": name, "mobile": f"1391234{n:04d}", "store_id": store.id,
                                               "birthday": birthday.isoformat(), "consent": True},
                                  source="till" if n % 3 else "qr")
        if n % 4 == 0:
            wallet.top_up(member, {"amount": "1000", "method": "wechat_pay", "store_id": store.id})
        for _k in range(1 + n % 2):
            goods = ctx.rng.sample(DEMO_GOODS, ctx.rng.randrange(1, 3))
            purchases.record_purchase(AUTOMATION, {
                "member_no": member.member_no, "store_id": store.id, "staff_id": user.id,
                "lines": [{"description": g, "unit_price": p, "quantity": 1} for g, p in goods],
                "method": ctx.rng.choice(["wechat_pay", "alipay", "cash"]),
                "stored_value": "50" if n % 4 == 0 else "0"})              # every good costs more than 50
    campaign = campaigns.create({"name": "会员日回馈", "template": "WINBACK", "control_pct": 20, "window_days": 30,
                                 "message": "会员日全场满额有礼，凭券9折，欢迎到店。"})
    campaigns.launch(campaign, rng=ctx.rng)
    first = members.member_of_customer(members.recent_members()[-1][0].customer_id)
    complaints.intake(AUTOMATION, {"customer_id": first.customer_id, "store_id": ctx.stores[0].id, "kind": "quality",
                                   "description": "上周买的羊毛围巾洗后掉色，希望退换。"}, source="member")
    # one handled end to end, so the complaint KPIs and a remedy show on a fresh demo
    second = members.member_of_customer(members.recent_members()[-2][0].customer_id)
    handled = complaints.intake(AUTOMATION, {"customer_id": second.customer_id, "store_id": ctx.stores[1].id,
                                             "kind": "attitude", "description": "结账时店员态度冷淡。"})
    complaints.respond(user, handled, "已致电道歉，并约定到店当面沟通。")
    remedies.issue(user, handled, {"kind": "coupon", "template": "GIFT", "note": "致歉礼品"})
    complaints.resolve(user, handled, "店长当面致歉并赠送礼品，已加强店员培训。")
    complaints.rate(AUTOMATION, handled, 4)
