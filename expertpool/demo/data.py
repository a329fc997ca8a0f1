"""Demo data for the national RM review-expert pool: institutions, experts, accounts.

Pure Python (no Flask, no database); a loader turns these dicts into rows. Institutions are
real; every person is fictitious and generated deterministically from a seed. Dates are
relative to REFERENCE_DATE so the demo always shows terms about to expire, stale files etc.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from expertpool.core.idnumbers import check_digit
from expertpool.demo import vocab as V
from expertpool.demo.institutions import (
    CLINICAL_LABS,
    DEPARTMENT_OVERRIDES,
    INSTITUTION_ROWS,
    PROVINCE_CODES,
    REGION_CODES,
)

REFERENCE_DATE = date(2026, 11, 25)

PROVINCES: list[str] = list(PROVINCE_CODES)

CATEGORY_NAMES: dict[int, tuple[str, str]] = {
    1: ("钢铁", "iron & steel"),
    2: ("有色金属及金属中气体", "non-ferrous metals"),
    3: ("建材", "building materials"),
    4: ("核材料与放射性", "nuclear materials & radioactivity"),
    5: ("高分子材料特性", "polymer properties"),
    6: ("化工产品", "chemical products"),
    7: ("地质矿产", "geology & minerals"),
    8: ("环境化学", "environmental chemistry"),
    9: ("临床化学与药品", "clinical chemistry & pharmaceuticals"),
    10: ("食品", "food"),
    11: ("煤炭石油", "coal & petroleum"),
    12: ("工程技术特性", "engineering properties"),
    13: ("物理特性与物理化学特性", "physical & physicochemical properties"),
}

INSTITUTIONS: list[dict] = [
    {"name": r[0], "aliases": list(r[1]), "province": r[2], "city": r[3], "kind": r[4]}
    for r in INSTITUTION_ROWS
]

# fmt: off
STATUSES = ("applicant", "vetting", "active", "suspended", "retired", "removed")
TITLE_GRADES: dict[str, str] = {
    "研究员": "正高级", "正高级工程师": "正高级", "教授": "正高级", "主任医师": "正高级",
    "副研究员": "副高级", "高级工程师": "副高级", "副教授": "副高级", "工程师": "中级",
}

# How often each category is someone's main field; environment, food, clinical, geology and
# steel dominate the national RM catalogue, nuclear and polymer RMs are rare.
CATEGORY_WEIGHTS: dict[int, float] = {
    1: 9, 2: 6, 3: 5, 4: 2.5, 5: 2.5, 6: 7, 7: 10, 8: 15, 9: 12, 10: 14, 11: 5, 12: 4, 13: 6,
}
MIN_ACTIVE_PER_CATEGORY = 11  # main-field quota; the brief needs >= 10 active per category

# Share of each non-active status among the quarter of the pool that is not active.
_OTHER_STATUS_SHARES = {"applicant": 0.23, "vetting": 0.19, "suspended": 0.17,
                        "retired": 0.21, "removed": 0.20}
_BIRTH_YEARS = {"applicant": (1972, 1992), "vetting": (1968, 1990), "active": (1962, 1988),
                "suspended": (1962, 1985), "retired": (1956, 1966), "removed": (1960, 1984)}
_START_AGE = {"博士研究生": 29, "硕士研究生": 26, "大学本科": 22}
_SENIOR_ONLY = ("active", "suspended", "retired", "removed")
# fmt: on

_INST_BY_NAME = {r[0]: r for r in INSTITUTION_ROWS}
_EXPERT_INSTITUTIONS = [r for r in INSTITUTION_ROWS if r[4] != "regulator"]


# ---------------------------------------------------------------- small helpers


def _rand_date(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _add_years(d: date, years: int) -> date:
    # Birth/term days are drawn in 1..28, but guard Feb 29 anyway.
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _age(birth: date, on: date = REFERENCE_DATE) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _weighted(rng: random.Random, items: list, weights: list[float]):
    return rng.choices(items, weights=weights, k=1)[0]


def _article(word: str) -> str:
    """English indefinite article for a following word or acronym."""
    if word[:2].isupper():
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    return "an" if word[0].lower() in "aeio" else "a"


def _fix_articles(text: str) -> str:
    out = []
    words = text.split(" ")
    for i, w in enumerate(words):
        if w in ("a", "A", "an", "An") and i + 1 < len(words):
            art = _article(words[i + 1])
            w = art.capitalize() if w[0] == "A" else art
        out.append(w)
    return " ".join(out)


# ---------------------------------------------------------------- planning


def _plan_statuses(n: int, rng: random.Random) -> list[str]:
    active = round(n * 0.75)
    counts = {s: max(2, round((n - active) * share)) for s, share in _OTHER_STATUS_SHARES.items()}
    active = n - sum(counts.values())
    plan = ["active"] * active
    for status, c in counts.items():
        plan += [status] * c
    rng.shuffle(plan)
    return plan


def _inst_weight(row, category: int) -> float:
    focus = row[6]
    if not focus:
        return row[7]
    return row[7] * (4.0 if category in focus else 0.1)


def _pick_institution(rng: random.Random, category: int, rows=None):
    rows = rows or _EXPERT_INSTITUTIONS
    return _weighted(rng, rows, [_inst_weight(r, category) for r in rows])


def _pick_category_for(rng: random.Random, row) -> int:
    cats = list(row[6]) or list(CATEGORY_WEIGHTS)
    return _weighted(rng, cats, [CATEGORY_WEIGHTS[c] for c in cats])


def _plan_fields(statuses: list[str], rng: random.Random) -> list[tuple[int, tuple]]:
    """Main category and institution per expert.

    The first experts are placed one per province so that every province is represented;
    then per-category quotas for active experts are filled, then the rest is weighted.
    """
    n = len(statuses)
    plan: list[tuple[int, tuple] | None] = [None] * n
    order = list(range(n))
    rng.shuffle(order)
    for province, i in zip(PROVINCES, order, strict=False):
        rows = [r for r in _EXPERT_INSTITUTIONS if r[2] == province]
        row = _weighted(rng, rows, [r[7] for r in rows])
        plan[i] = (_pick_category_for(rng, row), row)
    active_count = {c: 0 for c in CATEGORY_NAMES}
    for i, p in enumerate(plan):
        if p and statuses[i] == "active":
            active_count[p[0]] += 1
    needed = [
        c for c in CATEGORY_NAMES for _ in range(max(0, MIN_ACTIVE_PER_CATEGORY - active_count[c]))
    ]
    free_active = {i for i in order if plan[i] is None and statuses[i] == "active"}
    cats = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    for i in order:
        if plan[i] is not None:
            continue
        quota = needed and i in free_active
        category = needed.pop() if quota else _weighted(rng, cats, weights)
        plan[i] = (category, _pick_institution(rng, category))
    return plan  # type: ignore[return-value]


# ---------------------------------------------------------------- people


def _make_name(rng: random.Random, gender: str, taken: set[str]) -> tuple[str, str, str]:
    """(name, surname pinyin, given-name pinyin), unique within `taken`."""
    chars = V.MALE_CHARS if gender == "M" else V.FEMALE_CHARS
    surnames = [s for s in V.SURNAMES]
    weights = [s[2] for s in surnames]
    while True:
        sur, sur_py, _ = _weighted(rng, surnames, weights)
        given = rng.sample(chars, 1 if rng.random() < 0.3 else 2)
        name = sur + "".join(c for c, _ in given)
        if name not in taken:
            taken.add(name)
            return name, sur_py, "".join(p for _, p in given)


def _id_number(rng: random.Random, city: str, birth: date, gender: str, taken: set[str]) -> str:
    while True:
        region = rng.choice(REGION_CODES[city])
        last = rng.choice("13579" if gender == "M" else "02468")
        first17 = f"{region}{birth:%Y%m%d}{rng.randint(0, 99):02d}{last}"
        number = first17 + check_digit(first17)
        if number not in taken:
            taken.add(number)
            return number


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = rng.choice(V.PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        if number not in taken:
            taken.add(number)
            return number


def _email(
    rng: random.Random, sur_py: str, given_py: str, birth: date, domain: str, taken: set[str]
) -> str:
    roll = rng.random()
    if roll < 0.5:
        local = f"{sur_py}{given_py}.{birth.year}"
    elif roll < 0.7:
        local = f"{sur_py}.{given_py}"
    elif roll < 0.8:
        local = f"{given_py}{sur_py}"
    else:
        local = f"{sur_py}{given_py[0]}{birth:%y}"
    # Demo addresses must never reach a real mailbox: keep the institution's label, but under
    # the reserved example.org domain (RFC 2606).
    domain = f"{domain.split('.')[0]}.example.org"
    candidate, k = f"{local}@{domain}", 1
    while candidate in taken:
        k += 1
        candidate = f"{local}{k}@{domain}"
    taken.add(candidate)
    return candidate


def _education(rng: random.Random, birth_year: int) -> str:
    levels = ["博士研究生", "硕士研究生", "大学本科"]
    if birth_year < 1970:
        return _weighted(rng, levels, [35, 35, 30])
    if birth_year < 1980:
        return _weighted(rng, levels, [55, 30, 15])
    return _weighted(rng, levels, [75, 22, 3])


def _grade(rng: random.Random, age: int, status: str) -> str:
    p_full = 0.75 if age >= 52 else 0.55 if age >= 45 else 0.25
    if status not in _SENIOR_ONLY and rng.random() < (0.25 if age < 45 else 0.05):
        return "中级"
    return "正高级" if rng.random() < p_full else "副高级"


def _title(rng: random.Random, grade: str, kind: str, inst: str, category: int) -> str:
    if grade == "中级":
        return "工程师"
    full = grade == "正高级"
    if inst in CLINICAL_LABS and category == 9 and full and rng.random() < 0.6:
        return "主任医师"
    if kind == "university":
        return (
            ("教授" if rng.random() < 0.9 else "研究员")
            if full
            else ("副教授" if rng.random() < 0.85 else "副研究员")
        )
    if kind in ("research", "metrology"):
        split = 0.6 if kind == "research" else 0.45
        if full:
            return "研究员" if rng.random() < split else "正高级工程师"
        return "副研究员" if rng.random() < split else "高级工程师"
    if full:
        return "正高级工程师" if rng.random() < 0.8 else "研究员"
    return "高级工程师"


# fmt: off
_GENERIC_DEPARTMENTS: dict[str, dict[int, str]] = {
    "metrology": {1: "理化计量所", 2: "理化计量所", 3: "理化计量所", 4: "电离辐射计量所",
                  5: "化学计量所", 6: "化学计量所", 7: "化学计量所", 8: "环境计量所",
                  9: "医学计量所", 10: "食品检测中心", 11: "能源计量所", 12: "力学计量所",
                  13: "热工计量所"},
    "research": {1: "冶金分析研究室", 2: "有色金属分析研究室", 3: "材料化学分析研究室",
                 4: "放射化学研究室", 5: "高分子表征研究室", 6: "化学品分析研究室",
                 7: "岩矿分析研究室", 8: "环境分析研究室", 9: "临床与药物分析研究室",
                 10: "食品安全检测研究室", 11: "能源化工分析研究室", 12: "物理测试研究室",
                 13: "物理化学研究室"},
    "testing": {1: "金属材料检测中心", 2: "金属材料检测中心", 3: "建材检测中心",
                4: "辐射检测中心", 5: "化学品检测中心", 6: "化学品检测中心",
                7: "矿产品检测中心", 8: "环境检测中心", 9: "临床检验部", 10: "食品检测中心",
                11: "能源产品检测中心", 12: "力学性能检测中心", 13: "理化检测中心"},
    "university": {1: "材料科学与工程学院", 2: "材料科学与工程学院", 3: "材料科学与工程学院",
                   4: "核科学与技术学院", 5: "高分子科学与工程学院", 6: "化学化工学院",
                   7: "地球科学学院", 8: "环境科学与工程学院", 9: "药学院",
                   10: "食品科学与工程学院", 11: "化学工程学院", 12: "机械工程学院",
                   13: "化学学院"},
}
_SHARED_DEPARTMENTS = {"metrology": "标准物质研究所", "research": "分析测试中心",
                       "testing": "标准物质研发中心", "university": "分析测试中心"}
# fmt: on


def _department(rng: random.Random, inst: str, kind: str, category: int) -> str:
    override = DEPARTMENT_OVERRIDES.get(inst, {})
    if category in override:
        return override[category]
    if kind == "enterprise":
        return rng.choice(["标准物质研发部", "技术中心", "质量检测中心"])
    if rng.random() < 0.25:
        return _SHARED_DEPARTMENTS[kind]
    return _GENERIC_DEPARTMENTS[kind][category]


# ---------------------------------------------------------------- fields and texts


def _categories(rng: random.Random, main: int) -> list[int]:
    k = _weighted(rng, [1, 2, 3], [45, 40, 15])
    cats = [main]
    while len(cats) < k:
        if rng.random() < 0.92:
            extra = rng.choice(V.RELATED_CATEGORIES[main])
        else:
            extra = _weighted(rng, list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))
        if extra not in cats:
            cats.append(extra)
    return cats


def _field_pairs(rng: random.Random, cats: list[int]) -> list[tuple[int, str, str]]:
    """(category, matrix, analyte) triples the expert works on."""
    pairs: list[tuple[int, str, str]] = []
    for i, c in enumerate(cats):
        matrices = list(V.CATEGORY_VOCAB[c]["matrices"])
        n_matrix = rng.choice([1, 2, 2, 3]) if i == 0 else 1
        for m in rng.sample(matrices, min(n_matrix, len(matrices))):
            analytes = V.CATEGORY_VOCAB[c]["matrices"][m][1]
            n_analyte = rng.choice([1, 2]) if i == 0 else 1
            for a in rng.sample(analytes, min(n_analyte, len(analytes))):
                pairs.append((c, m, a))
    return pairs


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _specialties(rng: random.Random, pairs, metrology: bool) -> dict[str, list[str]]:
    techniques = []
    for _, _, a in pairs:
        techniques.append(rng.choice(V.ANALYTES[a][2]))
    if rng.random() < 0.4:
        techniques.append(rng.choice(V.ANALYTES[rng.choice(pairs)[2]][2]))
    techniques = _unique(techniques)
    if metrology:
        skills = list(V.METROLOGY_SKILLS)
        techniques += ["不确定度评定"] + rng.sample(skills[1:], rng.choice([1, 2]))
    return {
        "analyte": _unique([a for _, _, a in pairs]),
        "matrix": _unique([m for _, m, _ in pairs]),
        "technique": techniques,
    }


def _technique_for(rng: random.Random, analyte: str, techniques: list[str]) -> str:
    own = [t for t in V.ANALYTES[analyte][2] if t in techniques]
    return rng.choice(own or V.ANALYTES[analyte][2])


def _subject_zh(m: str, a: str) -> str:
    return f"{m}{a}" if V.ANALYTES[a][1] == "p" else f"{m}中{a}"


def _subject_en(c: int, m: str, a: str) -> str:
    a_en, kind, _ = V.ANALYTES[a]
    m_en = V.CATEGORY_VOCAB[c]["matrices"][m][0]
    return f"the {a_en} of {m_en}" if kind == "p" else f"{a_en} in {m_en}"


def _rm_name_base(c: int, m: str, a: str) -> str:
    name = f"{_subject_zh(m, a)}{V.CATEGORY_VOCAB[c]['matrices'][m][2]}"
    return name.replace("成分成分", "成分")


def _rm_name(rng: random.Random, c: int, m: str, a: str) -> str:
    suffix = V.CATEGORY_VOCAB[c]["matrices"][m][2]
    if suffix == V._CA and rng.random() < 0.35:
        return f"{m}{suffix}"
    return _rm_name_base(c, m, a)


def _gbw(rng: random.Random, c: int, first_grade: bool, taken: set[str]) -> str:
    while True:
        if first_grade:
            number = f"GBW {c:02d}{rng.randint(1, 999):03d}"
        else:
            number = f"GBW(E) {c:02d}{rng.randint(1, 9999):04d}"
        if number not in taken:
            taken.add(number)
            return number


def _developed_rms(
    rng, pairs, birth: date, senior: bool, inst: str, pool: dict, taken: set[str]
) -> list[dict]:
    k = _weighted(rng, [0, 1, 2, 3, 4], [28, 30, 20, 13, 9] if senior else [60, 30, 10, 0, 0])
    k = min(k, len(pairs) + 1)
    rms: list[dict] = []
    for _ in range(k):
        c, m, a = rng.choice(pairs)
        names = {r["name"] for r in rms}
        for _retry in range(3):  # prefer distinct RM names within one person's list
            if _rm_name_base(c, m, a) not in names:
                break
            c, m, a = rng.choice(pairs)
        colleagues = [r for r in pool.get((inst, c), []) if r not in rms]
        if colleagues and rng.random() < 0.2:
            rms.append(rng.choice(colleagues))  # co-developed with a colleague already listed
            continue
        first_year = max(birth.year + 28, 1990)
        year = rng.randint(min(first_year, 2025), 2025)
        first_grade = rng.random() < (0.45 if year < 2012 else 0.25)
        rm = {"gbw": _gbw(rng, c, first_grade, taken), "name": _rm_name(rng, c, m, a), "year": year}
        rms.append(rm)
        pool.setdefault((inst, c), []).append(rm)
    return rms


def _numbers(rng: random.Random) -> dict[str, str]:
    return {
        "n": str(rng.choice([10, 12, 15, 20, 25, 30])),
        "mo": str(rng.choice([6, 12, 18, 24])),
        "lod": f"{rng.uniform(0.001, 0.05):.3f}",
        "r1": str(rng.randint(86, 95)),
        "r2": str(rng.randint(98, 108)),
        "labs": str(rng.randint(6, 12)),
        "rep": f"{rng.uniform(0.3, 2.0):.1f}",
        "u": f"{rng.uniform(0.8, 8.0):.1f}",
    }


def _abstract(rng: random.Random, zh: bool, fill: dict[str, str], prop: bool, idms: bool) -> str:
    opens = V.ABSTRACT_OPEN_ZH if zh else V.ABSTRACT_OPEN_EN
    mids = V.ABSTRACT_MID_ZH if zh else V.ABSTRACT_MID_EN
    ends = V.ABSTRACT_END_ZH if zh else V.ABSTRACT_END_EN
    # Recovery/detection limits and milling make no sense for a property value.
    allowed = [0, 2] if prop else [0, 1, 2, 4] + ([3] if idms else [])
    parts = [rng.choice(opens), mids[rng.choice(allowed)]]
    if rng.random() < 0.7:
        parts.append(rng.choice(ends))
    text = ("" if zh else " ").join(p.format(**fill) for p in parts)
    return text if zh else _fix_articles(text)


def _publications(rng, pairs, techniques: list[str], birth: date, education: str) -> list[dict]:
    count = _weighted(rng, [1, 2, 3, 4, 5], [15, 30, 25, 18, 12])
    p_en = 0.42 if education == "博士研究生" else 0.2
    first_year = min(max(birth.year + 26, 1998), 2026)
    pubs, titles = [], set()
    for _ in range(count * 3):
        if len(pubs) == count:
            break
        c, m, a = rng.choice(pairs)
        t = _technique_for(rng, a, techniques)
        zh = rng.random() >= p_en
        prop = V.ANALYTES[a][1] == "p"
        if zh:
            fill = {"s": _subject_zh(m, a), "m": m, "a": a, "t": t}
            title = rng.choice(V.TITLES_ZH).format(**fill)
            venue = rng.choice(V.VENUES_ZH[c] if rng.random() < 0.7 else V.VENUES_ZH_GENERAL)
        else:
            fill = {
                "s": _subject_en(c, m, a),
                "m": V.CATEGORY_VOCAB[c]["matrices"][m][0],
                "a": V.ANALYTES[a][0],
                "t": V.TECHNIQUES[t],
            }
            title = _fix_articles(rng.choice(V.TITLES_EN).format(**fill))
            venue = rng.choice(V.VENUES_EN[c] if rng.random() < 0.65 else V.VENUES_EN_GENERAL)
        if title in titles:
            continue
        titles.add(title)
        fill.update(_numbers(rng))
        idms = "同位素" in t
        pubs.append(
            {
                "title": title,
                "abstract": _abstract(rng, zh, fill, prop, idms),
                "year": rng.randint(first_year, 2026),
                "language": "zh" if zh else "en",
                "venue": venue,
            }
        )
    pubs.sort(key=lambda p: p["year"], reverse=True)
    return pubs


def _summary(rng, *, inst, dept, title, education, years, cats, spec, rms, metrology) -> str:
    fields = [V.CATEGORY_VOCAB[c]["field"] for c in cats[:2]]
    plain = [t for t in spec["technique"] if t not in V.METROLOGY_SKILLS]
    fill = {
        "inst": inst,
        "dept": dept,
        "title": title,
        "edu": education,
        "years": years,
        "field": "、".join(fields),
        "matrices": "、".join(spec["matrix"][:3]),
        "analytes": "、".join(spec["analyte"][:3]),
        "techniques": "、".join(plain[:3]),
    }
    sentences = [
        rng.choice(V.SUMMARY_INTRO).format(**fill),
        rng.choice(V.SUMMARY_SPECIALTY).format(**fill),
    ]
    if rms:
        template = V.SUMMARY_RMS[0] if len(rms) > 1 else rng.choice(V.SUMMARY_RMS[1:])
        sentences.append(template.format(rm=rms[0]["name"], k=len(rms)))
    elif rng.random() < 0.5:
        sentences.append(rng.choice(V.SUMMARY_NO_RMS))
    if metrology:
        sentences.append(rng.choice(V.SUMMARY_METROLOGY))
    elif len(sentences) < 4 and rng.random() < 0.4:
        sentences.append(rng.choice(V.SUMMARY_EXTRA))
    return "".join(sentences[:4])


# ---------------------------------------------------------------- life cycle


def _term_and_file(rng, status: str, flag: str, reason: str | None):
    """(term_start, term_end, file_updated_at) for a status; `flag` marks special cases."""
    ref = REFERENCE_DATE
    if status in ("applicant", "vetting"):
        back = 90 if status == "applicant" else 200
        return None, None, _rand_date(rng, ref - timedelta(days=back), ref - timedelta(days=1))
    if status == "active":
        if flag == "expiring":  # term ends within the next 60 days
            start = _rand_date(rng, date(2021, 11, 27), date(2022, 1, 24))
        elif flag == "expired":  # still marked active although the term is over
            start = _rand_date(rng, date(2021, 5, 1), date(2021, 11, 15))
        else:
            start = _rand_date(rng, date(2022, 2, 1), date(2026, 10, 31))
        start = start.replace(day=min(start.day, 28))
        end = _add_years(start, 5) - timedelta(days=1)
        if flag == "stale" and start < date(2024, 9, 1):
            updated = _rand_date(rng, start, ref - timedelta(days=740))
        else:
            updated = _rand_date(
                rng, max(start, ref - timedelta(days=600)), ref - timedelta(days=3)
            )
        return start, end, updated
    if status == "suspended":
        start = _rand_date(rng, date(2022, 1, 1), date(2025, 12, 31))
        end = _add_years(start, 5) - timedelta(days=1)
        return start, end, _rand_date(rng, max(start, ref - timedelta(days=500)), ref)
    if status == "retired":
        start = _rand_date(rng, date(2016, 1, 1), date(2021, 6, 30))
        end = min(_add_years(start, 5) - timedelta(days=1), ref - timedelta(days=30))
        return start, end, _rand_date(rng, start, end)
    start = _rand_date(rng, date(2017, 1, 1), date(2020, 12, 31))  # removed
    removal = _rand_date(rng, _add_years(start, 3), date(2026, 10, 31))
    if reason and "未更新" in reason:
        updated = max(start, removal - timedelta(days=rng.randint(735, 900)))
    else:
        updated = _rand_date(rng, removal - timedelta(days=400), removal)
    return start, removal, updated


def _status_reason(rng: random.Random, status: str) -> str | None:
    pools = {
        "suspended": V.SUSPENDED_REASONS,
        "retired": V.RETIRED_REASONS,
        "removed": V.REMOVED_REASONS,
    }
    return rng.choice(pools[status]) if status in pools else None


def _unavailable(rng: random.Random) -> list[dict]:
    periods = []
    for _ in range(rng.choice([1, 1, 2])):
        start = REFERENCE_DATE + timedelta(days=rng.randint(-40, 200))
        periods.append(
            {
                "start": start,
                "end": start + timedelta(days=rng.randint(7, 120)),
                "reason": rng.choice(V.UNAVAILABLE_REASONS),
            }
        )
    periods.sort(key=lambda p: p["start"])
    return periods


def _employment(rng: random.Random, birth: date, own: str) -> list[dict]:
    jobs = []
    recent = rng.random() < 0.45
    if recent:  # left the employer within the last three years: a recusal case
        end = _rand_date(rng, REFERENCE_DATE - timedelta(days=1000), date(2026, 8, 31))
    else:
        end = _rand_date(rng, _add_years(birth, 32), date(2023, 6, 30))
    for _ in range(rng.choice([1, 1, 2])):
        start = max(_add_years(end, -rng.randint(3, 12)), _add_years(birth, 24))
        if start >= end:
            break
        choices = [
            r[0]
            for r in _EXPERT_INSTITUTIONS
            if r[0] != own and r[0] not in [j["institution"] for j in jobs]
        ]
        jobs.append({"institution": rng.choice(choices), "start": start, "end": end})
        end = start - timedelta(days=rng.randint(1, 60))
    return jobs


def _conflicts(
    rng: random.Random, own: str, self_name: str, names: list[str], outsiders: set[str]
) -> list[dict]:
    out = []
    for _ in range(rng.choice([1, 1, 2])):
        if rng.random() < 0.55:
            choices = [r[0] for r in _EXPERT_INSTITUTIONS if r[0] != own]
            out.append(
                {
                    "kind": "institution",
                    "institution": rng.choice(choices),
                    "reason": rng.choice(V.CONFLICT_INSTITUTION_REASONS),
                }
            )
        else:
            if rng.random() < 0.7:
                person = rng.choice([n for n in names if n != self_name])
            else:
                person = _make_name(rng, rng.choice("MF"), outsiders)[0]
            out.append(
                {
                    "kind": "person",
                    "person": person,
                    "reason": rng.choice(V.CONFLICT_PERSON_REASONS),
                }
            )
    return out


# ---------------------------------------------------------------- public API


def generate_experts(n: int = 320, seed: int = 20261125) -> list[dict]:
    """Deterministic list of `n` fictitious experts (see module docstring)."""
    rng = random.Random(seed)
    statuses = _plan_statuses(n, rng)
    fields = _plan_fields(statuses, rng)
    active_idx = [i for i, s in enumerate(statuses) if s == "active"]
    n_expiring = min(len(active_idx), max(1, round(12 * n / 320)))
    n_expired = min(len(active_idx) - n_expiring, max(1, round(6 * n / 320)))
    flagged = rng.sample(active_idx, min(len(active_idx), n_expiring + n_expired + n // 12))
    flags = {i: "expiring" for i in flagged[:n_expiring]}
    flags.update({i: "expired" for i in flagged[n_expiring : n_expiring + n_expired]})
    flags.update({i: "stale" for i in flagged[n_expiring + n_expired :]})

    taken_names: set[str] = set()
    taken_ids: set[str] = set()
    taken_phones: set[str] = set()
    taken_emails: set[str] = set()
    taken_gbw: set[str] = set()
    rm_pool: dict = {}
    experts: list[dict] = []
    for i, status in enumerate(statuses):
        main, row = fields[i]
        experts.append(
            _make_expert(
                rng,
                status,
                main,
                row,
                flags.get(i, ""),
                taken_names,
                taken_ids,
                taken_phones,
                taken_emails,
                taken_gbw,
                rm_pool,
            )
        )

    names = [e["name"] for e in experts]
    outsiders = set(taken_names)
    for e in experts:
        if rng.random() < 0.14:
            e["conflicts"] = _conflicts(rng, e["institution"], e["name"], names, outsiders)
    return experts


def _make_expert(
    rng,
    status,
    main,
    row,
    flag,
    taken_names,
    taken_ids,
    taken_phones,
    taken_emails,
    taken_gbw,
    rm_pool,
) -> dict:
    inst, _, province, city, kind, domain = row[:6]
    gender = "M" if rng.random() < 0.62 else "F"
    name, sur_py, given_py = _make_name(rng, gender, taken_names)
    y0, y1 = _BIRTH_YEARS[status]
    birth = date(rng.randint(y0, y1), rng.randint(1, 12), rng.randint(1, 28))
    age = _age(birth)
    education = _education(rng, birth.year)
    grade = _grade(rng, age, status)
    title = _title(rng, grade, kind, inst, main)
    years = max(age - _START_AGE[education] - rng.randint(0, 3), 3)
    if status in _SENIOR_ONLY:
        years = max(years, 5)
    years = min(years, age - 21)
    metrology = rng.random() < (0.5 if kind == "metrology" else 0.28)
    cats = _categories(rng, main)
    pairs = _field_pairs(rng, cats)
    spec = _specialties(rng, pairs, metrology)
    dept = _department(rng, inst, kind, main)
    rms = _developed_rms(rng, pairs, birth, grade != "中级", inst, rm_pool, taken_gbw)
    reason = _status_reason(rng, status)
    term_start, term_end, updated = _term_and_file(rng, status, flag, reason)
    return {
        "name": name,
        "gender": gender,
        "birth_date": birth,
        "id_number": _id_number(rng, city, birth, gender, taken_ids),
        "phone": _phone(rng, taken_phones),
        "email": _email(rng, sur_py, given_py, birth, domain, taken_emails),
        "institution": inst,
        "department": dept,
        "province": province,
        "city": city,
        "title": title,
        "title_grade": TITLE_GRADES[title],
        "education": education,
        "years_experience": years,
        "summary": _summary(
            rng,
            inst=inst,
            dept=dept,
            title=title,
            education=education,
            years=years,
            cats=cats,
            spec=spec,
            rms=rms,
            metrology=metrology,
        ),
        "categories": cats,
        "specialties": spec,
        "metrology_competent": metrology,
        "developed_rms": rms,
        "publications": _publications(rng, pairs, spec["technique"], birth, education),
        "status": status,
        "status_reason": reason,
        "term_start": term_start,
        "term_end": term_end,
        "file_updated_at": updated,
        "unavailable": _unavailable(rng) if rng.random() < 0.16 else [],
        "conflicts": [],
        "employment": _employment(rng, birth, inst) if rng.random() < 0.22 else [],
    }


def generate_accounts() -> dict:
    """Demo log-ins: administrators, the three duty accounts and trainees (one per audience)."""
    admins = [
        {
            "username": "admin",
            "name": "专家库管理员",
            "email": "admin@demo.example.org",
            "password": "Demo-2026!pool",
        },
        {
            "username": "samr_rm",
            "name": "刘建华",
            "email": "liujianhua@demo.example.org",
            "password": "Demo-2026!samr",
        },
        {
            "username": "review_office",
            "name": "陈静",
            "email": "chenjing@demo.example.org",
            "password": "Demo-2026!office",
        },
    ]
    trainees = [
        ("tech_zhang", "张晓峰", "technician", "钢研纳克检测技术股份有限公司"),
        ("tech_li", "李雪梅", "technician", "坛墨质检科技股份有限公司"),
        ("mgr_wang", "王立新", "manager", "上海安谱实验科技股份有限公司"),
        ("mgr_zhao", "赵敏", "manager", "济南众标科技有限公司"),
        ("rev_sun", "孙志强", "reviewer", "江苏省计量科学研究院"),
        ("rev_huang", "黄颖", "reviewer", "广东省计量科学研究院"),
        ("reg_zhou", "周凯", "regulator", "江苏省市场监督管理局"),
        ("reg_lin", "林芳", "regulator", "广东省市场监督管理局"),
    ]
    # Separation of duties (三员分立): one account per duty role, each holding that role only.
    duties = [
        {
            "username": "sysadmin",
            "name": "系统管理员",
            "email": "sysadmin@demo.example.org",
            "password": "Demo-2026!system",
            "role": "sysadmin",
        },
        {
            "username": "secadmin",
            "name": "安全管理员",
            "email": "secadmin@demo.example.org",
            "password": "Demo-2026!security",
            "role": "secadmin",
        },
        {
            "username": "auditor",
            "name": "安全审计员",
            "email": "auditor@demo.example.org",
            "password": "Demo-2026!audit",
            "role": "auditor",
        },
    ]
    return {
        "admins": admins,
        "duties": duties,
        "trainees": [
            {
                "username": u,
                "name": nm,
                "email": f"{u.replace('_', '.')}@demo.example.org",
                "password": f"Demo-2026!{u.split('_')[0]}",
                "audience": aud,
                "institution": inst,
                "province": _INST_BY_NAME[inst][2],
            }
            for u, nm, aud, inst in trainees
        ],
    }
