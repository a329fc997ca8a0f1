"""China's 34 provincial-level divisions: the controlled vocabulary of every province field.

Stored values are always the canonical full Chinese name (北京市, 广西壮族自治区, …). Whatever a
person types or a file holds — a short form (北京, 广西), the one-character abbreviation (京,
桂), the English or pinyin name ("Beijing", "Guangxi Zhuang Autonomous Region", "Inner
Mongolia"), full-width letters or stray spaces — `normalise_province` turns into that name, so
filters, the coverage heat map and the per-province panel cap see one province, not two.

Pure and framework-free (no Flask, no database): the models, forms, importers, API filters and
demo data all call this one module. Migration 0005 keeps its own frozen copy of the table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


class UnknownProvince(ValueError):
    """The text names none of the 34 provincial-level divisions."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"unknown province: {text!r}")


@dataclass(frozen=True)
class Province:
    name: str  # canonical full Chinese name, the stored value
    english: str  # display name in the English interface
    code: str  # GB/T 2260 administrative division code
    kind: str  # province, autonomous_region, municipality, sar
    aliases: tuple[str, ...] = ()  # other spellings, Chinese or Latin


PROVINCES: tuple[Province, ...] = (
    # 4 municipalities (直辖市)
    Province("北京市", "Beijing", "110000", "municipality", ("北京", "京", "Peking")),
    Province("天津市", "Tianjin", "120000", "municipality", ("天津", "津")),
    Province("上海市", "Shanghai", "310000", "municipality", ("上海", "沪", "申")),
    Province("重庆市", "Chongqing", "500000", "municipality", ("重庆", "渝", "重慶")),
    # 23 provinces (省)
    Province("河北省", "Hebei", "130000", "province", ("河北", "冀")),
    Province("山西省", "Shanxi", "140000", "province", ("山西", "晋")),
    Province("辽宁省", "Liaoning", "210000", "province", ("辽宁", "辽", "遼寧")),
    Province("吉林省", "Jilin", "220000", "province", ("吉林", "吉")),
    Province("黑龙江省", "Heilongjiang", "230000", "province", ("黑龙江", "黑", "黑龍江")),
    Province("江苏省", "Jiangsu", "320000", "province", ("江苏", "苏", "江蘇")),
    Province("浙江省", "Zhejiang", "330000", "province", ("浙江", "浙")),
    Province("安徽省", "Anhui", "340000", "province", ("安徽", "皖")),
    Province("福建省", "Fujian", "350000", "province", ("福建", "闽", "閩")),
    Province("江西省", "Jiangxi", "360000", "province", ("江西", "赣", "贛")),
    Province("山东省", "Shandong", "370000", "province", ("山东", "鲁", "山東", "魯")),
    Province("河南省", "Henan", "410000", "province", ("河南", "豫")),
    Province("湖北省", "Hubei", "420000", "province", ("湖北", "鄂")),
    Province("湖南省", "Hunan", "430000", "province", ("湖南", "湘")),
    Province("广东省", "Guangdong", "440000", "province", ("广东", "粤", "廣東", "Canton")),
    Province("海南省", "Hainan", "460000", "province", ("海南", "琼", "瓊")),
    Province("四川省", "Sichuan", "510000", "province", ("四川", "川", "蜀")),
    Province("贵州省", "Guizhou", "520000", "province", ("贵州", "黔", "贵", "貴州")),
    Province("云南省", "Yunnan", "530000", "province", ("云南", "滇", "云", "雲南")),
    Province("陕西省", "Shaanxi", "610000", "province", ("陕西", "陕", "秦", "陝西")),
    Province("甘肃省", "Gansu", "620000", "province", ("甘肃", "甘", "陇", "甘肅")),
    Province("青海省", "Qinghai", "630000", "province", ("青海", "青")),
    Province(
        "台湾省",
        "Taiwan",
        "710000",
        "province",
        ("台湾", "台", "臺灣", "台灣", "臺灣省", "台灣省", "中国台湾", "台湾地区"),
    ),
    # 5 autonomous regions (自治区)
    Province(
        "内蒙古自治区",
        "Inner Mongolia",
        "150000",
        "autonomous_region",
        ("内蒙古", "蒙", "内蒙", "內蒙古", "Nei Mongol", "Inner Mongolia Autonomous Region"),
    ),
    Province(
        "广西壮族自治区",
        "Guangxi",
        "450000",
        "autonomous_region",
        ("广西", "桂", "广西自治区", "廣西", "Guangxi Zhuang Autonomous Region"),
    ),
    Province(
        "西藏自治区",
        "Tibet",
        "540000",
        "autonomous_region",
        ("西藏", "藏", "Xizang", "Tibet Autonomous Region", "Xizang Autonomous Region"),
    ),
    Province(
        "宁夏回族自治区",
        "Ningxia",
        "640000",
        "autonomous_region",
        ("宁夏", "宁", "宁夏自治区", "寧夏", "Ningxia Hui Autonomous Region"),
    ),
    Province(
        "新疆维吾尔自治区",
        "Xinjiang",
        "650000",
        "autonomous_region",
        (
            "新疆",
            "新",
            "新疆自治区",
            "新疆維吾爾自治區",
            "Xinjiang Uygur Autonomous Region",
            "Xinjiang Uyghur Autonomous Region",
        ),
    ),
    # 2 special administrative regions (特别行政区)
    Province(
        "香港特别行政区",
        "Hong Kong",
        "810000",
        "sar",
        ("香港", "港", "香港特区", "中国香港", "香港特別行政區", "Hong Kong SAR", "Xianggang"),
    ),
    Province(
        "澳门特别行政区",
        "Macao",
        "820000",
        "sar",
        ("澳门", "澳", "澳門", "澳门特区", "中国澳门", "澳門特別行政區", "Macau", "Macao SAR"),
    ),
)

