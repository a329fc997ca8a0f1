"""JSON views: the experts list with the same filters as the administrator list, and one expert."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from ..core import audit, pii
from ..core.access import Role, roles_required
from ..core.pagination import page_arg, paginate_query, per_page_arg
from ..core.requests import get_or_404
from ..db import db
from ..experts import queries
from ..experts.constants import EXPERT_SUBJECT
from ..experts.models import Expert

MAX_PER_PAGE = 200


def expert_summary(expert: Expert) -> dict[str, Any]:
    return {
        "id": expert.id,
        "name": expert.name,
        "status": expert.status,
        "institution": expert.institution.name if expert.institution else None,
        "province": expert.province,
        "city": expert.city,
        "title": expert.title,
        "title_grade": expert.title_grade,
        "categories": expert.category_codes,
        "specialties": {k: expert.specialties_of(k) for k in ("analyte", "matrix", "technique")},
        "metrology_competent": expert.metrology_competent,
        "term_start": _iso(expert.term_start),
        "term_end": _iso(expert.term_end),
        "url": url_for("api.expert", expert_id=expert.id, _external=False),
    }


def expert_full(expert: Expert, full_personal: bool = False) -> dict[str, Any]:
    """The whole file; ID number and phone masked unless `full_personal`."""
    data = expert_summary(expert)
    shown = (lambda v: v) if full_personal else (lambda v: pii.mask(v) or None)
    data.update(
        {
            "gender": expert.gender,
            "birth_date": _iso(expert.birth_date),
            "id_number": shown(expert.id_number),
            "phone": shown(expert.phone),
            "email": expert.email,
            "department": expert.department,
            "education": expert.education,
            "years_experience": expert.years_experience,
            "summary": expert.summary,
            "status_reason": expert.status_reason,
            "version": expert.version,
            "file_updated_at": _iso(expert.file_updated_at),
            "publications": [
                {
                    "title": p.title,
                    "abstract": p.abstract,
                    "year": p.year,
                    "language": p.language,
                    "venue": p.venue,
                    "authors": list(p.authors or []),
                }
                for p in expert.publications
            ],
            "developed_rms": [
                {"gbw_number": r.gbw_number, "name": r.name, "year": r.year}
                for r in expert.developed_rms
            ],
            "unavailable": [
                {"start": _iso(u.start), "end": _iso(u.end), "reason": u.reason}
                for u in expert.unavailable_periods
            ],
            "conflicts": [
                {
                    "kind": c.kind,
                    "institution": c.institution.name if c.institution else None,
                    "person": c.person_name,
                    "relation": c.relation,
                    "reason": c.reason,
                }
                for c in expert.conflicts
            ],
            "assessments": [
                {"kind": a.kind, "year": a.year, "rating": a.rating} for a in expert.assessments
            ],
        }
    )
    return data


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


@roles_required(Role.ADMIN)
def experts() -> Any:
    flt = queries.ExpertFilter.from_args(request.args)
    per_page = per_page_arg(request.args, current_app.config["PER_PAGE"], MAX_PER_PAGE)
    page = paginate_query(db.session, flt.statement(), page_arg(request.args), per_page)
    audit.record_export(db.session, "api.experts", len(page.items), fmt="json")
    return {
        "items": [expert_summary(e) for e in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


@roles_required(Role.ADMIN)
def expert(expert_id: int) -> Any:
    item = get_or_404(db.session, Expert, expert_id)
    # Masked unless asked for in full (?personal=full); every answer is an audited export.
    full = request.args.get("personal") == "full"
    audit.record_export(
        db.session,
        "api.expert",
        1,
        fmt="json",
        subject=(EXPERT_SUBJECT, item.id),
        full_personal=full,
    )
    return expert_full(item, full)


@roles_required(Role.ADMIN)
def openapi() -> Any:
    from .openapi import spec

    return spec(MAX_PER_PAGE)
