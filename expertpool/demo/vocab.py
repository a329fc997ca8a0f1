"""Vocabulary for the demo expert pool: names, domain terms and text fragments.

Plain literals only; `expertpool.demo.data` combines them into records. Every domain term
comes as a (Chinese, English) pair so that Chinese and English texts stay consistent.
"""

# fmt: off
# Surnames with rough population shares in percent (they only weight the draw).
SURNAMES: list[tuple[str, str, float]] = [
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.8), ("刘", "liu", 5.4),
    ("陈", "chen", 4.6), ("杨", "yang", 3.1), ("黄", "huang", 2.5), ("赵", "zhao", 2.3),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.3), ("孙", "sun", 1.3),
    ("马", "ma", 1.2), ("朱", "zhu", 1.2), ("胡", "hu", 1.1), ("郭", "guo", 1.1),
    ("何", "he", 1.0), ("高", "gao", 1.0), ("林", "lin", 1.0), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.8), ("谢", "xie", 0.7), ("宋", "song", 0.6),
    ("唐", "tang", 0.6), ("许", "xu", 0.6), ("韩", "han", 0.6), ("冯", "feng", 0.5),
    ("邓", "deng", 0.5), ("曹", "cao", 0.5), ("彭", "peng", 0.5), ("曾", "zeng", 0.5),
    ("肖", "xiao", 0.5), ("田", "tian", 0.4), ("董", "dong", 0.4), ("袁", "yuan", 0.4),
    ("潘", "pan", 0.4), ("于", "yu", 0.4), ("蒋", "jiang", 0.4), ("蔡", "cai", 0.4),
    ("余", "yu", 0.4), ("杜", "du", 0.4), ("叶", "ye", 0.4), ("程", "cheng", 0.4),
    ("苏", "su", 0.3), ("魏", "wei", 0.3), ("吕", "lv", 0.3), ("丁", "ding", 0.3),
    ("任", "ren", 0.3), ("沈", "shen", 0.3), ("姚", "yao", 0.3), ("卢", "lu", 0.3),
    ("姜", "jiang", 0.3), ("崔", "cui", 0.3), ("钟", "zhong", 0.3), ("谭", "tan", 0.3),
    ("陆", "lu", 0.3), ("汪", "wang", 0.3), ("范", "fan", 0.3), ("金", "jin", 0.3),
    ("石", "shi", 0.3), ("廖", "liao", 0.2), ("贾", "jia", 0.2), ("夏", "xia", 0.2),
    ("韦", "wei", 0.2), ("付", "fu", 0.2), ("方", "fang", 0.2), ("白", "bai", 0.2),
    ("邹", "zou", 0.2), ("孟", "meng", 0.2), ("熊", "xiong", 0.2), ("秦", "qin", 0.2),
    ("邱", "qiu", 0.2), ("江", "jiang", 0.2), ("尹", "yin", 0.2), ("薛", "xue", 0.2),
    ("闫", "yan", 0.2), ("段", "duan", 0.2), ("雷", "lei", 0.2), ("侯", "hou", 0.2),
    ("龙", "long", 0.2), ("史", "shi", 0.2), ("陶", "tao", 0.2), ("黎", "li", 0.2),
    ("贺", "he", 0.2), ("顾", "gu", 0.2), ("毛", "mao", 0.2), ("郝", "hao", 0.2),
    ("龚", "gong", 0.2), ("邵", "shao", 0.2), ("万", "wan", 0.2), ("钱", "qian", 0.2),
    ("严", "yan", 0.2), ("覃", "qin", 0.15), ("武", "wu", 0.2), ("戴", "dai", 0.2),
    ("莫", "mo", 0.1), ("孔", "kong", 0.1), ("向", "xiang", 0.1), ("汤", "tang", 0.1),
    ("欧阳", "ouyang", 0.05), ("诸葛", "zhuge", 0.01),
]

# Given-name characters with their pinyin; polyphonic characters are left out.
MALE_CHARS: list[tuple[str, str]] = [
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("斌", "bin"), ("超", "chao"), ("明", "ming"),
    ("刚", "gang"), ("平", "ping"), ("辉", "hui"), ("鹏", "peng"), ("华", "hua"),
    ("飞", "fei"), ("鑫", "xin"), ("波", "bo"), ("宁", "ning"), ("建", "jian"),
    ("国", "guo"), ("峰", "feng"), ("亮", "liang"), ("成", "cheng"), ("东", "dong"),
    ("海", "hai"), ("林", "lin"), ("志", "zhi"), ("文", "wen"), ("宇", "yu"),
    ("浩", "hao"), ("凯", "kai"), ("健", "jian"), ("俊", "jun"), ("帆", "fan"),
    ("旭", "xu"), ("晨", "chen"), ("龙", "long"), ("振", "zhen"), ("永", "yong"),
    ("忠", "zhong"), ("立", "li"), ("新", "xin"), ("庆", "qing"), ("春", "chun"),
    ("生", "sheng"), ("荣", "rong"), ("德", "de"), ("胜", "sheng"), ("学", "xue"),
    ("祥", "xiang"), ("武", "wu"), ("松", "song"), ("毅", "yi"), ("坤", "kun"),
    ("锋", "feng"), ("瑞", "rui"), ("嘉", "jia"), ("博", "bo"), ("阳", "yang"),
    ("晓", "xiao"), ("卫", "wei"), ("兵", "bing"), ("元", "yuan"), ("光", "guang"),
    ("清", "qing"), ("良", "liang"), ("洪", "hong"), ("钢", "gang"), ("昊", "hao"),
    ("睿", "rui"), ("哲", "zhe"), ("航", "hang"), ("正", "zheng"), ("远", "yuan"),
    ("岩", "yan"), ("森", "sen"), ("泽", "ze"), ("彬", "bin"), ("冬", "dong"),
    ("继", "ji"), ("天", "tian"), ("世", "shi"), ("云", "yun"), ("家", "jia"),
    ("金", "jin"), ("维", "wei"), ("雷", "lei"), ("晋", "jin"), ("恒", "heng"),
]
FEMALE_CHARS: list[tuple[str, str]] = [
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("艳", "yan"), ("娟", "juan"), ("霞", "xia"), ("秀", "xiu"), ("玲", "ling"),
    ("燕", "yan"), ("红", "hong"), ("萍", "ping"), ("英", "ying"), ("华", "hua"),
    ("梅", "mei"), ("琳", "lin"), ("莉", "li"), ("婷", "ting"), ("雪", "xue"),
    ("慧", "hui"), ("颖", "ying"), ("佳", "jia"), ("倩", "qian"), ("洁", "jie"),
    ("君", "jun"), ("琴", "qin"), ("云", "yun"), ("兰", "lan"), ("丹", "dan"),
    ("玉", "yu"), ("晶", "jing"), ("蕾", "lei"), ("薇", "wei"), ("璐", "lu"),
    ("瑶", "yao"), ("悦", "yue"), ("欣", "xin"), ("怡", "yi"), ("琪", "qi"),
    ("楠", "nan"), ("蓉", "rong"), ("凤", "feng"), ("春", "chun"), ("晓", "xiao"),
    ("文", "wen"), ("宁", "ning"), ("琦", "qi"), ("爽", "shuang"), ("淑", "shu"),
    ("珍", "zhen"), ("翠", "cui"), ("桂", "gui"), ("菊", "ju"), ("秋", "qiu"),
    ("月", "yue"), ("冰", "bing"), ("虹", "hong"), ("岚", "lan"), ("姗", "shan"),
    ("雯", "wen"), ("媛", "yuan"), ("妍", "yan"), ("彤", "tong"), ("馨", "xin"),
    ("梦", "meng"), ("露", "lu"), ("青", "qing"), ("艺", "yi"), ("晴", "qing"),
    ("雅", "ya"), ("亚", "ya"), ("思", "si"), ("立", "li"), ("新", "xin"),
]

