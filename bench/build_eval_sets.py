"""Build the two outside evaluation sets for bench/match_quality.py from public data.

    .venv/bin/python bench/build_eval_sets.py [--csl GITDIR] [--mla GITDIR] [--only csl|mla]

Both sets are written in the format of bench/data/match_eval/ (experts.json, submissions.json,
qrels.json); relevance comes from the source data, never from our own judgement:

- ``bench/data/csl_zh``: Chinese. CSL (Chinese Scientific Literature, Apache-2.0, git dir of
  github ydli-ai/CSL): the 2,000 abstracts of the benchmark dev and test splits with their
  discipline (学科, 67 labels), category (门类), title and keywords. Pseudo-experts are groups
  of papers of one discipline (some mixing a second discipline of the same category); queries
  are held-out papers; grade from the expert's papers in the query's discipline and the
  keywords they share with it (`csl_grade`).
- ``bench/data/mla_en``: English. ML Anthology (Apache-2.0, git dir of github rbnyng/mlanthology),
  PMLR proceedings of COLT, ALT, AISTATS and UAI 2019-2025 with authors and abstracts. Experts
  are authors with several papers (their other papers as profile); queries are held-out papers;
  the paper's own authors are grade 3, their co-authors grade 1 (`authorship_grades`).

The ACL Anthology (the first choice for English) could not be brought here: its snapshot is
over the size limit of the offline mirror. Query papers are never part of any expert's profile
(`assert_disjoint`). Everything is seeded: the same source commit gives the same files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "data"
CSL_GIT = Path("/work/.mirror/ydli-ai+CSL/repo")
MLA_GIT = Path("/work/.mirror/rbnyng+mlanthology/repo")
SEED = 13


@dataclass
class Paper:
    id: str
    title: str
    abstract: str
    label: str = ""  # CSL discipline (学科)
    group: str = ""  # CSL category (门类)
    keywords: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)  # author slugs (ML Anthology)
    names: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str = ""


# --- pure helpers (tests/test_build_eval_sets.py) ---------------------------------------------


def csl_grade(expert: Sequence[Paper], query: Paper) -> int:
    """Grade of a pseudo-expert for a query paper, from the source's labels alone.

    d = the expert's papers in the query's discipline; shared = one of those papers has a
    keyword of the query. 3: d >= 2 and shared; 2: d >= 2, or d == 1 and shared; 1: d == 1.
    """
    same = [p for p in expert if p.label == query.label]
    wanted = {k.casefold() for k in query.keywords}
    shared = any(wanted & {k.casefold() for k in p.keywords} for p in same)
    if len(same) >= 2:
        return 3 if shared else 2
    if len(same) == 1:
        return 2 if shared else 1
    return 0


def hold_out_per_label(
    papers: Sequence[Paper], per_label: int, min_label: int, rng: random.Random
) -> tuple[list[Paper], list[Paper]]:
    """(queries, rest): ``per_label`` random papers of every label with >= ``min_label`` papers."""
    by_label: dict[str, list[Paper]] = defaultdict(list)
    for p in papers:
        by_label[p.label].append(p)
    queries: list[Paper] = []
    for label in sorted(by_label):
        group = by_label[label]
        if len(group) >= min_label:
            queries.extend(rng.sample(group, per_label))
    held = {p.id for p in queries}
    return queries, [p for p in papers if p.id not in held]


def group_experts(
    papers: Sequence[Paper],
    rng: random.Random,
    sizes: tuple[int, int] = (3, 5),
    mixed_share: float = 0.25,
    limit: int = 360,
) -> list[list[Paper]]:
    """Pseudo-experts: ``sizes`` papers of one label each; a ``mixed_share`` of them add one or
    two papers of another label of the same group (a chemist who also publishes on materials)."""
    pools: dict[str, list[Paper]] = defaultdict(list)
    for p in papers:
        pools[p.label].append(p)
    for pool in pools.values():
        rng.shuffle(pool)
    labels_of_group: dict[str, list[str]] = defaultdict(list)
    for label, pool in sorted(pools.items()):
        labels_of_group[pool[0].group].append(label)
    experts: list[list[Paper]] = []
    while len(experts) < limit:
        open_labels = [lb for lb in sorted(pools) if len(pools[lb]) >= sizes[0]]
        if not open_labels:
            break
        label = rng.choice(open_labels)
        pool = pools[label]
        take = min(rng.randint(*sizes), len(pool))
        expert = [pool.pop() for _ in range(take)]
        if rng.random() < mixed_share:
            group = expert[0].group
            others = [lb for lb in labels_of_group[group] if lb != label and pools[lb]]
            if others:
                other = pools[rng.choice(others)]
                expert += [other.pop() for _ in range(min(rng.randint(1, 2), len(other)))]
        experts.append(expert)
    return experts


def authorship_grades(
    query: Paper, experts: dict[str, list[Paper]], coauthors: dict[str, set[str]]
) -> dict[str, int]:
    """3 for each expert among the query's authors, 1 for an expert who co-wrote another paper
    with one of them (``coauthors``: slug -> slugs, built without the query papers)."""
    grades: dict[str, int] = {}
    for slug in query.authors:
        for other in coauthors.get(slug, ()):
            if other in experts:
                grades[other] = 1
    for slug in query.authors:
        if slug in experts:
            grades[slug] = 3
    return grades


def coauthor_graph(papers: Iterable[Paper]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for p in papers:
        for a in p.authors:
            graph[a].update(b for b in p.authors if b != a)
    return graph


def pick_author_queries(
    papers: Sequence[Paper], n: int, min_papers: int, rng: random.Random
) -> tuple[list[Paper], dict[str, list[Paper]]]:
    """(queries, profiles): ``n`` papers held out such that each has an author who keeps
    >= ``min_papers`` other papers; profiles = every such author's papers minus all queries."""
    by_author: dict[str, list[Paper]] = defaultdict(list)
    for p in papers:
        for a in p.authors:
            by_author[a].append(p)
    candidates = [p for p in papers if any(len(by_author[a]) > min_papers for a in p.authors)]
    rng.shuffle(candidates)
    held: set[str] = set()
    queries: list[Paper] = []
    kept = Counter({a: len(ps) for a, ps in by_author.items()})
    for p in candidates:
        if len(queries) == n:
            break
        # hold p out only if one of its authors still has enough papers afterwards
        if any(kept[a] - 1 >= min_papers for a in p.authors):
            queries.append(p)
            held.add(p.id)
            for a in p.authors:
                kept[a] -= 1
    profiles = {
        a: [p for p in ps if p.id not in held]
        for a, ps in by_author.items()
        if sum(1 for p in ps if p.id not in held) >= min_papers
    }
    return queries, profiles


