"""Car-audio install (汽车音响改装): vehicles and sound preferences, quotes from packages, install jobs booked into
bays and technicians, tuning records, acceptance on the phone, follow-up with a satisfaction survey, dashboards.

pytest imports this folder's `__init__` a second time as `plugins.car_audio` while it collects
plugins/car_audio/tests (it sets up the package of the test folder). The plugin must exist once, under its real
name, or its tables would be mapped twice: under any other name this module hands over the real one."""
if __name__ == "storecrm.plugins.car_audio":
    from .plugin import *  # noqa: F401,F403
    from .plugin import PLUGIN  # noqa: F401
else:  # pragma: no cover - only under pytest's folder-based import
    import importlib as _importlib
    import sys as _sys

    _sys.modules[__name__] = _importlib.import_module("storecrm.plugins.car_audio")


@hookimpl
def register_message_templates():
    from .messages import TEMPLATES

    return list(TEMPLATES)
