"""Shared validators: phone numbers (E.164 via `phonenumbers`), emails, bounded numbers, marshmallow fields."""
from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import phonenumbers
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

DEFAULT_REGION = "CN"


# The form nearly every number of a Chinese customer file has: 11 digits of a mobile, nothing else. phonenumbers takes
# ~50 µs to parse, check and format one (half of an import's validation, B7); this pattern is its own metadata's for a
# CN mobile, so a number it matches is one phonenumbers would accept and give as +86 and the same digits
# (tests/test_phone_fast_path.py compares the two over every 1xx prefix).
# (The pattern is 11 digits starting with 1 in every alternative, so nothing else can match it.)
_CN_MOBILE = re.compile(phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern)


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """'138 0013 8000', '+86 13800138000' and '13800138000' all give '+8613800138000'."""
    if region == "CN" and _CN_MOBILE.fullmatch(raw):
        return "+86" + raw
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_l("Not a valid phone number."))
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("Not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=8192)  # a pure function of the number; lists show the same customers again and again
def display_phone(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 86:  # 138 0013 8000, 021 6438 1234
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str | None) -> str:
    if not e164:
        return ""
    digits = e164.lstrip("+")
    national = digits[2:] if e164.startswith("+86") else digits
    return f"{national[:3]}****{national[-4:]}" if len(national) >= 8 else "****"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# Every number a user types is bounded before anything computes with it: `int()` of Decimal("1e1000000") burns
# half a minute of CPU, and NaN / Infinity / sNaN break comparisons and JSON. 10^15 is beyond any amount, count or
# reading a store records; 40 characters and 20 decimal places leave room for any real value.
NUMBER_DIGITS = 15
MAX_NUMBER_CHARS = 40
MAX_DECIMAL_PLACES = 20


def finite_number(value) -> Decimal:
    """`value` (text, int, float or Decimal) as a finite, bounded Decimal; ValidationError saying why not."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValidationError(_l("Not a valid number."))
    text = value.strip().replace(",", "") if isinstance(value, str) else str(value)
    if len(text) > MAX_NUMBER_CHARS:
        raise ValidationError(_l("Not a valid number."))
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError(_l("Not a valid number."))
    if not number.is_finite():
        raise ValidationError(_l("Not a valid number."))
    if number and number.adjusted() >= NUMBER_DIGITS:  # exponent arithmetic: abs() itself overflows on 1e1000000
        raise ValidationError(_l("The number is too large."))
    if number.as_tuple().exponent < -MAX_DECIMAL_PLACES:
        raise ValidationError(_l("Too many decimal places."))
    return number


def number_as_json(number: Decimal) -> int | float:
    """A bounded Decimal as a JSON number: integral values stay exact integers."""
    return int(number) if number == number.to_integral_value() else float(number)


# PostgreSQL takes UTC offsets up to ±15:59; Python parses up to ±23:59 and the database would refuse the rest.
MAX_UTC_OFFSET = timedelta(hours=16)


def storable_offset(value: datetime) -> None:
    """Validator for date-times: refuses a UTC offset PostgreSQL cannot store (else a 500 at the query)."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
        raise ValidationError(_l("Give a UTC offset between -15:59 and +15:59."))


class BoundedDecimal(fields.Decimal):
    """A Decimal field that refuses non-finite and out-of-range numbers before they are parsed further."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(finite_number(value), attr, data, **kwargs)


# year, month, day as people in China write them: 1985-03-12, 1985/5/3, 1985.3.12, 1979年11月30日, 1985 3 12; a time
# after the date (a spreadsheet's "1985/5/3 0:00:00") is ignored
_YMD = re.compile(r"^\s*(\d{4})\s*(?:[-/.年]\s*|\s+)(\d{1,2})\s*(?:[-/.月]\s*|\s+)(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")  # 19850312
# Excel and LibreOffice count days from 1899-12-30; a date cell that lost its format arrives as such a number.
# 1..73050 covers 1900-01-01 to 2099-12-31 and nothing that looks like another kind of number in a date column
_SHEET_EPOCH = date(1899, 12, 30)
_SERIAL = re.compile(r"^\s*(\d{1,5})(?:\.0+)?\s*$")


def parse_date(value) -> date:
    """A calendar date from what staff type or spreadsheets hold: ISO dates, the Chinese forms (1985/5/3,
    1985.3.12, 1985-3-12, 1979年11月30日), 19850312, or a spreadsheet day number (31120 = 1985-03-14).
    Day-first and month-first forms (03/12/1985) are refused rather than guessed: they are ambiguous."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValidationError(_l("Not a valid date."))
    text = value.strip().replace("／", "/").replace("－", "-").replace("．", ".")
    if text.isascii() is False:  # full-width digits typed with a Chinese input method
        text = text.translate({0xFF10 + i: 0x30 + i for i in range(10)})
    found = _YMD.match(text) or _COMPACT.match(text)
    if found:
        try:
            return date(*map(int, found.groups()))
        except ValueError:
            raise ValidationError(_l("Not a valid date."))
    serial = _SERIAL.match(text)
    if serial and 1 <= int(serial.group(1)) <= 73050:
        return _SHEET_EPOCH + timedelta(days=int(serial.group(1)))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_l("Not a valid date."))


class LenientDate(fields.Date):
    """A date field that also reads the ways dates are written in China and stored in spreadsheets
    (`parse_date`); it dumps ISO dates like any date field."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.allow_none:
                return None
            raise ValidationError(_l("This field is required."))
        return parse_date(value)


class Phone(fields.String):
    """A phone number; loads to E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs).strip()
        return normalize_phone(raw) if raw else None


class Trimmed(fields.String):
    """Text with surrounding whitespace removed; an empty string loads as None."""

    def _validate(self, value):
        if value is not None:  # validators (Length, Regexp…) apply to given text only
            super()._validate(value)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and self.required:
            raise ValidationError(_l("This field is required."))
        return text or None


class LowerEmail(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None
        return super()._deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs).lower()
