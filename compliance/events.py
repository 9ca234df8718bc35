"""Events compliance sends so that other apps can react without compliance importing them.

| event | sent by | when |
|---|---|---|
| `PublicationApproved` | `services._publication_create` (approval, and the seed's first version) | after the approval commits |
| `PublicationLive` | `tasks.publication_go_live` | once per publication, at its moment, if not overtaken |
| `UpdatePublished` | `services.update_approve` | after an update's approval commits (each revision) |

All are sent after commit (see `core.events`): a receiver never sees a
publication that was rolled back. A scheduled publication is approved at once
and goes live later; one published now does both within seconds. A
publication superseded before its moment never goes live and is not announced.
"""

import datetime as dt
from dataclasses import dataclass

from core.events import Event, EventChannel


@dataclass(frozen=True)
class PublicationApproved(Event):
    """A new version was frozen; it takes effect at `effective_at` (now or later)."""

    publication_id: int
    version: int
    effective_at: dt.datetime


@dataclass(frozen=True)
class PublicationLive(Event):
    """A version's moment has come and no higher version took effect first."""

    publication_id: int
    version: int


publication_approved: EventChannel[PublicationApproved] = EventChannel(PublicationApproved)
publication_live: EventChannel[PublicationLive] = EventChannel(PublicationLive)


@dataclass(frozen=True)
class UpdatePublished(Event):
    """An update (or a correction of it) was approved and is public now."""

    update_id: int
    category: str


update_published: EventChannel[UpdatePublished] = EventChannel(UpdatePublished)
