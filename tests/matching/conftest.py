"""Fixtures of the matching tests: a small pool with clear specialties and a submission."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from expertpool.db import db
from expertpool.experts.models import Publication
from tests.conftest import submission_maker

TERM = {"term_start": dt.date(2024, 1, 1), "term_end": dt.date(2030, 12, 31)}


@pytest.fixture(autouse=True)
def _english(english_ui: None) -> None:
    """These tests assert interface text in English."""


@pytest.fixture
def make_submission(app: Any, admin: Any) -> Callable[..., Any]:
    return submission_maker(
        admin,
        title="土壤中铅镉成分分析标准物质",
        description="研制土壤中铅、镉含量的有证标准物质，采用电感耦合等离子体质谱法定值。",
        window_start=dt.date.today() + dt.timedelta(days=10),
        window_end=dt.date.today() + dt.timedelta(days=60),
    )


@pytest.fixture
def pool(make_expert: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    """Soil heavy-metal specialists, a food specialist, metrologists, conflicted experts."""

    def expert(
        name: str,
        institution: str,
        province: str,
        cats: list[int],
        spec: dict,
        summary: str,
        pubs: list[str] = (),
        **extra: Any,
    ) -> Any:
        e = make_expert(
            name=name,
            institution=institution,
            province=province,
            categories=cats,
            specialties=spec,
            summary=summary,
            **TERM,
            **extra,
        )
        for title in pubs:
            e.publications.append(Publication(title=title, language="zh", year=2022))
        db.session.commit()
        return e

    soil = {"analyte": ["铅", "镉"], "matrix": ["土壤"], "technique": ["ICP-MS"]}
    experts = {
        "soil1": expert(
            "土壤甲",
            "中国计量科学研究院",
            "北京市",
            [8],
            soil,
            "长期从事土壤中铅镉等重金属成分分析标准物质研制",
            ["土壤中铅和镉的同位素稀释电感耦合等离子体质谱测定"],
        ),
        "soil2": expert(
            "土壤乙",
            "中国地质调查局",
            "河北省",
            [7, 8],
            soil,
            "从事土壤与沉积物重金属分析",
            ["土壤重金属标准物质定值研究"],
        ),
        "soil3": expert(
            "土壤丙",
            "江苏省计量科学研究院",
            "江苏省",
            [8],
            soil,
            "土壤环境样品中镉铅测定",
            ["土壤中镉的ICP-MS测定"],
            metrology_competent=True,
        ),
        "food": expert(
            "食品丁",
            "中国食品药品检定研究院",
            "北京市",
            [10],
            {"analyte": ["三聚氰胺"], "matrix": ["奶粉"], "technique": ["LC-MS/MS"]},
            "乳制品中三聚氰胺检测",
            ["奶粉中三聚氰胺的液相色谱质谱测定"],
        ),
        "stats": expert(
            "统计戊",
            "上海市计量测试技术研究院",
            "上海市",
            [13],
            {"technique": ["不确定度评定"]},
            "标准物质均匀性与不确定度评定",
            ["均匀性检验的方差分析"],
            metrology_competent=True,
        ),
        "same_inst": expert(
            "同单位",
            "广东省计量科学研究院",
            "广东省",
            [8],
            soil,
            "土壤中铅镉成分分析",
            ["土壤中铅镉测定"],
        ),
        "suspended": expert(
            "暂停者",
            "浙江省计量科学研究院",
            "浙江省",
            [8],
            soil,
            "土壤重金属",
            ["土壤中铅测定"],
            status="suspended",
        ),
    }
    yield experts
