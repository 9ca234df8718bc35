from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import Certification, Control, GdprFact
from compliance.services import content_delete, content_save, publication_publish_initial
from core.history import system_actor
from evidence.models import ChainLink
from evidence.selectors import AuditFilters, audit_log_page
from tests.factories import add_rows_per_section, publish_draft

pytestmark = pytest.mark.django_db
URL = "/admin/evidence/auditlog/"


def change_target(actor, target: str, reason: str) -> Certification:
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = target
    return content_save(obj=cert, actor=actor, reason=reason)


def test_entry_shows_time_user_object_field_changes_reason_and_no_publication_yet(seeded, editor):
    change_target(editor, "Q1 2027", "Auditor engaged later")
    entry = audit_log_page(filters=AuditFilters()).entries[0]
    cert = Certification.objects.get(slug="soc2-type-1")
    history = cert.history.first()
    assert (entry.seq, entry.model_label, entry.change_type) == (
        ChainLink.objects.order_by("-seq").first().seq,
        "compliance.historicalcertification",
        "changed",
    )
    assert (entry.object_id, entry.object_repr, entry.user, entry.reason) == (
        cert.pk,
        "SOC 2 Type I",
        "edna",
        "Auditor engaged later",
    )
    assert entry.changed_at == history.history_date
    assert [(c.field, c.label, c.before, c.after) for c in entry.changes] == [
        ("target", "target", "Q4 2026", "Q1 2027")
    ]
    assert entry.publication is None


def test_created_and_deleted_entries(seeded, editor):
    control = Control.objects.get(slug="tls-12")
    control_pk = control.pk
    content_delete(obj=control, actor=editor, reason="Replaced by TLS 1.3")
    entries = audit_log_page(filters=AuditFilters(model_label="compliance.historicalcontrol"), size=500).entries
    deleted, created = entries[0], next(e for e in entries if e.object_id == control_pk and e.change_type == "created")
    assert (deleted.change_type, deleted.changes, deleted.reason, deleted.user) == (
        "deleted",
        [],
        "Replaced by TLS 1.3",
        "edna",
    )
    assert created.user == "system" and created.reason == "initial content import"
    assert ("title", None, "TLS 1.2+ enforced on all connections") in [
        (c.field, c.before, c.after) for c in created.changes
    ]


def test_filters_by_user_model_and_date(seeded, editor):
    change_target(editor, "Q1 2027", "one")
    change_target(editor, "Q2 2027", "two")
    by_user = audit_log_page(filters=AuditFilters(user_id=editor.pk)).entries
    assert [e.reason for e in by_user] == ["two", "one"]
    by_model = audit_log_page(filters=AuditFilters(model_label="compliance.historicalgdprfact"), size=500).entries
    assert {e.model_label for e in by_model} == {"compliance.historicalgdprfact"}
    assert len(by_model) == GdprFact.history.count()
    today = timezone.now().date()
    assert audit_log_page(filters=AuditFilters(date_from=today, date_to=today), size=1).entries[0].reason == "two"
    tomorrow = today + timedelta(days=1)
    assert audit_log_page(filters=AuditFilters(date_from=tomorrow)).entries == []
    assert audit_log_page(filters=AuditFilters(date_to=today - timedelta(days=1))).entries == []


def test_keyset_pages_walk_the_whole_log_without_overlap(seeded):
    total = ChainLink.objects.count()
    seen, before = [], None
    while True:
        page = audit_log_page(filters=AuditFilters(), before=before, size=7)
        seen += [e.seq for e in page.entries]
        if page.older is None:
            break
        before = page.older
    assert seen == list(range(total, 0, -1))
    back = audit_log_page(filters=AuditFilters(), after=page.entries[0].seq, size=7)
    assert [e.seq for e in back.entries] == list(range(page.entries[0].seq + 7, page.entries[0].seq, -1))
    assert back.older == page.entries[0].seq + 1


def count_page_queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        page = audit_log_page(size=20, **kwargs)
    assert len(page.entries) == 20
    return len(ctx.captured_queries)


def test_entries_name_the_publication_that_carried_them_live(seeded, editor, approver):
    publication_publish_initial(actor=system_actor())
    change_target(editor, "Q1 2027", "before v2")
    v2 = publish_draft(requester=editor, approver=approver, summary="Audit timing")
    change_target(editor, "Q2 2027", "after v2")
    after, decided, published, asked, before = audit_log_page(filters=AuditFilters(), size=5).entries
    assert (after.reason, after.publication) == ("after v2", None)
    # The request's versions are chained too: asked before, approved after the publication it made.
    assert [(e.model_label, e.change_type) for e in (decided, asked)] == [
        ("compliance.historicalpublicationrequest", "changed"),
        ("compliance.historicalpublicationrequest", "created"),
    ]
    assert (published.change_type, published.user, published.reason, published.object_repr) == (
        "published",
        "apollo",
        "Audit timing",
        "Version 2",
    )
    assert published.changed_at == v2.snapshot_taken_at
    assert before.reason == "before v2"
    assert (before.publication.version, before.publication.effective_at) == (2, v2.effective_at)
    assert str(before.publication) == "v2"
    # An entry on an older page still finds its publication in the same fixed queries.
    older = audit_log_page(
        filters=AuditFilters(model_label="compliance.publication"), before=before.seq, size=1
    ).entries[0]
    assert older.change_type == "published" and older.object_repr == "Version 1"


