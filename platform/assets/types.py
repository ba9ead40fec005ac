"""The core's asset types; plugins add theirs through `register_asset_types`."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..hooks.contrib import AssetType


class VehicleAttributes(Schema):
    brand = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                          metadata={"label": _l("Brand")})
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60),
                          metadata={"label": _l("Model")})
    year = fields.Integer(load_default=None, allow_none=True,
                          validate=validate.Range(min=1950, max=date.today().year + 1,
                                                  error=_l("Give a year between {min} and {max}.")),
                          metadata={"label": _l("Year")})
    color = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20),
                          metadata={"label": _l("Colour")})
    odometer_km = fields.Integer(load_default=None, allow_none=True,
                                 validate=validate.Range(min=0, max=3_000_000, error=_l("Give 0 to 3,000,000 km.")),
                                 metadata={"label": _l("Odometer (km)")})


class OtherAttributes(Schema):
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60),
                          metadata={"label": _l("Model")})


CORE_TYPES = [
    AssetType("vehicle", _l("Vehicle"), VehicleAttributes, ("vin", "plate")),
    AssetType("device", _l("Device"), OtherAttributes, ("serial",)),
]
