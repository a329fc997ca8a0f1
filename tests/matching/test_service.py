"""Ranking candidates: scores, explanations, exclusions with reasons, panels, index sync."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select

from expertpool.core.embeddings.store import Embedding, get_store
from expertpool.db import db
from expertpool.experts import operations as ops
from expertpool.matching.service import rank
from expertpool.matching.sync import expert_keyword_index
from expertpool.matching.texts import EXPERT_INDEX
from expertpool.reviews.eligibility import rules_from_config


def _rank(app, submission, **kw):
    return rank(db.session, submission, rules_from_config(app.config), **kw)


def test_specialists_rank_first_and_wrong_field_last(app, pool, make_submission):
    ranking = _rank(app, make_submission())
    names = [c.expert.name for c in ranking.candidates]
    assert set(names[:3]) == {"土壤甲", "土壤乙", "土壤丙"}
    assert names.index("食品丁") > 2


def test_explanation_names_matching_fields_and_texts(app, pool, make_submission):
    ranking = _rank(app, make_submission())
    top = ranking.candidates[0].explanation
    assert top.categories == [8]
    assert {"铅", "镉", "土壤", "ICP-MS"} <= set(top.specialties)
    assert top.texts and any("<mark>" in t["html"] for t in top.texts)
    parts = top.parts
    assert (
        abs(
            parts["semantic"]
            + parts["keyword"]
            + parts["category"]
            + parts["specialty"]
            - ranking.candidates[0].score
        )
        < 1e-3
    )


def test_excluded_experts_listed_with_reasons(app, pool, make_submission):
    ranking = _rank(app, make_submission())
    eligible = {c.expert.name for c in ranking.candidates}
    reasons = {c.expert.name: [e.code for e in c.exclusions] for c in ranking.excluded}
    assert "同单位" not in eligible and "same_institution" in reasons["同单位"]
    assert "暂停者" not in eligible and "not_active" in reasons["暂停者"]


def test_alias_of_applicant_institution_is_recused(app, pool, make_submission):
    from expertpool.experts import institutions

    inst = institutions.resolve(db.session, "广东省计量科学研究院")
    institutions.add_alias(db.session, inst, "广东计量院")
    db.session.commit()
    ranking = _rank(app, make_submission(applicant_institution="广东计量院"))
    assert "同单位" not in {c.expert.name for c in ranking.candidates}


def test_panel_obeys_rules(app, pool, make_submission):
    ranking = _rank(app, make_submission())
    members = [c for c in ranking.candidates if c.expert.id in ranking.panel.member_ids]
    assert len(members) == 3
    assert any(m.expert.metrology_competent for m in members)
    assert len({m.expert.institution_id for m in members}) == 3


def test_skip_ids_leave_experts_out(app, pool, make_submission):
    ranking = _rank(app, make_submission(), skip_ids=[pool["soil1"].id])
    assert "土壤甲" not in {c.expert.name for c in ranking.candidates}


def test_expert_changes_reach_embeddings_and_keyword_index(app, admin, pool):
    expert = pool["food"]
    chunks = set(
        db.session.scalars(
            select(Embedding.chunk).where(
                Embedding.source_id == expert.id, Embedding.index_name == EXPERT_INDEX
            )
        )
    )
    assert {"profile", "fields"} <= chunks and any(c.startswith("pub:") for c in chunks)
    ops.add_part(
        db.session,
        admin,
        expert,
        "publication",
        {"title": "婴幼儿配方乳粉中黄曲霉毒素M1的测定", "language": "zh"},
    )
    db.session.commit()
    hits = expert_keyword_index().search("黄曲霉毒素").hits
    assert [h.doc_id for h in hits] == [str(expert.id)]
    assert (
        db.session.scalar(
            select(Embedding.id)
            .where(Embedding.source_id == expert.id, Embedding.chunk.like("pub:%"))
            .order_by(Embedding.id.desc())
        )
        is not None
    )


def test_rolled_back_change_never_reaches_the_keyword_index(app, admin, pool):
    expert = pool["food"]
    ops.add_part(
        db.session,
        admin,
        expert,
        "publication",
        {"title": "蜂蜜中氯霉素残留测定", "language": "zh"},
    )
    db.session.flush()
    db.session.rollback()
    assert expert_keyword_index().search("氯霉素").hits == []


def test_store_vectors_follow_the_configured_model(app, pool):
    store = get_store()
    matrix, scores = store.score_all(EXPERT_INDEX, store.encoder.encode_query("土壤 铅"))
    assert len(matrix) == len(scores) > 0
    models = set(db.session.scalars(select(Embedding.model_id).distinct()))
    assert models == {store.model_id}
    assert np.isfinite(scores).all()


def test_keyword_part_follows_index_changes_and_pool_order(app, admin, pool, make_submission):
    """The vectorised keyword scores reach the right experts, also after an edit (new
    segment, old document deleted), and experts outside the pool are ignored."""
    from expertpool.matching.scoring import ScoringConfig
    from expertpool.matching.service import Pool, keyword_scores

    submission = make_submission()
    rules = rules_from_config(app.config)
    loaded = Pool.load(db.session, dt.date.today(), rules)
    before = keyword_scores(submission, loaded, ScoringConfig().keyword_pairs)
    soil = loaded.index[pool["soil1"].id]
    assert before[soil] > 0 and before[loaded.index[pool["food"].id]] < before[soil]

    expert = pool["food"]
    ops.add_part(
        db.session, admin, expert, "publication", {"title": "土壤中铅镉的测定", "language": "zh"}
    )
    db.session.commit()
    after = keyword_scores(submission, loaded, ScoringConfig().keyword_pairs)
    assert after[loaded.index[expert.id]] > before[loaded.index[expert.id]]

    positions = loaded.positions([expert.id, 10**9, int(loaded.ids[0])])
    assert positions.tolist() == [loaded.index[expert.id], -1, 0]
    spread = loaded.spread(np.array([10**9, expert.id]), np.array([5.0, 2.0]))
    assert spread[loaded.index[expert.id]] == 2.0 and spread.sum() == 2.0


def test_keyword_pairs_setting(app):
    from expertpool.matching.scoring import ScoringConfig

    assert ScoringConfig.from_mapping({}).keyword_pairs == 32
    assert ScoringConfig.from_mapping({"MATCH_KEYWORD_PAIRS": 0}).keyword_pairs is None
    assert ScoringConfig.from_mapping({"MATCH_KEYWORD_PAIRS": "16"}).keyword_pairs == 16
