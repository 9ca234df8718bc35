"""Hostile input at every public POST form: never a 500, never a partial row.

Each form is posted with hypothesis-generated values (arbitrary text with NUL
bytes and control characters, RTL marks, huge strings, malformed emails,
missing and extra fields, several values for one key), either one field at a
time on top of valid answers (so that successes happen too) or all fields at
once, as multipart or urlencoded bodies, always with a valid CSRF token from
a GET of the site. For every answer:

- the status is in the form's allowed set, never 500;
- a refusal leaves the row count of every model unchanged;
- a success adds exactly the rows that submission makes, holding what was sent.
"""

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from compliance.models import Document, Subprocessor
from compliance.services import publication_publish_initial
from core import tokens
from core.history import system_actor
from core.intake import new_submission_token
from requests_app import services as request_services
from requests_app.mail import VERIFY
from requests_app.models import Ticket, VerificationToken
from subscriptions import services as subscription_services
from subscriptions.models import Subscriber
from tests.factories import DocumentFactory, offer_nda, publish_draft, save
from tests.pdfs import pdf as pdf_bytes
from tests.security.fuzz import hostile_text, hostile_value

pytestmark = pytest.mark.django_db

MISSING = object()  # a field left out of the body altogether
RIGHTS = ("erasure", "access", "rectification", "portability", "restriction", "objection")
# Intake forms: 200 (shown), 302 (submitted), 400 (errors), 413 (body too large), 429 (rate limit).
INTAKE_STATUSES = frozenset({200, 302, 400, 413, 429})
STAFF_QUEUE = "queue@example.com"
ODD_TEXT = "  Zoë \u202eevil\u202c \u200f\u05e9\u05dc\u05d5\u05dd 🙂 <b>&amp;</b> 'x' \"y\"  "
ODD_EMAIL = " O'Brien+Tag@Exämple.COM "


