from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record, record_changes, snapshot
from ..extensions import db
from ..tenancy.models import get_scoped
from .engine import forget_definitions
from .models import FieldDefinition


def list_definitions(entity: str | None = None) -> list[FieldDefinition]:
    query = select(FieldDefinition)
    if entity is not None:
        query = query.where(FieldDefinition.entity == entity)
    return list(db.session.scalars(query.order_by(FieldDefinition.entity, FieldDefinition.archived,
                                                  FieldDefinition.position, FieldDefinition.id)))


def get_definition(definition_id) -> FieldDefinition | None:
    return get_scoped(FieldDefinition, definition_id)


def save(definition: FieldDefinition | None, data: dict) -> FieldDefinition:
    """Create or change a field. Changing a type or options never touches stored values."""
    if definition is None:
        taken = db.session.scalar(select(FieldDefinition.id).where(FieldDefinition.entity == data["entity"],
                                                                   FieldDefinition.code == data["code"]))
        if taken:
            raise ValidationError({"code": [_("Another field already uses this code.")]})
        definition = FieldDefinition(**data)
        db.session.add(definition)
        db.session.flush()
        forget_definitions()
        record("create", "field", definition.id, definition.code, after=snapshot(definition))
        return definition
    before = snapshot(definition)
    for key, value in data.items():
        if key not in ("code", "entity"):  # the code is how values are stored: fixed once made
            setattr(definition, key, value)
    record_changes("field", definition, before, definition.code)
    forget_definitions()
    return definition


def set_archived(definition: FieldDefinition, archived: bool) -> None:
    if definition.archived != archived:
        definition.archived = archived
        forget_definitions()
        record("update", "field", definition.id, definition.code, before={"archived": not archived},
               after={"archived": archived})


def ensure_presets(presets) -> list[FieldDefinition]:
    """Create the preset fields a tenant does not have yet (by entity and code); existing ones are left alone."""
    from flask_babel import force_locale

    made = []
    for preset in presets:
        exists = db.session.scalar(select(FieldDefinition.id).where(FieldDefinition.entity == preset.entity,
                                                                    FieldDefinition.code == preset.code))
        if exists:
            continue
        with force_locale("zh_CN"):
            label_zh = str(preset.label)
        with force_locale("en"):
            label_en = str(preset.label)
        made.append(save(None, {"entity": preset.entity, "code": preset.code, "label_zh": label_zh,
                                "label_en": label_en, "type": preset.type, "options": list(preset.options)}))
    return made
