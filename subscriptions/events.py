"""Events subscriptions sends so that other apps can react without it importing them.

| event | sent by | when |
|---|---|---|
| `ObjectionFiled` | `services.objection_submit` | after a new objection (and its ticket) commits |

Sent after commit (see `core.events`). The payload names the objection, its
ticket's reference, the publication version and the subprocessor objected to;
never who objected or what they wrote.
"""

from dataclasses import dataclass

from core.events import Event, EventChannel


@dataclass(frozen=True)
class ObjectionFiled(Event):
    """An objection to a subprocessor change was filed (once per objection; a retried form sends nothing)."""

    objection_id: int
    reference: str
    publication_version: int
    subprocessor_slug: str


objection_filed: EventChannel[ObjectionFiled] = EventChannel(ObjectionFiled)
