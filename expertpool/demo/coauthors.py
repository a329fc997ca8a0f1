"""Demo author lists and applicant contacts, so co-authorship recusal shows at once.

Every demo publication gets a plausible author list (the expert among two to six authors,
Chinese names on Chinese papers, pinyin in the usual spellings on English ones: "Jianguo Ouyang",
"OUYANG Jianguo", "J. Ouyang", "Jian-Guo Ouyang"). Then a few demo submissions name people and
contacts that meet the pool: a recent co-author of an expert of the submission's category (a
conflict), a common name ("张伟") that one expert has co-authored with (a possible conflict,
a warning), a contact at an expert's e-mail domain (a conflict) beside a free-mail address
(ignored), and an expert who declared the applicant's developer as an advisor or student.
Experts already on a demo panel for the submission are left alone, so no demo review breaks a rule.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.assignment.names import certain_keys
from ..core.assignment.records import email_domain
from ..experts.constants import Status
from ..experts.models import ConflictOfInterest, Expert, Publication
from ..reviews.models import Assignment
from ..submissions.models import Submission
from . import vocab as V

SEED = 20261205
RECENT = 2022  # papers from this year on are recent for any demo review window (5 years)
COMMON = "张伟"  # the commonest name: matches only ever warn

_SURNAME_PY = {han: py for han, py, _w in V.SURNAMES}
_CHAR_PY = dict(V.MALE_CHARS + V.FEMALE_CHARS)

Person = tuple[str, str, str]  # (Chinese name, surname pinyin, given pinyin joined by "-")


def _person(rng: random.Random) -> Person:
    surname, sur_py, _w = rng.choice(V.SURNAMES)
    chars = rng.sample(V.MALE_CHARS if rng.random() < 0.6 else V.FEMALE_CHARS, rng.choice([1, 2]))
    return surname + "".join(c for c, _p in chars), sur_py, "-".join(p for _c, p in chars)


def _of_name(name: str) -> Person | None:
    """The pinyin of a demo name (the demo's names are built from `vocab`)."""
    surname, given = name[:1], name[1:]
    if surname not in _SURNAME_PY or not given or any(c not in _CHAR_PY for c in given):
        return None
    return name, _SURNAME_PY[surname], "-".join(_CHAR_PY[c] for c in given)


def _latin(rng: random.Random, person: Person) -> str:
    """One of the spellings Chinese authors use on English papers."""
    _han, surname, given = person
    parts = given.split("-")
    joined = "".join(parts).capitalize()
    roll = rng.random()
    if roll < 0.45:
        return f"{joined} {surname.capitalize()}"
    if roll < 0.7:
        return f"{surname.upper()} {joined}"
    if roll < 0.85 and len(parts) == 2:
        return f"{parts[0].capitalize()}-{parts[1].capitalize()} {surname.capitalize()}"
    return f"{'.'.join(p[0].upper() for p in parts)}. {surname.capitalize()}"


def _authors(rng: random.Random, expert: Expert, pub: Publication, people: list[Person]) -> list:
    english = pub.language == "en"
    others = rng.sample(people, rng.choice([1, 2, 2, 3, 3, 4, 5]))
    names = [_latin(rng, p) if english else p[0] for p in others]
    own = _of_name(expert.name)
    mine = _latin(rng, own) if english and own else expert.name
    names.insert(rng.choice([0, 0, len(names), rng.randrange(len(names) + 1)]), mine)
    return names


def load_demo(session: Session) -> None:
    """Author lists on every publication, then people and contacts on a few submissions."""
    rng = random.Random(SEED)
    people = [_person(rng) for _ in range(600)]
    experts = list(session.scalars(select(Expert).order_by(Expert.id)))
    for expert in experts:
        for pub in sorted(expert.publications, key=lambda p: p.id):
            pub.authors = _authors(rng, expert, pub, people)
    session.flush()
    submissions = list(session.scalars(select(Submission).order_by(Submission.id)))
    for submission in submissions[:4]:
        _meet_the_pool(session, rng, submission, experts)
    session.flush()


def _eligible_pool(session: Session, submission: Submission, experts: Sequence[Expert]) -> list:
    on_panel = set(
        session.scalars(
            select(Assignment.expert_id).where(Assignment.submission_id == submission.id)
        )
    )
    return [
        e
        for e in experts
        if e.status == Status.ACTIVE
        and e.id not in on_panel
        and e.institution_id != submission.applicant_institution_id
        and submission.category in e.category_codes
    ]


def _recent_chinese(expert: Expert) -> Publication | None:
    return next(
        (p for p in expert.publications if p.language == "zh" and (p.year or 0) >= RECENT), None
    )


def _meet_the_pool(
    session: Session, rng: random.Random, submission: Submission, experts: Sequence[Expert]
) -> None:
    pool = _eligible_pool(session, submission, experts)
    with_paper = [(e, p) for e in pool if (p := _recent_chinese(e)) is not None]
    developers, contacts, emails = [], [], []
    if with_paper:  # a recent co-author (an uncommon name) develops the RM: a conflict
        expert, paper = with_paper[0]
        coauthor = next((a for a in paper.authors if a != expert.name and certain_keys(a)), None)
        if coauthor:
            developers.append(coauthor)
    if len(with_paper) > 1:  # the commonest name: only a warning
        _expert, paper = with_paper[1]
        paper.authors = [*paper.authors, COMMON]
        contacts.append(COMMON)
    rest = [e for e in pool if all(e is not w for w, _p in with_paper[:2])]
    if rest:  # a contact writes from an expert's institutional domain: a conflict
        domain = email_domain(rest[0].email)
        emails += [f"office@{domain}", "rm.contact@qq.com"]  # free mail: ignored
    if len(rest) > 1:  # an expert declared the applicant's developer as their student
        student = _person(rng)
        developers.append(student[0])
        rest[1].conflicts.append(
            ConflictOfInterest(
                kind="person",
                person_name=f"{student[0][0]} {student[0][1:]}",  # spelt with a space
                relation="student",
                reason="指导的研究生",
            )
        )
    submission.applicant_people = [*(submission.applicant_people or []), *developers]
    submission.contact_people = contacts or [_person(rng)[0]]
    submission.contact_emails = "\n".join(emails) or None
    submission.contact_domains = sorted({email_domain(e) for e in emails})
