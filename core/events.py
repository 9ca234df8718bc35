"""Typed events: how one app tells the others that something happened.

This is the project's one extension mechanism. An app that owns a fact
(compliance owns publications, requests_app owns tickets) declares its events
in its own ``events.py`` as frozen dataclasses and one ``EventChannel`` per
event type. Its services call ``channel.send_on_commit(Event(...))`` inside
their transaction; receivers in other apps connect in their ``AppConfig.ready``.

Rules that keep "what happens when X" readable:

- Events are sent **after commit**: a receiver never runs for a change that
  was rolled back, and never inside the sender's transaction (so a slow or
  failing receiver cannot undo or hold up the change). Outside a transaction
  the event is sent at once.
- Payloads are ids and plain values, never model instances: the receiver
  loads what it needs in its own transaction.
- A failing receiver is logged and does not stop the other receivers; work
  that must not be lost is made idempotent and re-driven (a task, or the
  housekeeping run), not retried here.
- No business logic in ``post_save`` or ``save()``; no hook dicts; no
  dotted-path settings naming one implementation.

Chaining evidence is deliberately *not* an event: a record's chain link is
written in the same transaction as the record (see ``evidence``).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every event payload."""


E = TypeVar("E", bound=Event)


class EventChannel(Generic[E]):
    """One kind of event and the receivers connected to it."""

    def __init__(self, event_type: type[E]) -> None:
        self.event_type = event_type
        self._receivers: dict[str, Callable[[E], None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<EventChannel {self.event_type.__name__}>"

    def connect(self, receiver: Callable[[E], None], *, dispatch_uid: str) -> None:
        """Call ``receiver(event)`` for every event sent; a second connect under one uid replaces nothing."""
        with self._lock:
            self._receivers.setdefault(dispatch_uid, receiver)

    def disconnect(self, *, dispatch_uid: str) -> None:
        with self._lock:
            self._receivers.pop(dispatch_uid, None)

    def receivers(self) -> list[Callable[[E], None]]:
        """The connected receivers, in the order they connected."""
        with self._lock:
            return list(self._receivers.values())

    def send_now(self, event: E) -> None:
        """Deliver to every receiver now; a failing receiver is logged, the others still run."""
        self._check(event)
        for receiver in self.receivers():
            try:
                receiver(event)
            except Exception:
                logger.exception(
                    "Receiver %s of %s failed", getattr(receiver, "__qualname__", receiver), self.event_type.__name__
                )

    def send_on_commit(self, event: E, *, using: str = DEFAULT_DB_ALIAS) -> None:
        """Deliver after the current transaction commits (at once outside one)."""
        self._check(event)
        transaction.on_commit(lambda: self.send_now(event), using=using)

    def _check(self, event: E) -> None:
        if not isinstance(event, self.event_type):
            raise TypeError(f"{self!r} carries {self.event_type.__name__}, not {type(event).__name__}")


_recorders = itertools.count(1)


@contextmanager
def recorded(channel: EventChannel[E]) -> Iterator[list[E]]:
    """The events ``channel`` delivers while the block runs, in order (for tests)."""
    seen: list[E] = []
    uid = f"core.events.recorded.{next(_recorders)}"
    channel.connect(seen.append, dispatch_uid=uid)
    try:
        yield seen
    finally:
        channel.disconnect(dispatch_uid=uid)