def _hyp() -> Callable:
    # derandomize: the same examples on every run, so CI never flakes on a rare draw.
    return hsettings(
        max_examples=25,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture(autouse=True)
def _form_settings(settings):
    settings.STAFF_NOTIFY_EMAILS = [STAFF_QUEUE]
    settings.SITE_URL = "https://trust.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = []
    settings.DOCUMENT_BLOCK_FREEMAIL = True
    settings.SUBPROCESSOR_OBJECTION_DAYS = 30
    cache.clear()
    yield
    cache.clear()


# --- strategies ------------------------------------------------------------------------------


def emails() -> st.SearchStrategy:
    malformed = st.sampled_from(
        [
            "plainaddress",
            "@example.com",
            "a@",
            "a@@example.com",
            "a@example..com",
            "a b@example.com",
            "a@example.com\n",
            "a@exam\x00ple.com",
            "<a@example.com>",
            "a@example.com, b@example.com",
            "\u202ea@example.com",
            "a@" + "x" * 64 + ".com",
            "x" * 65 + "@example.com",
            "a@-example.com",
            "a@localhost",
            '"a b"@example.com',
            "a@[127.0.0.1]",
            "ａ@example.com",
            "a@exämple.com",
        ]
    )
    return st.one_of(hostile_value(), malformed, st.emails().map(str))


def text() -> st.SearchStrategy:
    return st.one_of(
        hostile_value(),
        st.text(min_size=1, max_size=60),
        st.sampled_from(
            [
                "\u202eevil\u202c",
                "\u200f\u05e9\u05dc\u05d5\u05dd",
                "Zoë “quoted” — ok",
                "a\x00b",
                "x" * 201,
                "x" * 5001,
            ],
        ),
    )


def maybe_missing(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(strategy, st.just(MISSING))


def extra_fields() -> st.SearchStrategy:
    return st.dictionaries(keys=hostile_text(30), values=hostile_value(), max_size=3)


@dataclass(frozen=True)
class Post:
    payload: dict[str, Any]
    encoding: str


def posts(base: Mapping[str, Any], fields: Mapping[str, st.SearchStrategy]) -> st.SearchStrategy[Post]:
    """One field hostile on top of valid answers, or every field hostile; plus extra keys."""

    def apply(changes: Mapping[str, Any]) -> dict[str, Any]:
        payload = dict(base)
        for name, value in changes.items():
            if value is MISSING:
                payload.pop(name, None)
            else:
                payload[name] = value
        return payload

    one = st.sampled_from(sorted(fields)).flatmap(
        lambda name: maybe_missing(fields[name]).map(lambda value: apply({name: value}))
    )
    every = st.fixed_dictionaries({name: maybe_missing(s) for name, s in fields.items()}).map(apply)
    with_extras = st.tuples(st.one_of(one, every), st.one_of(st.just({}), extra_fields())).map(
        lambda pair: {**pair[1], **pair[0]}
    )
    return st.builds(Post, with_extras, st.sampled_from(["multipart", "urlencoded"]))


# --- posting and counting ---------------------------------------------------------------------


def csrf_client(form_url: str = "/subscribe/") -> tuple[Client, str]:
    """A client that enforces CSRF, and the token a GET of a form gave it."""
    client = Client(enforce_csrf_checks=True)
    html = client.get(form_url).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, f"no CSRF token on {form_url}"
    return client, found.group(1)


def send(client: Client, url: str, post: Post, csrf: str | None):
    data = dict(post.payload)
    if csrf is not None:
        data["csrfmiddlewaretoken"] = csrf
    if post.encoding == "urlencoded":
        return client.post(url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded")
    return client.post(url, data)


# A day's mail counter per mailbox: a row appears for an address new that day
# only, whatever the input; its counting is tested in tests/core/test_mail_cap.py.
COUNTERS = {"core.PublicMailCount"}
# The evidence ledger's bookkeeping follows each chained row (a link, tree nodes by the
# link's position, a schema the first time, commitments and salts of personal fields);
# it is tested in tests/evidence and tests/requests_app/test_chain.py.
LEDGER = {
    "evidence.ChainLink",
    "evidence.ChainSchema",
    "evidence.TreeNode",
    "evidence.PersonalCommitment",
    "evidence.PersonalSalt",
}


def counts() -> dict[str, int]:
    # Proxies share their model's table: each row is counted once, under its model.
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.label not in COUNTERS | LEDGER and not m._meta.proxy
    }


def delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {label: after[label] - before[label] for label in after if after[label] != before[label]}


def last(value: Any) -> str:
    """What a form reads for a key sent once or several times (the last value)."""
    return value[-1] if isinstance(value, list) else value


def ticket_rows(kind: str) -> dict[str, int]:
    """What one new submission of `kind` writes (one staff address is notified)."""
    rows = {
        "requests_app.Ticket": 1,
        "requests_app.HistoricalTicket": 1,
        "requests_app.TicketEvent": 1,
        "core.OutboxMail": 2,
    }
    if kind.startswith("dsr_"):
        rows.update({"requests_app.TicketEvent": 2, "core.OutboxMail": 3, "requests_app.VerificationToken": 1})
    if kind == "subprocessor_objection":
        rows["subscriptions.SubprocessorObjection"] = 1
    if kind == "document_access":
        rows["documents.NdaAcceptance"] = 1
    return rows


@dataclass
class TicketForm:
    """A public form whose success is a new ticket."""

    url: str
    kind: str
    base: dict[str, Any]
    fields: dict[str, st.SearchStrategy]
    stored_as: dict[str, str] = field(default_factory=dict)  # form field -> Ticket field
    allowed: frozenset[int] = INTAKE_STATUSES
    refusals: list = field(default_factory=list)

    def fuzz(self) -> int:
        """Post a valid submission, then the fuzzed ones; returns how many succeeded."""
        client, csrf = csrf_client(self.url)
        # The first ticket of a kind also starts its yearly counter (the confirmation page
        # reads a signed cookie: a submission starts no session).
        first = Post({**self.base, "submission_token": new_submission_token()}, "multipart")
        assert self.check(client, csrf, first, also={"requests_app.TicketSequence": 1})
        outcomes: list[bool] = []
        fields = {**self.fields, "submission_token": hostile_text(80)}

        def body(post: Post, token: str) -> None:
            cache.clear()  # rate limits would otherwise refuse after a few successes
            post.payload.setdefault("submission_token", token)
            outcomes.append(self.check(client, csrf, post))

        run = given(post=posts(self.base, fields), token=st.builds(new_submission_token))(body)
        # Odd but valid answers, one field at a time, always run: successes beside the refusals.
        checked = ["requester_email", *self.stored_as]
        variants = [
            Post({**self.base, name: ODD_EMAIL if name.endswith("email") else ODD_TEXT}, encoding)
            for name, encoding in zip(checked, ["urlencoded", "multipart"] * len(checked), strict=False)
        ]
        for variant in variants:
            run = example(post=variant, token=new_submission_token())(run)
        _hyp()(run)()
        assert sum(outcomes) >= len(variants), self.refusals
        return sum(outcomes)

    def check(self, client: Client, csrf: str, post: Post, also: Mapping[str, int] = {}) -> bool:
        token = last(post.payload.get("submission_token", ""))
        # (A token with NUL cannot be looked up on PostgreSQL; no form accepts one either.)
        known = "\x00" not in token and Ticket.objects.filter(submission_token=token).exists()
        before = counts()
        response = send(client, self.url, post, csrf)
        after = counts()
        assert response.status_code in self.allowed, (response.status_code, post)
        if response.status_code != 302:
            assert delta(before, after) == {}, (response.status_code, post)
            self.refusals.append(
                (
                    response.status_code,
                    str(
                        getattr(response, "context", None)
                        and response.context.get("form")
                        and response.context["form"].errors
                    )[:300],
                )
            )
            return False
        assert response["Location"] == "/requests/submitted/"
        if known:  # a retried submission: the ticket it made, nothing new
            assert delta(before, after) == {}, post
            return False
        assert delta(before, after) == {**ticket_rows(self.kind), **also}, post
        ticket = Ticket.objects.get(submission_token=token)
        assert ticket.kind == self.kind
        for name, stored in {"requester_email": "requester_email", **self.stored_as}.items():
            expected = last(post.payload[name]).strip()
            if name.endswith("email"):
                expected = expected.lower()
            assert getattr(ticket, stored) == expected, (name, post)
        return True


TEXT_FIELDS = {"legal_entity": "legal_entity", "requester_name": "requester_name"}


def test_dpa_form_survives_hostile_input():
    form = TicketForm(
        url="/requests/new/dpa/",
        kind="dpa",
        base={
            "legal_entity": "Example GmbH",
            "account_email": "admin@example.com",
            "requester_name": "Dana",
            "requester_email": "dana@example.com",
            "notes": "Please countersign.",
            "website": "",
        },
        fields={
            "legal_entity": text(),
            "account_email": emails(),
            "requester_name": text(),
            "requester_email": emails(),
            "notes": text(),
            "website": text(),
        },
        stored_as={**TEXT_FIELDS, "notes": "details", "account_email": "account_email"},
    )
    assert form.fuzz() >= 1


def test_baa_form_survives_hostile_input():
    form = TicketForm(
        url="/requests/new/baa/",
        kind="baa",
        base={
            "legal_entity": "Clinic LLC",
            "account_email": "it@clinic.example",
            "requester_name": "Casey",
            "requester_email": "casey@clinic.example",
            "entity_status": "covered_entity",
            "website": "",
        },
        fields={
            "legal_entity": text(),
            "account_email": emails(),
            "requester_name": text(),
            "requester_email": emails(),
            "entity_status": st.one_of(text(), st.just("business_associate")),
            "website": text(),
        },
        stored_as={**TEXT_FIELDS, "account_email": "account_email"},
    )
    assert form.fuzz() >= 1


@pytest.mark.parametrize("right", RIGHTS)
def test_each_data_subject_form_survives_hostile_input(right):
    form = TicketForm(
        url=f"/requests/new/data-subject/{right}/",
        kind=f"dsr_{right}",
        base={
            "requester_email": "sam@example.org",
            "account_email": "",
            "details": "My account is sam.",
            "website": "",
        },
        fields={"requester_email": emails(), "account_email": emails(), "details": text(), "website": text()},
        stored_as={"details": "details"},
    )
    assert form.fuzz() >= 1


@pytest.fixture
def objection_url(seeded, editor, make_staff):
    publication_publish_initial(actor=system_actor())
    save(
        Subprocessor(slug="fly-io", name="Fly.io", purpose="Application hosting", location="EU"),
        editor,
        "new hosting provider",
    )
    change = publish_draft(
        requester=editor,
        approver=make_staff("apollo", "Compliance approver"),
        effective_at=timezone.now() + timedelta(days=30),
    )
    return f"/subscribe/object/{change.version}/"


def test_subprocessor_objection_form_survives_hostile_input(objection_url):
    form = TicketForm(
        url=objection_url,
        kind="subprocessor_objection",
        base={
            "legal_entity": "Example GmbH",
            "requester_name": "Olga",
            "requester_email": "olga@example.de",
            "subprocessor": "fly-io",
            "details": "Hosting outside our approved vendors.",
            "website": "",
        },
        fields={
            "legal_entity": text(),
            "requester_name": text(),
            "requester_email": emails(),
            "subprocessor": st.one_of(text(), st.just("stripe")),
            "details": text(),
            "website": text(),
        },
        stored_as={**TEXT_FIELDS, "details": "details"},
    )
    assert form.fuzz() >= 1


@pytest.fixture
def gated_document(seeded, editor, make_staff) -> tuple[Document, int]:
    publication_publish_initial(actor=system_actor())
    nda = offer_nda(label="2026-06", text="Keep it confidential.", editor=editor)
    document = DocumentFactory.create(
        actor=editor, slug="soc2-report", title="SOC 2 report", visibility="gated", content=pdf_bytes("soc2")
    )
    publish_draft(requester=editor, approver=make_staff("apollo", "Compliance approver"))
    return document, nda.pk


def test_gated_document_request_form_survives_hostile_input(gated_document):
    document, nda_id = gated_document
    form = TicketForm(
        url=f"/documents/{document.slug}/request/",
        kind="document_access",
        base={
            "requester_name": "Wendy",
            "requester_email": "wendy@acme.example",
            "legal_entity": "Acme Inc.",
            "accept_nda": "on",
            "nda_version": str(nda_id),
            "website": "",
        },
        fields={
            "requester_name": text(),
            "requester_email": st.one_of(emails(), st.just("me@gmail.com")),
            "legal_entity": text(),
            "accept_nda": text(),
            "nda_version": st.one_of(text(), st.just("999")),
            "website": text(),
        },
        stored_as=TEXT_FIELDS,
    )
    assert form.fuzz() >= 1


# --- the requester's reply on the status page ----------------------------------------------


def test_requester_reply_survives_hostile_input():
    ticket, status_token = request_services.ticket_submit(
        kind="dpa",
        data={"requester_name": "Dana", "requester_email": "dana@example.com", "legal_entity": "Ex"},
        submission_token=new_submission_token(),
    )
    url = f"/requests/status/{status_token}/reply/"
    client, csrf = csrf_client(f"/requests/status/{status_token}/")
    successes: list[bool] = []

    def check(post: Post) -> bool:
        before = counts()
        response = send(client, url, post, csrf)
        after = counts()
        assert response.status_code in {302, 400, 413, 429}, (response.status_code, post)
        if response.status_code != 302:
            assert delta(before, after) == {}, (response.status_code, post)
            return False
        assert response["Location"] == f"/requests/status/{status_token}/"
        assert delta(before, after) == {"requests_app.TicketEvent": 1, "core.OutboxMail": 1}, post
        newest = ticket.events.order_by("-id").first()
        assert (newest.kind, newest.message) == ("requester_reply", last(post.payload["message"]).strip())
        return True

    assert check(Post({"message": "Any news?", "submission_token": new_submission_token()}, "multipart"))

    @_hyp()
    @given(
        post=posts({"message": "Any news?"}, {"message": text(), "submission_token": hostile_text(80)}),
        token=st.builds(new_submission_token),
    )
    @example(post=Post({"message": ODD_TEXT}, "urlencoded"), token=new_submission_token())
    def run(post: Post, token: str) -> None:
        cache.clear()
        post.payload.setdefault("submission_token", token)
        successes.append(check(post))

    run()
    assert sum(successes) >= 1


# --- links that act on POST: verification, subscription confirm, unsubscribe ----------------


def hostile_link_token() -> st.SearchStrategy[str]:
    return st.one_of(st.from_regex(r"[A-Za-z0-9_-]{20,128}", fullmatch=True), st.text(min_size=1, max_size=200)).map(
        lambda s: re.sub(r"[/?#%\x00-\x20]", "x", s)  # a single path segment the router accepts
    )


def body_only() -> st.SearchStrategy[Post]:
    return st.builds(Post, st.one_of(st.just({}), extra_fields()), st.sampled_from(["multipart", "urlencoded"]))


def test_verification_confirm_post_survives_hostile_input():
    client, csrf = csrf_client()
    outcomes: list[bool] = []

    @_hyp()
    @given(post=body_only(), link=st.one_of(st.just("fresh"), st.just("used"), hostile_link_token()))
    @example(post=Post({}, "urlencoded"), link="fresh")
    def run(post: Post, link: str) -> None:
        ticket, _ = request_services.ticket_submit(
            kind="dsr_erasure",
            data={"requester_email": "sam@example.org"},
            submission_token=new_submission_token(),
        )
        vt = VerificationToken.objects.get(ticket=ticket)
        raw = tokens.recover_token(VERIFY, vt.nonce, vt.token_hash)
        if link == "used":
            request_services.ticket_verify(raw_token=raw)
        token = raw if link in ("fresh", "used") else link
        before = counts()
        response = send(client, f"/requests/verify/{token}/", post, csrf)
        after = counts()
        # 400: a body Django cannot parse (e.g. a multipart header over its limit).
        assert response.status_code in {302, 400, 404}, (response.status_code, link, post)
        ticket.refresh_from_db()
        if response.status_code == 302:
            assert link == "fresh" and response["Location"] == "/requests/verified/"
            # The first confirmation from this browser also starts its session.
            session = {"sessions.Session": 1} if before["sessions.Session"] == 0 else {}
            # "verified" and the move to open ("status_changed"), in one history row.
            assert delta(before, after) == {
                "requests_app.HistoricalTicket": 1,
                "requests_app.TicketEvent": 2,
                **session,
            }
            assert ticket.status == "open"
            outcomes.append(True)
        else:
            assert response.status_code == 400 or link != "fresh", (response.status_code, post)
            assert delta(before, after) == {}
            assert ticket.status == ("open" if link == "used" else "awaiting_verification")

    run()
    assert outcomes


def test_subscribe_form_survives_hostile_input():
    client, csrf = csrf_client()
    outcomes: list[bool] = []
    scopes = st.one_of(text(), st.sampled_from(["all", "subprocessors", "ALL", " all"]))

    @_hyp()
    @given(post=posts({"email": "ann@example.org", "scope": "all"}, {"email": emails(), "scope": scopes}))
    @example(post=Post({"email": ODD_EMAIL, "scope": "subprocessors"}, "urlencoded"))
    def run(post: Post) -> None:
        cache.clear()
        email = post.payload.get("email")
        address = last(email).strip().lower() if email is not None else None
        known = address is not None and "\x00" not in address and Subscriber.objects.filter(email=address).exists()
        before = counts()
        response = send(client, "/subscribe/", post, csrf)
        after = counts()
        assert response.status_code in {302, 400, 429}, (response.status_code, post)
        if response.status_code != 302:
            assert delta(before, after) == {}, (response.status_code, post)
            return
        assert response["Location"] == "/subscribe/sent/"
        # A known address gets a new link: its row changes, which is a new version too.
        rows = {"core.OutboxMail": 1, "subscriptions.HistoricalSubscriber": 1} | (
            {} if known else {"subscriptions.Subscriber": 1}
        )
        assert delta(before, after) == rows, post
        subscriber = Subscriber.objects.get(email=address)
        assert subscriber.requested_scope == last(post.payload["scope"])
        outcomes.append(True)

    run()
    assert outcomes


def _pending_subscriber(n: int) -> tuple[Subscriber, str, str]:
    """A subscriber with a pending confirm link; returns it, the confirm and the unsubscribe tokens."""
    subscriber = subscription_services.subscriber_request(email=f"sub{n}@example.org", scope="all")
    confirm = tokens.recover_token(
        subscription_services.CONFIRM, subscriber.confirm_nonce, subscriber.confirm_token_hash or ""
    )
    unsubscribe = tokens.recover_token(
        subscription_services.UNSUBSCRIBE,
        subscriber.unsubscribe_nonce,
        subscriber.unsubscribe_token_hash,
    )
    return subscriber, confirm, unsubscribe


@pytest.mark.parametrize("action", ["confirm", "unsubscribe"])
def test_confirm_and_unsubscribe_posts_survive_hostile_input(action):
    client, csrf = csrf_client()
    made = iter(range(10_000))
    outcomes: list[bool] = []

    @_hyp()
    @given(post=body_only(), link=st.one_of(st.just("fresh"), hostile_link_token()), with_csrf=st.booleans())
    @example(post=Post({}, "multipart"), link="fresh", with_csrf=False)
    def run(post: Post, link: str, with_csrf: bool) -> None:
        subscriber, confirm, unsubscribe = _pending_subscriber(next(made))
        token = (confirm if action == "confirm" else unsubscribe) if link == "fresh" else link
        before = counts()
        # Unsubscribing takes the one-click POST of mail clients, which carries no CSRF token.
        response = send(
            client, f"/subscribe/{action}/{token}/", post, csrf if with_csrf or action == "confirm" else None
        )
        after = counts()
        assert response.status_code in {200, 400, 404}, (response.status_code, link, post)
        # Confirming or unsubscribing changes the subscriber: one new version of it, nothing else.
        changed = {"subscriptions.HistoricalSubscriber": 1} if response.status_code == 200 else {}
        assert delta(before, after) == changed, (response.status_code, link, post)
        subscriber.refresh_from_db()
        if response.status_code == 200:
            assert link == "fresh"
            if action == "confirm":
                assert "You are subscribed" in response.content.decode()
                assert (subscriber.is_active, subscriber.scope) == (True, "all")
            else:
                assert "You are unsubscribed" in response.content.decode()
                assert subscriber.unsubscribed_at is not None
            outcomes.append(True)
        else:
            # 400: a body Django cannot parse; 404: not a link of ours.
            assert response.status_code == 400 or link != "fresh", (response.status_code, post)
            assert (subscriber.confirmed_at, subscriber.unsubscribed_at) == (None, None)

    run()
    assert outcomes


# --- headers the submissions record: the client address and the user agent ------------------


def forwarded_for() -> st.SearchStrategy[str]:
    return st.one_of(
        hostile_text(60),
        st.ip_addresses().map(str),
        st.sampled_from(
            [
                "not-an-ip",
                "1.2.3.4, evil",
                "300.1.1.1",
                "fe80::1%eth0",
                "::ffff:1.2.3.4",
                "0000:0000:0000:0000:0000:ffff:255.255.255.255",
                " , , ",
                "1.2.3.4\x00",
                "[::1]:80",
            ]
        ),
    )


def test_forged_forwarded_for_and_user_agent_never_break_a_submission(settings, gated_document):
    """Behind a proxy the client address comes from X-Forwarded-For; whatever a
    client or a misconfigured proxy puts there, a submission is stored or refused, never a 500."""
    settings.TRUSTED_PROXY_COUNT = 1
    document, nda_id = gated_document
    forms = {
        "/requests/new/dpa/": (
            "dpa",
            {
                "legal_entity": "Example GmbH",
                "account_email": "a@example.com",
                "requester_name": "Dana",
                "requester_email": "dana@example.com",
                "notes": "",
                "website": "",
            },
        ),
        f"/documents/{document.slug}/request/": (
            "document_access",
            {
                "requester_name": "Wendy",
                "requester_email": "wendy@acme.example",
                "legal_entity": "Acme Inc.",
                "accept_nda": "on",
                "nda_version": str(nda_id),
                "website": "",
            },
        ),
    }
    client, csrf = csrf_client()
    client.get("/requests/new/dpa/")  # the session cookie exists before counting

    @_hyp()
    @given(
        url=st.sampled_from(sorted(forms)),
        forwarded=forwarded_for(),
        agent=st.one_of(hostile_text(500), st.just("Mozilla/5.0 \x00 evil")),
    )
    def run(url: str, forwarded: str, agent: str) -> None:
        cache.clear()
        kind, answers = forms[url]
        token = new_submission_token()
        first_of_kind = not Ticket.objects.filter(kind=kind).exists()
        before = counts()
        response = client.post(
            url,
            {**answers, "submission_token": token, "csrfmiddlewaretoken": csrf},
            HTTP_X_FORWARDED_FOR=forwarded,
            HTTP_USER_AGENT=agent,
        )
        after = counts()
        assert response.status_code == 302, (response.status_code, forwarded, agent)
        extra = {"requests_app.TicketSequence": 1} if first_of_kind else {}
        assert delta(before, after) == {**ticket_rows(kind), **extra}
        ticket = Ticket.objects.get(submission_token=token)
        assert ticket.submitted_ip is not None
        ipaddress.ip_address(ticket.submitted_ip)  # an address, whatever the header said

    run()


def test_forged_forwarded_for_and_user_agent_never_break_the_admin_sign_in(settings, make_staff):
    settings.TRUSTED_PROXY_COUNT = 1
    make_staff("fuzzed", "Compliance editor")
    client = Client()

    @_hyp()
    @given(
        forwarded=forwarded_for(),
        agent=st.one_of(hostile_text(500), st.just("Mozilla/5.0 \x00 evil")),
        password=st.sampled_from(["wrong-password", "correct-horse-battery"]),
    )
    def run(forwarded: str, agent: str, password: str) -> None:
        cache.clear()
        response = client.post(
            "/admin/login/",
            {"username": "fuzzed", "password": password},
            HTTP_X_FORWARDED_FOR=forwarded,
            HTTP_USER_AGENT=agent,
        )
        assert response.status_code in {200, 302, 429}, (response.status_code, forwarded, agent)
        client.logout()

    run()


def test_a_forwarded_entry_that_is_no_address_falls_back_to_the_peer(rf, settings):
    from accounts.auth import client_ip

    settings.TRUSTED_PROXY_COUNT = 1
    for forwarded, expected in [
        ("not-an-ip", "10.0.0.2"),
        ("6.6.6.6, 300.1.1.1", "10.0.0.2"),
        ("fe80::1%eth0", "10.0.0.2"),
        (" 198.51.100.9 ", "198.51.100.9"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
    ]:
        assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)) == expected, forwarded
    assert client_ip(rf.get("/", REMOTE_ADDR="unix:/run/app.sock")) == ""
