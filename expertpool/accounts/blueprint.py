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
bp.add_url_rule("/account/data", "my_data", c.my_data, methods=["GET", "POST"])
bp.add_url_rule("/account/data.<fmt>", "my_data_export", c.my_data_export)
bp.add_url_rule("/admin/corrections", "corrections", c.corrections)
bp.add_url_rule(
    "/admin/corrections/<int:item_id>", "correction_decide", c.correction_decide, methods=["POST"]
)
