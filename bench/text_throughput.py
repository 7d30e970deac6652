"""Throughput of search text analysis: normalize + analyze_document on ~300-character documents.

Run: python bench/text_throughput.py [--docs 2000] [--repeat 3] [--seed 7]

Generates varied Chinese / mixed technology documents (simplified, some traditional with Taiwan
vocabulary, some with full-width forms and Latin terms), then prints documents per second for
the analyzer and for plain str.split() over the same documents, and their ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.text import Analyzer, normalize

SUBJECTS = [
    "锂离子电池",
    "固态电池",
    "钠离子电池",
    "钙钛矿太阳能电池",
    "异质结光伏组件",
    "氢燃料电池电堆",
    "碳化硅功率器件",
    "氮化镓射频前端",
    "量子点显示面板",
    "石墨烯导热膜",
    "碳纳米管导电浆料",
    "气凝胶隔热材料",
    "大语言模型",
    "知识图谱",
    "联邦学习平台",
    "边缘计算网关",
    "机器视觉检测系统",
    "激光雷达",
    "毫米波雷达",
    "工业机器人",
    "协作机器人关节",
    "谐波减速器",
    "五轴联动数控机床",
    "增材制造装备",
    "无人机飞控",
    "基因编辑工具",
    "单克隆抗体",
    "mRNA疫苗递送系统",
    "体外诊断试剂",
    "手术机器人",
    "脑机接口电极",
    "区块链存证",
    "隐私计算",
    "数字孪生工厂",
    "虚拟电厂调度",
    "储能电站",
    "液流电池",
    "碳捕集装置",
    "污水处理膜组件",
    "余热回收热泵",
    "虚拟数字人",
    "动作捕捉设备",
    "超高清视频编码",
]
VERBS = ["提出", "公开", "涉及", "实现", "提供", "研制", "开发", "优化", "改进", "验证"]
QUALITIES = [
    "能量密度",
    "循环寿命",
    "转换效率",
    "检测精度",
    "响应速度",
    "良品率",
    "制造成本",
    "安全性",
    "稳定性",
    "功耗",
    "带宽",
    "分辨率",
    "定位精度",
    "生产效率",
    "可靠性",
]
METHODS = [
    "基于深度学习的",
    "采用原子层沉积的",
    "通过磁控溅射制备的",
    "利用CRISPR-Cas9的",
    "结合5G通信的",
    "基于Transformer架构的",
    "采用SiC MOSFET的",
    "使用GaN HEMT的",
    "基于FPGA加速的",
    "采用PID控制的",
]
APPLICATIONS = [
    "新能源汽车",
    "智能电网",
    "轨道交通",
    "航空航天",
    "医疗器械",
    "消费电子",
    "工业互联网",
    "智慧城市",
    "海上风电",
    "数据中心",
    "低空经济",
    "生物医药",
    "光伏电站",
    "半导体制造",
]
LATIN = ["AI", "IoT", "BMS", "LiDAR", "PCT", "ISO 9001", "TRL 6", "Python", "ROS 2", "C++", "PM2.5"]
TRADITIONAL = [
    "本發明的軟體透過網路連線資料庫，記憶體佔用降低{n}%。",
    "該雷射模組採用晶片級封裝，適用於伺服器與硬碟測試。",
    "演算法於邊緣運算裝置上執行，解析度提升至{n}K。",
    "雲端運算平台整合感測器資料，支援巨量資料分析。",
]
FULLWIDTH = ["ＡＩ芯片", "５Ｇ基站", "ＬＥＤ照明", "（实施例１）", "效率提升１２．５％"]


def make_document(rng: random.Random, target: int = 300) -> str:
    """One ~target-character document assembled from random technology phrases."""
    parts: list[str] = []
    size = 0
    while size < target:
        roll = rng.random()
        n = rng.randint(2, 98)
        if roll < 0.45:
            part = (
                f"本项目{rng.choice(VERBS)}一种{rng.choice(METHODS)}{rng.choice(SUBJECTS)}，"
                f"{rng.choice(QUALITIES)}提升{n}.{rng.randint(0, 9)}%，可应用于{rng.choice(APPLICATIONS)}领域。"
            )
        elif roll < 0.65:
            part = (
                f"{rng.choice(SUBJECTS)}与{rng.choice(SUBJECTS)}集成后，{rng.choice(QUALITIES)}"
                f"达到{n}{rng.choice(['mAh/g', 'Wh/kg', 'nm', 'GHz', 'MPa', '万次'])}，"
                f"支持{rng.choice(LATIN)}和{rng.choice(LATIN)}。"
            )
        elif roll < 0.80:
            part = rng.choice(TRADITIONAL).format(n=n)
        elif roll < 0.90:
            part = f"{rng.choice(FULLWIDTH)}在{rng.choice(APPLICATIONS)}中的{rng.choice(QUALITIES)}为{n}。"
        else:
            part = (
                f"The {rng.choice(SUBJECTS)} prototype reached TRL {rng.randint(3, 9)} "
                f"with {rng.choice(LATIN)} integration; efficiency {n}.{rng.randint(0, 9)}%. "
            )
        parts.append(part)
        size += len(part)
    return "".join(parts)[: target + 40]


def rate(fn, docs: list[str], repeat: int) -> float:
    """Best documents/second over repeat passes."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for doc in docs:
            fn(doc)
        runs.append(len(docs) / (time.perf_counter() - started))
    return max(runs)


def main() -> None:
    """Generate documents, time analysis against str.split(), print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    docs = [make_document(rng) for _ in range(args.docs)]
    distinct = len(set(docs))
    lengths = [len(d) for d in docs]

    analyzer = Analyzer()
    started = time.perf_counter()
    analyzer.warm_up()
    load = time.perf_counter() - started

    def full(doc: str) -> list[str]:
        normalize(doc)
        return analyzer.analyze_document(doc)

    baseline = rate(str.split, docs, args.repeat)
    norm_only = rate(normalize, docs, args.repeat)
    query_mode = rate(lambda d: analyzer.tokenize(d, for_query=True), docs, args.repeat)
    analyzed = rate(full, docs, args.repeat)
    tokens = statistics.mean(len(analyzer.analyze_document(d)) for d in docs)

    print(f"documents: {len(docs)} ({distinct} distinct), mean {statistics.mean(lengths):.0f} chars")
    print(f"dictionary load (first use): {load:.3f}s")
    print(f"mean tokens per document (analyze_document): {tokens:.0f}")
    print(f"str.split():                  {baseline:12,.0f} docs/s")
    print(f"normalize:                    {norm_only:12,.0f} docs/s")
    print(f"tokenize(for_query=True):     {query_mode:12,.0f} docs/s")
    print(f"normalize + analyze_document: {analyzed:12,.0f} docs/s")
    print(f"ratio analyze/split:          {analyzed / baseline:12.4f} ({baseline / analyzed:.0f}x slower)")


if __name__ == "__main__":
    main()
