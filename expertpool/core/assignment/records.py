"""Plain records the matching core works on: experts, submissions and the configurable rules.

The web layer builds these from the database (institution aliases already resolved to canonical
ids, GBW numbers normalised); nothing here knows about Flask or SQLAlchemy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

ACTIVE = "active"  # the only expert status that may be assigned (matches experts.constants.Status)

Period = tuple[date, date]  # inclusive (start, end)

_GBW_SPACES = re.compile(r"\s+")

# Free-mail providers: anyone may hold an address there, so a shared domain says nothing about
# an institution. A default; MATCH_FREE_MAIL_DOMAINS replaces it.
FREE_MAIL_DOMAINS = frozenset(
    {
        "qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "vip.163.com",
        "vip.126.com", "188.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "139.com",
        "189.cn", "wo.cn", "aliyun.com", "tom.com", "21cn.com", "gmail.com", "googlemail.com",
        "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "yahoo.com.cn",
        "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "mail.com",
    }
)  # fmt: skip
# Second-level labels under a country code that many unrelated organisations share
# ("ac.cn", "edu.cn", "com.cn"): never an institution's domain by themselves.
_SHARED_SECOND_LEVEL = frozenset({"ac", "edu", "com", "gov", "org", "net", "co", "mil"})
# Reserved for documentation and tests (RFC 2606): shared by everyone, like "ac.cn". The demo
# data puts every institution under its own label there ("nim.example.org").
_RESERVED = frozenset({"example.org", "example.com", "example.net"})


def email_domain(address: str | None) -> str:
    """The domain of an e-mail address, case-folded ('' when there is none)."""
    text = (address or "").strip().casefold()
    if "@" not in text:
        return ""
    return text.rsplit("@", 1)[1].strip().strip(".")


def org_domains(domain: str) -> frozenset[str]:
    """The domain and its parents that can name one organisation ("mail.nim.ac.cn" ->
    {"mail.nim.ac.cn", "nim.ac.cn"}): a top-level domain and "ac.cn"-like suffixes are left out.
    Two addresses share an institution's domain when these sets meet."""
    labels = [label for label in domain.casefold().strip(".").split(".") if label]
    out = set()
    for i in range(len(labels) - 1):
        tail = labels[i:]
        if len(tail) == 2 and len(tail[1]) == 2 and tail[0] in _SHARED_SECOND_LEVEL:
            break
        if ".".join(tail) in _RESERVED:
            break
        out.add(".".join(tail))
    return frozenset(out)


def is_free_mail(domain: str, free: Iterable[str]) -> bool:
    """Whether `domain` is a free-mail provider's or under one ("vip.qq.com" under "qq.com")."""
    labels, free = domain.split("."), frozenset(free)
    return any(".".join(labels[i:]) in free for i in range(len(labels)))


def normalize_gbw(number: str) -> str:
    """Canonical form of a GBW number so 'GBW（E） 080123' and 'gbw(e)080123' compare equal."""
    text = number.strip().upper().replace("（", "(").replace("）", ")")
    return _GBW_SPACES.sub("", text)


def _gbw_set(numbers: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize_gbw(n) for n in numbers if n and n.strip())


@dataclass(frozen=True, slots=True)
class ExpertRecord:
    """What the constraints and the panel builder need to know about one expert."""

    id: int
    institution_id: int | None = None  # canonical institution (aliases resolved)
    province: str | None = None
    status: str = ACTIVE
    term_start: date | None = None
    term_end: date | None = None
    unavailable: tuple[Period, ...] = ()
    conflict_institution_ids: frozenset[int] = frozenset()
    conflict_persons: frozenset[str] = frozenset()  # person keys (ids or normalised names)
    developed_rms: frozenset[str] = frozenset()  # GBW numbers, normalised in __post_init__
    past_employers: tuple[tuple[int, date | None], ...] = ()  # (institution id, end; None = now)
    load_this_year: int = 0  # reviews already assigned this calendar year
    metrology_competent: bool = False  # covers metrology / statistics (uncertainty, homogeneity)
    training_ok: bool | None = None  # None = not known
    # Not ok only because a required certificate held before is past its validity (re-training
    # due), as opposed to never trained; Rules.training_lapsed_blocks decides what that means.
    training_lapsed: bool = False
    categories: frozenset[int] = frozenset()  # GBW categories 1..13
    under_investigation: bool = False  # a violation case about them is being investigated
    # (co-author's name, paper title, year or None) for each other author of each publication
    coauthors: tuple[tuple[str, str, int | None], ...] = ()
    email_domains: frozenset[str] = frozenset()  # case-folded domains of the expert's addresses
    # (person's name, "advisor" | "student") declared by the expert
    relations: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "developed_rms", _gbw_set(self.developed_rms))
        object.__setattr__(
            self, "email_domains", frozenset(d.casefold() for d in self.email_domains if d)
        )
        for start, end in self.unavailable:
            if end < start:
                raise ValueError(f"expert {self.id}: unavailable period ends before it starts")
        if self.load_this_year < 0:
            raise ValueError(f"expert {self.id}: negative load")