# Mobile number prefixes in use by the three carriers.
PHONE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "177", "180", "181", "182",
    "183", "185", "186", "187", "188", "189", "191", "198", "199",
]

# Techniques (Chinese, English).
TECHNIQUES: dict[str, str] = {
    "ICP-MS": "ICP-MS",
    "ICP-OES": "ICP-OES",
    "同位素稀释质谱": "isotope dilution mass spectrometry",
    "GC-MS": "GC-MS",
    "HPLC": "HPLC",
    "LC-MS/MS": "LC-MS/MS",
    "同位素稀释LC-MS/MS": "isotope dilution LC-MS/MS",
    "原子吸收光谱": "atomic absorption spectrometry",
    "原子荧光光谱": "atomic fluorescence spectrometry",
    "X射线荧光光谱": "X-ray fluorescence spectrometry",
    "滴定法": "titrimetry",
    "库仑法": "coulometry",
    "重量法": "gravimetry",
    "气相色谱": "gas chromatography",
    "离子色谱": "ion chromatography",
    "高分辨气质联用": "HRGC-HRMS",
    "火花放电原子发射光谱": "spark optical emission spectrometry",
    "高频燃烧红外吸收法": "combustion infrared absorption",
    "惰性气体熔融法": "inert gas fusion",
    "辉光放电质谱": "glow discharge mass spectrometry",
    "火试金法": "fire assay",
    "激光剥蚀ICP-MS": "laser ablation ICP-MS",
    "多接收ICP-MS": "MC-ICP-MS",
    "热电离质谱": "thermal ionisation mass spectrometry",
    "高纯锗γ能谱": "HPGe gamma-ray spectrometry",
    "液体闪烁计数": "liquid scintillation counting",
    "α能谱": "alpha spectrometry",
    "凝胶渗透色谱": "gel permeation chromatography",
    "静态光散射": "static light scattering",
    "差示扫描量热法": "differential scanning calorimetry",
    "热重分析": "thermogravimetric analysis",
    "黏度法": "viscometry",
    "熔体流动速率测定": "melt flow rate testing",
    "卡尔·费休法": "Karl Fischer titration",
    "质量平衡法": "mass balance approach",
    "定量核磁共振": "quantitative NMR",
    "凝固点下降法": "freezing-point depression",
    "酶法": "enzymatic method",
    "离子选择电极法": "ion-selective electrode",
    "凯氏定氮法": "Kjeldahl method",
    "HPLC-ICP-MS": "HPLC-ICP-MS",
    "氧弹量热法": "bomb calorimetry",
    "紫外荧光法": "UV fluorescence",
    "工业分析法": "proximate analysis",
    "激光衍射法": "laser diffraction",
    "气体吸附法": "gas adsorption (BET)",
    "压汞法": "mercury intrusion porosimetry",
    "动态光散射": "dynamic light scattering",
    "扫描电子显微镜": "scanning electron microscopy",
    "硬度测量": "hardness testing",
    "摆锤冲击试验": "pendulum impact testing",
    "无液接界电池法": "Harned cell method",
    "交流电导池法": "AC conductivity cell method",
    "毛细管黏度计法": "capillary viscometry",
    "振荡管密度法": "oscillating U-tube densimetry",
    "分光光度法": "spectrophotometry",
    "X射线衍射": "X-ray diffraction",
    "络合滴定法": "complexometric titration",
    "称量法配气": "gravimetric gas mixture preparation",
    "非分散红外法": "non-dispersive infrared",
    "化学发光法": "chemiluminescence",
    "旋光法": "polarimetry",
    "折光法": "refractometry",
    "傅里叶变换红外光谱": "FTIR spectroscopy",
    "闭口杯法": "closed-cup method",
}

# Extra "techniques" of experts who cover metrology and statistics in a panel.
METROLOGY_SKILLS: dict[str, str] = {
    "不确定度评定": "measurement uncertainty evaluation",
    "均匀性与稳定性统计": "homogeneity and stability statistics",
    "协作定值数据统计": "statistics of interlaboratory characterisation",
    "计量溯源性评价": "metrological traceability assessment",
    "测量审核与能力验证": "proficiency testing and measurement audit",
}

