"""Identity kinds of a customer and how each is normalised (One-ID matching compares normal forms).

mobile → E.164 (phonenumbers, default region CN); email → lowercase; VIN → 17 characters with a
valid check digit (ISO 3779 / GB 16735 position 9); plate → Chinese plate without separators
(incl. 8-character new-energy plates); WeChat id, device serial and member number → trimmed.
Plugins add kinds through `register_identity_kinds`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..validation import normalize_phone


@dataclass(frozen=True)
class IdentityKind:
    code: str
    label: object
    normalize: Callable[[str], str]  # raises marshmallow.ValidationError with a readable message


def _email(raw: str) -> str:
    value = raw.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) or len(value) > 254:
        raise ValidationError(_l("Not a valid email address."))
    return value


def _wechat(raw: str) -> str:
    value = raw.strip()
    # WeChat ids: 6-20 characters, a letter first, then letters, digits, - or _
    if not re.fullmatch(r"[A-Za-z][-_A-Za-z0-9]{5,19}", value):
        raise ValidationError(_l("A WeChat id has 6-20 letters, digits, - or _, starting with a letter."))
    return value


VIN_VALUES = {**{str(d): d for d in range(10)},
              **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9,
              **dict(zip("STUVWXYZ", range(2, 10)))}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    total = sum(VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _vin(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw).upper()
    if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", value):
        raise ValidationError(_l("A VIN has 17 letters and digits (no I, O or Q)."))
    if value[8] != vin_check_digit(value):
        raise ValidationError(_l("This VIN's check digit is wrong; please check it character by character."))
    return value


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # plates use no I or O
PLATE_RES = (
    # ordinary: 沪A12345, 粤B1234学
    re.compile(rf"^[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳领试超]$"),
    # new energy, small cars: 沪AD12345 / 沪AF12345 (D/F, then 5 characters)
    re.compile(rf"^[{PROVINCES}][{_LETTER}][DF][{_LETTER}0-9][0-9]{{4}}$"),
    # new energy, large vehicles: 沪A12345D / 沪A12345F
    re.compile(rf"^[{PROVINCES}][{_LETTER}][0-9]{{5}}[DF]$"),
)


def _plate(raw: str) -> str:
    value = re.sub(r"[\s·.\-•]", "", raw).upper()
    if not any(p.match(value) for p in PLATE_RES):
        raise ValidationError(_l("Not a valid Chinese licence plate (e.g. 沪A12345 or 沪AD12345)."))
    return value


def _token(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 64 or not value.isprintable():
        raise ValidationError(_l("Use 1-64 printable characters."))
    return value


def _mobile(raw: str) -> str:
    return normalize_phone(raw)


CORE_KINDS = (
    IdentityKind("mobile", _l("Mobile"), _mobile),
    IdentityKind("email", _l("Email"), _email),
    IdentityKind("wechat", _l("WeChat id"), _wechat),
    IdentityKind("vin", _l("VIN"), _vin),
    IdentityKind("plate", _l("Licence plate"), _plate),
    IdentityKind("serial", _l("Device serial"), _token),
    IdentityKind("member_no", _l("Member card number"), _token),
)
