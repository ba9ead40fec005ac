"""A car's install from the package quote to the follow-up, through the services, in two tenants."""
from datetime import timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from car_audio_testkit import PNG, SIGNATURE, car, job_at, shop, tomorrow_at, user
from storecrm.sdk import (Asset, CatalogItem, Survey, SurveyInvitation, Task, answer_invitation, db, find_item_by_sku,
                          get_scoped)

pytestmark = pytest.mark.storecrm_plugins("car_audio")


def test_first_enable_seeds_catalog_packages_survey_rules_and_fields(make_tenant, in_tenant):
    alpha = make_tenant("alpha")
    with in_tenant(alpha):
        packages = {i.sku: i for i in db.session.scalars(select(CatalogItem).where(CatalogItem.kind == "package"))}
        assert set(packages) == {"CA-PKG-ENTRY", "CA-PKG-MID", "CA-PKG-HIGH"}
        assert db.session.scalar(select(Survey).where(Survey.name == "汽车音响施工满意度")) is not None
        from storecrm.sdk import workflow_definition
        assert workflow_definition("quote") is not None
        rules = db.session.execute(select(func.count()).select_from(db.metadata.tables["rules"])).scalar()
        assert rules == 3


def test_install_job_from_quote_to_follow_up(two_tenants, in_tenant):
    alpha, beta = two_tenants
    from storecrm.plugins.car_audio import services
    from storecrm.plugins.car_audio.models import Component, InstallJob, JobStep
    with in_tenant(alpha):
        shop(alpha)
        job = job_at(alpha, "qc")
        owner, tech = user(alpha, "owner"), user(alpha, "technician")
        # QC sends it back once, with a reason; then it passes
        with pytest.raises(ValidationError) as err:
            services.qc_rework(owner, job, "  ")
        assert "reason" in err.value.messages
        services.qc_rework(owner, job, "左前高音有杂音")
        assert job.status == "installing" and job.rework_count == 1
        # add-on work found while redoing it: quoted, and QC waits for the customer's signature on the link
        from storecrm.sdk import accept_quote, send_quote, submit_quote_for_approval
        addon = services.create_addon_quote(tech, job, {"item_id": find_item_by_sku("CA-WIRE-KIT").id,
                                                        "quantity": 1, "labour_hours": 1, "labour_rate": 200,
                                                        "notes": "左前门板加装隔音棉"})
        with pytest.raises(ValidationError) as err:
            services.submit_for_qc(tech, job)
        assert "addon" in err.value.messages
        submit_quote_for_approval(owner, addon)  # under 5,000: no approver needed
        send_quote(owner, addon)
        addon_order = accept_quote(addon, {"name": "王先生", "signature": SIGNATURE})
        v2 = services.record_tuning(tech, job, {"eq": [{"channel": "front_left", "freq_hz": 250, "gain_db": -4.5}],
                                                "channels": {"front_left": {"delay_ms": 1.5, "phase": 180}}})
        assert v2.version == 2
        v1 = [t for t in services.tunings_of(job.audio_system_id) if t.version == 1][0]
        changed = [r for r in services.compare_tunings(v1, v2) if r["changed"]]
        assert {r["section"] for r in changed} >= {"eq", "delay", "phase"}
        services.submit_for_qc(tech, job)
        services.qc_pass(owner, job)
        services.accept(tech, job, {"name": "王先生", "signature": SIGNATURE})
        with pytest.raises(ValidationError) as err:
            services.deliver(owner, job)
        assert "payment" in err.value.messages  # final payment first
        from storecrm.sdk import get_order, record_payment
        order = get_order(owner, job.order_id)
        record_payment(owner, order, {"method": "alipay", "amount": order.balance_due})
        with pytest.raises(ValidationError) as err:
            services.deliver(owner, job)
        assert "payment" in err.value.messages  # the add-on is not paid yet
        record_payment(owner, addon_order, {"method": "cash", "amount": addon_order.balance_due})
        services.deliver(owner, job)
        assert job.status == "delivered" and job.follow_up_due_at is not None
        system = get_scoped(Asset, job.audio_system_id)
        assert system.type == "audio_system" and system.installed_on is not None
        serials = {c.serial for c in db.session.scalars(select(Component).where(Component.audio_system_id == system.id))}
        assert serials == {"FOCAL-0001", "HELIX-0001"}
        assert db.session.scalar(select(Task).where(Task.related_type == "car_audio_job", Task.related_id == job.id))
        invitation = get_scoped(SurveyInvitation, job.survey_invitation_id)
        assert invitation.related_type == "car_audio_job"
        response = answer_invitation(invitation, {"timeliness": 5, "expertise": 2, "attitude": 4, "sound": 3}, "调音一般")
        assert response.low
        assert job.complaint_task_id == response.escalation_task_id
        services.record_follow_up(owner, job, {"notes": "客户希望再调一次", "reasons": ["tuning"]})
        table, _brands = services.model_brand_pivot()
        assert table["宝马 5系"] == {"Focal": 1, "Helix": 1}
        assert services.cross_sell() == []  # a Helix DSP and no amplifier: nothing to cross-sell
        # a warranty return: the faulty speaker swapped for a new serial, a zero-price order, a task to return it
        speaker = next(c for c in services.components_of(job.audio_system_id) if c.serial == "FOCAL-0001")
        with pytest.raises(ValidationError) as err:
            services.warranty_swap(owner, speaker, {"serial": "NOPE-1", "reason": "左前高音破音"})
        assert "serial" in err.value.messages
        new = services.warranty_swap(owner, speaker, {"serial": "FOCAL-0002", "reason": "左前高音破音"})
        assert speaker.removed_at is not None and new.warranty_until == speaker.warranty_until
        assert {c.serial for c in services.components_of(job.audio_system_id)} == {"FOCAL-0002", "HELIX-0001"}
        from storecrm.sdk import sales_documents_of
        assert [d.total for d in sales_documents_of("car_audio_warranty", speaker.id)] == [0]
        assert db.session.scalar(select(Task).where(Task.related_type == "car_audio_component",
                                                    Task.related_id == speaker.id))
        # warranty: one SMS per component 30 days before its end, once
        ends = min(c.warranty_until for c in services.components_of(job.audio_system_id))
        assert services.warranty_reminders(today=ends - timedelta(days=10)) == 1
        assert services.warranty_reminders(today=ends - timedelta(days=9)) == 0
        # an entry package delivered more than two years ago and a call this week: an upgrade candidate
        assert services.upgrade_candidates(owner) == []
        job.package_tier, job.delivered_on = "entry", job.delivered_on - timedelta(days=800)
        from storecrm.sdk import Customer, log_interaction
        log_interaction(owner, get_scoped(Customer, job.customer_id), {"kind": "call", "body": "问DSP升级"})
        assert [c.id for c, _since in services.upgrade_candidates(owner)] == [job.customer_id]
        steps = [s.to_status for s in db.session.scalars(select(JobStep).where(JobStep.job_id == job.id)
                                                         .order_by(JobStep.id))]
        assert steps == ["new", "booked", "checked_in", "installing", "qc", "installing", "qc", "acceptance",
                         "accepted", "delivered"]
        job_id = job.id
    with in_tenant(beta):
        assert get_scoped(InstallJob, job_id) is None


