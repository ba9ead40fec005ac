from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped

FIELD_TYPES = ("text", "long_text", "number", "money", "date", "datetime", "select", "multi_select", "bool", "phone",
               "photo", "file", "ref_customer", "ref_asset", "ref_user")
FILE_TYPES = ("photo", "file")  # values: a list of stored file ids
REFERENCE_TYPES = ("ref_customer", "ref_asset", "ref_user")  # values: one id of the current tenant


class FieldDefinition(TenantScoped, Timestamped):
    """A field a tenant added. Archiving hides it; values stay in the records' JSONB and come back with it."""

    __tablename__ = "field_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "code"),)

    entity: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    default: Mapped[object | None] = mapped_column(JSONB)
    help: Mapped[str | None] = mapped_column(String(200))
    group: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=100)
    visible_roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)  # empty: everyone
    archived: Mapped[bool] = mapped_column(Boolean, default=False)

    def label(self, locale: str) -> str:
        return self.label_zh if locale == "zh_CN" and self.label_zh else self.label_en or self.label_zh