_EL = ["ICP-MS", "同位素稀释质谱", "原子吸收光谱", "ICP-OES"]
_ORG = ["GC-MS", "同位素稀释质谱", "气相色谱", "HPLC"]
_MYC = ["LC-MS/MS", "HPLC", "同位素稀释LC-MS/MS"]
_GAS = ["称量法配气", "气相色谱", "非分散红外法"]

# Analyte or property: (English, kind, techniques). kind "a" is an amount of something in a
# matrix ("cadmium in rice"); kind "p" is a property of the material ("pH of buffer").
ANALYTES: dict[str, tuple[str, str, list[str]]] = {
    # metals and elements
    "铅": ("lead", "a", _EL + ["原子荧光光谱"]),
    "镉": ("cadmium", "a", _EL),
    "汞": ("mercury", "a", ["原子荧光光谱", "ICP-MS", "同位素稀释质谱"]),
    "砷": ("arsenic", "a", ["原子荧光光谱", "ICP-MS", "HPLC-ICP-MS"]),
    "铬": ("chromium", "a", _EL + ["X射线荧光光谱"]),
    "铜": ("copper", "a", _EL + ["X射线荧光光谱", "重量法"]),
    "锌": ("zinc", "a", _EL),
    "锡": ("tin", "a", ["ICP-OES", "滴定法", "X射线荧光光谱"]),
    "铝": ("aluminium", "a", ["ICP-OES", "络合滴定法", "X射线荧光光谱"]),
    "碳": ("carbon", "a", ["高频燃烧红外吸收法", "火花放电原子发射光谱"]),
    "硫": ("sulfur", "a", ["高频燃烧红外吸收法", "库仑法", "紫外荧光法", "重量法"]),
    "磷": ("phosphorus", "a", ["分光光度法", "ICP-OES", "火花放电原子发射光谱"]),
    "锰": ("manganese", "a", ["ICP-OES", "滴定法", "火花放电原子发射光谱"]),
    "硅": ("silicon", "a", ["重量法", "ICP-OES", "火花放电原子发射光谱"]),
    "镍": ("nickel", "a", ["ICP-OES", "滴定法", "X射线荧光光谱", "火花放电原子发射光谱"]),
    "钼": ("molybdenum", "a", ["ICP-OES", "火花放电原子发射光谱", "X射线荧光光谱"]),
    "钒": ("vanadium", "a", ["ICP-OES", "滴定法", "火花放电原子发射光谱"]),
    "氮": ("nitrogen", "a", ["惰性气体熔融法", "凯氏定氮法"]),
    "氧": ("oxygen", "a", ["惰性气体熔融法"]),
    "氢": ("hydrogen", "a", ["惰性气体熔融法"]),
    "金": ("gold", "a", ["火试金法", "ICP-MS", "原子吸收光谱"]),
    "银": ("silver", "a", ["火试金法", "ICP-OES", "滴定法"]),
    "铂": ("platinum", "a", ["火试金法", "ICP-MS", "ICP-OES"]),
    "钯": ("palladium", "a", ["火试金法", "ICP-MS", "ICP-OES"]),
    "稀土元素": ("rare earth elements", "a", ["ICP-MS", "ICP-OES", "X射线荧光光谱"]),
    "杂质元素": ("trace impurities", "a", ["辉光放电质谱", "ICP-MS"]),
    "锂": ("lithium", "a", ["ICP-OES", "原子吸收光谱", "ICP-MS"]),
    "铁": ("iron", "a", ["滴定法", "X射线荧光光谱", "ICP-OES"]),
    "主量元素": ("major elements", "a", ["X射线荧光光谱", "ICP-OES", "重量法"]),
    "微量元素": ("trace elements", "a", ["ICP-MS", "激光剥蚀ICP-MS", "X射线荧光光谱"]),
    "铂族元素": ("platinum group elements", "a", ["火试金法", "ICP-MS", "同位素稀释质谱"]),
    "锶钕同位素": ("Sr-Nd isotopes", "a", ["多接收ICP-MS", "热电离质谱"]),
    "锂同位素": ("lithium isotopes", "a", ["多接收ICP-MS", "热电离质谱"]),
    "矿物元素": ("mineral elements", "a", ["ICP-OES", "ICP-MS", "原子吸收光谱"]),
    "砷形态": ("arsenic species", "a", ["HPLC-ICP-MS"]),
    # building materials
    "二氧化硅": ("silicon dioxide", "a", ["重量法", "X射线荧光光谱"]),
    "氧化钙": ("calcium oxide", "a", ["络合滴定法", "X射线荧光光谱"]),
    "三氧化二铝": ("aluminium oxide", "a", ["络合滴定法", "X射线荧光光谱"]),
    "三氧化二铁": ("iron(III) oxide", "a", ["络合滴定法", "X射线荧光光谱", "分光光度法"]),
    "氧化镁": ("magnesium oxide", "a", ["络合滴定法", "X射线荧光光谱", "原子吸收光谱"]),
    "三氧化硫": ("sulfur trioxide", "a", ["重量法", "X射线荧光光谱"]),
    "氯离子": ("chloride", "a", ["滴定法", "离子色谱"]),
    "烧失量": ("loss on ignition", "p", ["重量法"]),
    "游离氧化钙": ("free calcium oxide", "a", ["滴定法"]),
    "物相组成": ("phase composition", "p", ["X射线衍射"]),
    # nuclear
    "铀同位素": ("uranium isotopes", "a", ["热电离质谱", "多接收ICP-MS"]),
    "铀含量": ("uranium", "a", ["库仑法", "滴定法", "同位素稀释质谱"]),
    "钚": ("plutonium", "a", ["α能谱", "热电离质谱", "同位素稀释质谱"]),
    "铯-137": ("caesium-137", "a", ["高纯锗γ能谱"]),
    "锶-90": ("strontium-90", "a", ["液体闪烁计数"]),
    "镭-226": ("radium-226", "a", ["高纯锗γ能谱", "α能谱"]),
    "钍": ("thorium", "a", ["ICP-MS", "α能谱", "分光光度法"]),
    "氚": ("tritium", "a", ["液体闪烁计数"]),
    "总α/总β": ("gross alpha/beta activity", "p", ["液体闪烁计数", "α能谱"]),
    # polymers
    "分子量": ("molecular weight", "p", ["凝胶渗透色谱", "静态光散射"]),
    "分子量分布": ("molecular weight distribution", "p", ["凝胶渗透色谱"]),
    "熔体流动速率": ("melt flow rate", "p", ["熔体流动速率测定"]),
    "玻璃化转变温度": ("glass transition temperature", "p", ["差示扫描量热法"]),
    "熔融焓": ("enthalpy of fusion", "p", ["差示扫描量热法"]),
    "特性黏数": ("intrinsic viscosity", "p", ["黏度法"]),
    "热分解温度": ("thermal decomposition temperature", "p", ["热重分析"]),
    "邻苯二甲酸酯": ("phthalates", "a", ["GC-MS", "同位素稀释质谱"]),
    "多溴联苯醚": ("polybrominated diphenyl ethers", "a", ["GC-MS", "同位素稀释质谱"]),
    # chemical products
    "纯度": ("purity", "p", ["质量平衡法", "定量核磁共振", "差示扫描量热法", "库仑法"]),
    "水分": ("water content", "a", ["卡尔·费休法", "重量法"]),
    "苯系物": ("BTEX", "a", ["气相色谱", "GC-MS"]),
    "甲醛": ("formaldehyde", "a", ["分光光度法", "HPLC"]),
    "总氮": ("total nitrogen", "a", ["凯氏定氮法", "滴定法"]),
    "有效磷": ("available phosphorus", "a", ["重量法", "分光光度法"]),
    "氧化钾": ("potassium oxide", "a", ["重量法", "ICP-OES"]),
    "酸值": ("acid value", "p", ["滴定法"]),
    # environment
    "多环芳烃": ("polycyclic aromatic hydrocarbons", "a", _ORG),
    "多氯联苯": ("polychlorinated biphenyls", "a", ["GC-MS", "高分辨气质联用", "同位素稀释质谱"]),
    "二噁英": ("dioxins", "a", ["高分辨气质联用", "同位素稀释质谱"]),
    "有机氯农药": ("organochlorine pesticides", "a", ["GC-MS", "气相色谱"]),
    "全氟化合物": ("perfluorinated compounds", "a", ["LC-MS/MS", "同位素稀释LC-MS/MS"]),
    "挥发性有机物": ("volatile organic compounds", "a", ["GC-MS", "气相色谱"]),
    "二氧化硫": ("sulfur dioxide", "a", _GAS + ["紫外荧光法"]),
    "一氧化氮": ("nitric oxide", "a", ["称量法配气", "化学发光法"]),
    "一氧化碳": ("carbon monoxide", "a", ["称量法配气", "非分散红外法"]),
    "化学需氧量": ("chemical oxygen demand", "p", ["滴定法", "分光光度法"]),
    "氨氮": ("ammonia nitrogen", "a", ["分光光度法", "离子色谱"]),
    "营养盐": ("nutrients", "a", ["分光光度法", "离子色谱"]),
    # clinical and pharmaceuticals
    "葡萄糖": ("glucose", "a", ["同位素稀释LC-MS/MS", "同位素稀释质谱", "酶法"]),
    "胆固醇": ("cholesterol", "a", ["同位素稀释质谱", "GC-MS", "酶法"]),
    "肌酐": ("creatinine", "a", ["同位素稀释LC-MS/MS", "HPLC", "酶法"]),
    "尿素": ("urea", "a", ["同位素稀释质谱", "酶法"]),
    "尿酸": ("uric acid", "a", ["同位素稀释LC-MS/MS", "HPLC"]),
    "甘油三酯": ("triglycerides", "a", ["同位素稀释质谱", "酶法"]),
    "糖化血红蛋白": ("glycated haemoglobin", "a", ["HPLC", "同位素稀释LC-MS/MS"]),
    "皮质醇": ("cortisol", "a", ["同位素稀释LC-MS/MS"]),
    "25-羟基维生素D": ("25-hydroxyvitamin D", "a", ["同位素稀释LC-MS/MS"]),
    "睾酮": ("testosterone", "a", ["同位素稀释LC-MS/MS"]),
    "电解质": ("electrolytes", "a", ["离子选择电极法", "ICP-MS", "离子色谱"]),
    "指标成分": ("marker compounds", "a", ["HPLC", "LC-MS/MS", "定量核磁共振"]),
    "有关物质": ("related substances", "a", ["HPLC", "LC-MS/MS"]),
    # food
    "三聚氰胺": ("melamine", "a", ["同位素稀释LC-MS/MS", "HPLC", "GC-MS"]),
    "农药残留": ("pesticide residues", "a", ["GC-MS", "LC-MS/MS", "同位素稀释质谱"]),
    "黄曲霉毒素": ("aflatoxins", "a", _MYC),
    "呕吐毒素": ("deoxynivalenol", "a", _MYC),
    "兽药残留": ("veterinary drug residues", "a", ["LC-MS/MS", "同位素稀释LC-MS/MS"]),
    "维生素": ("vitamins", "a", ["HPLC", "LC-MS/MS"]),
    "蛋白质": ("protein", "a", ["凯氏定氮法"]),
    "脂肪酸": ("fatty acids", "a", ["气相色谱", "GC-MS"]),
    "茶多酚": ("tea polyphenols", "a", ["HPLC", "分光光度法"]),
    # coal and petroleum
    "灰分": ("ash", "p", ["工业分析法", "重量法"]),
    "挥发分": ("volatile matter", "p", ["工业分析法"]),
    "发热量": ("calorific value", "p", ["氧弹量热法"]),
    "全硫": ("total sulfur", "a", ["库仑法", "高频燃烧红外吸收法", "紫外荧光法"]),
    "氯": ("chlorine", "a", ["离子色谱", "库仑法"]),
    "馏程": ("distillation range", "p", ["气相色谱"]),
    "运动黏度": ("kinematic viscosity", "p", ["毛细管黏度计法"]),
    "闪点": ("flash point", "p", ["闭口杯法"]),
    # engineering properties
    "硬度": ("hardness", "p", ["硬度测量"]),
    "粒度": ("particle size", "p", ["激光衍射法", "动态光散射", "扫描电子显微镜"]),
    "比表面积": ("specific surface area", "p", ["气体吸附法"]),
    "孔隙率": ("porosity", "p", ["压汞法", "气体吸附法"]),
    "冲击吸收能量": ("absorbed impact energy", "p", ["摆锤冲击试验"]),
    "涂层厚度": ("coating thickness", "p", ["扫描电子显微镜", "X射线荧光光谱"]),
    # physical and physicochemical
    "pH值": ("pH", "p", ["无液接界电池法"]),
    "电导率": ("electrolytic conductivity", "p", ["交流电导池法"]),
    "燃烧热": ("heat of combustion", "p", ["氧弹量热法"]),
    "熔点": ("melting point", "p", ["差示扫描量热法"]),
    "黏度": ("viscosity", "p", ["毛细管黏度计法"]),
    "密度": ("density", "p", ["振荡管密度法", "重量法"]),
    "折射率": ("refractive index", "p", ["折光法"]),
    "浊度": ("turbidity", "p", ["分光光度法"]),
    "旋光度": ("optical rotation", "p", ["旋光法"]),
    "吸光度": ("absorbance", "p", ["分光光度法"]),
    "红外光谱特征": ("infrared spectral features", "p", ["傅里叶变换红外光谱"]),
}

