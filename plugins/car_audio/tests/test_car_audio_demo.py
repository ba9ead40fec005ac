"""The car-audio demo tenant: created once by `flask demo load`, jobs in every state, answered surveys, and the
dashboards have something to show."""
from sqlalchemy import text


def test_the_car_audio_demo_tenant_has_jobs_in_every_state_and_answered_surveys(app, system_db, login):
    from storecrm.demo.verticals import load_vertical_demos
    with app.app_context():
        assert ("car-audio", True) in load_vertical_demos()
    with system_db.connect() as conn:
        tenant = conn.execute(text("SELECT id FROM tenants WHERE slug = 'car-audio'")).scalar()
        states = set(conn.execute(text("SELECT DISTINCT status FROM car_audio_jobs WHERE tenant_id = :t"),
                                  {"t": tenant}).scalars())
        answered = conn.execute(text("SELECT count(*) FROM survey_responses WHERE tenant_id = :t"),
                                {"t": tenant}).scalar()
        reasons = conn.execute(text("SELECT count(*) FROM car_audio_reasons WHERE tenant_id = :t"),
                               {"t": tenant}).scalar()
    assert states == {"new", "booked", "checked_in", "installing", "qc", "acceptance", "accepted", "delivered",
                      "cancelled"}
    assert answered >= 5 and reasons >= 2
