"""The one pagination rule (`core.pagination`): page numbers from requests, pages, the pager."""

from __future__ import annotations

import pytest

from expertpool.core.pagination import (
    MAX_PAGE,
    page_arg,
    page_count,
    page_window,
    paginate_list,
    per_page_arg,
)


@pytest.mark.parametrize(
    ("raw", "page"),
    [
        (None, 1),
        ("", 1),
        ("abc", 1),
        ("-3", 1),
        ("0", 1),
        ("2.5", 1),
        ("²", 1),  # a Unicode digit that int() would refuse
        ("７", 1),  # a full-width digit: not what a pager link sends
        (" 4 ", 4),
        ("10000000000000000000", MAX_PAGE),
        ("9" * 5000, MAX_PAGE),  # past int()'s digit limit: no ValueError
    ],
)
def test_page_arg(raw: str | None, page: int) -> None:
    args = {} if raw is None else {"page": raw}
    assert page_arg(args) == page


def test_per_page_arg_is_bounded() -> None:
    assert per_page_arg({}, 25, 200) == 25
    assert per_page_arg({"per_page": "0"}, 25, 200) == 25
    assert per_page_arg({"per_page": "7"}, 25, 200) == 7
    assert per_page_arg({"per_page": "99999999999999999999"}, 25, 200) == 200
    assert per_page_arg({"per_page": "-5"}, 25, 200) == 25


def test_page_count() -> None:
    assert [page_count(n, 10) for n in (0, 1, 10, 11, 25)] == [1, 1, 1, 2, 3]


def test_paginate_list_clamps_to_the_last_page() -> None:
    items = list(range(23))
    assert paginate_list(items, 2, 10).items == list(range(10, 20))
    last = paginate_list(items, MAX_PAGE, 10)
    assert (last.page, last.items, last.pages, last.total) == (3, [20, 21, 22], 3, 23)
    empty = paginate_list([], 5, 10)
    assert (empty.page, empty.items, empty.pages) == (1, [], 1)


def test_page_window() -> None:
    assert page_window(1, 1) == [1]
    assert page_window(1, 5) == [1, 2, 3, 4, 5]
    assert page_window(10, 20) == [1, None, 7, 8, 9, 10, 11, 12, 13, None, 20]
    assert page_window(2, 20) == [1, 2, 3, 4, 5, None, 20]
