"""The OpenAPI 3 description of the JSON API, served at `/api/v1/openapi.json`.

Written by hand next to the routes it describes and kept small: the filters come from the same
constants the list reads (`ExpertFilter`), and tests/api/test_openapi.py checks that every API
route is described and that every described operation answers as declared. The fuzz suite
(tests/fuzz/test_api.py) generates its requests from this description.
"""

from __future__ import annotations

from typing import Any

from ..core.pagination import MAX_PAGE
from ..experts.constants import CATEGORIES, Status
from ..experts.queries import SORTS

VERSION = "1.0.0"


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


_NOT_SIGNED_IN = {"description": "Not signed in: a redirect to the sign-in page."}
_FORBIDDEN = {"description": "Signed in without the administrator role."}

_STRING_OR_NULL = {"type": ["string", "null"]}
_SPECIALTIES = {
    "type": "object",
    "properties": {
        k: {"type": "array", "items": {"type": "string"}}
        for k in ("analyte", "matrix", "technique")
    },
}

SCHEMAS: dict[str, Any] = {
    "ExpertSummary": {
        "type": "object",
        "required": ["id", "name", "status", "url"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "institution": _STRING_OR_NULL,
            "province": _STRING_OR_NULL,
            "city": _STRING_OR_NULL,
            "title": _STRING_OR_NULL,
            "title_grade": _STRING_OR_NULL,
            "categories": {"type": "array", "items": {"type": "integer"}},
            "specialties": _SPECIALTIES,
            "metrology_competent": {"type": "boolean"},
            "term_start": {"type": ["string", "null"], "format": "date"},
            "term_end": {"type": ["string", "null"], "format": "date"},
            "url": {"type": "string"},
        },
    },
    "Expert": {
        "description": "An expert's whole file: the summary's fields and the ones below.",
        "allOf": [
            {"$ref": "#/components/schemas/ExpertSummary"},
            {
                "type": "object",
                "properties": {
                    "email": _STRING_OR_NULL,
                    "phone": _STRING_OR_NULL,
                    "id_number": _STRING_OR_NULL,
                    "version": {"type": "integer"},
                    "publications": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "authors": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": "Every author as written on the paper.",
                                }
                            },
                        },
                    },
                    "developed_rms": {"type": "array", "items": {"type": "object"}},
                    "unavailable": {"type": "array", "items": {"type": "object"}},
                    "conflicts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "relation": {
                                    "type": ["string", "null"],
                                    "enum": ["advisor", "student", None],
                                    "description": "A declared advisor or student.",
                                }
                            },
                        },
                    },
                    "assessments": {"type": "array", "items": {"type": "object"}},
                },
            },
        ],
    },
    "ExpertPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ExpertSummary"}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
        },
    },
}


def spec(max_per_page: int) -> dict[str, Any]:
    """The description; `max_per_page` is the list's page-size cap."""
    list_parameters = [
        _query(
            "page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "Page number; past the last page gives the last page, anything else page 1.",
        ),
        _query(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": max_per_page},
            "Page size, capped.",
        ),
        _query("q", {"type": "string"}, "Keyword in the name, a specialty or the summary."),
        _query(
            "category", {"type": "integer", "enum": sorted(CATEGORIES)}, "GBW category (01-13)."
        ),
        _query("specialty", {"type": "string"}, "Analyte, matrix or technique."),
        _query("province", {"type": "string"}, "Province (full or short name)."),
        _query("status", {"type": "string", "enum": [s.value for s in Status]}, "File status."),
        _query("title", {"type": "string"}, "Professional title."),
        _query("institution", {"type": "string"}, "Institution name."),
        _query("sort", {"type": "string", "enum": sorted(SORTS)}, "Sort key (default name)."),
        _query("desc", {"type": "string", "enum": ["1", "true"]}, "Descending order."),
    ]
    errors = {"302": _NOT_SIGNED_IN, "403": _FORBIDDEN}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "National RM review-expert pool: JSON API",
            "version": VERSION,
            "description": "Read-only; administrators only (the signed-in session cookie).",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/experts": {
                "get": {
                    "operationId": "experts",
                    "summary": "The experts, filtered and paged as in the administrator list.",
                    "parameters": list_parameters,
                    "responses": {"200": _json("ExpertPage", "One page of experts."), **errors},
                }
            },
            "/experts/{expert_id}": {
                "get": {
                    "operationId": "expert",
                    "summary": "One expert's whole file.",
                    "parameters": [
                        {
                            "name": "expert_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "responses": {
                        "200": _json("Expert", "The expert."),
                        "404": {"description": "No such expert (or an id past 64 bits)."},
                        **errors,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description.",
                    "responses": {"200": {"description": "The OpenAPI document."}, **errors},
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