def test_the_seed_publication_says_it_had_no_second_person(seeded, editor, approver, client, make_staff):
    publication_publish_initial(actor=system_actor())
    change_target(editor, "Q1 2027", "before v2")
    publish_draft(requester=editor, approver=approver, summary="Audit timing")

    entries = audit_log_page(filters=AuditFilters(model_label="compliance.publication"), size=5).entries

    assert [(e.object_repr, e.user, e.reason) for e in entries] == [
        ("Version 2", "apollo", "Audit timing"),
        (
            "Version 1",
            "system",
            "Initial publication: published by the system account without a second person (nothing was live yet)",
        ),
    ]
    client.force_login(make_staff("audrey", "Auditor"))
    page = client.get(URL, {"model": "compliance.publication"}).content.decode()
    assert "published by the system account without a second person (nothing was live yet)" in page


def test_query_count_stays_constant_as_history_grows(seeded, editor, django_assert_num_queries):
    publication_publish_initial(actor=system_actor())

    def measure() -> tuple[int, int, int]:
        newest = ChainLink.objects.order_by("-seq").first().seq
        return (
            count_page_queries(filters=AuditFilters()),
            count_page_queries(filters=AuditFilters(model_label="compliance.historicalcontrol")),
            count_page_queries(filters=AuditFilters(), before=newest - 5),
        )

    add_rows_per_section(3, editor, prefix="a")
    small = measure()
    add_rows_per_section(12, editor, prefix="b")
    for cert in Certification.objects.filter(slug__startswith="b-"):
        cert.target = "later"
        content_save(obj=cert, actor=editor, reason="bulk retarget")
    add_rows_per_section(3, editor, prefix="c")
    # links + publications after them + one per kind on the page (its rows with
    # their previous versions); the names come with the links (format 2), no user query
    assert measure() == small == (1 + 1 + 6, 1 + 1 + 1, 1 + 1 + 6)
    with django_assert_num_queries(2 + 1 + 1 + 1):  # date bounds, links, publications, GDPR rows
        today = timezone.now().date()
        audit_log_page(
            filters=AuditFilters(date_from=today, date_to=today, model_label="compliance.historicalgdprfact")
        )


def test_admin_view_query_count_does_not_grow(seeded, editor, client):
    client.force_login(editor)
    # Enough rows that the page holds content only (no staff account records of the fixtures).
    add_rows_per_section(9, editor, prefix="a")
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    add_rows_per_section(10, editor, prefix="b")
    with CaptureQueriesContext(connection) as large:
        assert client.get(URL).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_admin_page_lists_entries_for_editor_with_pagination(seeded, editor_client, editor):
    change_target(editor, "Q1 2027", "Auditor engaged later")
    response = editor_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Auditor engaged later" in body and "<del>Q4 2026</del> → <ins>Q1 2027</ins>" in body
    last = ChainLink.objects.order_by("-seq").first().seq
    assert f'href="?before={last - 49}"' in body
    assert "Export" not in body  # editors read, auditors export
    older = editor_client.get(URL, {"before": last - 49, "user": "system"})
    assert older.context["page"].entries[0].seq == last - 50


def test_admin_page_shows_validation_error_for_reversed_dates(seeded, editor_client):
    response = editor_client.get(URL, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.context["page"] is None
    assert "The start date is after the end date." in response.content.decode()


def test_admin_page_refuses_staff_without_permission(seeded, make_staff, client):
    client.force_login(make_staff("nobody"))
    assert client.get(URL).status_code == 403


def test_admin_page_sends_anonymous_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_auditor_sees_export_form(seeded, auditor_client):
    body = auditor_client.get(URL).content.decode()
    assert 'action="/admin/evidence/auditlog/export/"' in body


def test_purge_runs_appear_in_the_log(seeded):
    from django.db import transaction

    from evidence.db import allow_history_purge

    with transaction.atomic(), connection.cursor() as cursor:
        record = allow_history_purge(cursor, reason="retention: 7 years", actor_username="system")
    entry = audit_log_page(filters=AuditFilters(), size=1).entries[0]
    assert (entry.model_label, entry.change_type, entry.reason, entry.user, entry.changed_at) == (
        "evidence.purgerecord",
        "purged history",
        "retention: 7 years",
        "system",
        record.ran_at,
    )


def test_approvers_and_auditors_read_the_log(seeded, client, approver, auditor, editor):
    change_target(editor, "Q1 2027", "Auditor engaged later")
    for user in (approver, auditor):
        client.force_login(user)
        response = client.get(URL, {"user": "edna"})
        assert [e.reason for e in response.context["page"].entries] == ["Auditor engaged later"]


def test_unknown_username_matches_nothing(seeded, auditor_client):
    response = auditor_client.get(URL, {"user": "nobody-by-that-name"})
    assert response.context["page"].entries == []
    assert "No entries match." in response.content.decode()


def test_log_answers_get_only(seeded, auditor_client):
    assert auditor_client.post(URL).status_code == 405
