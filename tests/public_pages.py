"""Every public page and form, fetched through the test client, for the tests
that look at all of them at once (HTML validity, one layout).

`collect_public_pages` walks the site as visitors do: the trust page before
and after publication, the versions, each request form (empty and with
errors), a request through to its status page with messages and a file, the
subscription links, an objection, a gated document's request form, and the
error pages. It returns each page's HTML by a readable name.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views import defaults

from compliance.models import Document, Organization, Subprocessor
from compliance.services import publication_publish_initial, seed_load
from core.history import system_actor
from requests_app import services as requests_services
from requests_app.forms import DATA_RIGHTS
from tests.factories import SEED_DATA, publish_draft, save
from tests.requests_app.helpers import DPA_ANSWERS, DSR_ANSWERS, post_form, submit, verification_link_token
from tests.subscriptions.helpers import mailed_token


@dataclass(frozen=True)
class PublicPage:
    name: str
    url: str
    status: int
    html: str


def minimal_pdf(text: str = "Countersigned") -> bytes:
    """A small, well-formed one-page PDF (valid cross-reference table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, minimal_pdf(), content_type="application/pdf")


class _Collector:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.pages: dict[str, PublicPage] = {}

    def add(self, name: str, url: str, response) -> None:
        assert name not in self.pages, name
        assert response["Content-Type"].startswith("text/html"), (name, response["Content-Type"])
        self.pages[name] = PublicPage(name, url, response.status_code, response.content.decode())

    def get(self, name: str, url: str, expect: int = 200, client: Client | None = None) -> None:
        response = (client or self.client).get(url)
        assert response.status_code == expect, (name, url, response.status_code)
        self.add(name, url, response)

    def post(self, name: str, url: str, data: dict, expect: int, client: Client | None = None):
        response = (client or self.client).post(url, data)
        assert response.status_code == expect, (name, url, response.status_code)
        if expect != 302:
            self.add(name, url, response)
        return response


