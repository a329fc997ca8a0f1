"""URL rules of the annual assessment."""

from flask import Blueprint

from . import controllers as c

bp = Blueprint("assessment", __name__, template_folder="templates")

rule = bp.add_url_rule
rule("/assessment/", "rounds", c.rounds)
rule("/assessment/new", "new_round", c.new_round, methods=["POST"])
rule("/assessment/<int:round_id>", "round", c.round_detail)
rule("/assessment/<int:round_id>/gather", "regather", c.regather, methods=["POST"])
rule("/assessment/<int:round_id>/close", "close", c.close, methods=["POST"])
rule("/assessment/<int:round_id>/export.xlsx", "export", c.export, methods=["GET", "POST"])
rule("/assessment/drafts/<int:draft_id>", "draft", c.draft, methods=["GET", "POST"])
rule("/me/assessments", "mine", c.mine)


@bp.app_template_global()
def assessment_grade(code: str | None) -> str:
    from .labels import grade_label

    return grade_label(code)


@bp.app_template_global()
def round_state_label(state: str) -> str:
    from .labels import ROUND_STATES

    return str(ROUND_STATES.get(state, state))
