"""Publishing: requests, four-eyes approval, scheduling, go-live, seed, roles, admin."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django_tasks_db.models import DBTaskResult

from compliance import services
from compliance.enums import PublicationRequestStatus
from compliance.events import PublicationLive, publication_live
from compliance.models import (
    Certification,
    Control,
    Publication,
    PublicationImmutableError,
    PublicationRequest,
    Subprocessor,
)
from compliance.selectors import live_publication, publication_changelog
from compliance.snapshot import build_snapshot
from compliance.tasks import GO_LIVE_EARLY, GO_LIVE_SENT, GO_LIVE_SUPERSEDED, publication_go_live
from tests.factories import SubprocessorFactory, publish_draft, save


def codes(exc: ValidationError) -> list[str | None]:
    return [e.code for e in exc.error_list]


@pytest.fixture
def other_approver(make_staff):
    return make_staff("artemis", "Compliance approver")


class Versions(list):
    def append(self, event: PublicationLive) -> None:
        super().append(event.version)


@pytest.fixture
def announcements():
    """The versions announced live while the test runs."""
    received = Versions()
    publication_live.connect(received.append, dispatch_uid="tests.announcements")
    yield received
    publication_live.disconnect(dispatch_uid="tests.announcements")


# --- asking ---------------------------------------------------------------------


def test_editor_asks_for_publication(clock, published, editor):
    SubprocessorFactory.create(actor=editor)

    request = services.publication_request(summary="  Add Fly.io  ", actor=editor)

    request.refresh_from_db()
    assert (request.summary, request.status, request.requested_by, request.requested_at) == (
        "Add Fly.io",
        PublicationRequestStatus.PENDING,
        editor,
        clock.now,
    )
    assert Publication.objects.count() == 1


def test_asking_needs_the_permission(published, editor, approver):
    SubprocessorFactory.create(actor=editor)

    with pytest.raises(PermissionDenied):
        services.publication_request(summary="Add Fly.io", actor=approver)
    assert PublicationRequest.objects.count() == 0


@pytest.mark.parametrize("summary,code", [("   ", "summary_required"), ("x" * 1001, "summary_too_long")])
def test_asking_needs_a_summary(published, editor, summary, code):
    SubprocessorFactory.create(actor=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_request(summary=summary, actor=editor)
    assert codes(exc.value) == [code]


def test_one_request_at_a_time(published, editor):
    SubprocessorFactory.create(actor=editor)
    services.publication_request(summary="first", actor=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_request(summary="second", actor=editor)
    assert codes(exc.value) == ["request_pending"]


def test_the_database_holds_one_pending_request(published, editor):
    PublicationRequest.objects.create(summary="a", requested_by=editor)

    with pytest.raises(IntegrityError), transaction.atomic():
        PublicationRequest.objects.create(summary="b", requested_by=editor)


def test_nothing_to_publish_is_refused(published, editor):
    with pytest.raises(ValidationError) as exc:
        services.publication_request(summary="no change", actor=editor)
    assert codes(exc.value) == ["nothing_to_publish"]


# --- approving --------------------------------------------------------------------


def test_approval_publishes_the_snapshot_the_request_froze(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    requested_at = clock.now
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    frozen = build_snapshot()
    clock.advance(hours=2)

    publication = services.publication_approve(request_id=request.pk, actor=approver)

    publication.refresh_from_db()
    request.refresh_from_db()
    assert (publication.version, publication.summary, publication.requested_by, publication.approved_by) == (
        2,
        "Add Fly.io",
        editor,
        approver,
    )
    assert publication.snapshot == frozen == request.snapshot
    assert (publication.snapshot_taken_at, publication.approved_at, publication.effective_at) == (
        requested_at,
        clock.now,
        clock.now,
    )
    assert (request.status, request.decided_by, request.decided_at, request.publication) == (
        PublicationRequestStatus.APPROVED,
        approver,
        clock.now,
        publication,
    )
    assert live_publication() == publication


def test_versions_count_up_one_by_one(published, editor, approver):
    versions = []
    for i in range(3):
        SubprocessorFactory.create(actor=editor, slug=f"p{i}", name=f"P{i}")
        versions.append(publish_draft(requester=editor, approver=approver).version)

    assert versions == [2, 3, 4]


def test_a_draft_edit_is_not_live_until_approved(published, editor, approver):
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.status = "achieved"
    save(cert, editor, "report received")
    request = services.publication_request(summary="SOC 2 Type I achieved", actor=editor)

    assert live_publication().snapshot["certifications"][0]["status"] == "in_progress"

    services.publication_approve(request_id=request.pk, actor=approver)

    assert live_publication().snapshot["certifications"][0]["status"] == "achieved"


def test_approving_needs_the_permission(published, editor, make_staff):
    other_editor = make_staff("eve", "Compliance editor")
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    with pytest.raises(PermissionDenied):
        services.publication_approve(request_id=request.pk, actor=other_editor)
    assert Publication.objects.count() == 1


def test_four_eyes_refuses_self_approval(published, make_staff):
    both = make_staff("bo", "Compliance editor", "Compliance approver")
    editor = make_staff("ed", "Compliance editor")
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=both)

    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=both)

    assert codes(exc.value) == ["four_eyes_requester"]
    assert exc.value.messages == [
        "You asked for this publication. With four-eyes review on, someone else must approve it."
    ]
    assert Publication.objects.count() == 1
    assert PublicationRequest.objects.get().status == PublicationRequestStatus.PENDING


def test_four_eyes_refuses_anyone_who_edited_since_the_last_publication(clock, published, make_staff):
    both = make_staff("bo", "Compliance editor", "Compliance approver")
    editor = make_staff("ed", "Compliance editor")
    SubprocessorFactory.create(actor=both)
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=both)

    assert codes(exc.value) == ["four_eyes_editor"]
    assert exc.value.messages == [
        "You edited the content this request publishes (since version 1 was frozen on 1 June 2026, 09:00). "
        "With four-eyes review on, someone who did not edit it must approve."
    ]


def test_edits_before_the_last_publication_do_not_bar_an_approver(published, make_staff, approver):
    both = make_staff("bo", "Compliance editor", "Compliance approver")
    editor = make_staff("ed", "Compliance editor")
    SubprocessorFactory.create(actor=both)
    publish_draft(requester=editor, approver=approver)  # both's edit is now reviewed and live
    SubprocessorFactory.create(actor=editor, slug="render", name="Render")
    request = services.publication_request(summary="Add Render", actor=editor)

    publication = services.publication_approve(request_id=request.pk, actor=both)

    assert (publication.version, publication.approved_by) == (3, both)


def test_with_four_eyes_off_self_approval_works(settings, published, make_staff):
    settings.PUBLISH_FOUR_EYES = False
    both = make_staff("bo", "Compliance editor", "Compliance approver")
    SubprocessorFactory.create(actor=both)
    request = services.publication_request(summary="Add Fly.io", actor=both)

    publication = services.publication_approve(request_id=request.pk, actor=both)

    assert (publication.version, publication.requested_by, publication.approved_by) == (2, both, both)


def test_a_decided_request_cannot_be_approved_again(published, editor, approver, other_approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    services.publication_approve(request_id=request.pk, actor=approver)

    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=other_approver)
    assert codes(exc.value) == ["not_pending"]
    assert Publication.objects.count() == 2


def test_edits_after_the_request_are_not_published_by_its_approval(published, editor, approver):
    fly = SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    SubprocessorFactory.create(actor=editor, slug="render", name="Render")
    services.content_delete(obj=fly, actor=editor, reason="not yet")

    publication = services.publication_approve(request_id=request.pk, actor=approver)

    names = [s["name"] for s in publication.snapshot["subprocessors"]]
    assert ("Fly.io" in names, "Render" in names) == (True, False)
    assert live_publication() == publication


def test_someone_who_edited_only_after_the_request_may_approve_it(published, editor, make_staff):
    both = make_staff("bo", "Compliance editor", "Compliance approver")
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    SubprocessorFactory.create(actor=both, slug="render", name="Render")  # not part of the request

    publication = services.publication_approve(request_id=request.pk, actor=both)

    assert (publication.version, publication.approved_by) == (2, both)
    assert "render" not in {s["slug"] for s in publication.snapshot["subprocessors"]}


def test_approval_is_refused_for_a_fingerprint_the_request_does_not_have(published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=approver, fingerprint="0" * 64)

    assert codes(exc.value) == ["fingerprint_mismatch"]
    assert Publication.objects.count() == 1
    request.refresh_from_db()
    assert request.status == PublicationRequestStatus.PENDING


def test_a_request_from_before_requests_froze_their_content_cannot_be_approved(published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = PublicationRequest.objects.create(summary="old style", requested_by=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=approver)

    assert codes(exc.value) == ["request_not_frozen"]
    assert Publication.objects.count() == 1


# --- rejecting --------------------------------------------------------------------


def test_reject_with_a_reason(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    services.publication_reject(request_id=request.pk, actor=approver, reason=" contract not signed ")

    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decided_at, request.rejection_reason) == (
        PublicationRequestStatus.REJECTED,
        approver,
        clock.now,
        "contract not signed",
    )
    assert Publication.objects.count() == 1
    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=approver)
    assert codes(exc.value) == ["not_pending"]


def test_reject_needs_a_reason_and_the_permission(published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_reject(request_id=request.pk, actor=approver, reason="")
    assert codes(exc.value) == ["reason_required"]
    with pytest.raises(PermissionDenied):
        services.publication_reject(request_id=request.pk, actor=editor, reason="mine")
    assert PublicationRequest.objects.get().status == PublicationRequestStatus.PENDING


# --- scheduling ---------------------------------------------------------------------


def test_a_scheduled_publication_appears_at_its_time_and_not_before(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    go_live = clock.now + timedelta(days=1)

    scheduled = services.publication_approve(request_id=request.pk, actor=approver, effective_at=go_live)

    assert (scheduled.version, scheduled.snapshot_taken_at, scheduled.effective_at) == (2, clock.now, go_live)
    clock.set(go_live - timedelta(microseconds=1))
    assert live_publication().version == 1
    clock.set(go_live)
    assert live_publication().version == 2


def test_a_scheduled_publication_freezes_the_draft_at_approval(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor, slug="fly")
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    scheduled = services.publication_approve(
        request_id=request.pk,
        actor=approver,
        effective_at=clock.now + timedelta(hours=1),
    )
    SubprocessorFactory.create(actor=editor, slug="render", name="Render")  # after approval

    clock.advance(hours=2)

    assert [p["slug"] for p in live_publication().snapshot["subprocessors"]][-1] == "fly"
    assert live_publication() == scheduled


def test_scheduling_in_the_past_is_refused(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    with pytest.raises(ValidationError) as exc:
        services.publication_approve(request_id=request.pk, actor=approver, effective_at=clock.now)
    assert codes(exc.value) == ["effective_at_past"]


def test_a_later_version_overtakes_a_scheduled_one(clock, published, editor, approver, announcements):
    clock.advance(hours=1)
    SubprocessorFactory.create(actor=editor)
    v2 = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=1))
    SubprocessorFactory.create(actor=editor, slug="render", name="Render")
    v3 = publish_draft(requester=editor, approver=approver, summary="Add Render")

    assert live_publication() == v3
    clock.advance(days=2)
    assert live_publication() == v3
    assert [e.publication.version for e in publication_changelog()] == [3, 1]
    assert publication_go_live.call(v2.pk) == GO_LIVE_SUPERSEDED
    assert publication_go_live.call(v3.pk) == GO_LIVE_SENT
    assert announcements == [3]


def test_republishing_the_live_content_cancels_a_scheduled_version(clock, published, editor, approver):
    fly = SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=1))
    services.content_delete(obj=fly, actor=editor, reason="not yet")

    v3 = publish_draft(requester=editor, approver=approver, summary="Withdraw Fly.io")
    clock.advance(days=2)

    assert live_publication() == v3
    assert [p["slug"] for p in v3.snapshot["subprocessors"]] == [
        p["slug"] for p in Publication.objects.get(version=1).snapshot["subprocessors"]
    ]


# --- going live: task and signal --------------------------------------------------------


def test_approval_enqueues_the_go_live_task_for_its_moment(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    go_live = clock.now + timedelta(days=1)
    publication = publish_draft(requester=editor, approver=approver, effective_at=go_live)

    task = DBTaskResult.objects.get(args_kwargs__args=[publication.pk])
    assert (task.task_path, task.run_after, task.status) == (
        "compliance.tasks.publication_go_live",
        go_live,
        "READY",
    )


def test_the_worker_announces_a_scheduled_publication_at_its_time(
    clock,
    published,
    editor,
    approver,
    announcements,
    monkeypatch,
):
    # The worker recycles database connections between tasks; this test runs
    # inside the test's transaction, whose connection must stay open.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(hours=3))
    worker = ("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    announcements.clear()  # version 1's task, run below, is not what this test is about

    clock.advance(hours=1)
    call_command(*worker, verbosity=0)
    assert announcements == [1]

    clock.advance(hours=2)
    call_command(*worker, verbosity=0)
    assert announcements == [1, 2]


def test_the_task_run_early_waits_for_the_moment(clock, published, editor, approver, announcements):
    SubprocessorFactory.create(actor=editor)
    go_live = clock.now + timedelta(hours=3)
    publication = publish_draft(requester=editor, approver=approver, effective_at=go_live)

    assert publication_go_live.call(publication.pk) == GO_LIVE_EARLY
    assert announcements == []
    assert DBTaskResult.objects.filter(args_kwargs__args=[publication.pk], run_after=go_live).count() == 2


# --- publications are written once ----------------------------------------------------


def test_a_publication_is_never_changed_or_deleted(published):
    published.summary = "rewritten"
    with pytest.raises(PublicationImmutableError):
        published.save()
    with pytest.raises(PublicationImmutableError):
        published.delete()
    with pytest.raises(PublicationImmutableError):
        Publication.objects.update(summary="rewritten")
    with pytest.raises(PublicationImmutableError):
        Publication.objects.all().delete()
    assert Publication.objects.get().summary == "Initial publication"


def test_version_numbers_are_unique_in_the_database(published):
    with pytest.raises(IntegrityError), transaction.atomic():
        Publication.objects.create(
            version=1,
            snapshot={},
            summary="again",
            requested_by=published.requested_by,
            approved_by=published.approved_by,
            effective_at=published.effective_at,
        )


def test_a_publication_cannot_be_backdated(published):
    with pytest.raises(IntegrityError), transaction.atomic():
        Publication.objects.create(
            version=2,
            snapshot={},
            summary="backdated",
            requested_by=published.requested_by,
            approved_by=published.approved_by,
            snapshot_taken_at=datetime(2026, 6, 2, tzinfo=UTC),
            effective_at=datetime(2026, 6, 1, tzinfo=UTC),
        )


# --- the seed loader publishes version 1 ------------------------------------------------


def test_seed_loader_publishes_version_one_as_the_system(db, capsys):
    call_command("load_seed_content")

    publication = Publication.objects.get()
    assert (publication.version, publication.summary) == (1, "Initial publication")
    assert (publication.requested_by.username, publication.approved_by.username) == ("system", "system")
    assert publication.snapshot == build_snapshot()
    assert capsys.readouterr().out.strip().endswith("; published version 1")


def test_second_seed_run_publishes_nothing(db, capsys):
    call_command("load_seed_content")
    before = (list(Publication.objects.values()), DBTaskResult.objects.count())

    call_command("load_seed_content")

    assert (list(Publication.objects.values()), DBTaskResult.objects.count()) == before
    assert capsys.readouterr().out.splitlines()[-1] == "Seed content: 0 rows created, nothing to do"


def test_seed_rows_added_later_wait_for_approval(db, editor):
    call_command("load_seed_content", stdout=io.StringIO())
    services.content_delete(obj=Subprocessor.objects.get(slug="netlify"), actor=editor, reason="moved")

    call_command("load_seed_content", stdout=io.StringIO())  # re-creates netlify as draft

    assert Publication.objects.count() == 1


# --- roles ----------------------------------------------------------------------------


def perms(group: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related("content_type")
    }


CONTENT = [
    "organization",
    "section",
    "certification",
    "control",
    "subprocessor",
    "datahandlingrow",
    "gdprfact",
    "contactroute",
]


def test_approver_role_reviews_and_publishes_but_cannot_edit(db):
    assert perms("Compliance approver") == {f"compliance.view_{m}" for m in [*CONTENT, "document"]} | {
        "compliance.preview_draft",
        "compliance.approve_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "compliance.view_update",
        "compliance.approve_update",
        "compliance.view_updaterequest",
        "compliance.view_updatepublication",
        "evidence.view_auditlog",
        "documents.view_ndaversion",
        "documents.approve_ndaversion",
        "documents.view_ndaapproval",
        "subscriptions.view_publicationnotices",
    }


def test_editor_role_edits_previews_and_asks(db):
    assert perms("Compliance editor") == {
        f"compliance.{verb}_{m}" for m in [*CONTENT, "document"] for verb in ("add", "change", "delete", "view")
    } | {
        "compliance.preview_draft",
        "compliance.request_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        *(f"compliance.{verb}_update" for verb in ("add", "change", "delete", "view")),
        "compliance.request_update",
        "compliance.view_updaterequest",
        "compliance.view_updatepublication",
        "evidence.view_auditlog",
        "documents.add_ndaversion",
        "documents.view_ndaversion",
        "documents.view_ndaapproval",
        "subscriptions.view_publicationnotices",
    }


# --- admin --------------------------------------------------------------------------

ADD_URL = "/admin/compliance/publicationrequest/add/"


def request_url(request: PublicationRequest, action: str = "change") -> str:
    return f"/admin/compliance/publicationrequest/{request.pk}/{action}/"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_admin_editor_asks_for_publication_seeing_the_changes(client, published, editor):
    SubprocessorFactory.create(actor=editor)
    client.force_login(editor)

    form = client.get(ADD_URL)
    response = client.post(ADD_URL, {"summary": "Add Fly.io"})

    assert "<li>Subprocessor added: Fly.io</li>" in form.content.decode()
    request = PublicationRequest.objects.get()
    assert (request.summary, request.requested_by, request.status) == ("Add Fly.io", editor, "pending")
    assert (response.status_code, response.headers["Location"]) == (302, request_url(request))


def test_admin_ask_form_shows_service_refusals(client, published, editor):
    client.force_login(editor)

    response = client.post(ADD_URL, {"summary": "nothing changed"})

    assert "The draft is the same as the live page: there is nothing to publish." in response.content.decode()
    assert PublicationRequest.objects.count() == 0


def test_admin_approver_cannot_ask(client, published, approver):
    client.force_login(approver)

    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, {"summary": "x"}).status_code == 403


def test_admin_approver_publishes_now(client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(approver)

    page = client.get(request_url(request)).content.decode()
    response = client.post(
        request_url(request, "approve"), {"when": "now", "fingerprint": request.snapshot_sha256}, follow=True
    )

    assert "<li>Subprocessor added: Fly.io</li>" in page
    assert f'name="fingerprint" value="{request.snapshot_sha256}"' in page
    assert 'data-testid="draft-moved-on"' not in page
    assert 'value="Approve"' in page
    assert messages_of(response) == ["Version 2 is live."]
    assert live_publication().approved_by == approver


def test_admin_approver_schedules_in_the_site_time_zone(settings, clock, client, published, editor, approver):
    settings.TIME_ZONE = "Europe/Berlin"
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(approver)

    response = client.post(
        request_url(request, "approve"),
        {"when": "schedule", "effective_at": "2026-06-02T10:00", "fingerprint": request.snapshot_sha256},
        follow=True,
    )

    publication = Publication.objects.get(version=2)
    assert publication.effective_at == datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    assert messages_of(response) == ["Version 2 is scheduled to go live on 2 June 2026, 10:00 CEST."]
    assert live_publication().version == 1


def test_admin_schedule_needs_a_moment(client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(approver)

    response = client.post(
        request_url(request, "approve"), {"when": "schedule", "fingerprint": request.snapshot_sha256}, follow=True
    )

    assert messages_of(response) == ["Give the moment it goes live."]
    assert Publication.objects.count() == 1


def test_admin_self_approval_is_refused_with_the_reason(client, published, make_staff):
    both = make_staff("bo", "Compliance editor", "Compliance approver")
    SubprocessorFactory.create(actor=both)
    request = services.publication_request(summary="Add Fly.io", actor=both)
    client.force_login(both)

    page = client.get(request_url(request)).content.decode()
    response = client.post(
        request_url(request, "approve"), {"when": "now", "fingerprint": request.snapshot_sha256}, follow=True
    )

    refusal = "You asked for this publication. With four-eyes review on, someone else must approve it."
    assert refusal in page
    assert 'value="Approve"' not in page
    assert messages_of(response) == [refusal]
    assert Publication.objects.count() == 1


def test_admin_editor_cannot_approve_or_reject(client, published, editor, make_staff):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(make_staff("eve", "Compliance editor"))

    assert 'value="Approve"' not in client.get(request_url(request)).content.decode()
    assert client.post(request_url(request, "approve"), {"when": "now"}).status_code == 403
    assert client.post(request_url(request, "reject"), {"reason": "no"}).status_code == 403
    assert PublicationRequest.objects.get().status == "pending"


def test_admin_approver_rejects_with_a_reason(client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(approver)

    missing = client.post(request_url(request, "reject"), {"reason": ""}, follow=True)
    response = client.post(request_url(request, "reject"), {"reason": "DPA not signed yet"}, follow=True)

    assert messages_of(missing) == ["Give a reason for the rejection."]
    assert messages_of(response) == ["Request rejected."]
    request.refresh_from_db()
    assert (request.status, request.rejection_reason, request.decided_by) == (
        "rejected",
        "DPA not signed yet",
        approver,
    )


def test_admin_publications_are_read_only(client, published, approver):
    client.force_login(approver)

    listing = client.get("/admin/compliance/publication/").content.decode()

    assert '<td class="field-state">live</td>' in listing
    assert client.get("/admin/compliance/publication/add/").status_code == 403
    assert client.post(f"/admin/compliance/publication/{published.pk}/change/", {"summary": "x"}).status_code == 403
    assert client.post(f"/admin/compliance/publication/{published.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "First publication." in client.get(f"/admin/compliance/publication/{published.pk}/change/").content.decode()


def test_admin_approver_may_read_but_not_edit_content(client, published, approver):
    control = Control.objects.get(slug="breach-notification")
    url = f"/admin/compliance/control/{control.pk}/change/"
    client.force_login(approver)

    page = client.get(url)
    post = client.post(url, {"title": "Changed", "change_reason": "try"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert post.status_code == 403
    assert Control.objects.get(pk=control.pk).title == "Breach notification"


def test_admin_review_shows_the_frozen_request_and_that_the_draft_moved_on(client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    SubprocessorFactory.create(actor=editor, slug="render", name="Render")
    client.force_login(approver)

    page = client.get(request_url(request)).content.decode()
    frozen_page = client.get(f"/preview/request/{request.pk}/")

    assert "<li>Subprocessor added: Fly.io</li>" in page
    assert "Render" not in page
    assert 'data-testid="draft-moved-on"' in page
    assert frozen_page.status_code == 200
    assert ("Fly.io" in frozen_page.content.decode(), "Render" in frozen_page.content.decode()) == (True, False)
    assert "no-store" in frozen_page["Cache-Control"]


def test_admin_approval_without_the_reviewed_fingerprint_changes_nothing(client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(approver)

    response = client.post(request_url(request, "approve"), {"when": "now"}, follow=True)

    assert messages_of(response) == ["Open the request again and review it before approving."]
    assert Publication.objects.count() == 1


def test_frozen_request_preview_needs_the_preview_permission(client, published, editor, make_staff):
    SubprocessorFactory.create(actor=editor)
    request = services.publication_request(summary="Add Fly.io", actor=editor)
    client.force_login(make_staff("hal", "Request handler"))

    assert client.get(f"/preview/request/{request.pk}/").status_code == 403
