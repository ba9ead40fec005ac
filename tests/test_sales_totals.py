"""Totals follow the one documented rule (docs/commerce.md): each line rounded half up to 0.01 at each step, then
plain sums. Checked against an independent computation in exact fractions, for random lines."""
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from storecrm.sales.totals import compute, line_figures, round_money

money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
quantity = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999"), places=3)
percent = st.decimals(min_value=0, max_value=100, places=2)
line = st.fixed_dictionaries({"quantity": quantity, "unit_price": money, "discount_pct": percent,
                              "tax_rate": st.sampled_from([Decimal(0), Decimal(3), Decimal(6), Decimal(9), Decimal(13)]),
                              "counts": st.booleans()})


def _half_up(x: Fraction) -> Fraction:
    """Round an exact non-negative rational to cents, halves away from zero (no Decimal involved)."""
    cents = x * 100
    whole = cents.numerator // cents.denominator
    return Fraction(whole + (1 if cents - whole >= Fraction(1, 2) else 0), 100)


@settings(max_examples=400, deadline=None)
@given(st.lists(line, max_size=25), percent)
def test_totals_equal_the_documented_rule(lines, header):
    got = compute(lines, header)
    subtotal = discount = tax = Fraction(0)
    for raw, figures in zip(lines, got.lines):
        amount = _half_up(Fraction(raw["quantity"]) * Fraction(raw["unit_price"]) * (100 - Fraction(raw["discount_pct"])) / 100)
        head = _half_up(amount * Fraction(header) / 100)
        line_tax = _half_up((amount - head) * Fraction(raw["tax_rate"]) / 100)
        assert (Fraction(figures.amount), Fraction(figures.header_discount), Fraction(figures.tax)) == (amount, head, line_tax)
        if raw["counts"]:
            subtotal, discount, tax = subtotal + amount, discount + head, tax + line_tax
    assert Fraction(got.subtotal) == subtotal and Fraction(got.discount_total) == discount
    assert Fraction(got.tax_total) == tax
    assert Fraction(got.total) == subtotal - discount + tax
    for value in (got.subtotal, got.discount_total, got.tax_total, got.total):
        assert isinstance(value, Decimal) and value.as_tuple().exponent == -2  # always whole cents


@given(money, quantity)
def test_a_plain_line_is_quantity_times_price_rounded_once(price, qty):
    figures = line_figures(qty, price, Decimal(0), Decimal(0))
    assert figures.amount == round_money(qty * price) and figures.tax == 0 and figures.header_discount == 0


def test_halves_round_up_like_a_till():
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67
    # 3 × 3.335 = 10.005 -> 10.01; 13 % tax on it = 1.3013 -> 1.30
    figures = line_figures(Decimal(3), Decimal("3.335"), Decimal(0), Decimal(13))
    assert (figures.amount, figures.tax) == (Decimal("10.01"), Decimal("1.30"))
