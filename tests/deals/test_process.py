"""The process table is consistent, every piece of it is implemented, and docs/deals.md is generated from it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from marketplace.deals.cli import DOC_PATH, deals_doc
from marketplace.deals.doc import render
from marketplace.deals.process import (
    DEADLINES,
    GUARDS,
    SAME,
    STATES,
    TERMINAL_DEAL_STATES,
    TRANSITIONS,
    Actor,
    AuctionState,
    State,
    states_of,
    transition,
)
from marketplace.deals.schemas import TRANSITION_INPUTS
from marketplace.deals.service import EFFECTS
from marketplace.deals.tasks import HANDLERS


def test_the_checked_in_document_matches_the_process() -> None:
    assert Path(__file__).resolve().parents[2] / "docs" / "deals.md" == DOC_PATH
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "docs/deals.md is stale: run `marketplace deals-doc`"


def test_the_command_writes_and_checks_the_document(tmp_path: Path) -> None:
    target = tmp_path / "deals.md"
    runner = CliRunner()
    assert runner.invoke(deals_doc, ["--check", "-o", str(target)]).exit_code != 0
    assert runner.invoke(deals_doc, ["-o", str(target)]).exit_code == 0
    assert target.read_text(encoding="utf-8") == render()
    assert runner.invoke(deals_doc, ["--check", "-o", str(target)]).exit_code == 0
    text = render()
    assert "stateDiagram-v2" in text and "| `accept_offer` —" in text
    assert "    negotiating --> public_notice : accept_offer [notice_required]" in text


def test_states_are_declared_once_and_match_the_enums() -> None:
    assert [s.name for s in states_of("deal")] == [s.value for s in State]
    assert [s.name for s in states_of("auction")] == [s.value for s in AuctionState]
    assert len({(s.subject, s.name) for s in STATES}) == len(STATES)


def test_transitions_reference_what_exists() -> None:
    names = [t.name for t in TRANSITIONS]
    assert len(names) == len(set(names))
    for t in TRANSITIONS:
        states = {s.name for s in states_of(t.subject)}
        assert set(t.sources) <= states, t.name
        assert not set(t.sources) & (TERMINAL_DEAL_STATES if t.subject == "deal" else {"closed", "unsold", "cancelled"})
        assert t.actors, t.name
        assert t.branches and t.branches[-1].when is None, f"{t.name}: the last branch is the default"
        for b in t.branches:
            assert b.to == SAME or b.to in states, (t.name, b.to)
            assert b.when is None or b.when in GUARDS, (t.name, b.when)
            assert set(b.starts) | set(b.cancels) <= {d.name for d in DEADLINES}
        assert set(t.guards) <= set(GUARDS), t.name
        assert set(t.starts) | set(t.cancels) <= {d.name for d in DEADLINES}, t.name
        assert t.name in EFFECTS and t.name in TRANSITION_INPUTS, t.name
        if t.actors == {Actor.system}:
            assert not t.versioned, f"{t.name}: timers do not send versions"


def test_every_deadline_fires_a_system_transition_and_has_a_handler() -> None:
    for d in DEADLINES:
        assert Actor.system in transition(d.fires).actors, d.name
        assert d.kind in HANDLERS
        assert any(d.name in (*t.starts, *(s for b in t.branches for s in b.starts)) for t in TRANSITIONS), d.name


def test_every_live_state_can_be_left_and_reached() -> None:
    for subject in ("deal", "auction"):
        for s in states_of(subject):  # type: ignore[arg-type]
            entering = [t for t in TRANSITIONS if t.subject == subject and s.name in t.targets(None)]
            assert entering or any(s.name in t.targets(src) for t in TRANSITIONS for src in t.sources), s.name
            if not s.terminal:
                leaving = [
                    t
                    for t in TRANSITIONS
                    if t.subject == subject and s.name in t.sources and t.targets(s.name) != [s.name]
                ]
                assert leaving, f"{s.name} has no way out"


def test_every_live_deal_state_can_be_ended_early() -> None:
    for s in states_of("deal"):
        if not s.terminal:
            assert any(t.cancellation and s.name in t.sources for t in TRANSITIONS), s.name


def test_every_guard_is_used() -> None:
    used = {g for t in TRANSITIONS for g in t.guards} | {b.when for t in TRANSITIONS for b in t.branches if b.when}
    assert set(GUARDS) == used
