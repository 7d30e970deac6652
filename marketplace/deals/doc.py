"""docs/deals.md from the process table: states, transitions, guards, deadlines, cancellations, diagrams."""

from __future__ import annotations

import json

from marketplace.deals.config import DealsSettings
from marketplace.deals.process import (
    ACTOR_DESCRIPTIONS,
    DEADLINES,
    GUARDS,
    SAME,
    TRANSITIONS,
    Actor,
    Branch,
    StateSpec,
    Subject,
    Transition,
    states_of,
)

HEADER = """# The deal process

<!-- Generated from marketplace/deals/process.py by `marketplace deals-doc`; do not edit by hand. -->

Deals and auctions run on one table-driven state machine (`marketplace/deals/process.py`). Clients fire a
transition with `POST /api/v1/deals/{id}/transitions/{name}` (or `/api/v1/auctions/{id}/transitions/{name}`;
offers, messages, bids, registrations and objections also have their own routes), and read the state, the
transitions open to them and the open deadlines at `GET /api/v1/deals/{id}`. `GET /api/v1/deal-process`
serves this table as JSON.

Every transition is idempotent with `Idempotency-Key`, audited, and writes the outbox event
`<subject>.<transition>` for both parties (and their brokers' agencies). Transitions marked *versioned* need
the version the caller read (`If-Match: W/"n"` or `"version": n` in the body; missing: 428, stale: 409).
Brokers fire a party's transitions only within the scope that party delegated. Timers are durable jobs run
by `marketplace worker`: each fires once, also with several workers and after a restart.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _actors(t: Transition) -> str:
    return ", ".join(a.value for a in Actor if a in t.actors)


def _branch_text(b: Branch) -> str:
    target = "(stays)" if b.to == SAME else f"`{b.to}`"
    return f"{target} if {b.when}" if b.when else target


def _targets(t: Transition) -> str:
    parts = [_branch_text(b) for b in t.branches]
    if len(parts) > 1:
        parts[-1] = parts[-1] + " otherwise"
    return "; ".join(parts)


def _deadline_changes(t: Transition) -> str:
    starts = [*t.starts, *(f"{s} (→ {b.to})" for b in t.branches for s in b.starts)]
    cancels = [*t.cancels, *(f"{c} (→ {b.to})" for b in t.branches for c in b.cancels)]
    out = []
    if starts:
        out.append("starts " + ", ".join(starts))
    if cancels:
        out.append("cancels " + ", ".join(cancels))
    return "; ".join(out)


def _states_table(states: list[StateSpec]) -> list[str]:
    rows = ["| state | meaning | on entry | idle expiry |", "| --- | --- | --- | --- |"]
    for s in states:
        entry = s.on_entry or (
            "open offers lapse; a running notice is withdrawn" if s.terminal and s.subject == "deal" else ""
        )
        kind = " (terminal)" if s.terminal else ""
        rows.append(
            f"| `{s.name}`{kind} | {_cell(s.description)} | {_cell(entry)} | {'yes' if s.idle_expires else ''} |"
        )
    return rows


def _transitions_table(subject: Subject) -> list[str]:
    rows = [
        "| transition | from | to | who | guards | deadlines | versioned | consequence |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in TRANSITIONS:
        if t.subject != subject:
            continue
        sources = ", ".join(f"`{s}`" for s in t.sources) or "(new)"
        rows.append(
            f"| `{t.name}` — {_cell(t.summary)} | {sources} | {_targets(t)} | {_actors(t)} | "
            f"{', '.join(t.guards)} | {_deadline_changes(t)} | {'yes' if t.versioned else 'no'} | "
            f"{_cell(t.consequence)} |"
        )
    return rows


def _cancellations() -> list[str]:
    rows = ["| from | transition | who | consequence |", "| --- | --- | --- | --- |"]
    for subject in ("deal", "auction"):
        for state in states_of(subject):  # type: ignore[arg-type]
            for t in TRANSITIONS:
                if t.subject == subject and t.cancellation and state.name in t.sources:
                    rows.append(
                        f"| {subject} `{state.name}` | `{t.name}` → {_targets(t)} | {_actors(t)} | {_cell(t.consequence)} |"
                    )
    return rows


def _mermaid(subject: Subject) -> list[str]:
    lines = ["```mermaid", "stateDiagram-v2"]
    for t in TRANSITIONS:
        if t.subject != subject:
            continue
        for source in t.sources or ("[*]",):
            for b in t.branches:
                target = source if b.to == SAME else b.to
                label = t.name + (f" [{b.when}]" if b.when else "")
                lines.append(f"    {source} --> {target} : {label}")
    for s in states_of(subject):
        if s.terminal:
            lines.append(f"    {s.name} --> [*]")
    lines.append("```")
    return lines


def render() -> str:
    """The whole document."""
    out = [HEADER]
    out += ["## Actors", "", "| actor | who |", "| --- | --- |"]
    out += [f"| {a.value} | {ACTOR_DESCRIPTIONS[a]} |" for a in Actor]
    for subject, title in (("deal", "Deal"), ("auction", "Auction")):
        out += ["", f"## {title} states", ""]
        out += _states_table(states_of(subject))  # type: ignore[arg-type]
        out += ["", f"## {title} transitions", ""]
        out += _transitions_table(subject)  # type: ignore[arg-type]
        out += ["", f"## {title} diagram", ""]
        out += _mermaid(subject)  # type: ignore[arg-type]
    out += ["", "## Cancellation and early ends", ""]
    out += _cancellations()
    out += ["", "## Deadlines (durable timers)", "", "| deadline | on | fires | due |", "| --- | --- | --- | --- |"]
    out += [f"| {d.name} | {d.subject} | `{d.fires}` | {_cell(d.due)} |" for d in DEADLINES]
    out += ["", "## Guards", "", "| guard | holds when |", "| --- | --- |"]
    out += [f"| {g.name} | {_cell(g.description)} |" for g in GUARDS.values()]
    out += ["", "## Configuration", "", "| variable | default | meaning |", "| --- | --- | --- |"]
    for name, info in DealsSettings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = json.dumps(default) if isinstance(default, list) else str(default)
        out.append(f"| `DEALS_{name.upper()}` | `{shown}` | {_cell(info.description or '')} |")
    return "\n".join(out) + "\n"
