"""What keying names costs a pool (issue 13, names across scripts): `names.name_keys` on 50,000.

    .venv/bin/python bench/name_keys.py [--names 50000] [--repeat 5]

Draws pool-sized author names, a third in Latin spellings, two thirds in Chinese characters
(common surnames, heteronym surnames and given-name characters included; 25,609 distinct),
clears the caches and keys them all (cold), then again (warm: the lru_cache): what indexing
the rules' certain keys costs. Then, caches cleared, `match` of every name with one Latin
name, cold and warm: the worst case of the pinyin readings, every Han name of the pool meeting
a Latin one (the candidates page only compares the shown experts' co-authors with the
applicant's people). CPU time (steadier than the wall clock on a shared machine), the best of
`--repeat` runs.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expertpool.core.assignment import names

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
    "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤单区仇解查朴盖乐华"
)
GIVEN = "伟芳娜敏静秀英丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国民志红文东海林波宇晨辉鹏飞龙云峰新春长重行乐朝和单解曾"
LATIN = ("Zhang Wei", "Wei Zhang", "W. Zhang", "Ouyang Jianguo", "Xiao-Ming Qiu", "ZHANG Wei-Min")


def pool(n: int) -> list[str]:
    rng = random.Random(13)
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(f"{rng.choice(LATIN)} {chr(97 + i % 26)}{chr(97 + i // 26 % 26)}")
        else:
            given = "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            out.append(rng.choice(SURNAMES) + given)
    return out


def _clear() -> None:
    names._keys.cache_clear()
    for cached in ("_pinyin", "_given_readings", "_readings"):  # absent before pinyin
        if hasattr(names, cached):
            getattr(names, cached).cache_clear()


def _timed(work) -> float:
    """CPU milliseconds of `work` (the process's CPU time: steadier than the wall clock on a
    shared machine)."""
    start = time.process_time()
    work()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5, help="the best of this many runs")
    args = parser.parse_args()
    written = pool(args.names)

    def key_all() -> None:
        for name in written:
            names.name_keys(name)

    def match_all() -> None:
        for name in written:
            names.match(name, "Zhang Weimin")

    runs = []
    for _ in range(args.repeat):
        _clear()
        cold, warm = _timed(key_all), _timed(key_all)
        _clear()
        runs.append((cold, warm, _timed(match_all), _timed(match_all)))
    cold, warm, match_cold, match_warm = (min(column) for column in zip(*runs, strict=True))
    print(
        f"{len(written)} names ({len(set(written))} distinct), CPU ms, best of {args.repeat}: "
        f"name_keys cold {cold:.0f}, warm {warm:.0f}; "
        f"match(each, 'Zhang Weimin') cold {match_cold:.0f}, warm {match_warm:.0f}"
    )


if __name__ == "__main__":
    main()
