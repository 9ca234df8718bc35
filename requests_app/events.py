"""Events requests_app sends so that other apps can react without it importing them.

| event | sent by | when |
|---|---|---|
| `TicketCreated` | `services.ticket_submit` (every public form, objections included) | after the new ticket commits |
| `TicketStateChanged` | `services.workflow.transition_locked` (every move of the workflow table) | after the move commits |
| `TicketFulfilled` | `services.ticket_transition` | after a move to "fulfilled" commits |
| `RetentionDue` | `retention.retention_purge_all` (housekeeping, `purge_requester_data`) | each retention run, after the ticket purge |

`TicketCreated` and `TicketStateChanged` carry the reference and the kind
(and the states), never anything the requester typed: webhooks send them on
as they are. `TicketFulfilled` is sent after commit (see `core.events`). `RetentionDue` is
sent at once: the retention run is no transaction of its own, each purge runs
in its own transactions.
"""

import datetime as dt
from dataclasses import dataclass, field

from core.events import Event, EventChannel


@dataclass(frozen=True)
class TicketCreated(Event):
    """A ticket was submitted. Reference and kind only: no personal data."""

    reference: str
    kind: str


@dataclass(frozen=True)
class TicketStateChanged(Event):
    """A ticket moved from one state of the workflow table to another. No personal data."""

    reference: str
    kind: str
    from_state: str
    to_state: str


@dataclass(frozen=True)
class TicketFulfilled(Event):
    """A ticket moved to "fulfilled"; `actor_id` is who fulfilled it (None: the requester)."""

    ticket_id: int
    kind: str
    actor_id: int | None


@dataclass(frozen=True)
class RetentionDue(Event):
    """Time to purge personal data past retention, as of `now`.

    Each app purges its own data and reports what it did, numbers only, in
    `counts` under its own name (the command and housekeeping print them). A
    purge selects what is due each time, so a failed run is redone by the next.
    """

    now: dt.datetime
    counts: dict[str, dict[str, int]] = field(default_factory=dict, compare=False)


ticket_created: EventChannel[TicketCreated] = EventChannel(TicketCreated)
ticket_state_changed: EventChannel[TicketStateChanged] = EventChannel(TicketStateChanged)
ticket_fulfilled: EventChannel[TicketFulfilled] = EventChannel(TicketFulfilled)
retention_due: EventChannel[RetentionDue] = EventChannel(RetentionDue)
