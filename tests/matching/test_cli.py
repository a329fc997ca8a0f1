"""`flask match affinity` (OpenReview format) and assignment CSV import/export."""

from __future__ import annotations

import json

from sqlalchemy import select

from expertpool.db import db
from expertpool.reviews.models import Assignment


def _archives(tmp_path):
    folder = tmp_path / "archives"
    folder.mkdir()
    (folder / "~Li_Soil1.jsonl").write_text(
        "\n".join(
            json.dumps(p, ensure_ascii=False)
            for p in [
                {
                    "id": "p1",
                    "content": {"title": "土壤中铅镉的测定", "abstract": "电感耦合等离子体质谱"},
                },
                {
                    "id": "p2",
                    "content": {
                        "title": {"value": "Soil heavy metals"},
                        "abstract": {"value": "Cadmium and lead in soil by ICP-MS"},
                    },
                },
            ]
        ),
        "utf-8",
    )
    (folder / "~Wang_Milk1.jsonl").write_text(
        json.dumps(
            {"id": "p3", "content": {"title": "奶粉中三聚氰胺", "abstract": "液相色谱质谱"}},
            ensure_ascii=False,
        ),
        "utf-8",
    )
    return folder


def test_affinity_in_openreview_format(runner, tmp_path):
    subs = tmp_path / "subs.json"
    subs.write_text(
        json.dumps(
            [
                {
                    "id": "s1",
                    "content": {"title": "土壤铅镉标准物质", "abstract": "土壤 铅 镉 测定"},
                },
                {
                    "id": "s2",
                    "content": {"title": "奶粉三聚氰胺标准物质", "abstract": "三聚氰胺 奶粉"},
                },
            ],
            ensure_ascii=False,
        ),
        "utf-8",
    )
    out = tmp_path / "scores.json"
    result = runner.invoke(
        args=[
            "match",
            "affinity",
            "--archives",
            str(_archives(tmp_path)),
            "--submissions",
            str(subs),
            "--output",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text("utf-8"))
    assert set(scores) == {"~Li_Soil1", "~Wang_Milk1"}
    assert set(scores["~Li_Soil1"]) == {"s1", "s2"}
    assert scores["~Li_Soil1"]["s1"] > scores["~Wang_Milk1"]["s1"]
    assert scores["~Wang_Milk1"]["s2"] > scores["~Li_Soil1"]["s2"]


def test_affinity_reports_a_bad_line(runner, tmp_path):
    folder = _archives(tmp_path)
    (folder / "~Bad.jsonl").write_text('{"id": "x", "content": {"title": "ok"}}\n{not json}\n')
    subs = tmp_path / "subs.json"
    subs.write_text('{"s1": {"content": {"title": "t"}}}')
    result = runner.invoke(
        args=[
            "match",
            "affinity",
            "--archives",
            str(folder),
            "--submissions",
            str(subs),
            "--output",
            str(tmp_path / "o.json"),
        ]
    )
    assert result.exit_code != 0 and "~Bad.jsonl, line 2" in result.output
    assert not (tmp_path / "o.json").exists()


def test_assignment_csv_import_all_or_nothing(runner, tmp_path, admin, pool, make_submission):
    submission = make_submission()
    good = tmp_path / "good.csv"
    good.write_text(
        "submission_id,expert_id,role,affinity\n"
        f"{submission.id},{pool['soil1'].id},member,0.9\n"
        f"{submission.id},{pool['soil3'].id},member,0.8\n"
        f"{submission.id},{pool['stats'].id},alternate,0.5\n",
        "utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "submission_id,expert_id,role\n"
        f"{submission.id},{pool['soil2'].id},member\n"
        f"{submission.id},{pool['same_inst'].id},member\n"
        f"{submission.id},999,member\n",
        "utf-8",
    )
    result = runner.invoke(args=["match", "import-assignments", str(bad), "--as-user", "admin"])
    assert result.exit_code != 0
    assert "row 3" in result.output and "same_institution" in result.output
    assert "row 4" in result.output and "no expert 999" in result.output
    assert db.session.scalars(select(Assignment)).all() == []
    result = runner.invoke(args=["match", "import-assignments", str(good), "--as-user", "admin"])
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(select(Assignment)).all()
    assert sorted((a.expert_id, a.role) for a in rows) == sorted(
        [
            (pool["soil1"].id, "member"),
            (pool["soil3"].id, "member"),
            (pool["stats"].id, "alternate"),
        ]
    )
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["match", "export-assignments", str(out)]).exit_code == 0
    assert out.read_text("utf-8-sig").count("\n") == 4
