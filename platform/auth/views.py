from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError

from ..extensions import limiter
from ..users.passwords import verify_password
from ..validation import normalize_phone
from ..web.forms import flatten_errors
from ..web.redirects import safe_next
from . import services

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    # per workspace and account, so one shop's busy counter does not lock out another; a mobile is counted in its
    # E.164 form, or "139 1600 0005" and "+8613916000005" would each get a fresh allowance against the same account
    login = (request.form.get("login") or "").strip().lower()[:100]
    if "@" not in login:
        try:
            login = normalize_phone(login)
        except ValidationError:
            pass
    return f"login:{g.tenant.id}:{login}"


def _failed(response) -> bool:
    return response.status_code == 401


def _login_limit() -> str:
    return current_app.config["STORECRM"].login_rate_limit


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_key, deduct_when=_failed)
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    error = None
    login_name = ""
    if request.method == "POST":
        login_name = (request.form.get("login") or "").strip()
        user = services.authenticate(login_name, request.form.get("password") or "")
        if user is None:
            error = _("Wrong login or password.")
        else:
            locale = session.get("locale")
            first_time = user.last_login_at is None  # the owner just after signup, a new colleague
            session.clear()  # rotate: nothing from before sign-in survives
            if locale:
                session["locale"] = locale
            if first_time:
                session["first_session"] = True  # the home page says welcome, not welcome back
            services.start_session(user, ip=request.remote_addr, user_agent=request.user_agent.string)
            login_user(user)
            session.permanent = True
            return redirect(safe_next(request.args.get("next"), url_for("web.home"), within=f"/t/{g.tenant.slug}/"))
    return render_template("auth/login.html", error=error, login_name=login_name), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    services.end_session(current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    services.end_all_sessions(current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot():
    if request.method == "POST":
        services.request_password_reset(
            request.form.get("login") or "",
            lambda token: url_for("auth.reset", token=token, _external=True),
        )
        flash(_("If the account exists and has an email address, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    user = services.user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 400
    errors = {}
    if request.method == "POST":
        password = request.form.get("password") or ""
        if password != (request.form.get("password_confirm") or ""):
            errors = {"password_confirm": [_("The two passwords differ.")]}
        else:
            try:
                services.change_password(user, password)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Your password is changed. Sign in with the new one."), "success")
                return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", errors=errors), (422 if errors else 200)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    errors = {}
    if request.method == "POST":
        if not verify_password(current_user.password_hash, request.form.get("current_password") or ""):
            errors = {"current_password": [_("Wrong password.")]}
        elif (request.form.get("password") or "") != (request.form.get("password_confirm") or ""):
            errors = {"password_confirm": [_("The two passwords differ.")]}
        else:
            try:
                services.change_password(current_user, request.form.get("password") or "")
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                logout_user()
                session.clear()
                flash(_("Your password is changed. Sign in with the new one."), "success")
                return redirect(url_for("auth.login"))
    return render_template("auth/account.html", errors=errors), (422 if errors else 200)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    errors, plain = {}, None
    if request.method == "POST":
        try:
            _token, plain = services.create_token(current_user, request.form.get("name") or "")
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    return render_template("auth/tokens.html", tokens=services.list_tokens(current_user), plain=plain,
                           errors=errors), (422 if errors else 200)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    if services.revoke_token(current_user, token_id) is None:
        abort(404)
    flash(_("Token revoked."), "info")
    return redirect(url_for("auth.tokens"))