# Per category: Chinese field description for profile texts, and matrices as
# {Chinese: (English, analytes, RM name suffix)}. The analytes of a matrix are those an RM of
# that matrix would plausibly certify, so generated texts never pair nonsense combinations.
_CA = "成分分析标准物质"
_RM = "标准物质"
CATEGORY_VOCAB: dict[int, dict] = {
    1: {
        "field": "钢铁及合金成分分析",
        "matrices": {
            "低合金钢": ("low-alloy steel", ["碳", "硫", "磷", "锰", "硅", "钒", "钼"], _CA),
            "不锈钢": ("stainless steel", ["铬", "镍", "钼", "碳", "氮"], _CA),
            "铸铁": ("cast iron", ["碳", "硫", "硅", "锰", "磷"], _CA),
            "高温合金": ("superalloy", ["镍", "铬", "钼", "氧", "氮"], _CA),
            "铁矿石": ("iron ore", ["铁", "硅", "磷", "硫"], _CA),
            "工具钢": ("tool steel", ["钒", "钼", "铬", "碳"], _CA),
        },
    },
    2: {
        "field": "有色金属及金属中气体分析",
        "matrices": {
            "纯铜": ("high-purity copper", ["杂质元素", "氧", "硫"], _CA),
            "铝合金": ("aluminium alloy", ["铜", "锌", "硅", "锰", "铁"], _CA),
            "钛合金": ("titanium alloy", ["氧", "氮", "氢", "铝", "钒"], _CA),
            "锌合金": ("zinc alloy", ["铝", "铜", "铅", "镉"], _CA),
            "稀土氧化物": ("rare earth oxide", ["稀土元素", "杂质元素"], _CA),
            "贵金属合金": ("precious metal alloy", ["金", "银", "铂", "钯"], _CA),
            "锡基焊料": ("tin-based solder", ["锡", "铅", "银", "铜"], _CA),
        },
    },
    3: {
        "field": "建筑材料化学分析",
        "matrices": {
            "硅酸盐水泥": ("Portland cement", ["二氧化硅", "氧化钙", "三氧化硫", "氧化镁",
                                         "烧失量", "氯离子"], "化学分析标准物质"),
            "水泥生料": ("cement raw meal", ["氧化钙", "二氧化硅", "三氧化二铁", "三氧化二铝"],
                     "化学分析标准物质"),
            "粉煤灰": ("fly ash", ["二氧化硅", "三氧化二铝", "游离氧化钙", "烧失量"], _CA),
            "平板玻璃": ("flat glass", ["二氧化硅", "氧化钙", "氧化镁", "三氧化二铁"], _CA),
            "石膏": ("gypsum", ["三氧化硫", "氧化钙", "物相组成"], _CA),
            "耐火材料": ("refractory material", ["三氧化二铝", "二氧化硅", "三氧化二铁"], _CA),
        },
    },
    4: {
        "field": "核材料与放射性测量",
        "matrices": {
            "八氧化三铀": ("triuranium octoxide", ["铀同位素", "铀含量"], _RM),
            "二氧化铀芯块": ("uranium dioxide pellets", ["铀同位素", "铀含量", "氢"], _RM),
            "硝酸铀酰溶液": ("uranyl nitrate solution", ["铀含量", "铀同位素"], "溶液标准物质"),
            "土壤": ("soil", ["铯-137", "镭-226", "钍", "钚"], "放射性核素标准物质"),
            "核电站流出物水样": ("nuclear power plant effluent", ["氚", "锶-90", "总α/总β"],
                           "放射性标准物质"),
            "铀矿石": ("uranium ore", ["铀含量", "钍", "镭-226"], _CA),
        },
    },
    5: {
        "field": "高分子材料特性测量",
        "matrices": {
            "聚苯乙烯": ("polystyrene", ["分子量", "分子量分布", "玻璃化转变温度"], _RM),
            "聚乙烯": ("polyethylene", ["熔体流动速率", "熔融焓", "分子量分布"], _RM),
            "聚丙烯": ("polypropylene", ["熔体流动速率", "熔融焓", "热分解温度"], _RM),
            "聚甲基丙烯酸甲酯": ("poly(methyl methacrylate)", ["分子量", "特性黏数"], _RM),
            "聚氯乙烯": ("poly(vinyl chloride)", ["邻苯二甲酸酯", "铅", "镉"], _CA),
            "丙烯腈-丁二烯-苯乙烯共聚物": ("ABS plastic", ["多溴联苯醚", "铅", "铬"], _CA),
        },
    },
    6: {
        "field": "化工产品纯度与成分分析",
        "matrices": {
            "邻苯二甲酸氢钾": ("potassium hydrogen phthalate", ["纯度", "水分"], _RM),
            "重铬酸钾": ("potassium dichromate", ["纯度"], _RM),
            "甲醇": ("methanol", ["苯系物", "水分"], "溶液标准物质"),
            "有机纯物质": ("pure organic substances", ["纯度", "水分"], _RM),
            "复合肥料": ("compound fertiliser", ["总氮", "有效磷", "氧化钾"], _CA),
            "涂料": ("coatings", ["铅", "甲醛", "挥发性有机物"], _CA),
            "工业润滑剂": ("industrial lubricants", ["酸值", "水分"], _RM),
        },
    },
    7: {
        "field": "地质矿产分析",
        "matrices": {
            "岩石": ("rock", ["主量元素", "微量元素", "稀土元素", "锶钕同位素"], _CA),
            "水系沉积物": ("stream sediment", ["微量元素", "主量元素", "金", "汞"], _CA),
            "土壤": ("soil", ["主量元素", "微量元素", "稀土元素"], _CA),
            "铜矿石": ("copper ore", ["铜", "金", "银", "硫"], _CA),
            "金矿石": ("gold ore", ["金", "银"], _CA),
            "锂辉石": ("spodumene", ["锂", "锂同位素", "主量元素"], _CA),
            "铂族矿石": ("platinum group ore", ["铂族元素", "铂", "钯"], _CA),
            "锆石": ("zircon", ["微量元素", "稀土元素"], "微区分析标准物质"),
        },
    },
    8: {
        "field": "环境化学分析",
        "matrices": {
            "土壤": ("soil", ["铅", "镉", "汞", "砷", "铬", "多环芳烃", "多氯联苯",
                            "有机氯农药"], _CA),
            "水系沉积物": ("sediment", ["铅", "镉", "汞", "多环芳烃", "多氯联苯"], _CA),
            "地表水": ("surface water", ["铅", "镉", "汞", "砷", "氨氮", "化学需氧量"], _CA),
            "大气颗粒物": ("atmospheric particulate matter", ["铅", "镉", "砷", "多环芳烃"],
                      _CA),
            "飞灰": ("fly ash", ["二噁英", "铅", "镉"], _CA),
            "海水": ("seawater", ["营养盐", "汞", "铅"], _CA),
            "氮气": ("nitrogen", ["二氧化硫", "一氧化氮", "一氧化碳", "挥发性有机物"],
                   "气体标准物质"),
            "污泥": ("sewage sludge", ["全氟化合物", "铅", "镉", "多环芳烃"], _CA),
        },
    },
    9: {
        "field": "临床化学与药品检验",
        "matrices": {
            "人血清": ("human serum", ["葡萄糖", "胆固醇", "肌酐", "尿素", "尿酸", "甘油三酯",
                                    "皮质醇", "25-羟基维生素D", "睾酮", "电解质"], _RM),
            "冻干人血清": ("lyophilised human serum", ["肌酐", "尿酸", "葡萄糖", "胆固醇"], _RM),
            "全血": ("whole blood", ["糖化血红蛋白", "铅"], _RM),
            "人尿": ("human urine", ["肌酐", "尿素", "尿酸"], _RM),
            "化学药品原料": ("active pharmaceutical ingredient", ["纯度", "有关物质"], _RM),
            "中药材": ("traditional Chinese medicinal material", ["指标成分", "铅", "砷", "农药残留"],
                    _CA),
        },
    },
    10: {
        "field": "食品安全与营养成分分析",
        "matrices": {
            "奶粉": ("milk powder", ["三聚氰胺", "维生素", "蛋白质", "矿物元素"], _CA),
            "大米": ("rice", ["镉", "铅", "砷形态", "矿物元素"], _CA),
            "茶叶": ("tea", ["农药残留", "茶多酚", "铅", "稀土元素"], _CA),
            "小麦粉": ("wheat flour", ["呕吐毒素", "蛋白质", "镉"], _CA),
            "玉米": ("maize", ["黄曲霉毒素", "呕吐毒素"], _CA),
            "猪肉": ("pork", ["兽药残留", "蛋白质", "脂肪酸"], _CA),
            "鱼肉": ("fish tissue", ["汞", "砷形态", "兽药残留"], _CA),
            "婴幼儿配方食品": ("infant formula", ["维生素", "矿物元素", "三聚氰胺", "脂肪酸"],
                        _CA),
            "食用植物油": ("edible vegetable oil", ["黄曲霉毒素", "脂肪酸"], _CA),
            "蔬菜": ("vegetables", ["农药残留", "铅", "镉"], _CA),
        },
    },
    11: {
        "field": "煤炭与石油产品分析",
        "matrices": {
            "烟煤": ("bituminous coal", ["灰分", "挥发分", "发热量", "全硫", "氯"], _RM),
            "无烟煤": ("anthracite", ["灰分", "挥发分", "发热量", "全硫"], _RM),
            "焦炭": ("coke", ["灰分", "全硫", "挥发分"], _RM),
            "原油": ("crude oil", ["全硫", "氯", "密度", "水分"], _RM),
            "柴油": ("diesel fuel", ["全硫", "馏程", "运动黏度", "闪点"], _RM),
            "车用汽油": ("motor gasoline", ["全硫", "苯系物", "馏程"], _RM),
        },
    },
    12: {
        "field": "工程技术特性测量",
        "matrices": {
            "标准硬度块": ("hardness reference blocks", ["硬度"], _RM),
            "二氧化硅微球": ("silica microspheres", ["粒度"], _RM),
            "纳米金颗粒": ("gold nanoparticles", ["粒度"], _RM),
            "氧化铝粉体": ("alumina powder", ["比表面积", "孔隙率", "粒度"], _RM),
            "冲击试样": ("Charpy specimens", ["冲击吸收能量"], _RM),
            "镀层试片": ("coated specimens", ["涂层厚度"], _RM),
        },
    },
    13: {
        "field": "物理化学特性测量",
        "matrices": {
            "磷酸盐缓冲溶液": ("phosphate buffer solution", ["pH值"], _RM),
            "邻苯二甲酸氢钾溶液": ("potassium hydrogen phthalate solution", ["pH值"], _RM),
            "氯化钾溶液": ("potassium chloride solution", ["电导率"], _RM),
            "苯甲酸": ("benzoic acid", ["燃烧热", "熔点"], _RM),
            "标准黏度液": ("viscosity reference liquid", ["黏度", "密度"], _RM),
            "有机液体": ("organic liquids", ["折射率", "密度", "闪点"], _RM),
            "福尔马肼悬浊液": ("formazin suspension", ["浊度"], _RM),
            "蔗糖": ("sucrose", ["旋光度"], _RM),
            "光谱中性滤光片": ("neutral density filters", ["吸光度"], _RM),
            "聚苯乙烯薄膜": ("polystyrene film", ["红外光谱特征"], _RM),
        },
    },
}

