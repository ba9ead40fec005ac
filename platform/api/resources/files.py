from flask import request
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from ...files import services
from ...files.serving import send_stored
from ..auth import api_user
from ..common import unprocessable

blp = Blueprint("api_files", __name__, url_prefix="/files",
                description="Photos and files; their ids are the values of photo and file custom fields")


class StoredFileSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    has_thumbnail = fields.Function(lambda f: bool(f.thumbnail_key))
    created_at = fields.DateTime()


class UploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


@blp.route("", methods=["POST"])
@blp.arguments(UploadSchema, location="files")
@blp.response(201, StoredFileSchema)
def upload(data):
    """Upload one file as multipart/form-data field `file` (at most 10 MB; photos, PDF, Office, text).
    Put the returned id into a photo or file custom field to attach it."""
    if request.files.get("file") is None:
        unprocessable(ValidationError({"file": ["Send the file as multipart/form-data field 'file'."]}))
    upload_ = request.files["file"]
    try:
        return services.accept_upload(api_user(), upload_.filename, upload_.read())
    except ValidationError as err:
        unprocessable(err)


def _file(file_id):
    row = services.get_file(file_id)
    if row is None:
        abort(404)
    return row


@blp.route("/<int:file_id>")
@blp.response(200, StoredFileSchema)
def get_file(file_id):
    return _file(file_id)


@blp.route("/<int:file_id>/content")
@blp.response(200, description="The file's bytes")
def content(file_id):
    return send_stored(_file(file_id))


@blp.route("/<int:file_id>/thumbnail")
@blp.response(200, description="A JPEG thumbnail (photos only)")
def thumbnail(file_id):
    return send_stored(_file(file_id), thumbnail=True)
