"""The demo data module: determinism, coverage and internal consistency."""

import re
from collections import Counter
from datetime import date, timedelta

import pytest

from expertpool.core.idnumbers import check_digit
from expertpool.demo import data
from expertpool.demo.institutions import PROVINCE_CODES

REF = data.REFERENCE_DATE
GRADES = {"正高级": 3, "副高级": 2, "中级": 1}


@pytest.fixture(scope="module")
def experts() -> list[dict]:
    return data.generate_experts()


@pytest.fixture(scope="module")
def active(experts) -> list[dict]:
    return [e for e in experts if e["status"] == "active"]


def _check_digit_ok(number: str) -> bool:
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # the ISO 7064 MOD 11-2 weights
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return number[17] == "10X98765432"[total % 11]


def test_known_id_number_check_digit():
    # The GB 11643 standard's published example.
    assert check_digit("11010519491231002") == "X"
    assert _check_digit_ok("11010519491231002X")


def test_generation_is_deterministic_and_seeded():
    first = data.generate_experts(n=60, seed=7)
    assert first == data.generate_experts(n=60, seed=7)
    assert first != data.generate_experts(n=60, seed=8)
    assert data.generate_experts() == data.generate_experts()


def test_constants():
    assert len(data.PROVINCES) == 31 and len(set(data.PROVINCES)) == 31
    assert "新疆维吾尔自治区" in data.PROVINCES and "北京市" in data.PROVINCES
    assert sorted(data.CATEGORY_NAMES) == list(range(1, 14))
    assert data.CATEGORY_NAMES[8] == ("环境化学", "environmental chemistry")
    assert data.CATEGORY_NAMES[13] == (
        "物理特性与物理化学特性",
        "physical & physicochemical properties",
    )


def test_institutions():
    insts = data.INSTITUTIONS
    assert len(insts) >= 60
    names = [i["name"] for i in insts]
    assert len(set(names)) == len(names)
    assert len({i["province"] for i in insts}) >= 28
    aliases = [a for i in insts for a in i["aliases"]]
    assert len(set(aliases)) == len(aliases), "aliases are unique in the database"
    assert not set(aliases) & set(names)
    for inst in insts:
        assert set(inst) == {"name", "aliases", "province", "city", "kind"}
        assert inst["province"] in data.PROVINCES
        assert inst["kind"] in {
            "research",
            "metrology",
            "testing",
            "university",
            "enterprise",
            "regulator",
        }
        assert len(inst["name"]) <= 128 and all(len(a) <= 128 for a in inst["aliases"])
    nim = next(i for i in insts if i["name"] == "中国计量科学研究院")
    assert "NIM" in nim["aliases"] and nim["kind"] == "metrology"


def test_size_and_statuses(experts):
    assert len(experts) == 320
    counts = Counter(e["status"] for e in experts)
    assert set(counts) == set(data.STATUSES)
    assert all(c >= 5 for c in counts.values())
    assert 0.7 <= counts["active"] / len(experts) <= 0.8
    for e in experts:
        needs_reason = e["status"] in ("suspended", "retired", "removed")
        assert bool(e["status_reason"]) == needs_reason, e["status"]


def test_categories_cover_all_with_active_experts(active, experts):
    per_category = Counter(c for e in active for c in e["categories"])
    assert sorted(per_category) == list(range(1, 14))
    assert min(per_category.values()) >= 10
    # Nuclear and polymer are rarer than environment and food.
    assert per_category[4] < per_category[8] and per_category[5] < per_category[10]
    for e in experts:
        assert 1 <= len(e["categories"]) <= 3
        assert len(set(e["categories"])) == len(e["categories"])


def test_provinces_and_institution_references(experts):
    by_name = {i["name"]: i for i in data.INSTITUTIONS}
    assert len({e["province"] for e in experts}) >= 25
    for e in experts:
        inst = by_name[e["institution"]]
        assert (e["province"], e["city"]) == (inst["province"], inst["city"])
        assert inst["kind"] != "regulator"
        for job in e["employment"]:
            assert job["institution"] in by_name and job["institution"] != e["institution"]
            assert job["start"] < job["end"] <= REF
        for conflict in e["conflicts"]:
            if conflict["kind"] == "institution":
                assert conflict["institution"] in by_name
            else:
                assert conflict["kind"] == "person" and conflict["person"] != e["name"]
            assert conflict["reason"]
    assert sum(bool(e["conflicts"]) for e in experts) >= 20
    recent = [
        j for e in experts for j in e["employment"] if j["end"] > REF - timedelta(days=3 * 365)
    ]
    assert len(recent) >= 10


