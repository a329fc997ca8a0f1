"""bench/build_eval_sets.py: the pure rules that make the outside sets (grades, splits)."""

from __future__ import annotations

import random

import pytest

from tests.benchmods import bench_module

b = bench_module("build_eval_sets.py", "build_eval_sets")


def paper(pid: str, label: str = "", group: str = "g", keywords=(), authors=()) -> object:
    return b.Paper(pid, f"t{pid}", f"a{pid}", label, group, list(keywords), list(authors))


def test_csl_grade_counts_papers_of_the_discipline_and_shared_keywords() -> None:
    q = paper("q", "化学", keywords=["催化", "Pt"])
    two_shared = [paper("1", "化学", keywords=["pt"]), paper("2", "化学")]
    two_plain = [paper("1", "化学"), paper("2", "化学", keywords=["合成"])]
    one_shared = [paper("1", "化学", keywords=["催化"]), paper("2", "物理", keywords=["Pt"])]
    one_plain = [paper("1", "化学"), paper("2", "物理", keywords=["催化"])]
    other = [paper("1", "物理", keywords=["催化", "Pt"])]
    assert b.csl_grade(two_shared, q) == 3  # keyword match is case-insensitive
    assert b.csl_grade(two_plain, q) == 2
    assert b.csl_grade(one_shared, q) == 2
    # a keyword shared by a paper of another discipline does not count
    assert b.csl_grade(one_plain, q) == 1
    assert b.csl_grade(other, q) == 0


def test_hold_out_takes_the_same_number_per_label_and_skips_small_labels() -> None:
    papers = [paper(f"a{i}", "A") for i in range(10)] + [paper(f"b{i}", "B") for i in range(3)]
    queries, rest = b.hold_out_per_label(papers, per_label=2, min_label=5, rng=random.Random(1))
    assert sorted(q.label for q in queries) == ["A", "A"]
    assert len(rest) == 11
    assert not {q.id for q in queries} & {p.id for p in rest}


def test_group_experts_uses_each_paper_once_and_mixes_only_within_a_group() -> None:
    papers = [
        paper(f"{lb}{i}", lb, group="G1" if lb in "AB" else "G2") for lb in "ABC" for i in range(12)
    ]
    experts = b.group_experts(papers, random.Random(3), sizes=(3, 4), mixed_share=0.5)
    used = [p.id for e in experts for p in e]
    assert len(used) == len(set(used))
    assert all(len({p.group for p in e}) == 1 for e in experts)
    assert any(len({p.label for p in e}) == 2 for e in experts)  # some experts are mixed
    primary_sizes = [max(sum(1 for p in e if p.label == lb) for lb in "ABC") for e in experts]
    assert min(primary_sizes) >= 1 and max(len(e) for e in experts) <= 4 + 2


def test_pick_author_queries_keeps_enough_papers_and_never_profiles_a_query() -> None:
    rng = random.Random(5)
    papers = [paper(f"p{i}", authors=["x", f"solo{i}"] if i % 2 else ["y"]) for i in range(20)]
    queries, profiles = b.pick_author_queries(papers, n=6, min_papers=4, rng=rng)
    assert len(queries) == 6
    held = {q.id for q in queries}
    assert set(profiles) == {"x", "y"}  # the solo authors have a single paper
    assert all(len(ps) >= 4 for ps in profiles.values())
    b.assert_disjoint(([p.id for p in ps] for ps in profiles.values()), held)
    for q in queries:
        assert any(a in profiles for a in q.authors)


def test_authorship_grades_authors_3_coauthors_1_others_absent() -> None:
    q = paper("q", authors=["ann", "bob", "nobody"])
    experts = {"ann": [], "cat": [], "dan": []}
    graph = b.coauthor_graph(
        [paper("1", authors=["ann", "cat"]), paper("2", authors=["eve", "dan"])]
    )
    assert b.authorship_grades(q, experts, graph) == {"ann": 3, "cat": 1}
    # an author who is also a co-author of another author keeps grade 3
    graph["cat"].add("ann")
    q2 = paper("q2", authors=["ann", "cat"])
    assert b.authorship_grades(q2, experts, graph) == {"ann": 3, "cat": 3}


def test_assert_disjoint_names_the_leak() -> None:
    b.assert_disjoint([["a", "b"], ["c"]], ["d"])
    with pytest.raises(AssertionError, match="'c'"):
        b.assert_disjoint([["a", "b"], ["c"]], ["c", "d"])
