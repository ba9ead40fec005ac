"""Start an import of SCALE_IMPORT_ROWS customers in the demo tenant as its owner and print the run's id; with
`sweep`, run the schedulers' stalled-import sweep now. Steps of bench/scale.py, run in the scale-out environment."""
import os
import sys

from sqlalchemy import select

from storecrm.app import create_app
from storecrm.extensions import db
from storecrm.imports import services
from storecrm.stores.models import Store
from storecrm.tenancy.context import tenant_context
from storecrm.tenancy.resolution import find_tenant
from storecrm.users.models import User

ROWS = int(os.environ.get("SCALE_IMPORT_ROWS", "3000"))

app = create_app()
if sys.argv[1:] == ["sweep"]:  # the schedulers' 5-minute sweep (requeue_stalled_imports), run now
    with app.app_context():
        print(services.requeue_stalled_runs())
    sys.exit(0)
with app.app_context():
    with tenant_context(find_tenant("demo")):
        user = db.session.scalar(select(User).where(User.email == "owner@demo.storecrm.cn"))
        store = db.session.scalar(select(Store).order_by(Store.id))
        lines = ["姓名,手机"] + [f"断电客户{n:05d},+86136{n:08d}" for n in range(ROWS)]
        run = services.create_run(user, "kill9.csv", "\n".join(lines).encode("utf-8"))
        services.set_mapping(user, run, run.mapping, store.id)
        services.start(user, run)
        db.session.commit()
        print(run.id)
sys.exit(0)
