import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import ExtraHoliday, Ticket, TicketAttachment, TicketNote
from requests_app.services import ticket_assign, ticket_transition

from .conftest import PDF_BYTES, pdf_upload, submit, ticket_in

CHANGELIST = reverse("admin:requests_app_ticket_changelist")


def change_url(ticket):
    return reverse("admin:requests_app_ticket_change", args=[ticket.pk])


def workflow_url(ticket, action):
    return reverse("admin:requests_app_ticket_workflow", args=[ticket.pk, action])


def set_due(ticket, due_at):
    # Test arrangement: move a ticket's clock (save() keeps the history complete).
    ticket.received_at = due_at - dt.timedelta(days=5)
    ticket.original_due_at = ticket.due_at = due_at
    ticket.save()


def test_request_handler_role_has_exactly_its_permissions(db):
    perms = Group.objects.get(name="Request handler").permissions.select_related("content_type")
    assert sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms) == sorted(
        [
            "requests_app.view_ticket",
            "requests_app.change_ticket",
            "requests_app.add_ticketnote",
            "requests_app.view_ticketnote",
            "requests_app.view_ticketevent",
            "requests_app.add_ticketattachment",
            "requests_app.view_ticketattachment",
            "core.view_outboxmail",
            "requests_app.view_extraholiday",
            "requests_app.add_extraholiday",
            "requests_app.change_extraholiday",
            "subscriptions.view_subscriber",
            "subscriptions.view_subprocessornotice",
            "subscriptions.view_subprocessorobjection",
            "subscriptions.view_publicationnotices",
            "documents.view_ndaversion",
            "documents.view_ndaacceptance",
            "documents.view_documentgrant",
            "documents.revoke_documentgrant",
            "documents.view_documentdownload",
            "customers.view_customer",
            "customers.add_customer",
            "customers.change_customer",
            "customers.view_contact",
            "customers.add_contact",
            "customers.change_contact",
            "customers.view_customeragreement",
            "customers.view_incident",
            "customers.add_incident",
            "customers.change_incident",
            "customers.notify_incident",
            "customers.export_incident",
            "customers.view_incidentnotice",
            "subscriptions.view_contactnotice",
            "subscriptions.view_updatenotice",
        ]
    )
    editor = Group.objects.get(name="Compliance editor").permissions.values_list("content_type__app_label", flat=True)
    # evidence: reading the audit log; documents: the NDA text; subscriptions: notice counts
    assert set(editor) == {"compliance", "evidence", "documents", "subscriptions"}


def test_queue_lists_tickets_with_due_indicators(handler_client):
    now = timezone.now()
    overdue, _ = submit()
    set_due(overdue, now - dt.timedelta(hours=1))
    soon, _ = submit()
    set_due(soon, now + dt.timedelta(days=2))
    later, _ = submit()
    set_due(later, now + dt.timedelta(days=20))
    response = handler_client.get(CHANGELIST)
    assert response.status_code == 200
    rows = {t.reference: t for t in response.context["cl"].result_list}
    assert set(rows) == {overdue.reference, soon.reference, later.reference}
    html = response.content.decode()
    assert html.count('class="due-overdue"') == 1
    assert html.count('class="due-soon"') == 1


