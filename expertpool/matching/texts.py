"""The texts that represent an expert for matching, and the keyword document built from them.

`ExpertTexts` is a plain snapshot (no ORM), so the evaluation bench and the app chunk experts
the same way. Chunks: 'profile' (summary, title, department), 'fields' (categories and
specialties), 'pub:<id>' per publication, 'rm:<id>' per RM developed, 'review:<id>' per past
review. One vector per chunk keeps every text under the model's 512-token window and lets an
explanation point at the text that matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core.embeddings.store import TextItem
from ..core.requests import whole_number
from ..experts.constants import CATEGORIES

EXPERT_INDEX = "experts"  # name of the embeddings index and of the keyword index
SOURCE = "expert"

KEYWORD_FIELDS = {"fields": 3.0, "profile": 1.5, "publications": 1.0, "rms": 1.5, "reviews": 1.0}


@dataclass
class ExpertTexts:
    id: int
    summary: str = ""
    title: str = ""
    department: str = ""
    categories: list[int] = field(default_factory=list)
    specialties: dict[str, list[str]] = field(default_factory=dict)
    publications: list[tuple[int, str, str, str]] = field(default_factory=list)  # id,title,abs,lang
    rms: list[tuple[int, str, str]] = field(default_factory=list)  # id, gbw, name
    reviews: list[tuple[int, str]] = field(default_factory=list)  # id, text

    @classmethod
    def from_model(cls, expert: Any) -> ExpertTexts:
        return cls.from_parts(
            expert,
            expert.category_codes,
            {k: expert.specialties_of(k) for k in ("analyte", "matrix", "technique")},
            expert.publications,
            expert.developed_rms,
            expert.past_reviews,
        )

    @classmethod
    def from_parts(
        cls,
        expert: Any,
        categories: Iterable[int],
        specialties: dict[str, list[str]],
        publications: Iterable[Any],
        rms: Iterable[Any],
        reviews: Iterable[Any],
    ) -> ExpertTexts:
        """From an expert's columns and its parts' rows (ORM objects or column-only rows with
        the models' attribute names), e.g. only the parts an explanation quotes."""
        return cls(
            id=expert.id,
            summary=expert.summary or "",
            title=expert.title or "",
            department=expert.department or "",
            categories=list(categories),
            specialties=specialties,
            publications=[
                (p.id, p.title, p.abstract or "", p.language or "zh") for p in publications
            ],
            rms=[(r.id, r.gbw_number, r.name or "") for r in rms],
            reviews=[
                (r.id, " ".join(x for x in (r.rm_name, r.gbw_number or "", r.note or "") if x))
                for r in reviews
            ],
        )

    @property
    def all_specialties(self) -> list[str]:
        return [s for names in self.specialties.values() for s in names]

    def fields_text(self) -> str:
        cats = "、".join(CATEGORIES[c][0] for c in self.categories if c in CATEGORIES)
        parts = [f"审评类别：{cats}" if cats else ""]
        labels = {"analyte": "分析物", "matrix": "基体", "technique": "技术"}
        for kind, label in labels.items():
            names = self.specialties.get(kind) or []
            if names:
                parts.append(f"{label}：{'、'.join(names)}")
        return "；".join(p for p in parts if p)

    def profile_text(self) -> str:
        head = " ".join(x for x in (self.title, self.department) if x)
        return "。".join(x for x in (head, self.summary) if x)


def text_items(texts: ExpertTexts) -> list[TextItem]:
    """Every chunk of one expert, ready for `VectorStore.upsert(..., replace_sources=True)`."""
    items = []
    if texts.profile_text():
        items.append(TextItem(SOURCE, texts.id, "profile", texts.profile_text()))
    if texts.fields_text():
        items.append(TextItem(SOURCE, texts.id, "fields", texts.fields_text(), "zh"))
    for pub_id, title, abstract, lang in texts.publications:
        body = f"{title}. {abstract}".strip(" .") if abstract else title
        items.append(TextItem(SOURCE, texts.id, f"pub:{pub_id}", body, lang or None))
    for rm_id, gbw, name in texts.rms:
        items.append(TextItem(SOURCE, texts.id, f"rm:{rm_id}", f"{name} {gbw}".strip()))
    for review_id, text in texts.reviews:
        if text:
            items.append(TextItem(SOURCE, texts.id, f"review:{review_id}", text))
    return items


def keyword_document(texts: ExpertTexts, status: str = "active") -> dict[str, Any]:
    """The expert's document in the keyword index (BM25F over these fields)."""
    return {
        "id": str(texts.id),
        "fields": texts.fields_text(),
        "profile": texts.profile_text(),
        "publications": "\n".join(f"{t}. {a}" for _i, t, a, _l in texts.publications),
        "rms": "\n".join(f"{n} {g}" for _i, g, n in texts.rms),
        "reviews": "\n".join(t for _i, t in texts.reviews),
        "status": status,
        "category": [str(c) for c in texts.categories],
    }


def chunk_label(chunk: str) -> tuple[str, int | None]:
    """('pub', 12) for 'pub:12'; ('profile', None) for 'profile'."""
    kind, _, ident = chunk.partition(":")
    return kind, whole_number(ident)


def chunk_texts(texts: ExpertTexts) -> dict[str, str]:
    return {item.chunk: item.text for item in text_items(texts)}


def submission_query(
    title: str,
    rm_name: str | None,
    matrix: str | None,
    analytes: Iterable[str],
    methods: Iterable[str],
    description: str | None = None,
) -> str:
    """The keyword query of a submission: its own field words, and its description when given
    (the index keeps only the rarest (field, word) pairs of a long query: ScoringConfig)."""
    parts = [title, rm_name or "", matrix or "", " ".join(analytes), " ".join(methods)]
    parts.append(description or "")
    return " ".join(p for p in parts if p)