def test_bad_input_names_the_field_and_writes_nothing(make_tenant, in_tenant):
    alpha = make_tenant("alpha")
    from storecrm.plugins.car_audio import services
    with in_tenant(alpha):
        shop(alpha)
        job = job_at(alpha, "booked")
        tech = user(alpha, "technician")
        with pytest.raises(ValidationError) as err:
            services.check_in(tech, job, {"scratches": False, "warning_lights": False, "electrics": False,
                                          "notes": "", "signed_name": "王", "signature": SIGNATURE})
        assert "photo_before" in err.value.messages
        services.add_photo(tech, job, "before", "b.png", PNG)
        services.check_in(tech, job, {"scratches": False, "warning_lights": False, "electrics": False,
                                      "notes": "", "signed_name": "王", "signature": SIGNATURE})
        services.start_install(tech, job)
        with pytest.raises(ValidationError) as err:
            services.submit_for_qc(tech, job)
        assert {"photos", "checklist", "components", "tuning"} <= set(err.value.messages)
        with pytest.raises(ValidationError) as err:
            services.install_component(tech, job, {"item_id": find_item_by_sku("CA-SPK-FOCAL-165").id,
                                                   "kind": "speaker", "serial": None})
        assert "serial" in err.value.messages
        with pytest.raises(ValidationError) as err:
            services.install_component(tech, job, {"item_id": find_item_by_sku("CA-SPK-FOCAL-165").id,
                                                   "kind": "speaker", "serial": "NOPE-999"})
        assert "serial" in err.value.messages or "item_id" in err.value.messages
        with pytest.raises(ValidationError) as err:
            services.record_tuning(tech, job, {"eq": [{"channel": "front_left", "freq_hz": 5, "gain_db": 40}]})
        assert "eq" in err.value.messages


def test_booking_ranks_the_dsp_technician_and_refuses_a_taken_bay(make_tenant, in_tenant):
    alpha = make_tenant("alpha")
    from storecrm.plugins.car_audio import services
    with in_tenant(alpha):
        shop(alpha)
        first = job_at(alpha, "booked")
        second = job_at(alpha, "new", vehicle=car(alpha, 2, name="2021 奥迪 A4L", brand="奥迪", model="A4L"))
        ranking = services.technicians_ranked(second)
        assert ranking[0].user_id == alpha.users["technician"]
        with pytest.raises(ValidationError):
            services.book_job(user(alpha, "owner"), second, {"starts_at": tomorrow_at(), "technician_id":
                                                             alpha.users["technician"], "bay_id": first.bay_id})
