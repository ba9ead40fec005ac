"""The tenant's template mapping as records (what the API lists and edits), stored where the settings page keeps
it: one line per message template in the setting `template_map`, so the page and the API never disagree."""
from storecrm.sdk import plugin_settings, update_plugin_settings

from .template_map import Mapping, format_template_map, parse_template_map


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
