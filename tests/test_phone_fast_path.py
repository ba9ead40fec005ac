"""normalize_phone answers a plain 11-digit Chinese mobile without phonenumbers; it must answer exactly as
phonenumbers does, for every number the shortcut takes and for those it leaves to phonenumbers."""
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from storecrm.validation import normalize_phone


def _by_phonenumbers(raw: str):
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(raw: str):
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


@pytest.mark.parametrize("prefix", [str(p) for p in range(100, 200)])
def test_every_three_digit_prefix_of_an_eleven_digit_number(prefix):
    for tail in ("00000000", "12345678", "99999999", "40012345", "74005555", "61001234", "79123456"):
        raw = prefix + tail
        assert _ours(raw) == _by_phonenumbers(raw), raw


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11).map(lambda digits: "1" + digits[1:]))
def test_any_eleven_digits_starting_with_one(raw):
    assert _ours(raw) == _by_phonenumbers(raw)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789 +-", min_size=5, max_size=16))
def test_other_shapes_still_go_through_phonenumbers(raw):
    assert _ours(raw) == _by_phonenumbers(raw)