CANONICAL: tuple[str, ...] = tuple(p.name for p in PROVINCES)
BY_NAME: dict[str, Province] = {p.name: p for p in PROVINCES}

# Latin spellings compare without case, spaces, hyphens or dots; a generic suffix such as
# "Province", "Sheng" or "Municipality" may follow the name ("Hebei Province", "Beijing Shi").
_LATIN_SUFFIXES = (
    "specialadministrativeregion",
    "autonomousregion",
    "municipality",
    "province",
    "zizhiqu",
    "sheng",
    "city",
    "shi",
    "sar",
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_SPACES = re.compile(r"\s+")


def _latin_key(text: str) -> str:
    return _NOT_ALNUM.sub("", text.casefold())


def _build_lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for p in PROVINCES:
        for spelling in (p.name, p.code, p.english, *p.aliases):
            key = _key(spelling)
            if table.setdefault(key, p.name) != p.name:  # pragma: no cover - table error
                raise AssertionError(f"{spelling!r} names two provinces")
    return table


def _key(text: str) -> str:
    folded = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    return _latin_key(folded) if folded.isascii() else folded


_LOOKUP = _build_lookup()


def lookup(text: str | None) -> str | None:
    """The canonical name `text` stands for, or None when blank or unknown (never raises)."""
    if text is None:
        return None
    key = _key(str(text))
    if not key:
        return None
    found = _LOOKUP.get(key)
    if found is None and key.isascii():
        for suffix in _LATIN_SUFFIXES:
            if key.endswith(suffix) and key != suffix:
                found = _LOOKUP.get(key[: -len(suffix)])
                if found:
                    break
    return found


def normalise_province(text: str | None) -> str | None:
    """Canonical full Chinese name for `text`; None for None or blank.

    Raises `UnknownProvince` (a ValueError) when `text` names none of the 34 divisions.
    """
    if text is None or not _key(str(text)):
        return None
    found = lookup(text)
    if found is None:
        raise UnknownProvince(str(text).strip())
    return found


def province_label(value: str | None, locale: str | None = None) -> str:
    """How to show a stored province: the Chinese name, or the English one in English.

    Values outside the vocabulary (rows left by migration 0005) are shown as they are.
    """
    if not value:
        return ""
    province = BY_NAME.get(value)
    if province is None or not (locale or "").startswith("en"):
        return value
    return province.english


def province_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """(stored value, label) for the 34 divisions, in GB/T 2260 code order."""
    ordered = sorted(PROVINCES, key=lambda p: p.code)
    return [(p.name, province_label(p.name, locale)) for p in ordered]


def keep_or_normalise(value: str | None, current: str | None) -> str | None:
    """What a model stores when its province is set to `value` while it holds `current`.

    An alias becomes the canonical name; a value outside the vocabulary is refused
    (`UnknownProvince`) unless it is the value already stored, so a record that migration 0005
    could not map can still be saved unchanged.
    """
    if value is not None and value == current:
        return value if lookup(value) is None else lookup(value)
    return normalise_province(value)


def filter_value(text: str | None) -> str:
    """A province typed into a filter: its canonical name, or the text itself when unknown
    (so a value migration 0005 could not map can still be found)."""
    stripped = (text or "").strip()
    return lookup(stripped) or stripped
