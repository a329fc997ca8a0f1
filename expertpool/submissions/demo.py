"""Demo submissions, so matching and review rounds can be tried at once after `make run`.

Registered by the submissions feature's `init_app` (`core.features.register_demo_loader`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ..accounts.models import User
from .operations import create_submission

TODAY = dt.date(2026, 11, 25)

SUBMISSIONS: list[dict[str, Any]] = [
    {
        "title": "土壤中铅、镉、砷成分分析标准物质",
        "rm_name": "土壤成分分析标准物质",
        "category": 8,
        "matrix": "土壤",
        "analytes": ["铅", "镉", "砷"],
        "methods": ["ICP-MS", "原子荧光光谱法"],
        "applicant_institution": "广东省计量科学研究院",
        "description": "以华南红壤为候选物，经风干、研磨、过筛和混匀制备，采用多家实验室协作定值，评估瓶间均匀性和长期稳定性。",
    },
    {
        "title": "大米粉中镉成分分析标准物质",
        "rm_name": "大米粉镉标准物质",
        "category": 10,
        "matrix": "大米",
        "analytes": ["镉"],
        "methods": ["同位素稀释质谱法", "ICP-MS"],
        "applicant_institution": "国家粮食和物资储备局科学研究院",
        "description": "用于粮食中重金属检测的质量控制，采用同位素稀释电感耦合等离子体质谱法作为基准方法定值。",
    },
    {
        "title": "奶粉中三聚氰胺成分分析标准物质",
        "rm_name": "奶粉三聚氰胺标准物质",
        "category": 10,
        "matrix": "奶粉",
        "analytes": ["三聚氰胺"],
        "methods": ["LC-MS/MS"],
        "applicant_institution": "中国检验检疫科学研究院",
        "description": "加标奶粉基体，冷冻干燥后分装，液相色谱-串联质谱法定值，供乳制品检测实验室使用。",
    },
    {
        "title": "人血清中葡萄糖和肌酐标准物质",
        "rm_name": "人血清葡萄糖肌酐标准物质",
        "category": 9,
        "matrix": "人血清",
        "analytes": ["葡萄糖", "肌酐"],
        "methods": ["同位素稀释质谱法"],
        "applicant_institution": "北京协和医院",
        "description": "冰冻人血清，两个浓度水平，采用同位素稀释气相色谱-质谱参考方法定值，用于临床检验溯源。",
    },
    {
        "title": "低合金钢光谱分析标准物质",
        "rm_name": "低合金钢标准物质",
        "category": 1,
        "matrix": "低合金钢",
        "analytes": ["碳", "硅", "锰", "铬", "镍"],
        "methods": ["火花放电原子发射光谱"],
        "applicant_institution": "钢研纳克检测技术股份有限公司",
        "description": "块状样品，用于火花直读光谱仪校准，多家实验室化学法协作定值。",
    },
    {
        "title": "Certified reference material for oxygen and nitrogen in titanium alloy",
        "rm_name": "钛合金中氧氮标准物质",
        "category": 2,
        "matrix": "钛合金",
        "analytes": ["氧", "氮"],
        "methods": ["inert gas fusion"],
        "applicant_institution": "北京有色金属研究总院",
        "description": "Chips of Ti-6Al-4V certified for O and N by inert gas fusion with thermal conductivity "
        "and infrared detection; homogeneity assessed on 20 units.",
    },
    {
        "title": "水泥化学成分分析标准物质",
        "rm_name": "硅酸盐水泥标准物质",
        "category": 3,
        "matrix": "水泥",
        "analytes": ["二氧化硅", "氧化钙", "三氧化硫"],
        "methods": ["X射线荧光光谱"],
        "applicant_institution": "中国建筑材料科学研究总院",
        "description": "普通硅酸盐水泥，熔融制片X射线荧光光谱与化学法比对定值。",
    },
    {
        "title": "煤中全硫和发热量标准物质",
        "rm_name": "煤炭标准物质",
        "category": 11,
        "matrix": "煤",
        "analytes": ["全硫", "发热量"],
        "methods": ["库仑滴定法", "氧弹量热法"],
        "applicant_institution": "煤炭科学技术研究院有限公司",
        "description": "烟煤样品，粒度小于0.2 mm，分装后充氮保存，用于煤质检测实验室的质量控制。",
    },
    {
        "title": "水中总氮总磷标准物质（技术帮扶）",
        "kind": "technical_assistance",
        "category": 8,
        "matrix": "水",
        "analytes": ["总氮", "总磷"],
        "methods": ["分光光度法"],
        "applicant_institution": "浙江某环境监测技术有限公司",
        "description": "企业研制的水质标准物质在稳定性考察中出现总磷下降趋势，请专家帮助分析原因并改进包装与保存条件。",
    },
    {
        "title": "聚乙烯熔体流动速率标准物质",
        "rm_name": "聚乙烯熔体流动速率标准物质",
        "category": 5,
        "matrix": "聚乙烯",
        "analytes": ["熔体流动速率"],
        "methods": ["熔体流动速率仪"],
        "applicant_institution": "中国石油化工股份有限公司北京化工研究院",
        "description": "颗粒状聚乙烯，测定190 ℃/2.16 kg条件下的熔体流动速率，评估均匀性与稳定性。",
    },
    {
        "title": "pH 标准缓冲物质",
        "rm_name": "邻苯二甲酸氢钾pH标准物质",
        "category": 13,
        "matrix": "邻苯二甲酸氢钾",
        "analytes": ["pH"],
        "methods": ["Harned 电池法"],
        "applicant_institution": "中国计量科学研究院",
        "description": "一级pH标准物质，采用无液接界电池法定值，给出 25 ℃ 下 pH 值及不确定度。",
    },
    {
        "title": "土壤中铯-137放射性标准物质",
        "rm_name": "土壤铯137标准物质",
        "category": 4,
        "matrix": "土壤",
        "analytes": ["铯-137"],
        "methods": ["高纯锗伽马能谱"],
        "applicant_institution": "中国原子能科学研究院",
        "description": "用于环境放射性监测，伽马能谱法定值，评估放射性活度浓度的不确定度。",
    },
]


def load_demo(session: Session, admin: User, progress: bool) -> None:
    """Register the demo submissions with review windows starting next month."""
    for n, data in enumerate(SUBMISSIONS):
        values = {"kind": "rm_certification", "review_type": "new", "grade": "first", **data}
        values["window_start"] = TODAY + dt.timedelta(days=20 + n)
        values["window_end"] = TODAY + dt.timedelta(days=80 + n)
        create_submission(session, admin, values)
    session.flush()
