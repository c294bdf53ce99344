"""seed Hainan and Shanghai with their cities, counties and districts (GB/T 2260)

The tree has two levels (SPEC §3). Hainan's second level is its prefecture-level cities
and the county-level cities and counties the province administers directly; the
districts inside Haikou and Sanya are not a level of their own here. Shanghai's second
level is its sixteen districts. The data is written out here, not read from application
files, so this migration gives the same result whenever it runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REGIONS = [
    # code, Chinese name, English name, level, parent
    ("460000", "海南省", "Hainan", "province", None),
    ("460100", "海口市", "Haikou", "city", "460000"),
    ("460200", "三亚市", "Sanya", "city", "460000"),
    ("460300", "三沙市", "Sansha", "city", "460000"),
    ("460400", "儋州市", "Danzhou", "city", "460000"),
    ("469001", "五指山市", "Wuzhishan", "city", "460000"),
    ("469002", "琼海市", "Qionghai", "city", "460000"),
    ("469005", "文昌市", "Wenchang", "city", "460000"),
    ("469006", "万宁市", "Wanning", "city", "460000"),
    ("469007", "东方市", "Dongfang", "city", "460000"),
    ("469021", "定安县", "Ding'an County", "city", "460000"),
    ("469022", "屯昌县", "Tunchang County", "city", "460000"),
    ("469023", "澄迈县", "Chengmai County", "city", "460000"),
    ("469024", "临高县", "Lingao County", "city", "460000"),
    ("469025", "白沙黎族自治县", "Baisha Li Autonomous County", "city", "460000"),
    ("469026", "昌江黎族自治县", "Changjiang Li Autonomous County", "city", "460000"),
    ("469027", "乐东黎族自治县", "Ledong Li Autonomous County", "city", "460000"),
    ("469028", "陵水黎族自治县", "Lingshui Li Autonomous County", "city", "460000"),
    ("469029", "保亭黎族苗族自治县", "Baoting Li and Miao Autonomous County", "city", "460000"),
    ("469030", "琼中黎族苗族自治县", "Qiongzhong Li and Miao Autonomous County", "city", "460000"),
    ("310000", "上海市", "Shanghai", "province", None),
    ("310101", "黄浦区", "Huangpu District", "city", "310000"),
    ("310104", "徐汇区", "Xuhui District", "city", "310000"),
    ("310105", "长宁区", "Changning District", "city", "310000"),
    ("310106", "静安区", "Jing'an District", "city", "310000"),
    ("310107", "普陀区", "Putuo District", "city", "310000"),
    ("310109", "虹口区", "Hongkou District", "city", "310000"),
    ("310110", "杨浦区", "Yangpu District", "city", "310000"),
    ("310112", "闵行区", "Minhang District", "city", "310000"),
    ("310113", "宝山区", "Baoshan District", "city", "310000"),
    ("310114", "嘉定区", "Jiading District", "city", "310000"),
    ("310115", "浦东新区", "Pudong New Area", "city", "310000"),
    ("310116", "金山区", "Jinshan District", "city", "310000"),
    ("310117", "松江区", "Songjiang District", "city", "310000"),
    ("310118", "青浦区", "Qingpu District", "city", "310000"),
    ("310120", "奉贤区", "Fengxian District", "city", "310000"),
    ("310151", "崇明区", "Chongming District", "city", "310000"),
]

region = sa.table(
    "region",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("name_en", sa.String),
    sa.column("level", sa.String),
    sa.column("parent_code", sa.String),
)


def upgrade():
    op.bulk_insert(
        region,
        [
            {"code": code, "name": name, "name_en": name_en, "level": level, "parent_code": parent}
            for code, name, name_en, level, parent in REGIONS
        ],
    )


def downgrade():
    codes = [code for code, *_ in REGIONS]
    # Cities first: they refer to their province.
    op.execute(region.delete().where(region.c.code.in_(codes), region.c.level == "city"))
    op.execute(region.delete().where(region.c.code.in_(codes)))
