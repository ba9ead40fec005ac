"""Shared validators: phone numbers (E.164 via `phonenumbers`), emails, marshmallow fields using them."""
from __future__ import annotations

import phonenumbers
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

DEFAULT_REGION = "CN"


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """'138 0013 8000', '+86 13800138000' and '13800138000' all give '+8613800138000'."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_l("Not a valid phone number."))
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("Not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
