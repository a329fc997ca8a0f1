"""The province vocabulary (pure): 34 divisions, aliases, tolerance, refusals, labels."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from expertpool.core import provinces
from expertpool.core.provinces import (
    CANONICAL,
    PROVINCES,
    UnknownProvince,
    filter_value,
    keep_or_normalise,
    normalise_province,
    province_choices,
    province_label,
)

MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/0005_province_vocabulary.py"


def test_the_34_provincial_level_divisions():
    assert len(PROVINCES) == len(set(CANONICAL)) == 34
    kinds = Counter(p.kind for p in PROVINCES)
    assert kinds == {"province": 23, "autonomous_region": 5, "municipality": 4, "sar": 2}
    assert {"台湾省", "香港特别行政区", "澳门特别行政区", "内蒙古自治区"} <= set(CANONICAL)
    assert len({p.code for p in PROVINCES}) == 34
    assert all(len(name) <= 16 for name in CANONICAL)  # fits the String(16) columns


@pytest.mark.parametrize("name", CANONICAL)
def test_every_canonical_name_maps_to_itself(name):
    assert normalise_province(name) == name


@pytest.mark.parametrize(
    ("spelling", "name"),
    [(alias, p.name) for p in PROVINCES for alias in (*p.aliases, p.english, p.code)],
)
def test_every_alias_maps_to_its_division(spelling, name):
    assert normalise_province(spelling) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("北京", "北京市"),
        ("京", "北京市"),
        ("Beijing", "北京市"),
        ("广西", "广西壮族自治区"),
        ("桂", "广西壮族自治区"),
        ("Guangxi Zhuang Autonomous Region", "广西壮族自治区"),
        ("内蒙古", "内蒙古自治区"),
        ("Inner Mongolia", "内蒙古自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("西藏", "西藏自治区"),
        ("宁夏", "宁夏回族自治区"),
        ("香港", "香港特别行政区"),
        ("Hong Kong", "香港特别行政区"),
        ("澳门", "澳门特别行政区"),
        ("Macau", "澳门特别行政区"),
        ("台湾", "台湾省"),
        ("Shanxi", "山西省"),
        ("Shaanxi", "陕西省"),
    ],
)
def test_named_aliases(text, name):
    assert normalise_province(text) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("  北京市 ", "北京市"),
        ("北 京", "北京市"),
        ("\u3000广西\u3000", "广西壮族自治区"),  # ideographic spaces
        ("ＢＥＩＪＩＮＧ", "北京市"),  # full-width letters
        ("beijing", "北京市"),
        ("HONG-KONG", "香港特别行政区"),
        ("Hebei Province", "河北省"),
        ("Beijing Shi", "北京市"),
        ("Hong Kong S.A.R.", "香港特别行政区"),
        ("\t上海\n", "上海市"),
    ],
)
def test_spacing_width_and_case_are_tolerated(text, name):
    assert normalise_province(text) == name


@pytest.mark.parametrize("text", ["火星", "北京省", "Atlantis", "广", "Province", "北京市朝阳区"])
def test_unknown_is_refused_with_the_text(text):
    with pytest.raises(UnknownProvince) as caught:
        normalise_province(text)
    assert isinstance(caught.value, ValueError)
    assert caught.value.text == text and text in str(caught.value)
    assert provinces.lookup(text) is None


@pytest.mark.parametrize("text", [None, "", "   ", "\u3000"])
def test_none_and_blank_are_none(text):
    assert normalise_province(text) is None


def test_labels_follow_the_language():
    assert province_label("北京市", "zh_CN") == "北京市"
    assert province_label("北京市", "en") == "Beijing"
    assert province_label("广西壮族自治区", "en") == "Guangxi"
    assert province_label("火星", "en") == "火星"  # a value left by the migration, as it is
    assert province_label(None, "en") == ""
    english = dict(province_choices("en"))
    assert set(english) == set(CANONICAL) and english["香港特别行政区"] == "Hong Kong"
    assert [v for v, _label in province_choices("zh_CN")][:2] == ["北京市", "天津市"]


def test_keep_or_normalise_keeps_only_the_stored_unknown_value():
    assert keep_or_normalise("北京", None) == "北京市"
    assert keep_or_normalise("北京", "北京") == "北京市"  # an alias is never kept
    assert keep_or_normalise("火星", "火星") == "火星"
    assert keep_or_normalise(None, "火星") is None
    with pytest.raises(UnknownProvince):
        keep_or_normalise("月球", "火星")


def test_filter_value():
    assert filter_value(" 北京 ") == "北京市"
    assert filter_value("火星") == "火星"
    assert filter_value(None) == ""


def test_migration_table_agrees_with_the_module():
    """The migration's frozen copy maps nothing differently from the module (which may grow)."""
    spec = importlib.util.spec_from_file_location("m0005", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert set(migration.SPELLINGS) == set(CANONICAL)
    for name, spellings in migration.SPELLINGS.items():
        for spelling in (name, *spellings):
            assert migration.canonical(spelling) == normalise_province(spelling) == name
    for text in ("火星", "Beijing Shi", " 广西 ", "ＢＥＩＪＩＮＧ"):
        assert migration.canonical(text) == provinces.lookup(text)