def collect_public_pages(*, clock, settings, make_staff) -> dict[str, PublicPage]:
    """Build the data and fetch every public page; returns them by name."""
    settings.REQUEST_RATE_PER_IP = "1000/h"
    settings.REQUEST_RATE_PER_EMAIL = "1000/h"
    settings.SUBSCRIBE_RATE_PER_IP = "1000/h"
    settings.SUBSCRIBE_RATE_PER_EMAIL = "1000/h"
    settings.AS_OF_PUBLIC = True
    cache.clear()
    editor = make_staff("edna", "Compliance editor")
    approver = make_staff("apollo", "Compliance approver")
    handler = make_staff("hannah", "Request handler")
    pages = _Collector(Client())

    # Nothing published yet.
    seed_load(data=SEED_DATA, actor=system_actor())
    pages.get("trust page, not published", "/")
    pages.get("request index, nothing published", "/requests/")

    # Version 1, then version 2 with a new subprocessor and documents, in effect now.
    publication_publish_initial(actor=system_actor())
    clock.advance(days=1)
    save(Subprocessor(slug="fly-io", name="Fly.io", purpose="Application hosting", location="EU"), editor, "new host")
    save(
        Document(
            slug="soc2-report",
            title="SOC 2 Type I report",
            description="Our auditor's report.",
            visibility="gated",
            file=_pdf("soc2.pdf"),
        ),
        editor,
        "report",
    )
    save(
        Document(slug="dpa-template", title="DPA template", description="", visibility="public", file=_pdf("dpa.pdf")),
        editor,
        "template",
    )
    publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the API; documents listed.")
    from tests.factories import offer_nda

    offer_nda(label="2026-06", text="You keep our reports confidential.\n\nFor two years.", editor=editor)

    pages.get("trust page", "/")
    pages.get("changelog", "/changelog/")
    pages.get("as-of page", f"/as-of/{timezone.localdate():%Y-%m-%d}/")
    pages.get("as-of, not a date", "/as-of/yesterday/", expect=400)
    pages.get("as-of, before the first version", "/as-of/2001-01-01/", expect=404)
    staff = Client()
    staff.force_login(editor)
    organization = Organization.objects.get()
    organization.name = "Coaxiom Draft Name"
    save(organization, editor, "rename")
    pages.get("draft preview", "/preview/", client=staff)

    # Requests: index, each form empty and with errors, a submission.
    pages.get("request index", "/requests/")
    pages.get("DPA form", "/requests/new/dpa/")
    pages.get("BAA form", "/requests/new/baa/")
    for right in DATA_RIGHTS:
        pages.get(f"data-subject form: {right.slug}", f"/requests/new/data-subject/{right.slug}/")
    pages.post("DPA form with errors", "/requests/new/dpa/", {"website": ""}, expect=400)
    pages.post("BAA form with errors", "/requests/new/baa/", {"legal_entity": "x", "requester_email": "no"}, expect=400)
    first_right = DATA_RIGHTS[0].slug
    pages.post("data-subject form with errors", f"/requests/new/data-subject/{first_right}/", {}, expect=400)
    submitter = Client()
    pages.get("submitted, nothing to show", "/requests/submitted/", expect=404, client=submitter)
    post_form(submitter, "/requests/new/dpa/", DPA_ANSWERS)
    pages.get("submitted page", "/requests/submitted/", client=submitter)
    post_form(submitter, f"/requests/new/data-subject/{first_right}/", {**DSR_ANSWERS, "details": "All of it."})
    pages.get("submitted page, data subject", "/requests/submitted/", client=submitter)

    # Verification of a data-subject request.
    dsr, _dsr_status = submit(DATA_RIGHTS[0].kind, details="Everything you hold.")
    verify_token = verification_link_token(dsr)
    pages.get("verification page", f"/requests/verify/{verify_token}/")
    pages.post("verification done", f"/requests/verify/{verify_token}/", {}, expect=302)
    pages.get("verified page", "/requests/verified/")
    pages.get("verification link invalid", f"/requests/verify/{verify_token}/", expect=404)

    # A ticket worked on by staff: events, messages, a file, the reply form.
    ticket, status_token = submit("dpa")
    requests_services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    requests_services.ticket_add_message(
        ticket_id=ticket.pk, message="We will send it on Monday.\nThe legal team has it.", actor=handler
    )
    requests_services.ticket_request_info(
        ticket_id=ticket.pk, message="Which entity signs: the GmbH or the AG?", actor=handler
    )
    pages.get("status page, question open", f"/requests/status/{status_token}/")
    pages.post("status page, reply with errors", f"/requests/status/{status_token}/reply/", {}, expect=400)
    reply = Client()
    reply.post(f"/requests/status/{status_token}/reply/", {"message": "The GmbH signs."})
    pages.get("status page after a reply", f"/requests/status/{status_token}/", client=reply)
    requests_services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    requests_services.ticket_transition(
        ticket_id=ticket.pk,
        to_status="fulfilled",
        actor=handler,
        reason="Countersigned copy attached.",
        attachment=_pdf("Signed DPA.pdf"),
    )
    pages.get("status page, fulfilled with a file", f"/requests/status/{status_token}/")
    pages.get("status link invalid", "/requests/status/" + "x" * 43 + "/", expect=404)
    pages.get("file link invalid", f"/requests/status/{status_token}/files/999999/", expect=404)

    # Subscriptions.
    pages.get("subscribe form", "/subscribe/")
    pages.post("subscribe form with errors", "/subscribe/", {"email": "not-an-address"}, expect=400)
    pages.post("subscribe sent", "/subscribe/", {"email": "ann@example.org", "scope": "all"}, expect=302)
    pages.get("subscribe, check your inbox", "/subscribe/sent/")
    confirm_token = mailed_token("confirm", to="ann@example.org")
    pages.get("subscription confirm page", f"/subscribe/confirm/{confirm_token}/")
    pages.post("subscription confirmed", f"/subscribe/confirm/{confirm_token}/", {}, expect=200)
    pages.get("subscription link invalid", f"/subscribe/confirm/{confirm_token}/", expect=404)
    unsubscribe_token = mailed_token("unsubscribe", to="ann@example.org")
    pages.get("unsubscribe page", f"/subscribe/unsubscribe/{unsubscribe_token}/")
    pages.post("unsubscribed", f"/subscribe/unsubscribe/{unsubscribe_token}/", {}, expect=200)

    # An objection to version 2's new subprocessor, open and then closed.
    pages.get("objection form", "/subscribe/object/2/")
    pages.post("objection form with errors", "/subscribe/object/2/", {"subprocessor": "fly-io"}, expect=400)

    # Documents.
    pages.get("document access request form", "/documents/soc2-report/request/")
    pages.post("document access request with errors", "/documents/soc2-report/request/", {}, expect=400)
    pages.get("document not available", "/documents/no-such-document/request/", expect=404)

    # Error pages, as Django's handlers render them.
    pages.get("404 page", "/no/such/page/", expect=404)
    handler_client = Client()
    handler_client.force_login(handler)
    pages.get("403 page", "/preview/", expect=403, client=handler_client)
    csrf_client = Client(enforce_csrf_checks=True)
    pages.post("403 page, form expired", "/requests/new/dpa/", {"website": ""}, expect=403, client=csrf_client)
    request = RequestFactory().get("/")
    pages.add("400 page", "/", defaults.bad_request(request, Exception("bad")))
    pages.add("500 page", "/", defaults.server_error(request))
    for code in (413, 429):
        html = render_to_string(f"{code}.html", request=request)
        pages.pages[f"{code} page"] = PublicPage(f"{code} page", "/", code, html)

    clock.advance(days=60)
    pages.get("objection closed", "/subscribe/object/2/", expect=410)
    return pages.pages
