"""Accepting uploads: the content decides the type (never the name or the browser's claim), images get a
thumbnail, and the size is capped. Pillow does the image work: it is the maintained imaging library for Python,
reads JPEG/PNG/WebP/GIF, applies EXIF orientation (phone photos) and guards against decompression bombs."""
from __future__ import annotations

import io
import uuid
import warnings
import zipfile

from flask_babel import gettext as _
from marshmallow import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

from ..extensions import db
from ..tenancy.context import require_tenant_id
from ..tenancy.models import as_id, get_scoped
from .models import StoredFile
from .storage import storage

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 60_000_000  # a 60 MP phone photo is fine; a crafted 1 GP image is refused before decoding
THUMBNAIL_SIZE = (360, 360)
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
OFFICE_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def _refuse(message: str, field: str = "file"):
    raise ValidationError({field: [message]})


def _image_info(data: bytes):
    try:
        with warnings.catch_warnings():  # size is checked below, with a clear message instead of a warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
        with probe:
            kind = probe.format
            if kind not in IMAGE_TYPES:
                return None
            if probe.width * probe.height > MAX_PIXELS:
                _refuse(_("The image is too large (at most %(mp)d megapixels).", mp=MAX_PIXELS // 1_000_000))
            probe.verify()
        return kind
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def sniff(filename: str, data: bytes) -> tuple[str, str | None]:
    """(content type, image format or None) from the bytes; refuse what we do not keep."""
    image = _image_info(data)
    if image:
        return IMAGE_TYPES[image], image
    lower = (filename or "").lower()
    if data.startswith(b"%PDF-"):
        return "application/pdf", None
    if data.startswith(b"PK\x03\x04"):
        suffix = next((s for s in OFFICE_TYPES if lower.endswith(s)), None)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                is_office = "[Content_Types].xml" in archive.namelist()
        except zipfile.BadZipFile:
            is_office = False
        if suffix and is_office:
            return OFFICE_TYPES[suffix], None
    if lower.endswith((".txt", ".csv")) and b"\x00" not in data:
        try:
            data.decode("utf-8")
            return ("text/csv" if lower.endswith(".csv") else "text/plain"), None
        except UnicodeDecodeError:
            pass
    _refuse(_("Only photos (JPEG, PNG, WebP, GIF), PDF, Office documents and text files can be uploaded."))


def _thumbnail(data: bytes) -> tuple[bytes, int, int]:
    """(JPEG thumbnail, width, height of the upright image)."""
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)  # phones store portrait photos sideways plus an EXIF turn
        width, height = image.size
        image.thumbnail(THUMBNAIL_SIZE)
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue(), width, height


def accept_upload(user, filename: str | None, data: bytes, *, images_only: bool = False,
                  field: str = "file") -> StoredFile:
    """Check and keep one upload for the current tenant; ValidationError {field: [reason]} when refused."""
    # control characters (a NUL byte is refused by PostgreSQL text) never belong in a name shown and downloaded
    printable = "".join(ch for ch in (filename or "") if ch.isprintable())
    name = printable.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "upload"
    try:
        if not data:
            _refuse(_("The file is empty."))
        if len(data) > MAX_BYTES:
            _refuse(_("The file is too large (at most %(mb)d MB).", mb=MAX_BYTES // (1024 * 1024)))
        content_type, image = sniff(name, data)
        if images_only and not image:
            _refuse(_("Only photos (JPEG, PNG, WebP, GIF) can be uploaded here."))
    except ValidationError as err:
        raise ValidationError({field: err.messages["file"]}) from None
    tenant_id = require_tenant_id()
    key = f"{tenant_id}/files/{uuid.uuid4().hex}"
    row = StoredFile(key=key, filename=name, content_type=content_type, size=len(data),
                     uploaded_by=getattr(user, "id", None))
    if image:
        thumbnail, row.width, row.height = _thumbnail(data)
        row.thumbnail_key = key + ".thumb.jpg"
        storage().put(row.thumbnail_key, thumbnail)
    storage().put(key, data)
    db.session.add(row)
    db.session.flush()
    return row


def get_file(file_id) -> StoredFile | None:
    """The stored upload `file_id` of the current tenant, or None."""
    return get_scoped(StoredFile, file_id)


def files_by_id(ids) -> dict[int, StoredFile]:
    from sqlalchemy import select

    wanted = {number for number in map(as_id, ids) if number is not None}
    if not wanted:
        return {}
    return {f.id: f for f in db.session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted)))}
