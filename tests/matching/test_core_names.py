"""Name matching for recusal: spellings of one person match, different people do not."""

from __future__ import annotations

import pytest

from expertpool.core.assignment import names
from expertpool.core.assignment.names import (
    CERTAIN,
    COMPOUND_SURNAMES,
    POSSIBLE,
    certain_keys,
    match,
    name_keys,
    pinyin_keys,
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
        ("张伟", "章伟", None),  # one pinyin, different characters: never compared by pinyin
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


# --- across scripts: a name in characters and its pinyin -----------------------------------

SPELLINGS_OF_ZHANG_WEIMIN = [
    "Zhang Weimin", "Weimin Zhang", "ZHANG Wei-Min", "Wei-Min ZHANG", "zhang weimin",
    "Zhang Wei Min", "Ｚｈａｎｇ Ｗｅｉｍｉｎ", "Zhang, Weimin",
]  # fmt: skip
INITIALS_OF_ZHANG_WEIMIN = ["W. Zhang", "W.M. Zhang", "W.-M. Zhang", "Zhang W.", "ZHANG W. M."]


@pytest.mark.parametrize("han", ["张伟民", "张 伟民", "张\u3000伟民", "张 伟 民"])
@pytest.mark.parametrize("latin", SPELLINGS_OF_ZHANG_WEIMIN)
def test_chinese_name_possibly_matches_its_pinyin(han, latin):
    assert match(han, latin) == POSSIBLE
    assert match(latin, han) == POSSIBLE
    assert why_possible(han, latin) == why_possible(latin, han) == "pinyin"


@pytest.mark.parametrize("latin", INITIALS_OF_ZHANG_WEIMIN)
def test_chinese_name_possibly_matches_pinyin_initials(latin):
    assert match("张伟民", latin) == match(latin, "张伟民") == POSSIBLE
    assert why_possible("张伟民", latin) == "pinyin_initials"


@pytest.mark.parametrize(
    ("han", "latin"),
    [
        ("欧阳建国", "Ouyang Jianguo"),  # compound surnames: the first two characters
        ("欧阳建国", "Jianguo Ouyang"),
        ("欧阳建国", "Jian-Guo OUYANG"),
        ("司马光", "Sima Guang"),
        ("诸葛亮", "Liang Zhuge"),
        ("上官婉儿", "Shangguan Wan'er"),
        ("尉迟恭", "Yuchi Gong"),  # heteronym compound: yuchi, not weichi
        ("万俟卨", "Moqi Xie"),  # moqi, not wansi
        ("长孙无忌", "Zhangsun Wuji"),
        ("单伟", "Shan Wei"),  # heteronym surnames read as surnames
        ("曾志强", "Zeng Zhiqiang"),
        ("区家明", "Ou Jiaming"),
        ("仇英", "Qiu Ying"),
        ("解小东", "Xie Xiaodong"),
        ("查良镛", "Zha Liangyong"),
        ("朴成", "Piao Cheng"),
        ("盖建华", "Ge Jianhua"),
        ("乐嘉", "Yue Jia"),
        ("覃红", "Qin Hong"),
        ("沈从文", "Shen Congwen"),
        ("任重", "Ren Zhong"),  # given-name heteronyms: every reading of 重
        ("任重", "Ren Chong"),
        ("李行", "Li Xing"),
        ("李行", "Li Hang"),
        ("吕斌", "Lyu Bin"),  # ü in its Latin spellings
        ("吕斌", "Lu Bin"),
        ("吕斌", "Lv Bin"),
        ("买买提·艾力", "Maimaiti Aili"),  # a transliterated name: its parts
        ("张伟", "Zhang Wei"),  # a common name: possible, as in one script
        ("张伟", "W. Zhang"),
    ],
)
def test_pinyin_forms(han, latin):
    assert match(han, latin) == match(latin, han) == POSSIBLE


@pytest.mark.parametrize(
    ("han", "latin"),
    [
        ("单伟", "Dan Wei"),  # 单 as a surname is Shan
        ("曾志强", "Ceng Zhiqiang"),
        ("区家明", "Qu Jiaming"),
        ("尉迟恭", "Wei Chigong"),
        ("欧阳建国", "Ou Yangjianguo"),
        ("张伟民", "Zhang Wei"),  # a different given name
        ("张伟民", "Zhang Weiming"),
        ("张伟民", "Wang Weimin"),
        ("张伟民", "X. Zhang"),
        ("张伟民", "Weimin"),
        ("张", "Zhang"),  # a surname alone is nobody
        ("张伟民", ""),
        ("张Wei民", "Zhang Weimin"),  # mixed scripts: no reading
    ],
)
def test_pinyin_non_matches(han, latin):
    assert match(han, latin) is None
    assert match(latin, han) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [("张伟", "章伟"), ("张伟", "张玮"), ("张伟民", "章伟民"), ("欧阳建国", "欧阳建过")],
)
def test_two_chinese_names_never_match_by_pinyin(a, b):
    assert pinyin_keys(a) == pinyin_keys(b)  # one reading...
    assert match(a, b) is None  # ...but characters are compared as characters


def test_a_match_across_scripts_is_never_certain():
    """Many Han names share a pinyin: the pinyin keys are never full keys, so never CERTAIN, and
    `certain_keys` (what the columnar rules index) holds no pinyin key."""
    rare = ["欧阳建国", "诸葛亮", "尉迟恭", "单伟", "张伟民", "买买提·艾力", "任重"]
    for han in rare:
        readings = pinyin_keys(han).full
        assert readings and readings.isdisjoint(name_keys(han).full)
        assert certain_keys(han) == {f"han:{han.replace('·', '')}"}
        for latin_key in readings:
            surname, given = latin_key.split("|")
            for latin in (f"{surname} {given}", f"{given} {surname}"):
                assert match(han, latin) == POSSIBLE, (han, latin)


def test_compound_surname_list_is_two_characters_and_ascii():
    assert all(len(han) == 2 and py.isascii() for han, py in COMPOUND_SURNAMES.items())
    assert pinyin_keys("欧阳").full == {"ou|yang"}  # two characters: a one-character surname


def test_given_name_readings_are_capped():
    readings = pinyin_keys("张重行长乐").full  # 3 x 3 x 2 x 2 readings
    assert 1 < len(readings) <= names.MAX_READINGS
    assert "zhang|zhongxingzhangle" in readings  # the commonest reading of each is kept


def test_pinyin_is_read_only_when_scripts_meet():
    """Keying a pool (the certain keys the rules index) never reads pinyin; a Han name meeting
    a Latin one does, once (cached). bench/name_keys.py measures the cost on 50,000 names."""
    names._pinyin.cache_clear()
    assert certain_keys("欧阳建国") and match("欧阳建国", "欧阳 建国") == CERTAIN
    assert match("欧阳建国", "李红") is None and match("Li Hong", "Hong Li") == CERTAIN
    assert names._pinyin.cache_info().currsize == 0
    assert match("欧阳建国", "Jianguo Ouyang") == POSSIBLE
    assert match("Ouyang Jianguo", "欧阳建国") == POSSIBLE
    assert names._pinyin.cache_info().currsize == 1  # only the Han name is read
