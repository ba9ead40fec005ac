"""The rule preview an admin reads before switching a rule on: the records of the last 90 days and of the next 30
(which record on which day), and for each who the message would reach — marking who would be skipped (no consent
for the channel, no address, nobody in the role) or held by quiet hours, with the reason."""
from datetime import timedelta

from sqlalchemy import text


def _asset(session, customer_id, store_id, name, installed_on):
    from storecrm.assets.models import Asset

    asset = Asset(customer_id=customer_id, type="car", name=name, installed_on=installed_on, store_id=store_id,
                  attributes={})
    session.add(asset)
    session.flush()
    return asset


CHECK_UP = {"name": "Check-up reminder", "entity": "asset", "enabled": False, "run_hour": 22,
            "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
            "conditions": None,
            "actions": [{"type": "notify", "to": "customer", "channel": "sms", "body": "{name} 保养提醒"},
                        {"type": "notify", "to": "role:manager", "channel": "in_app", "subject": "Check-up", "body": "{name} due"}]}


def _world(two_tenants, in_tenant, system_db):
    """Alpha: one consenting customer in store one, one who never consented in store two (no manager there);
    quiet hours 21:00–08:00 and a rule run at 22:00. Beta: a car due in five days too."""
    from storecrm.customers.models import Customer
    from storecrm.rules.engine import local_today, save

    alpha, beta = two_tenants
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET settings = settings || '{\"quiet_hours\": \"21:00-08:00\"}'::jsonb "
                          "WHERE id = :t"), {"t": alpha.id})
    with in_tenant(alpha) as s:
        today = local_today()
        yes = s.get(Customer, (alpha.id, alpha.customers[0]))
        yes.name, yes.store_id, yes.consents = "王小明", alpha.stores[0], {"sms": {"granted": True, "source": "form"}}
        no = s.get(Customer, (alpha.id, alpha.customers[1]))
        no.name, no.store_id, no.consents = "李四", alpha.stores[1], {}
        ids = {
            "in_5": _asset(s, yes.id, alpha.stores[0], "Model Y", today - timedelta(days=360)).id,
            "in_12": _asset(s, no.id, alpha.stores[1], "汉 EV", today - timedelta(days=353)).id,
            "in_45": _asset(s, yes.id, alpha.stores[0], "far away", today - timedelta(days=320)).id,
            "ago_10": _asset(s, no.id, alpha.stores[1], "old Civic", today - timedelta(days=375)).id,
        }
        rule_id = save(None, CHECK_UP).id
    with in_tenant(beta) as s:
        ids["beta"] = _asset(s, beta.customers[0], beta.stores[0], "beta car", today - timedelta(days=360)).id
    return alpha, beta, ids, rule_id, today


def test_the_preview_forecasts_30_days_and_marks_skipped_and_held_recipients(two_tenants, in_tenant, system_db):
    from storecrm.rules import preview
    from storecrm.rules.models import Rule

    alpha, _beta, ids, rule_id, today = _world(two_tenants, in_tenant, system_db)
    with in_tenant(alpha) as s:
        result = preview.run(s.get(Rule, (alpha.id, rule_id)))
        assert [(r.id, day) for r, day, _people in result["forecast"]] == \
            [(ids["in_5"], today + timedelta(days=5)), (ids["in_12"], today + timedelta(days=12))]
        assert result["forecast_total"] == 2
        assert [(r.id, day) for r, day, _fired, _people in result["past"]] == \
            [(ids["ago_10"], today - timedelta(days=10))]
        people = {r.id: p for r, _day, p in result["forecast"]}
        # the consenting customer gets the text, held by quiet hours until 08:00; the store manager is told
        sms, manager = people[ids["in_5"]]
        assert (sms.name, sms.skipped) == ("王小明", None) and sms.held == "Quiet hours: sent at 8:00\u202fAM."
        assert (manager.name, manager.skipped) == ("alpha manager", None)
        # the customer who never consented is skipped, and store two has no manager to tell
        sms, manager = people[ids["in_12"]]
        assert (sms.name, sms.skipped) == ("李四", "No consent to marketing by SMS.")
        assert manager.skipped == "Nobody holds this role in the record's store."
        assert result["titles"][ids["in_5"]] == "Model Y"


def test_the_preview_page_and_api_show_the_forecast_and_the_reasons(two_tenants, in_tenant, system_db, login,
                                                                   api_token, app):
    alpha, beta, ids, rule_id, today = _world(two_tenants, in_tenant, system_db)
    page = login(alpha, "admin").get(f"/t/{alpha.slug}/automation/{rule_id}?preview=1").get_data(as_text=True)
    forecast = page[page.index('data-testid="forecast"'):]
    assert f'data-forecast-record="{ids["in_5"]}"' in forecast and f'data-forecast-record="{ids["in_12"]}"' in forecast
    assert f'data-forecast-record="{ids["in_45"]}"' not in page and f'data-forecast-record="{ids["beta"]}"' not in page
    assert f'data-day="{(today + timedelta(days=5)).isoformat()}"' in forecast
    assert "No consent to marketing by SMS." in page and "Quiet hours: sent at" in page
    with app.test_client() as client:
        body = client.get(f"/api/v1/rules/{rule_id}/preview", headers=api_token(alpha, "admin")).get_json()
        assert [row["record_id"] for row in body["forecast"]] == [ids["in_5"], ids["in_12"]]
        assert body["forecast"][1]["recipients"][0]["skipped"] == "No consent to marketing by SMS."
        assert client.get(f"/api/v1/rules/{rule_id}/preview", headers=api_token(beta, "admin")).status_code == 404


def test_event_rules_have_nothing_to_forecast_and_say_so(two_tenants, in_tenant, login):
    from storecrm.rules.engine import save
    from storecrm.rules import preview

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        rule = save(None, {"name": "Welcome", "entity": "customer", "enabled": False, "run_hour": 9,
                           "trigger": {"type": "event", "event": "created"}, "conditions": None,
                           "actions": [{"type": "notify", "to": "customer", "channel": "email", "subject": "Hi", "body": "hi"}]})
        result = preview.run(rule)
        assert result["forecast"] == [] and "no dates to forecast" in result["forecast_note"]
        rule_id = rule.id
    zh_page = login(alpha, "admin")
    zh_page.get(f"/t/{alpha.slug}/automation/{rule_id}?preview=1")  # renders without error