def assert_disjoint(profiles: Iterable[Iterable[str]], queries: Iterable[str]) -> None:
    """Raise when a query paper is part of an expert's profile."""
    held = set(queries)
    for paper_ids in profiles:
        leak = held.intersection(paper_ids)
        if leak:
            raise AssertionError(f"query papers in a profile: {sorted(leak)[:3]}")


# --- sources ----------------------------------------------------------------------------------


def git_show(git_dir: Path, path: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(git_dir), "show", f"HEAD:{path}"], check=True, capture_output=True
    ).stdout


def git_head(git_dir: Path) -> str:
    out = subprocess.run(["git", "-C", str(git_dir), "rev-parse", "HEAD"], capture_output=True)
    return out.stdout.decode().strip()


def _tsv(git_dir: Path, path: str) -> list[list[str]]:
    return [line.split("\t") for line in git_show(git_dir, path).decode("utf-8").splitlines()]


def load_csl(git_dir: Path) -> list[Paper]:
    """dev + test of the CSL benchmark: the four task files are aligned line by line."""
    papers = []
    for split in ("dev", "test"):
        dcp = _tsv(git_dir, f"benchmark/cls_dcp/{split}.tsv")
        ctg = _tsv(git_dir, f"benchmark/cls_ctg/{split}.tsv")
        ts = _tsv(git_dir, f"benchmark/ts/{split}.tsv")
        kg = _tsv(git_dir, f"benchmark/kg/{split}.tsv")
        for n, (d, c, t, k) in enumerate(zip(dcp, ctg, ts, kg, strict=True)):
            if d[1] != t[1] or t[2] != c[1]:
                raise ValueError(f"CSL {split} line {n + 1}: task files are not aligned")
            keywords = [w for w in k[2].split("_") if w]
            papers.append(Paper(f"csl-{split}-{n + 1:04d}", t[2], d[1], d[2], c[2], keywords))
    return papers


MLA_VENUES = ("colt", "alt", "aistats", "uai")
MLA_YEARS = range(2019, 2026)


def load_mla(git_dir: Path) -> list[Paper]:
    papers, seen = [], set()
    for venue in MLA_VENUES:
        for year in MLA_YEARS:
            raw = json.loads(
                gzip.decompress(git_show(git_dir, f"data/papers/{venue}-{year}.json.gz"))
            )
            for p in raw["papers"]:
                if not p.get("abstract") or p["bibtex_key"] in seen or not p.get("authors"):
                    continue
                seen.add(p["bibtex_key"])
                papers.append(
                    Paper(
                        p["bibtex_key"],
                        " ".join(p["title"].split()),
                        " ".join(p["abstract"].split()),
                        authors=[a["slug"] for a in p["authors"]],
                        names=[
                            f"{a.get('given', '')} {a.get('family', '')}".strip()
                            for a in p["authors"]
                        ],
                        year=int(p["year"]),
                        venue=venue,
                    )
                )
    return papers


# --- writers ----------------------------------------------------------------------------------


def _pub(p: Paper, lang: str) -> dict:
    out = {"id": p.id, "title": p.title, "abstract": p.abstract, "language": lang}
    if p.keywords:
        out["keywords"] = p.keywords
    if p.year:
        out["year"] = p.year
    return out


