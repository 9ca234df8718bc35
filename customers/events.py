"""Events customers sends so that other apps can react without it importing them.

| event | sent by | when |
|---|---|---|
| `IncidentRecorded` | `services.incident_record` | after the incident is recorded |
| `IncidentNotified` | `services.incident_notify` | after a round of notices is written (first or follow-up) |

Both are sent after commit (see `core.events`); payloads hold no personal data.
"""

from dataclasses import dataclass

from core.events import Event, EventChannel


@dataclass(frozen=True)
class IncidentRecorded(Event):
    incident_id: int
    reference: str


@dataclass(frozen=True)
class IncidentNotified(Event):
    """`notice_count`: notices written in this round (one per confirmed contact)."""

    incident_id: int
    reference: str
    notice_count: int


incident_recorded: EventChannel[IncidentRecorded] = EventChannel(IncidentRecorded)
incident_notified: EventChannel[IncidentNotified] = EventChannel(IncidentNotified)
