"""Serving documents: public ones as listed live; gated ones only through a
valid, unexpired, unrevoked grant for that document; every gated download logged."""

import secrets

import pytest

from documents import services
from documents.models import DocumentDownload, DocumentGrant
from requests_app.ratelimits import IP_GROUP
from tests.factories import DocumentFactory, pdf_file, publish_draft

from .helpers import approve, ask, mailed_download_path

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_public_document_downloads_as_an_attachment_with_safe_headers(listed, client):
    response = client.get("/documents/dpa-template/")

    assert response.status_code == 200
    assert body(response) == b"%PDF-1.7\ndpa body\n%%EOF\n"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="dpa-template.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_gated_document_is_not_served_by_the_public_url(listed, client):
    response = client.get("/documents/soc2-report/")

    assert response.status_code == 404
    assert b"soc2 body" not in response.content


def test_a_document_not_yet_published_is_not_served(listed, editor, client):
    DocumentFactory.create(actor=editor, slug="new-report", title="New", visibility="public", content=b"%PDF-1.7\nnew")

    assert client.get("/documents/new-report/").status_code == 404


def test_the_live_version_of_a_replaced_file_is_served_until_the_next_publication(
    listed,
    editor,
    approver,
    client,
):
    from tests.factories import save

    dpa = listed["dpa"]
    dpa.file = pdf_file(b"%PDF-1.7\ndpa v2\n")
    save(dpa, editor, "new template")

    assert body(client.get("/documents/dpa-template/")) == b"%PDF-1.7\ndpa body\n%%EOF\n"
    publish_draft(requester=editor, approver=approver)
    assert body(client.get("/documents/dpa-template/")) == b"%PDF-1.7\ndpa v2\n"


@pytest.fixture
def granted(listed, nda, make_staff):
    handler = make_staff("hannah", "Request handler")
    approve(ask(nda=nda), handler)
    return DocumentGrant.objects.get(), mailed_download_path()


def test_a_valid_grant_downloads_the_document_logged_and_never_cached(granted, client, clock):
    grant, path = granted

    response = client.get(path, REMOTE_ADDR="203.0.113.50", HTTP_USER_AGENT="Reader/2.0")

    assert response.status_code == 200
    assert body(response) == b"%PDF-1.7\nsoc2 body\n%%EOF\n"
    assert response["Content-Disposition"] == 'attachment; filename="soc2-report.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    download = DocumentDownload.objects.get()
    assert (download.grant, download.downloaded_at, download.ip, download.user_agent, download.sha256) == (
        grant,
        clock.now,
        "203.0.113.50",
        "Reader/2.0",
        grant.document.sha256,
    )


def _refused(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"soc2 body" not in response.content and "no-store" in response["Cache-Control"]
    return response


def test_no_grant_no_download(listed, client):
    _refused(client, f"/documents/soc2-report/download/{secrets.token_urlsafe(32)}/")
    assert DocumentDownload.objects.count() == 0


def test_a_wrong_token_is_refused(granted, client):
    _, path = granted
    token = path.rstrip("/").rsplit("/", 1)[1]

    _refused(client, path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB")))
    assert DocumentDownload.objects.count() == 0


def test_an_expired_grant_is_refused(granted, client, clock):
    _, path = granted
    clock.advance(days=30)

    _refused(client, path)
    assert DocumentDownload.objects.count() == 0


def test_a_grant_works_until_its_last_moment(granted, client, clock):
    _, path = granted
    clock.advance(days=30, seconds=-1)

    assert client.get(path).status_code == 200


def test_a_revoked_grant_is_refused(granted, client, make_staff):
    grant, path = granted
    services.grant_revoke(grant_id=grant.pk, actor=make_staff("rita"), reason="Access withdrawn")

    _refused(client, path)
    assert DocumentDownload.objects.count() == 0


def test_a_grant_for_another_document_is_refused(granted, client):
    _, path = granted

    _refused(client, path.replace("/soc2-report/", "/pentest-summary/"))
    assert DocumentDownload.objects.count() == 0


def test_a_grant_stops_working_when_the_document_leaves_the_page(granted, editor, approver, client):
    from tests.factories import save

    grant, path = granted
    doc = grant.document
    doc.is_active = False
    save(doc, editor, "report withdrawn")
    publish_draft(requester=editor, approver=approver)

    _refused(client, path)


def test_the_request_form_creates_the_ticket_and_records_the_nda(listed, nda, client):
    form = client.get("/documents/soc2-report/request/")
    assert "You keep our reports confidential." in form.content.decode()
    assert "Non-disclosure agreement (version 2026-06)" in form.content.decode()

    response = client.post(
        "/documents/soc2-report/request/",
        {
            "requester_name": "Wendy Work",
            "requester_email": "Wendy@Acme.example",
            "legal_entity": "Acme Inc.",
            "accept_nda": "on",
            "nda_version": nda.pk,
            "website": "",
            "submission_token": "form-token-0001-abcdefghij",
        },
        REMOTE_ADDR="198.51.100.9",
        HTTP_USER_AGENT="Form/1.0",
    )

    assert response.status_code == 302 and response["Location"] == "/requests/submitted/"
    from documents.models import NdaAcceptance

    acceptance = NdaAcceptance.objects.get()
    assert (acceptance.ticket.requester_email, acceptance.ip, acceptance.user_agent, acceptance.nda_version) == (
        "wendy@acme.example",
        "198.51.100.9",
        "Form/1.0",
        nda,
    )


def test_the_request_form_needs_the_nda_accepted_and_a_work_address(listed, nda, client):
    data = {
        "requester_name": "Sam",
        "requester_email": "sam@gmail.com",
        "legal_entity": "Sam Ltd",
        "nda_version": nda.pk,
        "website": "",
        "submission_token": "form-token-0002-abcdefghij",
    }

    no_nda = client.post("/documents/soc2-report/request/", data)
    freemail = client.post("/documents/soc2-report/request/", {**data, "accept_nda": "on"})

    assert no_nda.status_code == freemail.status_code == 400
    assert "Please accept the non-disclosure agreement" in no_nda.content.decode()
    assert "Please use your work email address" in freemail.content.decode()
    from requests_app.models import Ticket

    assert Ticket.objects.count() == 0


def test_a_public_download_costs_two_queries(listed, client, django_assert_num_queries):
    # The live publication, and the document row that holds the listed file.
    with django_assert_num_queries(2):
        response = client.get("/documents/dpa-template/")
    assert (response.status_code, body(response)) == (200, b"%PDF-1.7\ndpa body\n%%EOF\n")


def test_the_request_form_is_rate_limited_and_says_when_to_come_back(listed, nda, client, settings, ratelimit_wait):
    settings.REQUEST_RATE_PER_IP = "1/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"

    def ask_through_the_form(n: int):
        return client.post(
            "/documents/soc2-report/request/",
            {
                "requester_name": "Wendy Work",
                "requester_email": f"wendy{n}@acme.example",
                "legal_entity": "Acme Inc.",
                "accept_nda": "on",
                "nda_version": nda.pk,
                "website": "",
                "submission_token": f"form-token-000{n}-abcdefghij",
            },
            REMOTE_ADDR="198.51.100.9",
        )

    assert ask_through_the_form(1).status_code == 302
    refused = ask_through_the_form(2)

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(ratelimit_wait(IP_GROUP, "198.51.100.9", "1/h"))
    assert "Too many requests from your network or for this address." in refused.content.decode()
