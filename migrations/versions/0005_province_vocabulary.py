"""province vocabulary: store every province as its canonical full Chinese name

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:20:00.000000

Rewrites expert.province, institution.province, submission.applicant_province and
user.province so that aliases ("北京", "京", "Beijing", "广西") become the canonical name of
one of the 34 provincial-level divisions ("北京市", "广西壮族自治区"); blank strings become NULL.
Values that name no division are left exactly as they are and reported (count and distinct
values, on stdout and the alembic log) so an administrator can fix them by hand.

The alias table below is a frozen copy of expertpool/core/provinces.py as of this revision: a
migration must give the same result whenever it runs, whatever the application code later
becomes, so it imports nothing from the application.

Downgrade does nothing: the old spellings were never recorded (several aliases map to one
name), and canonical names were already valid values before this revision, so the schema and
the data stay usable by revision 0004 as they are.
"""
import logging
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# canonical name -> other spellings (GB/T 2260 code, English name, aliases); frozen copy.
SPELLINGS = {
    "北京市": ("110000", "Beijing", "北京", "京", "Peking"),
    "天津市": ("120000", "Tianjin", "天津", "津"),
    "上海市": ("310000", "Shanghai", "上海", "沪", "申"),
    "重庆市": ("500000", "Chongqing", "重庆", "渝", "重慶"),
    "河北省": ("130000", "Hebei", "河北", "冀"),
    "山西省": ("140000", "Shanxi", "山西", "晋"),
    "辽宁省": ("210000", "Liaoning", "辽宁", "辽", "遼寧"),
    "吉林省": ("220000", "Jilin", "吉林", "吉"),
    "黑龙江省": ("230000", "Heilongjiang", "黑龙江", "黑", "黑龍江"),
    "江苏省": ("320000", "Jiangsu", "江苏", "苏", "江蘇"),
    "浙江省": ("330000", "Zhejiang", "浙江", "浙"),
    "安徽省": ("340000", "Anhui", "安徽", "皖"),
    "福建省": ("350000", "Fujian", "福建", "闽", "閩"),
    "江西省": ("360000", "Jiangxi", "江西", "赣", "贛"),
    "山东省": ("370000", "Shandong", "山东", "鲁", "山東", "魯"),
    "河南省": ("410000", "Henan", "河南", "豫"),
    "湖北省": ("420000", "Hubei", "湖北", "鄂"),
    "湖南省": ("430000", "Hunan", "湖南", "湘"),
    "广东省": ("440000", "Guangdong", "广东", "粤", "廣東", "Canton"),
    "海南省": ("460000", "Hainan", "海南", "琼", "瓊"),
    "四川省": ("510000", "Sichuan", "四川", "川", "蜀"),
    "贵州省": ("520000", "Guizhou", "贵州", "黔", "贵", "貴州"),
    "云南省": ("530000", "Yunnan", "云南", "滇", "云", "雲南"),
    "陕西省": ("610000", "Shaanxi", "陕西", "陕", "秦", "陝西"),
    "甘肃省": ("620000", "Gansu", "甘肃", "甘", "陇", "甘肅"),
    "青海省": ("630000", "Qinghai", "青海", "青"),
    "台湾省": ("710000", "Taiwan", "台湾", "台", "臺灣", "台灣", "臺灣省", "台灣省", "中国台湾", "台湾地区"),
    "内蒙古自治区": ("150000", "Inner Mongolia", "内蒙古", "蒙", "内蒙", "內蒙古", "Nei Mongol", "Inner Mongolia Autonomous Region"),
    "广西壮族自治区": ("450000", "Guangxi", "广西", "桂", "广西自治区", "廣西", "Guangxi Zhuang Autonomous Region"),
    "西藏自治区": ("540000", "Tibet", "西藏", "藏", "Xizang", "Tibet Autonomous Region", "Xizang Autonomous Region"),
    "宁夏回族自治区": ("640000", "Ningxia", "宁夏", "宁", "宁夏自治区", "寧夏", "Ningxia Hui Autonomous Region"),
    "新疆维吾尔自治区": ("650000", "Xinjiang", "新疆", "新", "新疆自治区", "新疆維吾爾自治區", "Xinjiang Uygur Autonomous Region", "Xinjiang Uyghur Autonomous Region"),
    "香港特别行政区": ("810000", "Hong Kong", "香港", "港", "香港特区", "中国香港", "香港特別行政區", "Hong Kong SAR", "Xianggang"),
    "澳门特别行政区": ("820000", "Macao", "澳门", "澳", "澳門", "澳门特区", "中国澳门", "澳門特別行政區", "Macau", "Macao SAR"),
}
LATIN_SUFFIXES = (
    "specialadministrativeregion",
    "autonomousregion",
    "municipality",
    "province",
    "zizhiqu",
    "sheng",
    "city",
    "shi",
    "sar",
)
COLUMNS = (
    ("expert", "province"),
    ("institution", "province"),
    ("submission", "applicant_province"),
    ("user", "province"),
)


def _key(text):
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    if folded.isascii():
        return re.sub(r"[^0-9a-z]", "", folded.casefold())
    return folded


LOOKUP = {_key(name): name for name in SPELLINGS}
LOOKUP.update({_key(s): name for name, spellings in SPELLINGS.items() for s in spellings})


def canonical(value):
    """The canonical name for `value`, "" for a blank value, None when it names no division."""
    key = _key(value)
    if not key:
        return ""
    found = LOOKUP.get(key)
    if found is None and key.isascii():
        for suffix in LATIN_SUFFIXES:
            if key.endswith(suffix) and key != suffix and key[: -len(suffix)] in LOOKUP:
                return LOOKUP[key[: -len(suffix)]]
    return found


def upgrade():
    conn = op.get_bind()
    for table_name, column_name in COLUMNS:
        table = sa.table(table_name, sa.column(column_name, sa.String))
        column = table.c[column_name]
        values = conn.execute(
            sa.select(column).where(column.is_not(None)).distinct()
        ).scalars().all()
        unknown = {}
        for value in values:
            target = canonical(value)
            if target is None:
                unknown[value] = conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(column == value)
                ).scalar_one()
            elif target != value or not target:  # an alias, or blank -> NULL
                conn.execute(
                    table.update().where(column == value).values({column_name: target or None})
                )
        if unknown:
            message = (
                f"0005: {sum(unknown.values())} {table_name}.{column_name} value(s) name no "
                f"province and were kept as they are: "
                + ", ".join(f"{v!r} ({n})" for v, n in sorted(unknown.items()))
            )
            print(message)
            log.warning(message)


def downgrade():
    # Nothing to undo: see the module docstring (the old spellings are not recoverable and the
    # canonical names are valid values for revision 0004).
    pass
