"""URL rules of the accounts feature."""

from flask import Blueprint

from . import controllers as c

bp = Blueprint("accounts", __name__, template_folder="templates")

bp.add_url_rule("/login", "login", c.login, methods=["GET", "POST"])
bp.add_url_rule("/logout", "logout", c.logout, methods=["POST"])
bp.add_url_rule("/register", "register", c.register, methods=["GET", "POST"])
bp.add_url_rule("/account/password", "change_password", c.password, methods=["GET", "POST"])
bp.add_url_rule("/language", "language", c.language, methods=["POST"])
bp.add_url_rule("/admin/users", "users", c.users)
bp.add_url_rule("/admin/users/new", "user_new", c.user_edit, methods=["GET", "POST"])
bp.add_url_rule("/admin/users/<int:user_id>", "user_edit", c.user_edit, methods=["GET", "POST"])
bp.add_url_rule("/security/roles", "roles", c.roles)
bp.add_url_rule(
    "/security/users/<int:user_id>/roles", "user_roles", c.user_roles, methods=["GET", "POST"]
)
bp.add_url_rule("/security/policy", "security_policy", c.security_policy)
