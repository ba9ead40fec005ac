from flask import Blueprint
from flask_login import login_required

from . import services
from .serving import send_stored

bp = Blueprint("files", __name__, url_prefix="/files")


@bp.get("/<int:file_id>")
@login_required
def download(file_id):
    return send_stored(services.get_file(file_id))


@bp.get("/<int:file_id>/thumbnail")
@login_required
def thumbnail(file_id):
    return send_stored(services.get_file(file_id), thumbnail=True)
