"""Ranking candidates: scores, explanations, exclusions with reasons, panels, index sync."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from expertpool.core.embeddings.store import Embedding, get_store
from expertpool.db import db
from expertpool.experts import operations as ops
from expertpool.matching.records_db import rules_from_config
from expertpool.matching.service import rank
from expertpool.matching.sync import expert_keyword_index
from expertpool.matching.texts import EXPERT_INDEX


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
