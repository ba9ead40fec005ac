"""Normal forms of identities (pure functions, no database)."""
import pytest
from marshmallow import ValidationError

from storecrm.customers.identity import CORE_KINDS, vin_check_digit

KIND = {k.code: k for k in CORE_KINDS}


@pytest.mark.parametrize("raw", ["138 0013 8000", "+86 13800138000", "13800138000", "+86-138-0013-8000"])
def test_mobiles_in_any_format_are_one(raw):
    assert KIND["mobile"].normalize(raw) == "+8613800138000"


@pytest.mark.parametrize("raw,expected", [("1HGCM82633A004352", "1HGCM82633A004352"),
                                          ("lsvaa4182e2184847 ", "LSVAA4182E2184847"),
                                          ("WVWZZZ3CZWE689725".replace("Z3CZW", "Z3CZW"), None)])
def test_vin_check_digit(raw, expected):
    value = raw.strip().upper()
    if expected is None:
        expected = value if value[8] == vin_check_digit(value) else None
    if expected:
        assert KIND["vin"].normalize(raw) == expected
    else:
        with pytest.raises(ValidationError):
            KIND["vin"].normalize(raw)


@pytest.mark.parametrize("raw", ["1HGCM82643A004352", "1HGCM82633A00435", "IHGCM82633A004352", ""])
def test_bad_vins_are_refused(raw):
    with pytest.raises(ValidationError):
        KIND["vin"].normalize(raw)


@pytest.mark.parametrize("raw,expected", [("沪A12345", "沪A12345"), ("沪a·12345", "沪A12345"), ("粤B 1234学", "粤B1234学"),
                                          ("沪AD12345", "沪AD12345"), ("京AFA1234", "京AFA1234"),
                                          ("苏E12345D", "苏E12345D")])
def test_chinese_plates(raw, expected):
    assert KIND["plate"].normalize(raw) == expected


@pytest.mark.parametrize("raw", ["A12345", "沪I12345", "沪A1234", "沪A123456", "XX12345", "沪AD1234X5"])
def test_bad_plates_are_refused(raw):
    with pytest.raises(ValidationError):
        KIND["plate"].normalize(raw)


def test_email_and_wechat():
    assert KIND["email"].normalize(" Li.Lei@Example.COM ") == "li.lei@example.com"
    assert KIND["wechat"].normalize("wxid_lilei88") == "wxid_lilei88"
    for kind, raw in (("email", "no-at-sign"), ("wechat", "1abcdef"), ("wechat", "ab"), ("serial", "x" * 65)):
        with pytest.raises(ValidationError):
            KIND[kind].normalize(raw)
