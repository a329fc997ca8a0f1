"""Rebuild courses/fonts/WenQuanYiMicroHei.ttf from Debian's fonts-wqy-microhei (one-off tool).

Needs `apt-get install fonts-wqy-microhei python3-fonttools`; run with the system Python
(`/usr/bin/python3 scripts/build_pdf_font.py`). The app only reads the committed result.
"""

from __future__ import annotations

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
TARGET = Path(__file__).resolve().parent.parent / "courses" / "fonts" / "WenQuanYiMicroHei.ttf"
HANGUL = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F))


def main() -> None:
    font = TTCollection(str(SOURCE)).fonts[0]  # 0: proportional, 1: monospaced
    keep = [u for u in font.getBestCmap() if not any(lo <= u <= hi for lo, hi in HANGUL)]
    options = subset.Options()
    options.name_IDs, options.name_languages = ["*"], ["*"]
    options.layout_features, options.notdef_outline, options.hinting = ["*"], True, True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=keep)
    subsetter.subset(font)
    font.save(str(TARGET))
    print(f"{TARGET}: {TARGET.stat().st_size} bytes, {len(keep)} characters")


if __name__ == "__main__":
    main()
