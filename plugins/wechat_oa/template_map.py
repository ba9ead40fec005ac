"""The tenant's mapping from its message templates (`appointment.reminder`, `retail.topup` …) to the Official
Account's template messages: which template_id, and which WeChat data field takes which parameter.

One line per template, e.g. `retail.topup = Tpl_8dJk2; character_string1=member_no, amount2=amount, time3=at`.
WeChat data fields carry their type in the name (thing, amount, time, character_string …), which is why the tenant
names them: the account's template decides them, not StoreCRM."""
import re

from flask_babel import gettext as _

LINE = re.compile(r"^\s*(?P<code>[a-z0-9_.\-]+)\s*=\s*(?P<template>[A-Za-z0-9_\-]{1,64})\s*(;\s*(?P<fields>.*))?$")
PAIR = re.compile(r"^\s*(?P<field>[A-Za-z0-9_]{1,32})\s*=\s*(?P<param>[A-Za-z0-9_]{1,64})\s*$")


def parse_template_map(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """{template code: (WeChat template_id, {WeChat field: parameter name})}; ValueError naming the bad line."""
    out = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LINE.match(line)
        if match is None:
            raise ValueError(_("Line %(n)s: write code = template_id; field=parameter, …", n=number))
        data = {}
        for pair in filter(str.strip, (match["fields"] or "").split(",")):
            found = PAIR.match(pair)
            if found is None:
                raise ValueError(_("Line %(n)s: write each field as field=parameter.", n=number))
            data[found["field"]] = found["param"]
        out[match["code"]] = (match["template"], data)
    return out
