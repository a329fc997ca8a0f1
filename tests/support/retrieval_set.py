"""A small bilingual RM-domain retrieval set and the language-fairness pool measurement.

Eighteen topics, each with a Chinese and an English query and a Chinese and an English
document. A *mixed pool* for topic ``i`` is the topic's document in one language against the
other topics' documents in the other language, e.g. a Chinese query whose right answer is the
English abstract, among 17 Chinese distractors: raw cosine almost always ranks a Chinese
distractor first. Used by the tests and by bench/embed_raw.py; pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expertpool.core.embeddings.matrix import Row, VectorMatrix


@dataclass(frozen=True)
class Topic:
    key: str
    zh_query: str
    en_query: str
    zh_doc: str
    en_doc: str


TOPICS = [
    Topic(
        "soil_metals",
        "土壤中重金属铅和镉的测定",
        "heavy metals lead and cadmium in soil",
        "本文研制了土壤中铅、镉、铬等重金属元素成分分析标准物质，采用ICP-MS和原子吸收光谱法定值。",
        "A soil certified reference material for lead, cadmium and chromium was prepared; "
        "values were assigned by ICP-MS and atomic absorption spectrometry.",
    ),
    Topic(
        "melamine",
        "奶粉中三聚氰胺检测",
        "melamine in milk powder",
        "建立了液相色谱-串联质谱法测定婴幼儿配方奶粉中三聚氰胺的方法，并研制了基体标准物质。",
        "Determination of melamine in infant formula milk powder by liquid chromatography "
        "tandem mass spectrometry and development of a matrix reference material.",
    ),
    Topic(
        "serum_glucose",
        "血清葡萄糖参考测量",
        "glucose in serum reference measurement",
        "采用同位素稀释气相色谱质谱参考方法测定人血清中葡萄糖含量，用于临床检验结果的溯源。",
        "Reference measurement procedure for glucose in human serum, supporting traceability "
        "of routine clinical laboratory results.",
    ),
    Topic(
        "idms",
        "同位素稀释质谱定值",
        "isotope dilution mass spectrometry value assignment",
        "同位素稀释质谱法是一种基准方法，通过加入浓缩同位素稀释剂测量同位素比值来确定元素含量。",
        "Isotope dilution mass spectrometry is a primary method: an enriched isotope spike is "
        "added and the measured isotope ratio gives the analyte amount.",
    ),
    Topic(
        "homogeneity",
        "均匀性检验方差分析",
        "homogeneity test by ANOVA",
        "按照JJF 1343的要求，随机抽取15个单元，每个单元重复测量3次，采用单因素方差分析评价瓶间均匀性。",
        "Between-unit homogeneity was assessed by one-way analysis of variance on 15 randomly "
        "selected units measured in triplicate.",
    ),
    Topic(
        "stability",
        "长期稳定性考察",
        "long-term stability study",
        "标准物质在4℃下储存24个月，定期测量并用线性回归检验特性量值是否存在显著变化趋势。",
        "Long-term stability was monitored over 24 months at 4 °C; linear regression of the "
        "results showed no significant trend in the certified value.",
    ),
    Topic(
        "uncertainty",
        "标准物质定值不确定度评定",
        "uncertainty evaluation of certified values",
        "标准物质的扩展不确定度由定值、均匀性和稳定性三部分不确定度分量合成。",
        "The expanded uncertainty of the certified value combines contributions from "
        "characterisation, between-unit inhomogeneity and instability.",
    ),
    Topic(
        "pesticides",
        "蔬菜中农药残留检测",
        "pesticide residues in vegetables",
        "采用气相色谱-质谱联用法同时测定蔬菜中有机磷和拟除虫菊酯类农药残留。",
        "Simultaneous determination of organophosphorus and pyrethroid pesticide residues in "
        "vegetables by gas chromatography mass spectrometry.",
    ),
    Topic(
        "coal_sulfur",
        "煤中全硫含量测定",
        "total sulfur in coal",
        "依据国家标准，采用库仑滴定法和高温燃烧红外吸收法测定煤炭样品中的全硫含量。",
        "Total sulfur content of coal samples was measured by coulometric titration and "
        "high-temperature combustion with infrared detection.",
    ),
    Topic(
        "rice_arsenic",
        "大米中砷形态分析",
        "arsenic species in rice",
        "采用高效液相色谱-电感耦合等离子体质谱联用技术分离测定大米中无机砷和有机砷形态。",
        "Arsenic speciation in rice: inorganic arsenic and organic arsenic species separated "
        "by HPLC and detected by ICP-MS.",
    ),
    Topic(
        "water_nitrate",
        "水中硝酸盐氮标准物质",
        "nitrate nitrogen in water reference material",
        "研制了水中硝酸盐氮成分分析标准溶液，采用离子色谱法和分光光度法定值。",
        "A certified reference solution of nitrate nitrogen in water, with values assigned by "
        "ion chromatography and spectrophotometry.",
    ),
    Topic(
        "certificate",
        "标准物质证书和标签内容",
        "content of a reference material certificate",
        "标准物质证书应给出特性量值及其不确定度、有效期、储存条件和正确使用方法。",
        "A reference material certificate must state the certified values with uncertainties, "
        "the period of validity, storage conditions and instructions for use.",
    ),
    Topic(
        "recusal",
        "审评专家回避规定",
        "reviewer conflict of interest and recusal",
        "审评专家与申请单位存在利益关系或曾参与该标准物质研制的，应当主动申请回避。",
        "Reviewers must withdraw from an assessment when they have a conflict of interest with "
        "the applicant or helped develop the material.",
    ),
    Topic(
        "ph_buffer",
        "pH标准缓冲溶液定值",
        "pH buffer solution value assignment",
        "采用无液接界电池法对pH标准缓冲溶液进行定值，实现pH量值的溯源。",
        "pH values of standard buffer solutions were assigned with the Harned cell, a primary "
        "method without liquid junction.",
    ),
    Topic(
        "polymer_mw",
        "聚苯乙烯分子量标准物质",
        "polystyrene molecular weight standard",
        "采用凝胶渗透色谱法和光散射法测定聚苯乙烯标准物质的重均分子量和分子量分布。",
        "Weight-average molecular weight and molecular weight distribution of polystyrene "
        "standards determined by size exclusion chromatography and light scattering.",
    ),
    Topic(
        "radionuclide",
        "放射性核素活度标准源",
        "radioactivity standard sources",
        "研制了铯-137和钴-60放射性活度标准源，采用高纯锗γ谱仪测量活度。",
        "Activity standards of caesium-137 and cobalt-60 were prepared and measured with a "
        "high-purity germanium gamma spectrometer.",
    ),
    Topic(
        "steel_carbon",
        "钢铁中碳硫含量分析",
        "carbon and sulfur in steel",
        "采用高频感应燃烧红外吸收法测定低合金钢标准物质中的碳和硫含量。",
        "Carbon and sulfur in low-alloy steel reference materials determined by high-frequency "
        "induction combustion and infrared absorption.",
    ),
    Topic(
        "traceability",
        "计量溯源性要求",
        "metrological traceability to SI",
        "标准物质的特性量值应通过不间断的校准链溯源至国际单位制SI单位。",
        "Certified values must be metrologically traceable to SI units through an unbroken "
        "chain of calibrations.",
    ),
]

ZH_DOC, EN_DOC = "zh_doc", "en_doc"  # source types; the source id is the topic number


def document_items() -> list[tuple[str, int, str, str, str]]:
    """(source_type, source_id, chunk, text, lang) for every document."""
    items = [(ZH_DOC, i, "", t.zh_doc, "zh") for i, t in enumerate(TOPICS)]
    return items + [(EN_DOC, i, "", t.en_doc, "en") for i, t in enumerate(TOPICS)]


def document_matrix(doc_vectors: np.ndarray) -> VectorMatrix:
    """Matrix of :func:`document_items` from their vectors (same order)."""
    rows = [
        Row(n, st, sid, chunk, lang, doc_vectors[n])
        for n, (st, sid, chunk, _text, lang) in enumerate(document_items())
    ]
    return VectorMatrix(doc_vectors.shape[1]).apply(rows)


@dataclass
class PoolCounts:
    """Topics (of ``total``) where the right document ranked first."""

    total: int
    zh_query_mixed: int = 0  # right: English doc; distractors: the other Chinese docs
    en_query_mixed: int = 0  # right: Chinese doc; distractors: the other English docs
    zh_to_zh: int = 0  # among Chinese docs only
    en_to_en: int = 0
    zh_to_en: int = 0  # Chinese query among English docs only
    en_to_zh: int = 0
    failed_zh_mixed: tuple[str, ...] = ()  # topic keys
    failed_zh_to_en: tuple[str, ...] = ()  # the model's own cross-language misses


def evaluate(
    matrix: VectorMatrix,
    zh_queries: np.ndarray,
    en_queries: np.ndarray,
    calibration: dict[str, np.ndarray] | None,
) -> PoolCounts:
    """Count first-place hits per pool type; ``calibration=None`` scores by raw cosine."""
    counts = PoolCounts(total=len(TOPICS))
    failed_mixed, failed_cross = [], []
    for i, topic in enumerate(TOPICS):
        zq, eq = zh_queries[i], en_queries[i]
        if _first(matrix, zq, calibration, EN_DOC, i, other=ZH_DOC):
            counts.zh_query_mixed += 1
        else:
            failed_mixed.append(topic.key)
        if _first(matrix, zq, calibration, EN_DOC, i, other=None):
            counts.zh_to_en += 1
        else:
            failed_cross.append(topic.key)
        counts.en_query_mixed += _first(matrix, eq, calibration, ZH_DOC, i, other=EN_DOC)
        counts.zh_to_zh += _first(matrix, zq, calibration, ZH_DOC, i, other=None)
        counts.en_to_en += _first(matrix, eq, calibration, EN_DOC, i, other=None)
        counts.en_to_zh += _first(matrix, eq, calibration, ZH_DOC, i, other=None)
    counts.failed_zh_mixed = tuple(failed_mixed)
    counts.failed_zh_to_en = tuple(failed_cross)
    return counts


def _first(matrix, query, calibration, right_type, i, other):
    """Is (right_type, i) first among right_type docs (other=None) or in the mixed pool?"""

    def pool(m: VectorMatrix) -> np.ndarray:
        is_right_type = m.mask_for(right_type)
        if other is None:
            return is_right_type
        right = is_right_type & (m.source_ids == i)
        return right | (m.mask_for(other) & (m.source_ids != i))

    top = matrix.search(query, 1, mask=pool, calibration=calibration)
    return bool(top) and (top[0].source_type, top[0].source_id) == (right_type, i)
