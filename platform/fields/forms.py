"""Reading custom values from an HTML form: inputs are named cf_<code>; photo and file fields also take new
uploads from cf_<code>__upload (several at once, straight from a phone camera) next to the ids already kept."""
from __future__ import annotations

from flask import request
from marshmallow import ValidationError

from ..files.services import accept_upload
from .models import FILE_TYPES, FieldDefinition


def custom_from_form(defs: list[FieldDefinition], user) -> tuple[dict, dict]:
    """(values by field code, errors by input name). Uploads are stored at once, so a form shown again after a
    mistake keeps the photos already taken; a file that is refused is reported against its field."""
    values, errors = {}, {}
    for d in defs:
        name = f"cf_{d.code}"
        if d.type == "bool":
            values[d.code] = name in request.form
        elif d.type == "multi_select":
            values[d.code] = request.form.getlist(name)
        elif d.type in FILE_TYPES:
            kept = [v for v in request.form.getlist(name) if v]
            for upload in request.files.getlist(f"{name}__upload"):
                if not upload or not upload.filename:
                    continue
                try:
                    stored = accept_upload(user, upload.filename, upload.read(), images_only=d.type == "photo",
                                           field=name)
                except ValidationError as err:
                    errors.setdefault(name, []).extend(
                        f"{upload.filename}: {m}" for m in err.messages[name])
                else:
                    kept.append(str(stored.id))
            values[d.code] = kept
        else:
            values[d.code] = request.form.get(name, "")
    return values, errors


def form_errors(errors: dict) -> dict:
    """Custom field errors come back as custom.<code>; the form's inputs are named cf_<code>."""
    return {("cf_" + k[7:] if k.startswith("custom.") else k): v for k, v in errors.items()}
