"""The tenant's template mapping as records (what the API lists and edits), stored where the settings page keeps
it: one line per message template in the setting `template_map`, so the page and the API never disagree."""
from flask_babel import gettext as _
from marshmallow import ValidationError

from storecrm.sdk import plugin_settings, update_plugin_settings

from .template_map import MODES, PAIR, Mapping, format_template_map, parse_template_map

CODE_RE = r"^[a-z0-9_.\-]{1,80}$"


def all_mappings() -> dict[str, Mapping]:
    return parse_template_map(plugin_settings("wechat_oa").get("template_map") or "")


def save(code: str, mapping: Mapping) -> None:
    """Create or replace the mapping of `code`; ValidationError (field `template_map`) when the result is too long."""
    current = all_mappings()
    current[code] = mapping
    update_plugin_settings("wechat_oa", {"template_map": format_template_map(current)})


def remove(code: str) -> None:
    current = all_mappings()
    current.pop(code, None)
    update_plugin_settings("wechat_oa", {"template_map": format_template_map(current)})


def from_form(form) -> tuple[str, Mapping]:
    """(code, Mapping) from the admin page's form: `code`, `mode`, `template_id`, `fields` ("thing1=service,
    time2=when"); ValidationError naming the field."""
    import re

    code, mode = (form.get("code") or "").strip(), (form.get("mode") or "template").strip()
    template_id, pairs = (form.get("template_id") or "").strip(), (form.get("fields") or "").strip()
    errors, fields = {}, {}
    if not re.match(CODE_RE, code):
        errors["code"] = [_("Choose a message template.")]
    if mode not in MODES:
        errors["mode"] = [_("Choose one of the listed options.")]
    if not re.match(r"^[A-Za-z0-9_\-]{1,64}$", template_id):
        errors["template_id"] = [_("A template ID has 1-64 letters, digits, - or _.")]
    for pair in filter(str.strip, pairs.replace("，", ",").split(",")):
        found = PAIR.match(pair)
        if found is None:
            errors["fields"] = [_("Write each field as field=parameter, separated by commas.")]
            break
        fields[found["field"]] = found["param"]
    if errors:
        raise ValidationError(errors)
    return code, Mapping(template_id, fields, mode)
