"""The tenant's mapping from its message templates (`appointment.reminder`, `retail.topup` …) to the Official
Account's template messages: which template_id, and which WeChat data field takes which parameter.

One line per template, e.g. `retail.topup = Tpl_8dJk2; character_string1=member_no, amount2=amount, time3=at`;
`subscribe:` before the template_id sends it as a subscribe message (订阅通知) instead:
(`subscribe_long:` for a long-term template):
`appointment.reminder = subscribe:VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc; thing1=service, time2=starts_at`.
WeChat data fields carry their type in the name (thing, amount, time, character_string …), which is why the tenant
names them: the account's template decides them, not StoreCRM."""
import re
from typing import NamedTuple

from flask_babel import gettext as _

LINE = re.compile(r"^\s*(?P<code>[a-z0-9_.\-]+)\s*=\s*(?:(?P<mode>template|subscribe_long|subscribe)\s*:\s*)?"
                  r"(?P<template>[A-Za-z0-9_\-]{1,64})\s*(;\s*(?P<fields>.*))?$")
MODES = ("template", "subscribe", "subscribe_long")


class Mapping(NamedTuple):
    """How one message template goes out on WeChat: `mode` "template" (模板消息, /cgi-bin/message/template/send) or
    "subscribe" (一次性订阅通知: one message per consent) or "subscribe_long" (长期订阅通知: while consent lasts), both
    sent by /cgi-bin/message/subscribe/bizsend and only to users who agreed to `template_id`."""
    template_id: str
    fields: dict
    mode: str = "template"


def format_line(code: str, mapping: Mapping) -> str:
    """The settings line for one mapping (what parse_template_map reads back)."""
    prefix = "" if mapping.mode == "template" else f"{mapping.mode}:"
    pairs = ", ".join(f"{field}={param}" for field, param in mapping.fields.items())
    return f"{code} = {prefix}{mapping.template_id}" + (f"; {pairs}" if pairs else "")


def format_template_map(mappings: dict) -> str:
    return "\n".join(format_line(code, m) for code, m in mappings.items())
PAIR = re.compile(r"^\s*(?P<field>[A-Za-z0-9_]{1,32})\s*=\s*(?P<param>[A-Za-z0-9_]{1,64})\s*$")


def parse_template_map(text: str) -> dict[str, Mapping]:
    """{template code: Mapping(WeChat template_id, {WeChat field: parameter name}, mode)}; ValueError naming the bad
    line."""
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
        out[match["code"]] = Mapping(match["template"], data, match["mode"] or "template")
    return out