# Categories that often go together in one person's work.
RELATED_CATEGORIES: dict[int, list[int]] = {
    1: [2, 12, 7], 2: [1, 7], 3: [12, 7, 8], 4: [8, 7], 5: [6, 12, 13],
    6: [5, 13, 11, 8], 7: [8, 2, 11, 3], 8: [7, 10, 6, 4], 9: [10, 6, 13], 10: [8, 9, 6],
    11: [6, 7, 13], 12: [3, 1, 13, 5], 13: [6, 12, 9, 5],
}

VENUES_ZH: dict[int, list[str]] = {
    1: ["冶金分析", "钢铁研究学报", "理化检验-化学分册"],
    2: ["冶金分析", "稀有金属", "中国无机分析化学"],
    3: ["硅酸盐学报", "硅酸盐通报", "水泥"],
    4: ["核化学与放射化学", "原子能科学技术", "辐射防护"],
    5: ["高分子学报", "高分子材料科学与工程", "塑料工业"],
    6: ["化学试剂", "分析化学", "化学分析计量"],
    7: ["岩矿测试", "地球化学", "地质学报"],
    8: ["环境化学", "中国环境监测", "环境科学"],
    9: ["中华检验医学杂志", "药物分析杂志", "中国药学杂志"],
    10: ["食品科学", "分析测试学报", "色谱"],
    11: ["煤炭学报", "石油炼制与化工", "燃料化学学报"],
    12: ["计量学报", "理化检验-物理分册", "中国粉体技术"],
    13: ["计量学报", "化学通报", "物理化学学报"],
}
VENUES_ZH_GENERAL = ["计量学报", "化学分析计量", "中国计量", "计量科学与技术", "分析化学"]

