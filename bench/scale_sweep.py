"""A rule sweep big enough to be killed in the middle, for bench/scale.py (run in the scale-out environment).

`seed N`: N customers of the demo tenant born today (tenant calendar) and an enabled birthday rule creating a task
for each; prints the rule id. `start`: queue the tenant's sweep now (as the hourly fan-out would). `again`: the next
hourly sweep, run now, for whatever a killed worker left."""
import sys

from sqlalchemy import select, text

from storecrm.app import create_app
from storecrm.extensions import db
from storecrm.rules import jobs
from storecrm.rules.engine import local_today
from storecrm.sdk import save_rule
from storecrm.stores.models import Store
from storecrm.tenancy.context import tenant_context
from storecrm.tenancy.resolution import find_tenant

TITLE = "扫描压测"

app = create_app()
with app.app_context(), tenant_context(find_tenant("demo")):
    if sys.argv[1] == "seed":
        rows = int(sys.argv[2])
        store = db.session.scalar(select(Store.id).order_by(Store.id))
        today = local_today()
        db.session.execute(text(
            "INSERT INTO customers (tenant_id, name, store_id, birthday, kind, status, tags, consents, custom, "
            "created_at, updated_at) SELECT current_setting('app.tenant_id')::bigint, :prefix || lpad(n::text, 5, '0'), "
            ":store, make_date(1992, :month, :day), 'person', 'active', '{}', '{}', '{}', now(), now() "
            "FROM generate_series(1, :rows) n"),
            {"prefix": TITLE + "客户", "store": store, "month": today.month, "day": today.day, "rows": rows})
        rule = save_rule({"name": "生日扫描压测", "entity": "customer", "enabled": True, "run_hour": 0,
                          "trigger": {"type": "date", "field": "birthday", "offset_days": 0, "annual": True},
                          "conditions": {"all": [{"field": "name", "op": "contains", "value": TITLE}]},
                          "actions": [{"type": "create_task", "to": "owner", "title": TITLE + "：{name}",
                                       "due_in_days": 1}]})
        db.session.commit()
        print(rule.id)
    else:  # start | again
        jobs.sweep_rules.send()
        db.session.commit()
        print("queued")
