"""`rank(..., among=...)`: panel assignment looks at the chosen experts only, and sees each of them
exactly as the full ranking (the candidates page) showed them."""

from __future__ import annotations

from expertpool.db import db
from expertpool.matching.service import rank
from expertpool.reviews.eligibility import rules_from_config


def test_the_chosen_are_ranked_as_in_the_full_ranking(app, pool, make_submission):
    submission = make_submission()
    rules = rules_from_config(app.config)
    full = rank(db.session, submission, rules, k=200)
    assert len(full.candidates) >= 3 and full.excluded_total > 0
    chosen = [full.candidates[2].expert.id, full.candidates[0].expert.id]
    excluded = full.excluded[0].expert.id
    part = rank(db.session, submission, rules, k=200, among=[*chosen, excluded, 999_999])
    # best first, as in the full ranking; an excluded or unknown expert is no candidate
    assert [c.expert.id for c in part.candidates] == [full.candidates[0].expert.id, chosen[0]]
    for candidate in part.candidates:
        same = full.candidate(candidate.expert.id)
        assert candidate.score == same.score
        assert candidate.explanation.as_dict() == same.explanation.as_dict()
        assert candidate.warnings == same.warnings
    assert part.candidate(excluded) is None
    assert part.excluded == [] and part.excluded_total == full.excluded_total
    assert part.excluded_counts == full.excluded_counts


def test_only_the_k_best_count(app, pool, make_submission):
    submission = make_submission()
    rules = rules_from_config(app.config)
    full = rank(db.session, submission, rules, k=200)
    last = full.candidates[-1].expert.id
    cut = rank(db.session, submission, rules, k=len(full.candidates) - 1, among=[last])
    assert cut.candidates == []