VENUES_EN: dict[int, list[str]] = {
    1: ["Spectrochimica Acta Part B", "ISIJ International", "Journal of Iron and Steel Research International"],
    2: ["Journal of Analytical Atomic Spectrometry", "Transactions of Nonferrous Metals Society of China"],
    3: ["Cement and Concrete Research", "Construction and Building Materials"],
    4: ["Journal of Radioanalytical and Nuclear Chemistry", "Applied Radiation and Isotopes"],
    5: ["Polymer Testing", "Polymer"],
    6: ["Analytical and Bioanalytical Chemistry", "Talanta"],
    7: ["Geostandards and Geoanalytical Research", "Journal of Analytical Atomic Spectrometry"],
    8: ["Environmental Science & Technology", "Chemosphere", "Science of the Total Environment"],
    9: ["Clinical Chemistry and Laboratory Medicine", "Clinica Chimica Acta",
        "Journal of Pharmaceutical and Biomedical Analysis"],
    10: ["Food Chemistry", "Journal of Agricultural and Food Chemistry", "Food Control"],
    11: ["Fuel", "Energy & Fuels"],
    12: ["Measurement", "Powder Technology", "Particuology"],
    13: ["Metrologia", "Journal of Chemical Thermodynamics", "International Journal of Thermophysics"],
}
VENUES_EN_GENERAL = ["Accreditation and Quality Assurance", "Metrologia", "Analytical Chemistry",
                     "Analytical and Bioanalytical Chemistry", "Measurement"]