def _query(qid: str, p: Paper, lang: str) -> dict:
    # The query carries only what an applicant writes: title and text. CSL keywords define
    # grade 3, so they stay out of what the ranker sees (kept under "withheld" for readers).
    out = {
        "id": qid,
        "source_id": p.id,
        "kind": "paper",
        "title": p.title,
        "description": p.abstract,
        "language": lang,
        "category": None,
        "analytes": [],
        "methods": [],
    }
    if p.keywords:
        out["withheld"] = {"keywords": p.keywords, "discipline": p.label}
    return out


def _write(folder: Path, experts: list[dict], subs: list[dict], qrels: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    assert_disjoint(
        ([p["id"] for p in e["publications"]] for e in experts), (s["source_id"] for s in subs)
    )
    for name, data in (("experts", experts), ("submissions", subs), ("qrels", qrels)):
        text = json.dumps(data, ensure_ascii=False, indent=1)
        (folder / f"{name}.json").write_text(text + "\n", "utf-8")


def build_csl(git_dir: Path, out: Path, n_queries: int = 120) -> dict:
    rng = random.Random(SEED)
    papers = load_csl(git_dir)
    queries, rest = hold_out_per_label(papers, per_label=2, min_label=16, rng=rng)
    rng.shuffle(queries)
    queries = queries[:n_queries]
    held = {q.id for q in queries}
    rest = [p for p in papers if p.id not in held]  # unused held-out papers go back to the pool
    groups = group_experts(rest, rng)
    experts = []
    for n, group in enumerate(groups):
        labels = Counter(p.label for p in group)
        experts.append(
            {
                "id": f"z{n + 1:03d}",
                "name": f"CSL 专家 {n + 1:03d}",
                "summary": "",
                "categories": [],
                "specialties": {},
                "publications": [_pub(p, "zh") for p in group],
                "source_disciplines": dict(labels),
            }
        )
    subs, qrels = [], {}
    for n, q in enumerate(queries):
        qid = f"q{n + 1:03d}"
        subs.append(_query(qid, q, "zh"))
        grades = {e["id"]: csl_grade(g, q) for e, g in zip(experts, groups, strict=True)}
        qrels[qid] = {e: g for e, g in grades.items() if g}
    _write(out, experts, subs, qrels)
    return {"commit": git_head(git_dir), "papers": len(papers), **_counts(experts, subs, qrels)}


def build_mla(
    git_dir: Path, out: Path, n_queries: int = 120, n_experts: int = 240, profile_max: int = 4
) -> dict:
    rng = random.Random(SEED)
    papers = load_mla(git_dir)
    queries, profiles = pick_author_queries(papers, n_queries, min_papers=4, rng=rng)
    held = {q.id for q in queries}
    authors_of_queries = sorted({a for q in queries for a in q.authors if a in profiles})
    others = sorted(set(profiles) - set(authors_of_queries))
    rng.shuffle(others)
    chosen = authors_of_queries + others[: max(0, n_experts - len(authors_of_queries))]
    names = {a: n for p in papers for a, n in zip(p.authors, p.names, strict=True)}
    pool = {
        a: sorted(profiles[a], key=lambda p: (-(p.year or 0), p.id))[:profile_max] for a in chosen
    }
    coauthors = coauthor_graph(p for p in papers if p.id not in held)
    order = sorted(chosen)
    experts = [
        {
            "id": a,
            "name": names.get(a, a),
            "summary": "",
            "categories": [],
            "specialties": {},
            "publications": [_pub(p, "en") for p in pool[a]],
        }
        for a in order
    ]
    subs, qrels = [], {}
    for n, q in enumerate(queries):
        qid = f"q{n + 1:03d}"
        subs.append({**_query(qid, q, "en"), "year": q.year, "venue": q.venue})
        qrels[qid] = dict(sorted(authorship_grades(q, pool, coauthors).items()))
    _write(out, experts, subs, qrels)
    return {"commit": git_head(git_dir), "papers": len(papers), **_counts(experts, subs, qrels)}


def _counts(experts: list[dict], subs: list[dict], qrels: dict) -> dict:
    grades = Counter(g for q in qrels.values() for g in q.values())
    per_query = sorted(sum(1 for g in q.values() if g >= 2) for q in qrels.values())
    return {
        "experts": len(experts),
        "publications": sum(len(e["publications"]) for e in experts),
        "queries": len(subs),
        "grades": dict(sorted(grades.items())),
        "relevant_per_query_min_median_max": (
            per_query[0],
            per_query[len(per_query) // 2],
            per_query[-1],
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csl", type=Path, default=CSL_GIT, help="git dir of ydli-ai/CSL")
    parser.add_argument("--mla", type=Path, default=MLA_GIT, help="git dir of rbnyng/mlanthology")
    parser.add_argument("--only", choices=("csl", "mla"))
    args = parser.parse_args(argv)
    if args.only in (None, "csl"):
        print("csl_zh", build_csl(args.csl, OUT / "csl_zh"))
    if args.only in (None, "mla"):
        print("mla_en", build_mla(args.mla, OUT / "mla_en"))


if __name__ == "__main__":
    main()