def test_due_markers_are_coloured_by_the_admin_stylesheet_not_inline_styles(handler_client, settings):
    now = timezone.now()
    overdue, _ = submit()
    set_due(overdue, now - dt.timedelta(hours=1))
    soon, _ = submit()
    set_due(soon, now + dt.timedelta(days=2))

    queue = handler_client.get(CHANGELIST).content.decode()
    change_form = handler_client.get(change_url(overdue)).content.decode()

    assert '<strong class="due-overdue">Overdue</strong>' in queue
    assert '<span class="due-soon">Due soon</span>' in queue
    # The CSP allows no inline style attributes: the colour comes from the stylesheet both pages load.
    for html in (queue, change_form):
        assert html.count('<link href="/static/css/admin-extra.css" media="all" rel="stylesheet">') == 1
        assert " style=" not in html
    css = (settings.BASE_DIR / "static/css/admin-extra.css").read_text()
    assert ".due-overdue { color: var(--error-fg, #ba2121); font-weight: 700; }" in css
    assert ".due-soon { color: #8a5300; font-weight: 600; }" in css


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("due=overdue", {"overdue"}),
        ("due=soon", {"soon"}),
        ("due=later", {"later"}),
        ("", {"overdue", "soon", "later", "closed"}),
    ],
)
def test_due_filter(handler_client, handler, query, expected):
    now = timezone.now()
    tickets = {}
    for name, offset in (("overdue", -1), ("soon", 2), ("later", 20)):
        ticket, _ = submit()
        set_due(ticket, now + dt.timedelta(days=offset))
        tickets[name] = ticket
    closed, _ = submit()
    set_due(closed, now - dt.timedelta(days=3))
    ticket_transition(ticket_id=closed.pk, to_status=TicketStatus.REJECTED, actor=handler, reason="spam")
    tickets["closed"] = closed
    response = handler_client.get(f"{CHANGELIST}?{query}")
    names = {name for name, t in tickets.items() if t in response.context["cl"].result_list}
    assert names == expected


def test_filters_by_kind_status_verification_and_assignee(handler_client, handler):
    dpa, _ = submit(TicketKind.DPA)
    dsr = ticket_in(TicketStatus.OPEN, handler)  # verified
    unverified, _ = submit(TicketKind.DSR_ERASURE)
    ticket_assign(ticket_id=dpa.pk, assignee=handler, actor=handler)

    def listed(query):
        return {t.pk for t in handler_client.get(f"{CHANGELIST}?{query}").context["cl"].result_list}

    assert listed("kind__exact=dpa") == {dpa.pk}
    assert listed("status__exact=awaiting_verification") == {unverified.pk}
    assert listed("verification=verified") == {dsr.pk}
    assert listed("verification=unverified") == {unverified.pk}
    assert listed("verification=not_required") == {dpa.pk}
    assert listed(f"assignee__id__exact={handler.pk}") == {dpa.pk}


def test_search_by_reference_and_email(handler_client):
    ann, _ = submit()
    bob, _ = submit(requester_email="bob@example.net", requester_name="Bob")
    listed = lambda q: {t.pk for t in handler_client.get(CHANGELIST, {"q": q}).context["cl"].result_list}  # noqa: E731
    assert listed(ann.reference) == {ann.pk}
    assert listed("bob@example.net") == {bob.pk}


def test_queue_query_count_is_the_same_for_one_and_three_tickets(
    handler_client, handler, make_staff, django_assert_num_queries
):
    other = make_staff("otto", "Request handler")

    def make(n):
        for i in range(n):
            ticket, _ = submit(TicketKind.DSR_ACCESS if i % 2 else TicketKind.DPA)
            ticket_assign(ticket_id=ticket.pk, assignee=other if i % 2 else handler, actor=handler)

    make(1)
    handler_client.get(CHANGELIST)  # warm per-process caches (content types)
    with CaptureQueriesContext(connection) as one:
        assert len(handler_client.get(CHANGELIST).context["cl"].result_list) == 1
    # session, user, permissions, counts, the rows with their assignees, assignee filter choices
    assert len(one.captured_queries) <= 11  # incl. the session save on every request
    make(2)
    with django_assert_num_queries(len(one.captured_queries)):
        response = handler_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 3


def test_change_page_shows_workflow_buttons_for_the_status(handler_client):
    ticket, _ = submit()
    response = handler_client.get(change_url(ticket))
    labels = [label for _, label in response.context["workflow_actions"]]
    assert labels == [
        "Assign to me",
        "Acknowledge (start work)",
        "Reject",
        "Message requester",
        "Extend deadline",
        "Place legal hold",
    ]
    html = response.content.decode()
    assert "Ann Example" in html and "Internal notes (never shown to the requester)" in html
    assert 'name="requester_email"' not in html  # not editable