# Publication title templates. {s} is the subject ("镉 in 大米" style phrase), {m} matrix,
# {a} analyte, {t} technique.
TITLES_ZH = [
    "{s}标准物质的研制",
    "{s}候选标准物质的均匀性和稳定性研究",
    "{t}测定{s}及其不确定度评定",
    "基于{t}的{s}定值方法研究",
    "{s}测量结果的计量溯源性研究",
    "{s}国际比对研究",
    "{m}基体标准物质中{a}的协作定值",
    "{t}在{s}标准物质定值中的应用",
    "{s}测量方法的建立与验证",
]
TITLES_EN = [
    "Certification of a reference material for {s} by {t}",
    "Development of a {m} certified reference material for {a}",
    "Homogeneity and stability assessment of a candidate reference material for {s}",
    "Accurate determination of {s} by {t} for reference material value assignment",
    "Uncertainty evaluation in the characterisation of {s} using {t}",
    "An interlaboratory comparison on {s}: results and implications for traceability",
    "Establishing metrological traceability for {s} with {t}",
    "A reference measurement procedure for {s} based on {t}",
    "Long-term stability monitoring of a {m} reference material certified for {a}",
]

# Abstract fragments; the generator picks one opening, one middle and optionally one ending.
ABSTRACT_OPEN_ZH = [
    "本文以{m}为基体，制备了{a}候选标准物质，并按JJF 1343开展了研制工作。",
    "建立了{t}测定{s}的方法，用于标准物质定值。",
    "针对{s}测量结果可比性不足的问题，研究了基于{t}的高准确度测量方法。",
    "为满足检测实验室质量控制需求，研制了{s}标准物质。",
    "本文系统考察了{t}测定{s}时的主要干扰因素及校正方法。",
]
ABSTRACT_MID_ZH = [
    "均匀性检验采用单因素方差分析，{n}个单元间无显著性差异；{mo}个月稳定性考察未发现显著变化趋势。",
    "方法的检出限为{lod} mg/kg，加标回收率为{r1}%～{r2}%。",
    "联合{labs}家实验室协作定值，数据经统计检验后取平均值作为认定值。",
    "采用同位素稀释法消除了基体效应，测量重复性优于{rep}%。",
    "候选物经冷冻干燥、研磨、过筛和辐照灭菌后分装为{n}个单元。",
]
ABSTRACT_END_ZH = [
    "认定值的相对扩展不确定度为{u}%（k=2），量值可溯源至国际单位制。",
    "该标准物质可用于相关检测方法确认和实验室能力验证。",
    "不确定度评定合成了定值、均匀性和稳定性三个分量。",
    "研究结果为同类标准物质的研制提供了参考。",
]
ABSTRACT_OPEN_EN = [
    "A candidate reference material of {m} was prepared and characterised for {a}.",
    "A {t} method was developed for the accurate determination of {s}.",
    "Comparability of measurement results for {s} remains a challenge for testing laboratories.",
    "This work describes the production and certification of a reference material for {s}.",
    "Matrix effects in the determination of {s} by {t} were investigated systematically.",
]
ABSTRACT_MID_EN = [
    "Between-unit homogeneity was assessed by one-way ANOVA on {n} units, and no significant "
    "trend was observed in a {mo}-month stability study.",
    "Recoveries ranged from {r1}% to {r2}% and the limit of detection was {lod} mg/kg.",
    "Value assignment was based on an interlaboratory study involving {labs} laboratories.",
    "Isotope dilution was used to compensate for matrix effects, giving a repeatability better "
    "than {rep}%.",
    "The material was freeze-dried, milled, sieved and bottled into {n} units.",
]
ABSTRACT_END_EN = [
    "The relative expanded uncertainty of the certified value is {u}% (k = 2) and the value is "
    "traceable to the SI.",
    "The material is suitable for method validation and proficiency testing.",
    "The uncertainty budget combines characterisation, homogeneity and stability contributions.",
    "The approach can serve as a template for similar matrix reference materials.",
]

