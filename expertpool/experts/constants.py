"""Fixed vocabularies of the expert pool: GBW categories, statuses, titles."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from ..core.requests import whole_number

# The audit log's subject type of an expert's technical file: every row that belongs to the file
# (the expert, degrees, specialties, pending changes, invitations, reviews) is logged under it.
EXPERT_SUBJECT = "expert"

# The 13 GBW categories (first two digits of a GBW number): code -> (Chinese, English).
CATEGORIES: dict[int, tuple[str, str]] = {
    1: ("钢铁", "Iron & steel"),
    2: ("有色金属及金属中气体", "Non-ferrous metals & gases in metals"),
    3: ("建材", "Building materials"),
    4: ("核材料与放射性", "Nuclear materials & radioactivity"),
    5: ("高分子材料特性", "Polymer properties"),
    6: ("化工产品", "Chemical products"),
    7: ("地质矿产", "Geology & minerals"),
    8: ("环境化学", "Environmental chemistry"),
    9: ("临床化学与药品", "Clinical chemistry & pharmaceuticals"),
    10: ("食品", "Food"),
    11: ("煤炭石油", "Coal & petroleum"),
    12: ("工程技术特性", "Engineering properties"),
    13: ("物理特性与物理化学特性", "Physical & physicochemical properties"),
}


def category_label(code: int, locale: str | None = None) -> str:
    zh, en = CATEGORIES[code]
    name = en if (locale or "").startswith("en") else zh
    return f"{code:02d} {name}"


def category_by_name(text: str) -> int | None:
    """Resolve '08', '8', '环境化学', 'Environmental chemistry' or '08 环境化学' to a code."""
    value = text.strip()
    head = value.split()[0] if value else ""
    if (code := whole_number(head)) in CATEGORIES:
        return code
    folded = value.casefold()
    for code, (zh, en) in CATEGORIES.items():
        if folded in (zh.casefold(), en.casefold()) or folded.endswith((zh, en.casefold())):
            return code
    return None


class Status(StrEnum):
    APPLICANT = "applicant"
    VETTING = "vetting"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"
    REMOVED = "removed"


STATUS_LABELS = {
    Status.APPLICANT: _l("Applicant"),
    Status.VETTING: _l("Under vetting"),
    Status.ACTIVE: _l("Active"),
    Status.SUSPENDED: _l("Suspended"),
    Status.RETIRED: _l("Retired"),
    Status.REMOVED: _l("Removed"),
}

TITLE_GRADES = ("正高级", "副高级", "中级", "初级")
TITLES = (
    "研究员",
    "正高级工程师",
    "教授",
    "主任医师",
    "主任药师",
    "副研究员",
    "高级工程师",
    "副教授",
    "副主任医师",
    "工程师",
    "助理研究员",
)
EDUCATIONS = ("博士研究生", "硕士研究生", "大学本科", "大专")
SPECIALTY_KINDS = ("analyte", "matrix", "technique")
SPECIALTY_LABELS = {
    "analyte": _l("Analytes"),
    "matrix": _l("Matrices"),
    "technique": _l("Techniques"),
}

# The stored values above are Chinese (as the regulator's forms spell them); these are the labels
# people read, translated like every other interface string.
TITLE_GRADE_LABELS = {
    "正高级": _l("Senior (full)"),
    "副高级": _l("Senior (associate)"),
    "中级": _l("Intermediate"),
    "初级": _l("Junior"),
}
TITLE_LABELS = {
    "研究员": _l("Research professor"),
    "正高级工程师": _l("Professor-level senior engineer"),
    "教授": _l("Professor"),
    "主任医师": _l("Chief physician"),
    "主任药师": _l("Chief pharmacist"),
    "副研究员": _l("Associate research professor"),
    "高级工程师": _l("Senior engineer"),
    "副教授": _l("Associate professor"),
    "副主任医师": _l("Associate chief physician"),
    "工程师": _l("Engineer"),
    "助理研究员": _l("Assistant research fellow"),
}
EDUCATION_LABELS = {
    "博士研究生": _l("Doctorate"),
    "硕士研究生": _l("Master's degree"),
    "大学本科": _l("Bachelor's degree"),
    "大专": _l("Junior college"),
}
GENDER_LABELS = {"M": _l("Male"), "F": _l("Female")}
# The years a publication or a developed reference material may carry (forms and import).
YEARS = (1950, 2100)
ENUM_LABELS = {
    "title_grade": TITLE_GRADE_LABELS,
    "title": TITLE_LABELS,
    "education": EDUCATION_LABELS,
    "gender": GENDER_LABELS,
}


def enum_label(kind: str, value: str | None) -> str:
    """The translated label of a stored enumeration value (the value itself when unknown)."""
    if not value:
        return ""
    label = ENUM_LABELS.get(kind, {}).get(value)
    return str(label) if label is not None else value
