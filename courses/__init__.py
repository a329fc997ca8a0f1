"""Training: course catalogue, online learning, quizzes, certificates and required training.

Lives outside `expertpool/` as its own feature package; the app factory registers its blueprint
(`courses.blueprint.bp`) and CLI group (`courses.cli.courses_cli`), and `expertpool/models.py`
imports `courses.models` so the schema is complete.
"""
