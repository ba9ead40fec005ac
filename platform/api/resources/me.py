from flask_smorest import Blueprint

from ...users.schemas import UserOutSchema
from ..auth import api_user

blp = Blueprint("api_me", __name__, url_prefix="/me", description="The signed-in user")


@blp.route("")
@blp.response(200, UserOutSchema)
def me():
    """The user the token belongs to."""
    return api_user()
