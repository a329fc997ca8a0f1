"""Name matching for recusal: spellings of one person match, different people do not."""

from __future__ import annotations

import pytest

from expertpool.core.assignment.names import (
    CERTAIN,
    POSSIBLE,
    certain_keys,
    match,
    name_keys,
    why_possible,
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Chinese: spaces, full-width spaces, middle dots do not matter
        ("欧阳建国", "欧阳 建国", CERTAIN),
        ("欧阳建国", "欧阳\u3000建国", CERTAIN),
        ("买买提·艾力", "买买提艾力", CERTAIN),
        ("张 伟", "张伟", POSSIBLE),  # one of the commonest names in China
        ("王芳", "王 芳", POSSIBLE),
        ("李娜", "李娜", POSSIBLE),
        # pinyin order and case
        ("Ouyang Jianguo", "Jianguo Ouyang", CERTAIN),
        ("OUYANG Jianguo", "ouyang jianguo", CERTAIN),
        ("Ouyang, Jianguo", "Jianguo OUYANG", CERTAIN),
        ("Ｏｕｙａｎｇ Ｊｉａｎｇｕｏ", "Ouyang Jianguo", CERTAIN),  # full-width letters
        ("Zhang Wei", "Wei Zhang", POSSIBLE),  # common name in pinyin
        ("ZHANG Wei", "Zhang Wei", POSSIBLE),
        # hyphenated given names
        ("Xiao-Ming Qiu", "Xiaoming Qiu", CERTAIN),
        ("Qiu Xiao-ming", "Xiaoming QIU", CERTAIN),
        ("Qiu Xiao - Ming", "Qiu Xiaoming", CERTAIN),
        # initials
        ("Zhang W.", "Zhang Wei", POSSIBLE),
        ("W. Zhang", "Wei Zhang", POSSIBLE),
        ("J. Ouyang", "Ouyang Jianguo", POSSIBLE),
        ("X.-M. Qiu", "Xiaoming Qiu", POSSIBLE),
        ("X. M. Qiu", "Qiu Xiaoming", POSSIBLE),
        # different people
        ("Zhang Wei", "Zhang Wen", None),
        ("Ouyang Jianguo", "Ouyang Jianhua", None),
        ("W. Zhang", "Zhang Min", None),
        ("张伟", "张玮", None),
        ("欧阳建国", "欧阳建", None),
        ("张伟", "Zhang Wei", None),  # no pinyin: Chinese characters only meet Chinese
        ("欧阳建国", "Ouyang Jianguo", None),
        ("", "Zhang Wei", None),
        (None, None, None),
        ("Qiu X.", "Qiu Y.", None),
    ],
)
def test_match(a, b, expected):
    assert match(a, b) == expected
    assert match(b, a) == expected  # symmetric


def test_why_possible_says_common_name_or_initials():
    assert why_possible("张伟", "张 伟") == "common_name"
    assert why_possible("W. Zhang", "Zhang Wen") == "initials"


def test_certain_keys_leave_common_names_out():
    assert certain_keys("张伟") == frozenset()
    assert certain_keys("Zhang Wei") == frozenset()
    assert certain_keys("欧阳 建国") == {"han:欧阳建国"}
    assert certain_keys("Jianguo Ouyang") == {"ouyang|jianguo", "jianguo|ouyang"}


def test_initials_alone_give_no_full_key():
    keys = name_keys("W. Zhang")
    assert keys.full == frozenset() and keys.abbreviated == {"zhang|w"}
    assert not name_keys("   ") and not name_keys("W.")
