"""Export of a customer list view to XLSX (openpyxl write-only, streamed row by row) or CSV (UTF-8 with BOM,
which Excel opens correctly in Chinese)."""
from __future__ import annotations

import csv
import io

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..customers.models import Customer
from ..customers.services import contact_view, visible
from ..extensions import db
from ..fields.engine import definitions, export_value
from ..spreadsheets import csv_row, xlsx_row
from ..stores.models import Store
from ..tenancy.context import current_tenant
from ..tenancy.reads import read_session
from ..web.i18n import current_code

COLUMNS = ("id", "name", "mobile", "email", "gender", "birthday", "city", "address", "source", "level", "tags",
           "status", "store", "created_at", "lifetime_spend", "order_count", "last_purchase_at")


def _header(user=None):
    labels = {"id": "ID", "name": _("Name"), "mobile": _("Mobile"), "email": _("Email"), "gender": _("Gender"),
              "birthday": _("Birthday"), "city": _("City"), "address": _("Address"), "source": _("Source"),
              "level": _("Level"), "tags": _("Tags"), "status": _("Status"), "store": _("Store"),
              "created_at": _("Created"), "lifetime_spend": _("Lifetime spend"), "order_count": _("Orders paid"),
              "last_purchase_at": _("Last purchase")}

    locale = current_code()
    return [labels[c] for c in COLUMNS] + [d.label(locale) for d in (_custom_defs(user) if user else [])]


def _custom_defs(user):
    return definitions("customer", user=user)


def _rows(user, flt, batch: int = 1000):
    """Every matching customer, 1,000 at a time, read through the read session (the replica when there is one:
    an export reads a whole tenant's list, the primary need not)."""
    defs = _custom_defs(user)
    base = f"{current_app.config['STORECRM'].base_url}/t/{current_tenant().slug}"
    with read_session() as reads:
        stores = {s.id: s.name for s in reads.scalars(select(Store))}
        last_id = None
        while True:
            query = flt.apply(visible(user, select(Customer))).order_by(Customer.id.desc()).limit(batch)
            if last_id is not None:
                query = query.where(Customer.id < last_id)
            chunk = list(reads.scalars(query))
            if not chunk:
                return
            for c in chunk:
                contact = contact_view(user, c)  # masked for roles without customers.contact
                yield [c.id, c.name, contact["mobile"], contact["email"], c.gender or "",
                       c.birthday.isoformat() if c.birthday else "", c.city or "", c.address or "", c.source or "",
                       c.level or "", ", ".join(c.tags or []), c.status, stores.get(c.store_id, ""),
                       c.created_at.strftime("%Y-%m-%d %H:%M"), str(c.lifetime_spend), c.order_count,
                       c.last_purchase_at.strftime("%Y-%m-%d %H:%M") if c.last_purchase_at else "",
                       *[export_value(d, (c.custom or {}).get(d.code), base) for d in defs]]
            last_id = chunk[-1].id


def to_xlsx(user, flt) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Customers"))
    sheet.append(xlsx_row(sheet, _header(user)))  # custom field labels are typed by admins
    for row in _rows(user, flt):
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(user, flt) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(_header(user)))
    writer.writerows(csv_row(row) for row in _rows(user, flt))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def errors_xlsx(run, errors, targets: dict) -> bytes:
    """The rows that were not imported, as they were in the file, with why (fields by their labels, in the
    user's language) — fix them there and import this file again."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Rows not imported"))
    sheet.append(xlsx_row(sheet, [_("Row"), *run.headers, _("Why")]))
    for e in errors:
        reasons = "; ".join((" ".join(msgs) if field == "_schema" else f"{targets.get(field, (field,))[0]}: {' '.join(msgs)}")
                            for field, msgs in e.messages.items())
        if e.kind == "conflict":
            reasons = f"{_('Conflict')}: {reasons}"
        sheet.append(xlsx_row(sheet, [e.row_number, *e.values, reasons]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
