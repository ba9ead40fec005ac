"""Sending a stored file: images and PDFs inline, everything else as a download; private caching only."""
from __future__ import annotations

from flask import abort, send_file

from .models import StoredFile
from .storage import storage

INLINE = ("image/", "application/pdf")


def send_stored(row: StoredFile | None, *, thumbnail: bool = False):
    if row is None:
        abort(404)
    if thumbnail:
        if not row.thumbnail_key:
            abort(404)
        path, mimetype = storage().local_path(row.thumbnail_key), "image/jpeg"
    else:
        path, mimetype = storage().local_path(row.key), row.content_type
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=mimetype, download_name=row.filename,
                         as_attachment=not row.content_type.startswith(INLINE), conditional=True, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"  # never in a shared cache
    return response
