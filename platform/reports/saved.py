"""Saved reports of the builder: per tenant, written here only (the page and the API call these), exported."""
from __future__ import annotations

import csv
import io

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record as record_audit
from ..extensions import db
from ..spreadsheets import csv_row, xlsx_row
from ..tenancy.models import get_scoped
from . import builder
from .models import SavedReport


def saved_reports(user) -> list[SavedReport]:
    """The tenant's saved reports on record types `user` may see, by name."""
    mine = builder.entities_for(user)
    return [r for r in db.session.scalars(select(SavedReport).order_by(SavedReport.name, SavedReport.id))
            if (r.spec or {}).get("entity") in mine]


def get_report(user, report_id) -> SavedReport | None:
    """The saved report if it exists in this tenant and `user` may see its record type; None otherwise."""
    report = get_scoped(SavedReport, report_id)
    if report is None or (report.spec or {}).get("entity") not in builder.entities_for(user):
        return None
    return report


def save_report(user, report: SavedReport | None, name, spec) -> SavedReport:
    """Create or replace a report: the name (1–80 characters) and the spec checked against the whitelist."""
    errors = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 80:
        errors["name"] = [_("Enter a name of at most 80 characters.")]
    try:
        checked = builder.check_spec(user, spec)
    except ValidationError as err:
        errors.update(err.messages if isinstance(err.messages, dict) else {"spec": err.messages})
    if errors:
        raise ValidationError(errors)
    if report is None:
        report = SavedReport(created_by_id=getattr(user, "id", None))
        db.session.add(report)
    report.name, report.spec = name, checked
    db.session.flush()
    record_audit("update", "saved_report", report.id, report.name)
    return report


def delete_report(report: SavedReport) -> None:
    record_audit("delete", "saved_report", report.id, report.name)
    db.session.delete(report)
    db.session.flush()


def export_rows(user, report: SavedReport) -> tuple[list[str], list[list]]:
    result = builder.run(user, report.spec, limit=builder.EXPORT_LIMIT)
    return result.headers, [[builder.cell(v, t) for v, t in zip(row, result.types)] for row in result.rows]


def export_csv(user, report: SavedReport) -> bytes:
    header, body = export_rows(user, report)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in body:
        writer.writerow(csv_row(row))
    return ("\ufeff" + out.getvalue()).encode()  # the BOM makes Excel read UTF-8 Chinese


def export_xlsx(user, report: SavedReport) -> bytes:
    from openpyxl import Workbook  # heavy: only exports need it

    header, body = export_rows(user, report)
    book = Workbook(write_only=True)
    sheet = book.create_sheet((report.name or "report")[:31].translate(str.maketrans("[]:*?/\\", "       ")))
    sheet.append(header)
    for row in body:
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