def test_acknowledge_through_the_admin(handler_client, handler):
    ticket, _ = submit()
    url = workflow_url(ticket, "acknowledge")
    assert handler_client.get(url).status_code == 200
    response = handler_client.post(url, {"expected_status": TicketStatus.OPEN, "reason": ""})
    assert response.status_code == 302 and response["Location"] == change_url(ticket)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.history.first().history_user == handler


def test_assign_to_me(handler_client, handler):
    ticket, _ = submit()
    handler_client.post(workflow_url(ticket, "assign_me"), {"expected_status": TicketStatus.OPEN})
    assert Ticket.objects.get(pk=ticket.pk).assignee == handler


def test_refusal_shows_the_service_message(handler_client, handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    response = handler_client.post(workflow_url(ticket, "fulfil"), {"expected_status": TicketStatus.IN_PROGRESS})
    assert response.status_code == 400
    assert "Attach the countersigned document (PDF)." in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS


def test_stale_page_is_refused_not_overwritten(handler_client, handler):
    ticket, _ = submit()
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.REJECTED, actor=handler, reason="dup")
    response = handler_client.post(workflow_url(ticket, "acknowledge"), {"expected_status": TicketStatus.OPEN})
    assert response.status_code == 400
    assert "someone else changed it" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.REJECTED


