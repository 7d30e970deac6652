"""Realistic synthetic listings and queries for the search benchmarks (deterministic for a seed)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from search.model import SearchDocument

# Per SEI category: (second-level codes, subjects as (Chinese, English or None), applications)
CATEGORIES: dict[str, tuple[list[str], list[tuple[str, str | None]], list[str]]] = {
    "1": (
        ["1.1", "1.2", "1.3", "1.4", "1.5"],
        [
            ("大语言模型", "large language model"),
            ("知识图谱", "knowledge graph"),
            ("联邦学习", "federated learning"),
            ("图像识别", "image recognition"),
            ("语音识别", "speech recognition"),
            ("目标检测", "object detection"),
            ("边缘计算网关", "edge gateway"),
            ("工业互联网平台", None),
            ("区块链溯源", "blockchain traceability"),
            ("隐私计算", "privacy computing"),
            ("分布式数据库", "distributed database"),
            ("云原生中间件", None),
            ("RISC-V处理器", "RISC-V processor"),
            ("射频芯片", "RF chip"),
            ("存算一体芯片", None),
            ("数字孪生", "digital twin"),
            ("智能合约", None),
            ("5G基站", "5G base station"),
            ("毫米波通信", None),
            ("量子密钥分发", "quantum key distribution"),
            ("机器视觉", "machine vision"),
            ("推荐算法", None),
            ("自然语言处理", "natural language processing"),
            ("网络安全态势感知", None),
            ("卫星物联网", None),
        ],
        ["智能制造", "智慧医疗", "金融风控", "智慧城市", "政务服务", "自动驾驶", "电力系统", "安防监控"],
    ),
    "2": (
        ["2.1", "2.2", "2.3", "2.4", "2.5"],
        [
            ("协作机器人", "collaborative robot"),
            ("工业机器人", "industrial robot"),
            ("谐波减速器", "harmonic reducer"),
            ("五轴数控机床", "five-axis CNC machine"),
            ("激光切割头", "laser cutting head"),
            ("激光焊接", "laser welding"),
            ("无人机飞控", "UAV flight control"),
            ("多旋翼无人机", "multirotor UAV"),
            ("航空发动机叶片", None),
            ("卫星导航接收机", "GNSS receiver"),
            ("相控阵天线", "phased array antenna"),
            ("轨道检测车", None),
            ("高速列车转向架", None),
            ("轴承故障诊断", "bearing fault diagnosis"),
            ("水下机器人", "underwater robot"),
            ("海洋平台", None),
            ("金属3D打印", "metal 3D printing"),
            ("增材制造", "additive manufacturing"),
            ("伺服电机驱动器", "servo drive"),
            ("智能仓储AGV", None),
            ("视觉引导抓取", None),
            ("激光雷达", "LiDAR"),
            ("精密减速机", None),
            ("盾构机", None),
            ("风洞试验", None),
        ],
        ["汽车制造", "航空航天", "电力巡检", "物流仓储", "轨道交通", "船舶制造", "工程机械", "电子装配"],
    ),
    "3": (
        ["3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7"],
        [
            ("石墨烯", "graphene"),
            ("碳纳米管", "carbon nanotube"),
            ("碳化硅", "silicon carbide"),
            ("氮化镓", "gallium nitride"),
            ("碳纤维复合材料", "carbon fiber composite"),
            ("气凝胶", "aerogel"),
            ("钕铁硼永磁", "NdFeB magnet"),
            ("高熵合金", "high-entropy alloy"),
            ("钛合金", "titanium alloy"),
            ("聚酰亚胺薄膜", "polyimide film"),
            ("钙钛矿量子点", "perovskite quantum dot"),
            ("液晶高分子", None),
            ("超高分子量聚乙烯", None),
            ("生物可降解塑料", "biodegradable plastic"),
            ("陶瓷基复合材料", None),
            ("高温合金", "superalloy"),
            ("光刻胶", "photoresist"),
            ("电子特气", None),
            ("稀土发光材料", None),
            ("形状记忆合金", None),
            ("导热界面材料", "thermal interface material"),
            ("超导线材", "superconducting wire"),
            ("金刚石薄膜", None),
            ("纳米涂层", "nano coating"),
            ("特种玻璃", None),
        ],
        ["消费电子", "新能源汽车", "航空航天", "半导体制造", "医疗器械", "建筑节能", "光伏组件", "国防军工"],
    ),
    "4": (
        ["4.1", "4.2", "4.3", "4.4", "4.5"],
        [
            ("单克隆抗体", "monoclonal antibody"),
            ("mRNA疫苗", "mRNA vaccine"),
            ("基因编辑", "gene editing"),
            ("细胞治疗", "cell therapy"),
            ("干细胞", "stem cell"),
            ("抗体偶联药物", "antibody-drug conjugate"),
            ("体外诊断试剂", "in vitro diagnostics"),
            ("手术机器人", "surgical robot"),
            ("医学影像", "medical imaging"),
            ("可穿戴心电", "wearable ECG"),
            ("脑机接口", "brain-computer interface"),
            ("合成生物学", "synthetic biology"),
            ("微生物菌剂", None),
            ("抗病育种", None),
            ("生物农药", "biopesticide"),
            ("纤维素乙醇", "cellulosic ethanol"),
            ("中药提取", None),
            ("靶向药物递送", "targeted drug delivery"),
            ("核酸检测", "nucleic acid test"),
            ("人工关节", None),
            ("疫苗佐剂", "vaccine adjuvant"),
            ("酶制剂", "enzyme preparation"),
            ("动物疫苗", None),
            ("基因测序", "gene sequencing"),
            ("组织工程支架", None),
        ],
        ["肿瘤治疗", "传染病防控", "慢病管理", "现代农业", "畜牧养殖", "精准医疗", "康复医疗", "食品安全"],
    ),
    "5": (
        ["5.1", "5.2", "5.3", "5.4"],
        [
            ("固态电池", "solid-state battery"),
            ("锂离子电池", "lithium-ion battery"),
            ("钠离子电池", "sodium-ion battery"),
            ("正极材料", "cathode material"),
            ("负极材料", "anode material"),
            ("电解液", "electrolyte"),
            ("电池管理系统", "battery management system"),
            ("动力电池回收", "battery recycling"),
            ("驱动电机", "traction motor"),
            ("电机控制器", "motor controller"),
            ("充电桩", "charging pile"),
            ("无线充电", "wireless charging"),
            ("燃料电池电堆", "fuel cell stack"),
            ("热管理系统", "thermal management"),
            ("车规级芯片", None),
            ("智能座舱", "smart cockpit"),
            ("线控底盘", "drive-by-wire chassis"),
            ("换电站", "battery swapping station"),
            ("轻量化车身", None),
            ("车载激光雷达", None),
            ("电驱动桥", "e-axle"),
            ("高压连接器", None),
            ("隔膜", "separator"),
            ("硅碳负极", None),
            ("快充技术", "fast charging"),
        ],
        ["乘用车", "商用车", "两轮电动车", "储能电站", "物流车", "重卡", "公交客车", "工程车辆"],
    ),
    "6": (
        ["6.1", "6.2", "6.3", "6.4", "6.5"],
        [
            ("钙钛矿太阳能电池", "perovskite solar cell"),
            ("异质结光伏", "heterojunction PV"),
            ("光伏组件", "PV module"),
            ("风电叶片", "wind turbine blade"),
            ("海上风电", "offshore wind"),
            ("电解水制氢", "water electrolysis"),
            ("储氢材料", "hydrogen storage"),
            ("液流电池", "flow battery"),
            ("压缩空气储能", "compressed air storage"),
            ("虚拟电厂", "virtual power plant"),
            ("智能电网", "smart grid"),
            ("配电自动化", None),
            ("小型核反应堆", "small modular reactor"),
            ("地热发电", "geothermal power"),
            ("生物质发电", "biomass power"),
            ("光热发电", "concentrated solar power"),
            ("逆变器", "inverter"),
            ("微电网", "microgrid"),
            ("特高压输电", "UHV transmission"),
            ("功率预测", "power forecasting"),
            ("储能变流器", None),
            ("氢燃料发电", None),
            ("潮汐能", "tidal energy"),
            ("光储充一体化", None),
            ("电力交易", None),
        ],
        ["电网调峰", "工业园区", "分布式能源", "偏远地区供电", "数据中心", "港口", "化工园区", "城市配电"],
    ),
    "7": (
        ["7.1", "7.2", "7.3"],
        [
            ("污水处理", "wastewater treatment"),
            ("膜分离", "membrane separation"),
            ("VOCs治理", "VOC abatement"),
            ("脱硫脱硝", "desulfurization"),
            ("碳捕集", "carbon capture"),
            ("固废资源化", None),
            ("土壤修复", "soil remediation"),
            ("热泵", "heat pump"),
            ("余热回收", "waste heat recovery"),
            ("节能电机", None),
            ("建筑节能", None),
            ("垃圾焚烧", "waste incineration"),
            ("危废处置", None),
            ("除尘设备", "dust collector"),
            ("环境监测", "environmental monitoring"),
            ("水质传感器", "water quality sensor"),
            ("再生骨料", None),
            ("废旧塑料回收", "plastic recycling"),
            ("蒸发结晶", None),
            ("厌氧消化", "anaerobic digestion"),
            ("高效换热器", "heat exchanger"),
            ("工业节水", None),
            ("噪声控制", None),
            ("油烟净化", None),
            ("磷石膏利用", None),
        ],
        ["钢铁行业", "化工园区", "市政污水", "电力行业", "印染行业", "农村环境", "水泥行业", "城市更新"],
    ),
    "8": (
        ["8.1", "8.2", "8.3", "8.4"],
        [
            ("虚拟现实", "virtual reality"),
            ("增强现实", "augmented reality"),
            ("数字人", "digital human"),
            ("动作捕捉", "motion capture"),
            ("三维重建", "3D reconstruction"),
            ("全息显示", "holographic display"),
            ("游戏引擎", "game engine"),
            ("超高清视频", "UHD video"),
            ("文物数字化", None),
            ("数字藏品", None),
            ("虚拟制片", "virtual production"),
            ("光场相机", "light field camera"),
            ("智能设计", None),
            ("工业设计软件", None),
            ("沉浸式展览", None),
            ("AIGC", "AIGC"),
            ("数字音乐", None),
            ("体感交互", None),
            ("元宇宙", "metaverse"),
            ("近眼显示", "near-eye display"),
            ("光波导", "waveguide"),
            ("空间音频", "spatial audio"),
            ("数字出版", None),
            ("在线教育平台", None),
            ("短视频剪辑", None),
        ],
        ["文旅展示", "影视制作", "电子商务", "职业培训", "博物馆", "直播营销", "工业设计", "游戏娱乐"],
    ),
    "9": (
        ["9.1", "9.2"],
        [
            ("专利评估", "patent valuation"),
            ("技术转移", "technology transfer"),
            ("中试平台", "pilot platform"),
            ("检测认证", "testing and certification"),
            ("知识产权运营", None),
            ("科技咨询", None),
            ("孵化器", "incubator"),
            ("技术经纪", None),
            ("成果评价", None),
            ("计量校准", "calibration"),
            ("标准制定", None),
            ("科技金融", None),
            ("创新券", None),
            ("概念验证", "proof of concept"),
            ("产业研究", None),
            ("技术合同登记", None),
            ("实验室共享", None),
            ("仪器共享", None),
            ("专利导航", None),
            ("研发外包", None),
            ("质量认证", None),
            ("数据标注", "data labeling"),
            ("技术培训", None),
            ("法律服务", None),
            ("投融资对接", None),
        ],
        ["高校院所", "中小企业", "产业园区", "地方政府", "投资机构", "科技企业", "制造企业", "医疗机构"],
    ),
}
METHODS = [
    "基于深度学习的",
    "一种新型",
    "高性能",
    "低成本",
    "自主可控的",
    "面向工业应用的",
    "高可靠",
    "模块化",
    "轻量化",
    "智能化",
    "绿色低碳的",
    "全自动",
    "高精度",
    "大尺寸",
    "柔性",
    "国产化",
]
TAILS = [
    "及其制备方法",
    "系统",
    "装置",
    "关键技术",
    "平台",
    "工艺",
    "解决方案",
    "设备",
    "方法",
    "技术",
    "检测方法",
    "产业化技术",
]
QUALITIES = [
    "能量密度",
    "转换效率",
    "检测精度",
    "可靠性",
    "响应速度",
    "良品率",
    "使用寿命",
    "稳定性",
    "生产效率",
    "成本",
]
UNITS = ["%", "倍", "小时", "万次", "nm", "MPa", "Wh/kg", "ms"]
ORG_STEMS = [
    "东湖",
    "江城",
    "南山",
    "滨海",
    "西岭",
    "北辰",
    "海州",
    "临江",
    "蜀都",
    "钱塘",
    "浦江",
    "湘江",
    "鹭岛",
    "齐鲁",
    "燕赵",
    "秦川",
]
ORG_KINDS = [
    "理工大学",
    "大学",
    "先进技术研究院",
    "材料研究所",
    "科技有限公司",
    "智能装备有限公司",
    "生物医药研究院",
    "新能源研究院",
]
REGIONS = [
    "110100",
    "120100",
    "310100",
    "320100",
    "320500",
    "330100",
    "330200",
    "340100",
    "350200",
    "370100",
    "370200",
    "410100",
    "420100",
    "430100",
    "440100",
    "440300",
    "500100",
    "510100",
    "610100",
    "210200",
    "230100",
    "360100",
]
MODES = [
    "transfer",
    "exclusive_licence",
    "sole_licence",
    "non_exclusive_licence",
    "equity_investment",
    "co_development",
    "technical_service",
]
IP_TYPES = ["invention_patent", "utility_model", "design_patent", "software_copyright", "ic_layout_design", "know_how"]
# Traditional forms of some subjects (Taiwan vocabulary where it differs) for traditional queries.
TRADITIONAL = {
    "激光切割头": "雷射切割頭",
    "激光雷达": "光達",
    "锂离子电池": "鋰離子電池",
    "固态电池": "固態電池",
    "石墨烯": "石墨烯",
    "碳化硅": "碳化矽",
    "图像识别": "影像辨識",
    "语音识别": "語音辨識",
    "数字孪生": "數位孿生",
    "虚拟现实": "虛擬實境",
    "充电桩": "充電樁",
    "单克隆抗体": "單株抗體",
    "电池管理系统": "電池管理系統",
    "增材制造": "積層製造",
    "污水处理": "污水處理",
    "智能电网": "智慧電網",
    "多旋翼无人机": "多旋翼無人機",
    "射频芯片": "射頻晶片",
}


@dataclass(frozen=True)
class Subject:
    """A subject term and the category it belongs to."""

    zh: str
    en: str | None
    category: str


SUBJECTS = [Subject(zh, en, cat) for cat, (_, subjects, _) in CATEGORIES.items() for zh, en in subjects]


def _typo(word: str, rng: random.Random) -> str:
    """One random edit (substitution, deletion or transposition) inside a word of 5+ letters."""
    i = rng.randrange(1, len(word) - 2)
    kind = rng.choice(["sub", "del", "swap"])
    if kind == "sub":
        return word[:i] + rng.choice("aeiou") + word[i + 1 :]
    if kind == "del":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def listings(count: int, *, seed: int = 7) -> Iterator[SearchDocument]:
    """count varied listings, deterministic for a seed."""
    rng = random.Random(seed)
    orgs = [(str(uuid.UUID(int=rng.getrandbits(128))), f"{stem}{kind}") for stem in ORG_STEMS for kind in ORG_KINDS]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        subject = rng.choice(SUBJECTS)
        codes, subjects, applications = CATEGORIES[subject.category]
        other = rng.choice(subjects)
        far = rng.choice(SUBJECTS)
        application = rng.choice(applications)
        method = rng.choice(METHODS)
        title = f"{method}{subject.zh}{rng.choice(TAILS)}"
        if rng.random() < 0.3:
            title = f"面向{application}的{subject.zh}{rng.choice(TAILS)}"
        title_en = None
        if subject.en and rng.random() < 0.35:
            title_en = f"{rng.choice(['High-performance', 'Low-cost', 'Novel', 'Scalable'])} {subject.en} for {rng.choice(['industry', 'vehicles', 'healthcare', 'energy', 'manufacturing'])}"
        quality = rng.choice(QUALITIES)
        summary = (
            f"本成果{rng.choice(['提出', '研制', '开发', '公开'])}{method}{subject.zh}，{quality}提升"
            f"{rng.randint(5, 95)}{rng.choice(UNITS)}，已在{application}领域{rng.choice(['示范应用', '完成中试', '小批量生产', '实验室验证'])}。"
        )
        sentences = [
            f"技术结合{other[0]}与{far.zh}，解决了{application}中{rng.choice(QUALITIES)}不足的问题。",
            f"核心团队拥有{rng.randint(3, 40)}项相关专利，关键指标达到国际先进水平。",
            f"与传统方案相比，{rng.choice(QUALITIES)}提高{rng.randint(10, 300)}%，综合成本降低{rng.randint(5, 60)}%。",
            f"可提供技术许可、联合开发与{rng.choice(['工艺包', '样机', '软件授权', '技术培训'])}。",
        ]
        if far.en and rng.random() < 0.3:
            sentences.append(f"Keywords: {far.en}, {subject.en or application}.")
        rng.shuffle(sentences)
        description = "".join(sentences[: rng.randint(2, len(sentences))])
        org_id, org_name = rng.choice(orgs)
        pricing = rng.random()
        if pricing < 0.3:
            low = high = rng.randint(10, 5000) * 10_000_00
        elif pricing < 0.55:
            low = rng.randint(10, 3000) * 10_000_00
            high = low + rng.randint(10, 2000) * 10_000_00
        elif pricing < 0.65:
            low = high = rng.randint(10, 2000) * 10_000_00
        else:
            low = high = None
        yield SearchDocument(
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            title=title,
            title_en=title_en,
            keywords=tuple(dict.fromkeys([subject.zh, other[0], application])),
            summary=summary,
            description=description,
            holder_id=org_id,
            holder_name=org_name,
            field_codes=tuple(
                sorted(
                    {rng.choice(codes)} | ({rng.choice(CATEGORIES[far.category][0])} if rng.random() < 0.2 else set())
                )
            ),
            trl=rng.randint(1, 9),
            trade_modes=tuple(sorted(rng.sample(MODES, rng.randint(1, 3)))),
            ip_types=tuple(sorted(rng.sample(IP_TYPES, rng.randint(0, 2)))),
            price_min_fen=low,
            price_max_fen=high,
            region_code=rng.choice(REGIONS),
            state_funded=rng.random() < 0.4,
            has_auction=0.55 <= pricing < 0.65,
            published_at=start + timedelta(minutes=n * 5 + rng.randint(0, 4)),
            extra={"pricing_kind": "auction" if 0.55 <= pricing < 0.65 else "fixed"},
        )


def queries(count: int, *, seed: int = 11) -> list[dict[str, Any]]:
    """count search requests (query parameters) of mixed kinds, most with filters, all with facets."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for _ in range(count):
        subject = rng.choice(SUBJECTS)
        codes, _subjects, applications = CATEGORIES[subject.category]
        roll = rng.random()
        if roll < 0.35:
            q = subject.zh
        elif roll < 0.55:
            q = f"{subject.zh} {rng.choice(applications)}"
        elif roll < 0.65:
            q = TRADITIONAL.get(subject.zh, subject.zh)
        elif roll < 0.75 and subject.en:
            words = subject.en.split()
            if rng.random() < 0.4:
                long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
                if long_words:
                    i = rng.choice(long_words)
                    words[i] = _typo(words[i].lower(), rng)
            q = " ".join(words)
        elif roll < 0.85:
            q = rng.choice(["锂", "氢", "芯片", "储能", "疫苗", "机器人", "传感器", "光伏", "激光", "无人机"])
        else:
            q = ""
        params: dict[str, Any] = {"facets": "all", "limit": 20}
        if q:
            params["q"] = q
        if rng.random() < 0.75 or not q:
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(["field", "trl", "mode", "region", "price", "state"])
                if kind == "field":
                    params["field"] = subject.category if rng.random() < 0.6 else rng.choice(codes)
                elif kind == "trl":
                    params["trl_min"] = rng.randint(3, 7)
                elif kind == "mode":
                    params["trade_mode"] = rng.choice(MODES)
                elif kind == "region":
                    params["region"] = rng.choice(REGIONS)[:2]
                elif kind == "price":
                    params["price_max"] = rng.randint(50, 3000) * 10_000_00
                else:
                    params["state_funded"] = "true"
        if rng.random() < 0.1:
            params["sort"] = rng.choice(["newest", "price_asc"])
        out.append(params)
    return out
