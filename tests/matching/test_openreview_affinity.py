"""`flask match affinity` scores OpenReview archives with the application's own fused score."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from expertpool.core.embeddings.centroids import Centroids
from expertpool.core.embeddings.fairness import guess_lang
from expertpool.core.embeddings.matrix import VectorMatrix
from expertpool.core.embeddings.store import calibration_vectors, get_store
from expertpool.core.search import IndexManager
from expertpool.matching.scoring import ScoringConfig, score_pool
from expertpool.matching.sync import EXPERT_SPEC
from expertpool.matching.texts import ExpertTexts, keyword_document, text_items

# ~Rare shares only the rare word "zirconolite" with the submission; ~Near shares no word but
# many character n-grams (what the stand-in encoder calls meaning); ~Milk shares neither.
ARCHIVES = {
    "~Rare": [("Zirconolite", "Melamine residues in infant milk powder by liquid chromatography")],
    "~Near": [("Zirconia ceramics", "Zirconium oxide sintering of ceramic bodies")],
    "~Milk": [("奶粉中三聚氰胺", "液相色谱质谱法测定奶粉中三聚氰胺"), ("乳制品", "")],
}
SUBMISSIONS = {
    "zr": (
        "Zirconolite reference material for dating",
        "Preparation and homogeneity testing of a zirconolite certified reference material",
    ),
    "milk": ("奶粉三聚氰胺标准物质", "奶粉 三聚氰胺 液相色谱"),
}


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "archives"
    folder.mkdir(exist_ok=True)
    for reviewer, papers in ARCHIVES.items():
        lines = [
            json.dumps({"id": f"{reviewer}{n}", "content": {"title": t, "abstract": {"value": a}}})
            for n, (t, a) in enumerate(papers)
        ]
        (folder / f"{reviewer}.jsonl").write_text("\n".join(lines), "utf-8")
    subs = tmp_path / "subs.json"
    subs.write_text(
        json.dumps(
            {k: {"content": {"title": t, "abstract": a}} for k, (t, a) in SUBMISSIONS.items()}
        ),
        "utf-8",
    )
    return folder, subs


def run(runner, tmp_path: Path, *options: str) -> tuple[object, dict]:
    folder, subs = write_inputs(tmp_path)
    out = tmp_path / "scores.json"
    out.unlink(missing_ok=True)
    args = ["match", "affinity", "--archives", str(folder), "--submissions", str(subs)]
    result = runner.invoke(args=[*args, "--output", str(out), *options])
    return result, json.loads(out.read_text("utf-8")) if out.exists() else {}


def ranking(scores: dict, submission: str) -> list[str]:
    return sorted(scores, key=lambda r: (-scores[r][submission], r))


def test_keyword_part_lifts_a_rare_word_match(runner, tmp_path):
    result, fused = run(runner, tmp_path)
    assert result.exit_code == 0, result.output
    _result, semantic = run(runner, tmp_path, "--no-keyword")
    assert ranking(semantic, "zr")[0] == "~Near"  # closest in meaning
    assert ranking(fused, "zr")[0] == "~Rare"  # the rare word counts
    assert ranking(fused, "milk")[0] == ranking(semantic, "milk")[0] == "~Milk"
    for scores in (fused, semantic):
        assert all(0.0 <= v <= 1.0 for row in scores.values() for v in row.values())


def test_no_centroid_scores_by_the_best_papers_alone(app, runner, tmp_path):
    result, with_centroid = run(runner, tmp_path)
    assert result.exit_code == 0, result.output
    _result, without = run(runner, tmp_path, "--no-centroid")
    app.config["MATCH_CENTROID_WEIGHT"] = 0.0
    _result, setting_off = run(runner, tmp_path)
    assert without == setting_off  # the flag is the setting at 0
    assert without != with_centroid  # and the centroid does change the scores


def test_no_semantic_ranks_by_keywords_only(runner, tmp_path):
    result, scores = run(runner, tmp_path, "--no-semantic")
    assert result.exit_code == 0, result.output
    # Only ~Rare shares a word with "zr": the best keyword score is 1, no shared word is 0,
    # however close ~Near's text is in meaning.
    assert {r: row["zr"] for r, row in scores.items()} == {"~Rare": 1.0, "~Near": 0.0, "~Milk": 0.0}


def test_both_parts_off_is_refused(runner, tmp_path):
    result, scores = run(runner, tmp_path, "--no-semantic", "--no-keyword")
    assert result.exit_code != 0
    assert "--no-keyword and --no-semantic" in result.output
    assert scores == {}


def test_scores_equal_the_applications(app, runner, tmp_path):
    result, scores = run(runner, tmp_path)
    assert result.exit_code == 0, result.output
    cfg = ScoringConfig.from_mapping(app.config)
    reviewers = list(ARCHIVES)
    experts = [
        ExpertTexts(id=i, publications=[(n, t, a, "") for n, (t, a) in enumerate(ARCHIVES[r])])
        for i, r in enumerate(reviewers)
    ]
    encoder = get_store().encoder
    items = [item for e in experts for item in text_items(e)]
    row_expert = np.array([item.source_id for item in items])
    matrix = VectorMatrix(
        dim=encoder.dim,
        row_ids=np.arange(len(items)),
        source_types=tuple(item.source_type for item in items),
        source_ids=row_expert,
        chunks=tuple(item.chunk for item in items),
        langs=tuple(guess_lang(item.text) for item in items),
        vectors=encoder.encode_document([item.text for item in items]),
    )
    centroids = Centroids.of(
        matrix.vectors, row_expert, matrix.langs, calibration_vectors(encoder)
    )  # issue 13: the centroid part, as the application adds it
    with tempfile.TemporaryDirectory() as tmp:
        manager = IndexManager(Path(tmp))
        index = manager.index(EXPERT_SPEC)
        index.rebuild((keyword_document(e) for e in experts), len(experts), progress=False)
        for sub, (title, abstract) in SUBMISSIONS.items():
            query = encoder.encode_query([f"{title}. {abstract}"])[0]
            keyword = np.zeros(len(experts))
            ids, values = index.term_scores(
                f"{title} {abstract}", int_ids=True, max_pairs=cfg.keyword_pairs
            )
            keyword[ids] = values
            text = f"{title}. {abstract}"
            expected = score_pool(
                matrix.scores(query, calibration_vectors(encoder)),
                row_expert,
                keyword,
                None,
                None,
                cfg,
                centroids.scores_for(np.arange(len(experts)), query, guess_lang(text)),
            ).total
            got = [scores[r][sub] for r in reviewers]
            assert got == pytest.approx(expected, abs=1e-6)
        manager.close()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "~Bad.jsonl",
            '{"id": "x", "content": {"title": "ok"}}\n{not json}\n',
            "~Bad.jsonl, line 2",
        ),
        ("~List.jsonl", "[1, 2]\n", "~List.jsonl, line 1: expected a JSON object"),
        ("~Content.jsonl", '{"id": "x", "content": "t"}\n', "'content' must be an object"),
    ],
)
def test_malformed_archive_is_named(runner, tmp_path, name, text, message):
    folder, subs = write_inputs(tmp_path)
    (folder / name).write_text(text, "utf-8")
    out = tmp_path / "o.json"
    args = ["match", "affinity", "--archives", str(folder), "--submissions", str(subs)]
    result = runner.invoke(args=[*args, "--output", str(out)])
    assert result.exit_code != 0 and message in result.output
    assert not out.exists()


def test_malformed_submissions_are_named(runner, tmp_path):
    folder, subs = write_inputs(tmp_path)
    subs.write_text('[{"id": "a", "content": {"title": "t"}}, "oops", {"id": "c"}]', "utf-8")
    args = ["match", "affinity", "--archives", str(folder), "--submissions", str(subs)]
    result = runner.invoke(args=[*args, "--output", str(tmp_path / "o.json")])
    assert result.exit_code != 0 and "submission 1: expected a JSON object" in result.output
    subs.write_text('[{"id": "a", "content": {"title": "t"}}, {"id": "c"}]', "utf-8")
    result = runner.invoke(args=[*args, "--output", str(tmp_path / "o.json")])
    assert result.exit_code != 0 and "submission c has neither title nor abstract" in result.output
