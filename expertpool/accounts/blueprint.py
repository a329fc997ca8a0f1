"""URL rules of the accounts feature."""

from flask import Blueprint
from flask_babel import format_datetime

from . import controllers as c

bp = Blueprint("accounts", __name__, template_folder="templates")

bp.add_url_rule("/login", "login", c.login, methods=["GET", "POST"])
bp.add_url_rule("/logout", "logout", c.logout, methods=["POST"])
bp.add_url_rule("/register", "register", c.register, methods=["GET", "POST"])
bp.add_url_rule("/account/password", "change_password", c.password, methods=["GET", "POST"])
bp.add_url_rule("/account/sessions", "my_sessions", c.my_sessions)
bp.add_url_rule(
    "/account/sessions/<int:session_id>/end", "end_my_session", c.end_my_session, methods=["POST"]
)
bp.add_url_rule(
    "/account/sessions/end-others",
    "end_my_other_sessions",
    c.end_my_other_sessions,
    methods=["POST"],
)
bp.add_url_rule("/language", "language", c.language, methods=["POST"])
bp.add_url_rule("/admin/users", "users", c.users)
bp.add_url_rule("/admin/users/new", "user_new", c.user_edit, methods=["GET", "POST"])
bp.add_url_rule("/admin/users/<int:user_id>", "user_edit", c.user_edit, methods=["GET", "POST"])
bp.add_url_rule("/admin/users/<int:user_id>/unlock", "unlock_user", c.unlock_user, methods=["POST"])
bp.add_url_rule(
    "/admin/users/<int:user_id>/sessions/end",
    "end_user_sessions",
    c.end_user_sessions,
    methods=["POST"],
)


@bp.app_template_filter()
def local_time(value: object) -> str:
    """A stored UTC time in the site's time zone (BABEL_DEFAULT_TIMEZONE)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


@bp.app_template_global()
def browser_of(user_agent: str | None) -> str:
    """A short name for a User-Agent header: browser and system."""
    from .sessions import browser_label

    return browser_label(user_agent)


bp.add_url_rule("/security/roles", "roles", c.roles)
bp.add_url_rule(
    "/security/users/<int:user_id>/roles", "user_roles", c.user_roles, methods=["GET", "POST"]
)
bp.add_url_rule("/security/policy", "security_policy", c.security_policy)
bp.add_url_rule("/account/data", "my_data", c.my_data, methods=["GET", "POST"])
bp.add_url_rule("/account/data.<fmt>", "my_data_export", c.my_data_export)
bp.add_url_rule("/admin/corrections", "corrections", c.corrections)
bp.add_url_rule(
    "/admin/corrections/<int:item_id>", "correction_decide", c.correction_decide, methods=["POST"]
)