def test_fulfil_with_pdf_upload_and_download(handler_client, handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    response = handler_client.post(
        workflow_url(ticket, "fulfil"),
        {
            "expected_status": TicketStatus.IN_PROGRESS,
            "reason": "Countersigned.",
            "attachment": pdf_upload(),
        },
    )
    assert response.status_code == 302
    attachment = TicketAttachment.objects.get(ticket=ticket)
    download = handler_client.get(reverse("admin:requests_app_ticket_attachment", args=[ticket.pk, attachment.pk]))
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"] == 'attachment; filename="Signed DPA.pdf"'


def test_reject_extend_close_and_request_info(handler_client, handler):
    ticket = ticket_in(TicketStatus.IN_PROGRESS, handler)
    assert (
        handler_client.post(
            workflow_url(ticket, "extend"), {"expected_status": ticket.status, "reason": "Many systems."}
        ).status_code
        == 302
    )
    assert (
        handler_client.post(
            workflow_url(ticket, "request_info"), {"expected_status": ticket.status, "reason": "Which account?"}
        ).status_code
        == 302
    )
    assert (
        handler_client.post(
            workflow_url(ticket, "withdraw"), {"expected_status": TicketStatus.AWAITING_REQUESTER, "reason": ""}
        ).status_code
        == 302
    )
    assert (
        handler_client.post(workflow_url(ticket, "close"), {"expected_status": TicketStatus.WITHDRAWN}).status_code
        == 302
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED and ticket.extended_at is not None
    kinds = list(ticket.events.values_list("kind", "to_status"))
    assert kinds[-4:] == [
        (TicketEventKind.EXTENDED, ""),
        (TicketEventKind.STATUS_CHANGED, "awaiting_requester"),
        (TicketEventKind.STATUS_CHANGED, "withdrawn"),
        (TicketEventKind.STATUS_CHANGED, "closed"),
    ]


def test_reject_form_requires_a_reason(handler_client):
    ticket, _ = submit()
    response = handler_client.post(workflow_url(ticket, "reject"), {"expected_status": TicketStatus.OPEN})
    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": ["This field is required."]}


def test_add_internal_note_inline(handler_client, handler):
    ticket, _ = submit()
    data = {
        "notes-TOTAL_FORMS": "1",
        "notes-INITIAL_FORMS": "0",
        "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000",
        "notes-0-body": "Checked the contract.",
    }
    for prefix in ("attachments", "events", "mails"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "0",
            }
        )
    response = handler_client.post(change_url(ticket), data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    note = TicketNote.objects.get()
    assert (note.ticket, note.author, note.body) == (ticket, handler, "Checked the contract.")
    assert ticket.history.count() == 1  # the ticket itself is not re-saved


def test_user_without_change_permission_cannot_run_workflow(client, make_staff):
    viewer = make_staff("vera")
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(viewer)
    ticket, _ = submit()
    assert client.get(change_url(ticket)).context["workflow_actions"] == []
    response = client.post(workflow_url(ticket, "acknowledge"), {"expected_status": TicketStatus.OPEN})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    attachment_url = reverse("admin:requests_app_ticket_attachment", args=[ticket.pk, 1])
    assert client.get(attachment_url).status_code == 403


def test_staff_without_role_sees_no_queue(client, make_staff):
    client.force_login(make_staff("nobody"))
    assert client.get(CHANGELIST).status_code == 403


def test_tickets_cannot_be_added_or_deleted_in_admin(handler_client, make_staff, client):
    ticket, _ = submit()
    assert handler_client.get(reverse("admin:requests_app_ticket_delete", args=[ticket.pk])).status_code == 403
    client.force_login(make_staff("root", superuser=True))
    assert client.get(reverse("admin:requests_app_ticket_delete", args=[ticket.pk])).status_code == 403
    assert client.get(reverse("admin:requests_app_ticket_add")).status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_handler_manages_extra_holidays(handler_client):
    response = handler_client.post(
        reverse("admin:requests_app_extraholiday_add"), {"date": "2026-12-24", "description": "Christmas Eve"}
    )
    assert response.status_code == 302
    assert ExtraHoliday.objects.get().description == "Christmas Eve"


def test_handler_views_outbox_read_only(handler_client):
    submit()
    response = handler_client.get(reverse("admin:core_outboxmail_changelist"))
    assert len(response.context["cl"].result_list) == 2
    assert handler_client.get(reverse("admin:core_outboxmail_add")).status_code == 403


def test_legal_hold_through_the_admin(handler_client, handler):
    ticket, _ = submit()
    response = handler_client.post(
        workflow_url(ticket, "hold"), {"expected_status": ticket.status, "reason": "Litigation notice received."}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.legal_hold is True
    event = ticket.events.last()
    assert (event.kind, event.actor, event.visible_to_requester, event.message) == (
        TicketEventKind.LEGAL_HOLD,
        handler,
        False,
        "legal hold placed: Litigation notice received.",
    )
    labels = [label for _, label in handler_client.get(change_url(ticket)).context["workflow_actions"]]
    assert "Release legal hold" in labels and "Place legal hold" not in labels
    handler_client.post(workflow_url(ticket, "release_hold"), {"expected_status": ticket.status, "reason": "Settled."})
    assert Ticket.objects.get(pk=ticket.pk).legal_hold is False


def test_open_without_link_needs_a_recorded_reason(handler_client, handler):
    ticket, _ = submit(TicketKind.DSR_RECTIFICATION)
    url = workflow_url(ticket, "open")
    assert handler_client.post(url, {"expected_status": ticket.status}).status_code == 400
    response = handler_client.post(
        url, {"expected_status": ticket.status, "reason": "Confirmed by phone with the account owner."}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.verified_at is None
    assert ticket.events.last().message == "Confirmed by phone with the account owner."


def test_resend_verification_through_the_admin(handler_client):
    ticket, _ = submit(TicketKind.DSR_ACCESS)
    labels = [label for _, label in handler_client.get(change_url(ticket)).context["workflow_actions"]]
    assert labels[:4] == [
        "Assign to me",
        "Resend verification link",
        "Record identity verified another way",
        "Open without link verification",
    ]
    response = handler_client.post(workflow_url(ticket, "resend_verification"), {"expected_status": ticket.status})
    assert response.status_code == 302
    assert ticket.verification_tokens.count() == 2


def test_demo_accounts_include_a_request_handler(db):
    from accounts.services import demo_accounts_reset

    accounts = {role: username for role, username, _ in demo_accounts_reset()}
    assert accounts["Request handler"] == "handler"
