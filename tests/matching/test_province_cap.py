"""The per-province panel cap counts "北京" and "北京市" as one province."""

from __future__ import annotations

from typing import Any

import pytest

from expertpool.db import db
from expertpool.matching.service import rank
from expertpool.reviews.eligibility import expert_record, rules_from_config
from tests.matching.conftest import TERM

SOIL = {"analyte": ["铅", "镉"], "matrix": ["土壤"], "technique": ["ICP-MS"]}
SUMMARY = "长期从事土壤中铅镉等重金属成分分析标准物质研制与定值"
FOOD = {
    "categories": [10],
    "specialties": {"analyte": ["蛋白质"], "matrix": ["奶粉"], "technique": ["凯氏定氮"]},
    "summary": "乳制品营养成分标准物质研制",
}


@pytest.fixture
def beijing_pair(make_expert: Any) -> dict[str, Any]:
    """Two strong Beijing specialists entered with different spellings, and weaker others."""

    def expert(name: str, institution: str, province: str, **extra: Any) -> Any:
        return make_expert(
            name=name,
            institution=institution,
            province=province,
            categories=extra.pop("categories", [8]),
            summary=extra.pop("summary", SUMMARY),
            specialties=extra.pop("specialties", SOIL),
            metrology_competent=True,
            **TERM,
            **extra,
        )

    return {
        "short": expert("京短", "中国计量科学研究院", "北京"),
        "full": expert("京全", "国家标准物质研究中心", "北京市"),
        "sh": expert("沪", "上海市计量测试技术研究院", "上海", **FOOD),
        "js": expert("苏", "江苏省计量科学研究院", "江苏", **FOOD),
        "zj": expert("浙", "浙江省计量科学研究院", "浙江", **FOOD),
    }


def _panel_names(app: Any, submission: Any) -> set[str]:
    ranking = rank(db.session, submission, rules_from_config(app.config))
    return {c.expert.name for c in ranking.candidates if c.expert.id in ranking.panel.member_ids}


def test_records_carry_one_canonical_province(app: Any, beijing_pair: dict[str, Any]) -> None:
    short, full = beijing_pair["short"], beijing_pair["full"]
    assert short.province == full.province == "北京市"
    today = TERM["term_start"]
    assert expert_record(db.session, short, today).province == "北京市"
    assert expert_record(db.session, full, today).province == "北京市"


def test_cap_of_one_keeps_the_two_spellings_apart(
    app: Any, beijing_pair: dict[str, Any], make_submission: Any
) -> None:
    submission = make_submission()
    app.config["MATCH_MAX_PER_PROVINCE"] = 3
    uncapped = _panel_names(app, submission)
    assert {"京短", "京全"} <= uncapped  # the two best: both sit on the panel without a cap
    app.config["MATCH_MAX_PER_PROVINCE"] = 1
    capped = _panel_names(app, submission)
    assert len(capped) == 3 and len(capped & {"京短", "京全"}) == 1


@pytest.mark.parametrize("value", ["北京", "Beijing", "北京市"])
def test_candidates_province_filter_normalises_the_query(
    client: Any, auth: Any, beijing_pair: dict[str, Any], make_submission: Any, value: str
) -> None:
    submission = make_submission()
    auth.login()

    def listed(query: str) -> set[str]:
        url = f"/submissions/{submission.id}/candidates?{query}"
        page = client.get(url).get_data(as_text=True)
        return {n for n in ("京短", "京全", "沪", "苏", "浙") if f">{n}<" in page}

    assert listed("") == {"京短", "京全", "沪", "苏", "浙"}
    assert listed(f"province={value}") == {"京短", "京全"}
