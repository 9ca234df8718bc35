from dataclasses import dataclass

import pytest
from django.db import transaction

from core.events import Event, EventChannel


@dataclass(frozen=True)
class Happened(Event):
    thing_id: int


@dataclass(frozen=True)
class Other(Event):
    pass


@pytest.fixture
def channel():
    return EventChannel(Happened)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sent_after_commit_not_before(channel):
    seen: list[tuple[str, int]] = []
    channel.connect(lambda e: seen.append(("got", e.thing_id)), dispatch_uid="t1")
    with transaction.atomic():
        channel.send_on_commit(Happened(thing_id=7))
        assert seen == []
    assert seen == [("got", 7)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_not_sent_when_rolled_back(channel):
    seen: list[int] = []
    channel.connect(lambda e: seen.append(e.thing_id), dispatch_uid="t2")
    with pytest.raises(RuntimeError), transaction.atomic():
        channel.send_on_commit(Happened(thing_id=1))
        raise RuntimeError("boom")
    assert seen == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_failing_receiver_is_logged_and_others_still_run(channel, caplog):
    seen: list[int] = []

    def broken(event: Happened) -> None:
        raise ValueError("receiver bug")

    channel.connect(broken, dispatch_uid="broken")
    channel.connect(lambda e: seen.append(e.thing_id), dispatch_uid="fine")
    channel.send_on_commit(Happened(thing_id=3))
    assert seen == [3]
    assert [r.getMessage() for r in caplog.records if r.name == "core.events"] == [
        "Receiver test_failing_receiver_is_logged_and_others_still_run.<locals>.broken of Happened failed"
    ]


def test_wrong_payload_type_refused(channel):
    with pytest.raises(TypeError, match="carries Happened, not Other"):
        channel.send_now(Other())


def test_same_uid_connects_once(channel):
    seen: list[int] = []
    channel.connect(lambda e: seen.append(e.thing_id), dispatch_uid="once")
    channel.connect(lambda e: seen.append(e.thing_id), dispatch_uid="once")
    channel.send_now(Happened(thing_id=5))
    assert seen == [5]
    channel.disconnect(dispatch_uid="once")
    channel.send_now(Happened(thing_id=6))
    assert seen == [5]