@dataclass(frozen=True, slots=True)
class SubmissionRecord:
    """A submission to review: an RM certification application or a technical-assistance request."""

    id: int
    applicant_institution_id: int | None = None
    applicant_province: str | None = None
    rm_numbers: frozenset[str] = frozenset()  # GBW numbers under review (reproduction, re-cert)
    rm_name: str = ""
    window_start: date | None = None  # review window; None = "today"
    window_end: date | None = None
    category: int | None = None
    related_people: frozenset[str] = frozenset()  # person keys named in the application
    co_applicant_institution_ids: frozenset[int] = frozenset()  # joint developers
    developer_expert_ids: frozenset[int] = frozenset()  # pool experts listed as RM developers
    # The applicant's people as written (developers, contacts): compared by `names.match`.
    named_people: tuple[str, ...] = ()
    contact_domains: frozenset[str] = frozenset()  # domains of the contacts' e-mail addresses

    def __post_init__(self) -> None:
        object.__setattr__(self, "rm_numbers", _gbw_set(self.rm_numbers))
        object.__setattr__(
            self, "contact_domains", frozenset(d.casefold() for d in self.contact_domains if d)
        )
        if self.window_start and self.window_end and self.window_end < self.window_start:
            raise ValueError(f"submission {self.id}: review window ends before it starts")

    @property
    def applicant_institutions(self) -> frozenset[int]:
        """Every institution that counts as 'the applicant' for recusal."""
        main = (
            {self.applicant_institution_id} if self.applicant_institution_id is not None else set()
        )
        return frozenset(main | self.co_applicant_institution_ids)

    def window(self, today: date) -> Period:
        """The review window, defaulting to the single day `today`."""
        start = self.window_start or today
        end = self.window_end or start
        return start, max(start, end)


@dataclass(frozen=True, slots=True)
class Rules:
    """Configurable matching rules; defaults follow DOMAIN.md (*defaults*, not regulation)."""

    years_since_employment: int = 3
    load_cap_per_year: int = 10
    load_cap_per_round: int | None = None  # None = only the yearly cap limits a round
    require_training: bool = False
    training_lapsed_blocks: bool = True  # with require_training: a lapsed certificate excludes
    require_category: bool = False  # exclude experts who do not cover the submission's category
    panel_size: int = 3
    min_metrology: int = 1
    max_per_province: int | None = 2  # None = no provincial cap
    one_per_institution: bool = True
    exclude_under_investigation: bool = True  # keep experts under investigation off panels
    # Co-authorship with a person of the applicant recuses for this many years before the
    # review window's year (None: the rule is off).
    coauthor_years: int | None = 5
    email_domain_recusal: bool = True  # a contact's institutional e-mail domain = the expert's
    # A tuple, not a set: a round stores its rules as JSON (`dataclasses.asdict`).
    free_mail_domains: tuple[str, ...] = tuple(sorted(FREE_MAIL_DOMAINS))

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "free_mail_domains",
            tuple(sorted({str(d).strip().casefold() for d in self.free_mail_domains if d})),
        )
        if self.coauthor_years is not None and self.coauthor_years < 0:
            raise ValueError("coauthor_years must be >= 0")
        if not 3 <= self.panel_size <= 7:
            raise ValueError("panel_size must be between 3 and 7")
        if not 0 <= self.min_metrology <= self.panel_size:
            raise ValueError("min_metrology must be between 0 and panel_size")
        if self.max_per_province is not None and self.max_per_province < 1:
            raise ValueError("max_per_province must be at least 1")
        if self.years_since_employment < 0 or self.load_cap_per_year < 0:
            raise ValueError("years_since_employment and load_cap_per_year must be >= 0")
        if self.load_cap_per_round is not None and self.load_cap_per_round < 0:
            raise ValueError("load_cap_per_round must be >= 0")

    def round_capacity(self, load_this_year: int) -> int:
        """Reviews an expert may still take in one round: the tighter of round and yearly caps."""
        left = self.load_cap_per_year - load_this_year
        if self.load_cap_per_round is not None:
            left = min(left, self.load_cap_per_round)
        return max(left, 0)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One reason an expert may not review a submission: a stable code plus display parameters."""

    code: str
    params: dict[str, object] = field(default_factory=dict)
