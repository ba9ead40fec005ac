"""Document totals: the one rounding rule of StoreCRM (docs/commerce.md, "Totals").

Every amount is a Decimal; each line is rounded ROUND_HALF_UP to 0.01 at each of its three steps, and the document's
totals are plain sums of those rounded line figures:

    line.amount          = round(quantity × unit_price × (1 − line_discount% / 100))
    line.header_discount = round(line.amount × header_discount% / 100)
    line.tax             = round((line.amount − line.header_discount) × tax_rate% / 100)

    subtotal       = Σ line.amount
    discount_total = Σ line.header_discount
    tax_total      = Σ line.tax
    total          = subtotal − discount_total + tax_total

Prices are before tax. Optional lines the customer has not ticked count nothing. Rounding per line (not on the
sums) is what a printed document shows: every figure on it adds up exactly, which is what customers and 发票 check.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """`value` rounded half up to 0.01 (the way a till rounds)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineFigures:
    amount: Decimal
    header_discount: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.amount - self.header_discount + self.tax


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    lines: tuple[LineFigures, ...]


def line_figures(quantity: Decimal, unit_price: Decimal, discount_pct: Decimal, tax_rate: Decimal,
                 header_discount_pct: Decimal = ZERO) -> LineFigures:
    """The three rounded figures of one line (see the module docstring)."""
    amount = round_money(Decimal(quantity) * Decimal(unit_price) * (HUNDRED - Decimal(discount_pct)) / HUNDRED)
    header = round_money(amount * Decimal(header_discount_pct) / HUNDRED)
    tax = round_money((amount - header) * Decimal(tax_rate) / HUNDRED)
    return LineFigures(amount, header, tax)


def compute(lines: Iterable, header_discount_pct: Decimal = ZERO) -> Totals:
    """Totals of `lines`: objects (or dicts) with quantity, unit_price, discount_pct, tax_rate and optionally
    `counts` (False for an optional line not chosen). Returns figures for every line, counted or not."""
    figures, sub, disc, tax = [], ZERO, ZERO, ZERO
    for line in lines:
        get = line.get if isinstance(line, dict) else (lambda k, d=None, _l=line: getattr(_l, k, d))
        f = line_figures(get("quantity"), get("unit_price"), get("discount_pct") or ZERO, get("tax_rate") or ZERO,
                         header_discount_pct or ZERO)
        figures.append(f)
        if get("counts", True):
            sub, disc, tax = sub + f.amount, disc + f.header_discount, tax + f.tax
    return Totals(sub, disc, tax, sub - disc + tax, tuple(figures))
