"""Tests for technology readiness levels."""

import pytest

from marketplace.reference.trl import TRL_LEVELS, TRL_PHASES, is_valid_trl, trl_phase, trl_stage


def test_nine_levels_in_order() -> None:
    assert list(TRL_LEVELS) == list(range(1, 10))
    assert all(TRL_LEVELS[n].level == n for n in TRL_LEVELS)
    assert len({entry.name_zh for entry in TRL_LEVELS.values()}) == 9


def test_stage_names() -> None:
    assert trl_stage(1) == ("基本原理清晰", "Basic principles observed and clearly described")
    assert trl_stage(2)[0] == "技术概念和应用设想明确"
    assert "可行性" in trl_stage(3)[0]
    assert "实验室" in trl_stage(4)[0]
    assert all(zh and en for zh, en in (trl_stage(n) for n in range(1, 10)))


@pytest.mark.parametrize(
    ("level", "key", "name_zh"),
    [
        (1, "research", "实验室阶段"),
        (3, "research", "实验室阶段"),
        (4, "pilot", "小试/中试阶段"),
        (6, "pilot", "小试/中试阶段"),
        (7, "industrialization", "产业化阶段"),
        (9, "industrialization", "产业化阶段"),
    ],
)
def test_phase_mapping(level: int, key: str, name_zh: str) -> None:
    phase = trl_phase(level)
    assert phase.key == key
    assert phase.name_zh == name_zh


def test_phases_cover_every_level_once() -> None:
    covered = [level for phase in TRL_PHASES for level in phase.levels]
    assert sorted(covered) == list(range(1, 10))
    assert "研发阶段" in trl_phase(2).aliases_zh


@pytest.mark.parametrize("bad", [0, 10, -1, True, 3.0, "3", None])
def test_invalid_levels_rejected(bad: object) -> None:
    assert not is_valid_trl(bad)
    with pytest.raises(ValueError, match="TRL must be an integer from 1 to 9"):
        trl_stage(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="TRL must be an integer from 1 to 9"):
        trl_phase(bad)  # type: ignore[arg-type]


def test_levels_are_read_only() -> None:
    with pytest.raises(TypeError):
        TRL_LEVELS[10] = TRL_LEVELS[9]  # type: ignore[index]