def test_id_numbers(experts):
    ids = [e["id_number"] for e in experts]
    assert len(set(ids)) == len(ids)
    for e in experts:
        number = e["id_number"]
        assert re.fullmatch(r"\d{17}[\dX]", number)
        assert _check_digit_ok(number), number
        assert number[:2] == PROVINCE_CODES[e["province"]]
        assert number[6:14] == e["birth_date"].strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if e["gender"] == "M" else 0)


def test_contacts_unique_and_well_formed(experts):
    phones = [e["phone"] for e in experts]
    emails = [e["email"] for e in experts]
    assert len(set(phones)) == len(phones) and len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)
    assert all(re.fullmatch(r"[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+", m) for m in emails)
    names = [e["name"] for e in experts]
    assert len(set(names)) >= len(names) - 3
    assert all(2 <= len(n) <= 4 and n.isascii() is False for n in names)


def test_titles_ages_and_experience(experts):
    for e in experts:
        assert data.TITLE_GRADES[e["title"]] == e["title_grade"]
        assert e["education"] in ("博士研究生", "硕士研究生", "大学本科")
        age = (REF - e["birth_date"]).days // 365
        assert 3 <= e["years_experience"] <= age - 21
        if e["status"] == "active":
            assert GRADES[e["title_grade"]] >= 2, "active experts hold a senior title"
            assert e["years_experience"] >= 5


def test_specialties_and_metrology(experts):
    share = sum(e["metrology_competent"] for e in experts) / len(experts)
    assert 0.25 <= share <= 0.45
    for e in experts:
        spec = e["specialties"]
        assert set(spec) == {"analyte", "matrix", "technique"} and all(spec.values())
        if e["metrology_competent"]:
            assert "不确定度评定" in spec["technique"]
            assert "不确定度" in e["summary"] and "统计" in e["summary"]
        else:
            assert "不确定度评定" not in spec["technique"]
        # The summary names what the expert works on.
        assert spec["matrix"][0] in e["summary"] and spec["analyte"][0] in e["summary"]
        assert 2 <= e["summary"].count("。") <= 4


def test_environment_specialties_are_environmental(experts):
    env_matrices = {"土壤", "水系沉积物", "地表水", "大气颗粒物", "飞灰", "海水", "氮气", "污泥"}
    env = [e for e in experts if e["categories"][0] == 8]
    assert env and all(set(e["specialties"]["matrix"]) & env_matrices for e in env)


def test_developed_rms_match_categories(experts):
    total = 0
    for e in experts:
        assert len(e["developed_rms"]) <= 4
        for rm in e["developed_rms"]:
            total += 1
            m = re.fullmatch(r"GBW (\d{2})\d{3}|GBW\(E\) (\d{2})\d{4}", rm["gbw"])
            assert m, rm["gbw"]
            assert int(m.group(1) or m.group(2)) in e["categories"]
            assert rm["name"].endswith("标准物质") and 1990 <= rm["year"] <= REF.year
    assert total >= 200


def test_publications(experts):
    pubs = [p for e in experts for p in e["publications"]]
    assert all(1 <= len(e["publications"]) <= 5 for e in experts)
    english = [p for p in pubs if p["language"] == "en"]
    assert len(english) / len(pubs) >= 0.2
    for p in english:
        assert p["title"].isascii() and p["abstract"].isascii() and p["venue"].isascii()
        assert " a I" not in p["title"] and " a a" not in p["title"]
    for p in pubs:
        assert p["language"] in ("zh", "en") and 1990 <= p["year"] <= REF.year
        sentences = (
            p["abstract"].count("。") if p["language"] == "zh" else p["abstract"].count(". ") + 1
        )
        assert 2 <= sentences <= 3, p["abstract"]
    # Texts are combined from fragments, so they must not repeat much.
    assert len({p["title"] for p in pubs}) >= 0.85 * len(pubs)
    assert len({p["abstract"] for p in pubs}) >= 0.95 * len(pubs)
    assert len({e["summary"] for e in experts}) == len(experts)


