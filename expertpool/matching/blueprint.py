"""URL rules of expert matching."""

from flask import Blueprint

from . import controllers as c

bp = Blueprint("matching", __name__, template_folder="templates")

bp.add_url_rule("/submissions/<int:submission_id>/candidates", "candidates", c.candidates)
bp.add_url_rule(
    "/submissions/<int:submission_id>/candidates/<int:expert_id>/texts",
    "candidate_texts",
    c.candidate_texts,
)
bp.add_url_rule("/submissions/<int:submission_id>/assign", "assign", c.assign, methods=["POST"])
bp.add_url_rule("/rounds/", "rounds", c.rounds)
bp.add_url_rule("/rounds/new", "new_round", c.new_round, methods=["GET", "POST"])
bp.add_url_rule("/rounds/<int:round_id>", "round", c.round_detail)
bp.add_url_rule(
    "/rounds/<int:round_id>/confirm", "confirm_round", c.confirm_round, methods=["POST"]
)
bp.add_url_rule("/rounds/<int:round_id>/retry", "retry_round", c.retry_round, methods=["POST"])
bp.add_url_rule("/rounds/<int:round_id>/cancel", "cancel_round", c.cancel_round, methods=["POST"])
bp.add_url_rule("/assignments.csv", "export_assignments", c.export_assignments)