# Profile (summary) sentence templates.
SUMMARY_INTRO = [
    "现任{inst}{dept}{title}，长期从事{field}工作，从业{years}年。",
    "{title}，{edu}学历，{years}年来一直从事{field}及相关标准物质研究。",
    "{inst}{title}，主要从事{field}和量值传递工作。",
    "从事{field}工作{years}年，现为{inst}{dept}{title}。",
]
SUMMARY_SPECIALTY = [
    "主要研究方向为{matrices}中{analytes}的准确测量，熟练掌握{techniques}等技术。",
    "擅长采用{techniques}开展{matrices}中{analytes}等项目的测定与方法研究。",
    "在{matrices}基体中{analytes}的分析方法方面积累了丰富经验，常用{techniques}。",
    "近年来重点开展{analytes}测量方法研究，涉及{matrices}等基体，技术手段包括{techniques}。",
]
SUMMARY_RMS = [
    "主持或参与研制{rm}等{k}项国家标准物质。",
    "作为主要完成人研制了{rm}等标准物质。",
    "先后承担{rm}等标准物质的研制与定值工作。",
]
SUMMARY_NO_RMS = [
    "多次参与国家标准物质的协作定值和能力验证工作。",
    "承担过国家重点研发计划“国家质量基础设施”专项相关课题。",
    "参与起草多项国家标准和计量技术规范。",
]
SUMMARY_METROLOGY = [
    "熟悉JJF 1343、ISO Guide 35和ISO 17034等技术规范，擅长均匀性与稳定性统计分析和测量不确定度评定。",
    "长期从事测量不确定度评定与计量溯源性研究，多次承担标准物质定值数据的统计审核。",
    "具有扎实的统计学基础，熟悉方差分析和趋势检验在标准物质均匀性、稳定性评估中的应用，"
    "能够独立完成不确定度评定。",
    "主持过多项实验室间比对和能力验证的统计设计，精通协作定值数据的统计处理与不确定度评定。",
]
SUMMARY_EXTRA = [
    "多次参加国际比对（CCQM）和实验室间能力验证，结果满意。",
    "曾获省部级科技进步奖。",
    "担任全国标准物质计量技术委员会相关工作组成员。",
    "指导研究生十余名，参与编写标准物质相关培训教材。",
]

UNAVAILABLE_REASONS = [
    "出国访问交流", "参加国际比对工作", "产假", "承担重大项目结题验收", "脱产培训",
    "手术后康复", "驻外技术援助", "参加国际会议", "单位年度审核工作繁忙",
]
CONFLICT_INSTITUTION_REASONS = [
    "配偶在该单位工作", "近三年与该单位有合作研发项目", "担任该单位技术顾问",
    "在该单位兼职", "与该单位存在专利许可关系",
]
CONFLICT_PERSON_REASONS = [
    "博士研究生导师", "近亲属", "长期合作研究项目负责人", "曾存在学术争议", "同一课题组成员",
]
SUSPENDED_REASONS = [
    "年度考核不合格，暂停审评资格一年",
    "被举报存在未申报的利益冲突，调查期间暂停",
    "连续两次无正当理由拒绝审评任务",
    "审评意见质量评价连续偏低，暂停并参加知识培训",
    "未按期完成年度知识培训学时",
]
RETIRED_REASONS = [
    "本人申请退出专家库",
    "聘期届满，本人未申请续聘",
    "工作调动，不再从事标准物质相关工作",
    "因健康原因申请退出",
    "退休后不再承担审评工作",
]
REMOVED_REASONS = [
    "个人技术档案超过两年未更新，予以退库",
    "违反回避规定参与审评，予以退库",
    "审评中泄露申请单位技术资料，予以退库",
    "年度考核连续两年不合格，予以退库",
]
# fmt: on