def test_terms_and_files(experts, active):
    for e in active:
        start, end = e["term_start"], e["term_end"]
        assert start and end
        assert end == date(start.year + 5, start.month, start.day) - timedelta(days=1)
    expiring = [e for e in active if REF < e["term_end"] <= REF + timedelta(days=60)]
    assert 10 <= len(expiring) <= 14
    assert any(e["term_end"] < REF for e in active), "some terms expired"
    for e in experts:
        if e["status"] in ("applicant", "vetting"):
            assert e["term_start"] is None and e["term_end"] is None
        assert e["file_updated_at"] <= REF
        if e["term_start"]:
            assert e["file_updated_at"] >= e["term_start"]
    stale = [e for e in active if e["file_updated_at"] < REF - timedelta(days=730)]
    assert len(stale) >= 5
    removed_stale = [
        e for e in experts if e["status"] == "removed" and "未更新" in e["status_reason"]
    ]
    for e in removed_stale:
        assert (e["term_end"] - e["file_updated_at"]).days > 730


def test_unavailability(experts):
    with_periods = [e for e in experts if e["unavailable"]]
    assert len(with_periods) >= 20
    for e in with_periods:
        for period in e["unavailable"]:
            assert period["start"] < period["end"] and period["reason"]


def test_accounts():
    accounts = data.generate_accounts()
    assert 2 <= len(accounts["admins"]) <= 3
    assert 6 <= len(accounts["trainees"]) <= 8
    assert {t["audience"] for t in accounts["trainees"]} == {
        "technician",
        "manager",
        "reviewer",
        "regulator",
    }
    insts = {i["name"]: i for i in data.INSTITUTIONS}
    users = accounts["admins"] + accounts["trainees"]
    assert len({u["username"] for u in users}) == len(users)
    assert len({u["email"] for u in users}) == len(users)
    for t in accounts["trainees"]:
        assert insts[t["institution"]]["province"] == t["province"]
    for u in users:
        assert len(u["password"]) >= 10


def test_demo_load_cli_loads_once_and_prints_accounts(runner):
    from sqlalchemy import func, select

    from expertpool.db import db
    from expertpool.experts.models import Expert

    first = runner.invoke(args=["demo", "load", "--if-empty", "--experts", "40"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "Demo-2026!pool" in first.output
    count = db.session.scalar(select(func.count()).select_from(Expert))
    assert count == 40
    from expertpool.experts.models import Violation

    states = sorted(db.session.scalars(select(Violation.state)))
    assert states == ["decided", "decided", "investigating", "reported"]
    again = runner.invoke(args=["demo", "load", "--if-empty", "--experts", "40"])
    assert again.exit_code == 0 and "already has data" in again.output
    assert "Demo-2026!pool" in again.output
    assert db.session.scalar(select(func.count()).select_from(Expert)) == count
    from expertpool.assessment.models import AssessmentRound

    statuses = set(db.session.scalars(select(AssessmentRound.status)))
    assert statuses == {"closed", "open"}  # last year's assessment, graded; this year's open
    refused = runner.invoke(args=["demo", "load", "--experts", "40"])
    assert refused.exit_code != 0


def test_every_demo_province_is_canonical(experts):
    """Institutions, experts and trainee accounts use the vocabulary's canonical names only,
    and the demo's division codes agree with it."""
    from expertpool.core.provinces import BY_NAME, normalise_province

    accounts = data.generate_accounts()
    values = (
        [i["province"] for i in data.INSTITUTIONS]
        + [e["province"] for e in experts]
        + [t["province"] for t in accounts["trainees"]]
        + list(data.PROVINCES)
        + [row[2] for row in data.INSTITUTION_ROWS]
    )
    assert values and all(v in BY_NAME and normalise_province(v) == v for v in values), {
        v for v in values if v not in BY_NAME
    }
    for name, prefix in PROVINCE_CODES.items():
        assert BY_NAME[name].code[:2] == prefix
