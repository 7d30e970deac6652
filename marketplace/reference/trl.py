"""Technology readiness levels (TRL 1-9) with Chinese and English stage names."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeGuard

__all__ = [
    "TRL_LEVELS",
    "TRL_PHASES",
    "TRLLevel",
    "TRLPhase",
    "is_valid_trl",
    "trl_phase",
    "trl_stage",
]


@dataclass(frozen=True, slots=True)
class TRLLevel:
    """One readiness level and what has to be demonstrated to reach it."""

    level: int
    name_zh: str
    name_en: str


@dataclass(frozen=True, slots=True)
class TRLPhase:
    """A coarse stage used by Chinese technology markets, covering three TRLs."""

    key: str
    name_zh: str
    name_en: str
    levels: tuple[int, ...]
    aliases_zh: tuple[str, ...] = ()


# Stage names after the TRL scale of GB/T 22900 《科学技术研究项目评价通则》.
TRL_LEVELS: MappingProxyType[int, TRLLevel] = MappingProxyType(
    {
        1: TRLLevel(1, "基本原理清晰", "Basic principles observed and clearly described"),
        2: TRLLevel(2, "技术概念和应用设想明确", "Technology concept and application formulated"),
        3: TRLLevel(
            3,
            "技术概念和应用设想通过可行性论证",
            "Feasibility of the concept demonstrated and key functions verified",
        ),
        4: TRLLevel(
            4,
            "以部件/功能模块为载体通过实验室环境验证",
            "Components or functional modules validated in a laboratory environment",
        ),
        5: TRLLevel(
            5,
            "以原理样机为载体通过相关环境验证",
            "Prototype validated in a relevant environment",
        ),
        6: TRLLevel(
            6,
            "以演示样机为载体通过模拟使用环境验证",
            "Demonstration prototype validated in a simulated operational environment",
        ),
        7: TRLLevel(
            7,
            "以工程样机为载体通过典型使用环境验证",
            "Engineering prototype validated in a typical operational environment",
        ),
        8: TRLLevel(
            8,
            "以实际产品为载体通过试验验证并定型",
            "Actual product completed and qualified through test and demonstration",
        ),
        9: TRLLevel(
            9,
            "实际产品通过实际使用考验，实现批量生产或规模应用",
            "Actual product proven in operation, in volume production or wide use",
        ),
    }
)

TRL_PHASES: tuple[TRLPhase, ...] = (
    TRLPhase("research", "实验室阶段", "Laboratory / research stage", (1, 2, 3), ("研发阶段",)),
    TRLPhase("pilot", "小试/中试阶段", "Bench-scale and pilot stage", (4, 5, 6), ("小试阶段", "中试阶段")),
    TRLPhase("industrialization", "产业化阶段", "Industrialization stage", (7, 8, 9), ("量产阶段",)),
)


def is_valid_trl(level: object) -> TypeGuard[int]:
    """Whether the value is an integer TRL from 1 to 9 (booleans are not levels)."""
    return isinstance(level, int) and not isinstance(level, bool) and level in TRL_LEVELS


def _checked(level: object) -> int:
    """The level itself when valid; otherwise a ValueError naming the allowed range."""
    if not is_valid_trl(level):
        raise ValueError(f"TRL must be an integer from 1 to 9, got {level!r}")
    return level


def trl_stage(level: int) -> tuple[str, str]:
    """The (Chinese, English) stage name of a TRL."""
    entry = TRL_LEVELS[_checked(level)]
    return entry.name_zh, entry.name_en


def trl_phase(level: int) -> TRLPhase:
    """The coarse market stage (laboratory, pilot, industrialization) a TRL falls in."""
    checked = _checked(level)
    return next(phase for phase in TRL_PHASES if checked in phase.levels)
