from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..customers.listing import from_args
from ..stores.services import stores_visible_to
from ..web.forms import flatten_errors, requires
from . import export, services
from .mapping import CUSTOMERS

bp = Blueprint("imports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/imports/", methods=["GET", "POST"])
@requires("customers.manage")
def index():
    errors, kind = {}, request.form.get("kind") or CUSTOMERS
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            run = services.create_run(current_user, upload.filename if upload else "",
                                      upload.read() if upload else b"", kind)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("imports.show", run_id=run.id))
    kinds = services.kinds_offered(current_user)
    return render_template("imports/index.html", runs=services.recent_runs(current_user), errors=errors, kinds=kinds,
                           kind=kind), (422 if errors else 200)


def _run_or_404(run_id):
    run = services.get_run(current_user, run_id)
    if run is None:
        abort(404)
    return run


@bp.route("/imports/<int:run_id>", methods=["GET", "POST"])
@requires("customers.manage")
def show(run_id):
    run = _run_or_404(run_id)
    errors = {}
    if request.method == "POST" and run.status == "uploaded":
        raw = {k[4:]: v for k, v in request.form.items() if k.startswith("col_") and v}
        store = request.form.get("default_store_id", "")
        keep = set(request.form.getlist("keep"))  # rows of the preview left ticked; an unticked box sends nothing
        skip = [n for n in request.form.getlist("shown")[:1000] if n.isdigit() and len(n) < 10 and n not in keep]
        try:
            services.set_mapping(current_user, run, raw, int(store) if store.isdigit() and len(store) < 19 else None,
                                 update_existing=request.form.get("update_existing", "1") == "1", skip_rows=skip)
            if request.form.get("start"):
                services.start(current_user, run)
                flash(_("The import is running. You can leave this page."), "info")
                return redirect(url_for("imports.show", run_id=run.id))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    return _show(run, errors, 422 if errors else 200)


def _show(run, errors, status):
    preview = []
    default_store = run.default_store_id or session.get("store_id") or _first_store()
    if run.status == "uploaded":
        try:
            preview = services.preview(current_user, run, default_store_id=default_store) if run.mapping else []
        except ValidationError as err:  # the plugin it imports was switched off meanwhile
            errors = {**flatten_errors(err.messages), **errors}
    return render_template("imports/show.html", run=run, targets=services.targets_of(current_user, run),
                           kinds=services.kinds_offered(current_user), preview=preview, errors=errors,
                           stores=stores_visible_to(current_user), stalled=services.is_stalled(run),
                           row_errors=services.row_errors(run, 50) if run.status in ("done", "running") else [],
                           default_store=default_store), status


def _first_store():
    """The store the form's select shows first: the preview assumes what the form would send."""
    stores = stores_visible_to(current_user)
    return stores[0].id if stores else None


@bp.post("/imports/<int:run_id>/resume")
@requires("customers.manage")
def resume(run_id):
    run = _run_or_404(run_id)
    try:
        services.resume(run)
    except ValidationError as err:
        return _show(run, flatten_errors(err.messages), 409)
    flash(_("The import goes on from where it stopped."), "info")
    return redirect(url_for("imports.show", run_id=run.id))


@bp.get("/imports/<int:run_id>/progress")
@requires("customers.manage")
def progress(run_id):
    run = _run_or_404(run_id)
    return render_template("imports/_progress.html", run=run, stalled=services.is_stalled(run))


@bp.get("/imports/<int:run_id>/errors.xlsx")
@requires("customers.manage")
def errors_report(run_id):
    run = _run_or_404(run_id)
    data = export.errors_xlsx(run, services.row_errors(run), services.targets_of(current_user, run))
    return Response(data, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename=import-{run.id}-errors.xlsx"})


@bp.get("/customers/export.<fmt>")
@requires("customers.view")
def export_customers(fmt):
    if fmt not in ("xlsx", "csv"):
        abort(404)

    flt = from_args(current_user, request.args, session.get("store_id")).filter
    if fmt == "xlsx":
        return Response(export.to_xlsx(current_user, flt), mimetype=XLSX,
                        headers={"Content-Disposition": "attachment; filename=customers.xlsx"})
    return Response(export.to_csv(current_user, flt), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=customers.csv"})
