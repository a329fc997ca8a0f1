"""Issue 13: the keyword query may read the submission's description (MATCH_KEYWORD_DESCRIPTION)."""

from __future__ import annotations

from expertpool.matching.scoring import ScoringConfig
from expertpool.matching.texts import submission_query


def test_submission_query_appends_the_description_only_when_given() -> None:
    fields = ("土壤标准物质", None, "土壤", ["铅", "镉"], ["ICP-MS"])
    assert submission_query(*fields) == "土壤标准物质 土壤 铅 镉 ICP-MS"
    assert submission_query(*fields, None) == submission_query(*fields)
    assert submission_query(*fields, "") == submission_query(*fields)
    with_text = submission_query(*fields, "研制用于验证湿法消解的土壤样品")
    assert with_text == "土壤标准物质 土壤 铅 镉 ICP-MS 研制用于验证湿法消解的土壤样品"


def test_setting_switches_the_description_and_defaults_to_on() -> None:
    assert ScoringConfig().keyword_description is True
    assert ScoringConfig.from_mapping({}).keyword_description is True
    off = ScoringConfig.from_mapping({"MATCH_KEYWORD_DESCRIPTION": False})
    assert off.keyword_description is False
