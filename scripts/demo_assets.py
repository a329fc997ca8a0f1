"""Rebuild the binary files of the demo courses: cover images and the example PDF lesson.

    python scripts/demo_assets.py

Each demo course gets `cover.png` (its title on a colour of its topic) and its manifest a
`cover = "cover.png"` line; the entry course gets a one-page PDF lesson, an example certificate
of a reference material with the items JJF 1186 asks for. Both use the font the certificates
embed (courses/fonts), so the files come out the same on any machine.
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "courses" / "demo_content"
FONT = ROOT / "courses" / "fonts" / "WenQuanYiMicroHei.ttf"
PDF_LESSON = DEMO / "a-rm-basics" / "03-03-certificate-example.pdf"
TOPIC_COLOURS = {
    "rm_development": (11, 94, 215),
    "homogeneity_stability": (25, 135, 84),
    "value_assignment": (111, 66, 193),
    "uncertainty": (173, 41, 107),
    "traceability": (13, 90, 200),
    "quality_system": (20, 120, 110),
    "review": (176, 84, 10),
    "supervision": (180, 40, 55),
}


def cover(folder: Path) -> None:
    meta = tomllib.loads((folder / "course.toml").read_text(encoding="utf-8"))
    base = TOPIC_COLOURS.get(meta.get("topic"), (8, 66, 152))
    image = Image.new("RGB", (960, 360), base)
    draw = ImageDraw.Draw(image)
    for y in range(360):  # a darker bottom, so white text stays readable
        draw.line([(0, y), (960, y)], fill=tuple(int(c * (1 - 0.35 * y / 360)) for c in base))
    seed = int(hashlib.sha1(meta["slug"].encode()).hexdigest(), 16)
    for k in range(6):
        r, x, y = (
            40 + (seed >> (k * 8)) % 120,
            600 + (seed >> (k * 5)) % 360,
            (seed >> (k * 7)) % 360,
        )
        draw.ellipse([x - r, y - r, x + r, y + r], outline=(255, 255, 255), width=2)
    title_font, small_font = ImageFont.truetype(str(FONT), 44), ImageFont.truetype(str(FONT), 24)
    lines, line = [], ""
    for char in meta["title"]:
        if draw.textlength(line + char, font=title_font) > 820:
            lines, line = [*lines, line], ""
        line += char
    lines.append(line)
    y = 120 if len(lines) == 1 else 90
    for text in lines:
        draw.text((48, y), text, font=title_font, fill="white")
        y += 62
    byline = f"{meta.get('hours', '')} 学时 · {meta.get('instructor', '')}"
    draw.text((48, 290), byline, font=small_font, fill=(235, 240, 255))
    image.save(folder / "cover.png", optimize=True)
    manifest = (folder / "course.toml").read_text(encoding="utf-8")
    if "\ncover =" not in manifest:
        manifest = manifest.replace(
            "\nrequired_for_experts", '\ncover = "cover.png"\nrequired_for_experts', 1
        )
        (folder / "course.toml").write_text(manifest, encoding="utf-8")


def certificate_example(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("wqy", str(FONT)))
    page = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    page.setTitle("标准物质证书示例")
    width, height = A4
    page.setFont("wqy", 20)
    page.drawCentredString(width / 2, height - 80, "国家一级标准物质证书（示例）")
    page.setFont("wqy", 12)
    rows = [
        ("标准物质名称", "土壤成分分析标准物质"),
        ("编号", "GBW 07xxx"),
        ("研制单位", "某省计量科学研究院"),
        ("特性量值", "铅 Pb：(32.5 ± 1.2) mg/kg；镉 Cd：(0.152 ± 0.010) mg/kg"),
        ("不确定度", "扩展不确定度，k = 2，含定值、均匀性与稳定性分量"),
        ("计量溯源性", "溯源至 SI，经同位素稀释质谱法与有证标准物质校准"),
        ("均匀性", "15 瓶 × 3 次，方差分析 F < F0.05，最小取样量 0.25 g"),
        ("稳定性与有效期", "长期稳定性监测 24 个月，有效期至 2031 年 12 月"),
        ("储存与使用", "密封、避光、室温保存；使用前混匀，105 °C 烘干 2 h"),
        ("定值方式", "8 家实验室协作定值 · ICP-MS · 原子荧光光谱法"),
    ]
    y = height - 140
    for label, value in rows:
        page.drawString(72, y, label)
        page.drawString(200, y, value)
        y -= 30
    page.setFont("wqy", 10)
    page.drawString(
        72, y - 20, "本页为培训示例，内容虚构；证书要素依据 JJF 1186《标准物质证书和标签要求》。"
    )
    page.showPage()
    page.save()


def main() -> int:
    for folder in sorted(p for p in DEMO.iterdir() if (p / "course.toml").is_file()):
        cover(folder)
    certificate_example(PDF_LESSON)
    print(f"covers and {PDF_LESSON.relative_to(ROOT)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
