"""The public side answered from caches: no query when warm, exact queries when
cold, caches that change only with what the public sees, and every app server
serving a new or scheduled version within the memo's second."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from compliance import live
from compliance.models import Certification, Publication
from compliance.services import content_save
from evidence.checkpoints import checkpoint_sign
from evidence.models import ChainLink, Checkpoint
from evidence.selectors import chain_head
from tests.factories import SubprocessorFactory, publish_draft

pytestmark = pytest.mark.django_db

# Each public URL, and the queries of its first request (the memo's one query
# included) when nothing is cached: the live version's row for the page and
# security.txt; for trust.json also the newest checkpoint and the signing keys;
# the changelog the versions (without snapshots), their snapshots for the
# changes, and the organization; the feed as the changelog, and the checkpoints.
COLD = {
    "/": 2,
    "/.well-known/security.txt": 2,
    "/trust.json": 4,
    "/changelog/": 4,
    "/feed.atom": 5,
}
FOOTER = re.compile(r'<p class="chain-head">(Audit chain head[^:]*): (.*?)</p>', re.S)


def sealed_link(publication: Publication) -> ChainLink:
    return ChainLink.objects.get(model_label="compliance.publication", row_pk=publication.pk)


def footer(html: str) -> tuple[str, str]:
    found = FOOTER.findall(html)
    assert len(found) == 1, found
    label, shown = found[0]
    return label, re.sub(r"<[^>]+>", "", shown)


def draft_edit(editor) -> None:
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "Q3 2031"
    content_save(obj=cert, actor=editor, reason="Later")


def as_another_server(memo: live._Memo | None):
    """Swap in the memo another app server holds; returns the one put aside."""
    mine = live._memo
    live._memo = memo
    return mine


@pytest.mark.parametrize("url", list(COLD))
def test_a_public_url_costs_its_cold_queries_once_and_none_when_warm(client, published, url, django_assert_num_queries):
    checkpoint_sign(reason="manual")  # as after the publication's commit
    with django_assert_num_queries(COLD[url]):
        first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        warm = client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url, HTTP_IF_NONE_MATCH=warm.headers["ETag"]).status_code == 304
    assert warm.content == first.content
    assert warm.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("url", list(COLD))
def test_once_the_memo_is_a_second_old_one_query_reads_the_live_version(
    client, published, url, memo_clock, django_assert_num_queries
):
    client.get(url)
    memo_clock.advance(0.999)
    with django_assert_num_queries(0):
        client.get(url)
    memo_clock.advance(0.001)
    with django_assert_num_queries(1):
        client.get(url)
    with django_assert_num_queries(0):
        client.get(url)


def test_the_changes_of_each_version_are_computed_once(
    clock, client, published, editor, approver, django_assert_num_queries
):
    client.get("/changelog/")
    clock.advance(hours=1)
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver)
    client.get("/")  # the memo reads version 2
    # Version 1's changes are cached: only version 2's are computed (from both snapshots).
    with django_assert_num_queries(3):  # versions, two snapshots, organization
        body = client.get("/changelog/").content.decode()
    assert "Fly.io" in body
    with django_assert_num_queries(3):  # versions, checkpoints, organization: the changes are cached
        assert "Fly.io" in client.get("/feed.atom").content.decode()


def test_a_draft_edit_changes_no_public_cache(client, published, editor, memo_clock):
    before = {url: client.get(url) for url in COLD}
    draft_edit(editor)
    memo_clock.advance(1)
    for url, response in before.items():
        again = client.get(url, HTTP_IF_NONE_MATCH=response.headers["ETag"])
        assert again.status_code == 304, url
    assert "Q3 2031" not in client.get("/").content.decode()


def test_a_publication_changes_every_public_cache(clock, client, published, editor, approver):
    before = {url: client.get(url) for url in COLD}
    clock.advance(hours=1)
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver)
    for url, response in before.items():
        again = client.get(url, HTTP_IF_NONE_MATCH=response.headers["ETag"])
        assert again.status_code == 200, url
        assert again.headers["ETag"] != response.headers["ETag"], url
    assert client.get("/").headers["ETag"].startswith('"v2-')


def test_the_footer_shows_the_head_sealed_into_the_version(client, published, editor):
    link = sealed_link(published)
    html = client.get("/").content.decode()
    assert footer(html) == ("Audit chain head sealed into version 1", f"#{link.seq} {link.link_hash}")
    draft_edit(editor)
    assert chain_head().seq > link.seq
    live.live_state_forget()
    assert footer(client.get("/").content.decode())[1] == f"#{link.seq} {link.link_hash}"
    # As shown, the verifier takes it: the chain still runs through that link.
    call_command("verify_chain", "--expect-head", footer(html)[1], stdout=StringIO(), stderr=StringIO())


def test_trust_json_carries_the_sealed_head_and_the_live_signed_head(client, published, editor, memo_clock):
    link = sealed_link(published)
    first = client.get("/trust.json")
    document = first.json()
    newest = Checkpoint.objects.order_by("-tree_size", "-id").first()
    assert document["chain_head"] == {"sequence": link.seq, "hash": link.link_hash}
    assert document["evidence_log"]["head_url"] == "http://127.0.0.1:8000/evidence/head"
    assert document["evidence_log"]["checkpoint"] == (
        {
            "tree_size": newest.tree_size,
            "root_hash": newest.root_hash,
            "signed_at": newest.signed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "note": newest.note,
        }
        if newest is not None
        else None
    )
    # A draft edit alone changes nothing; a new signed checkpoint changes trust.json
    # (within the memo's second), and nothing else.
    draft_edit(editor)
    memo_clock.advance(1)
    assert client.get("/trust.json", HTTP_IF_NONE_MATCH=first.headers["ETag"]).status_code == 304
    page_etag = client.get("/").headers["ETag"]
    signed = checkpoint_sign(reason="manual")
    memo_clock.advance(1)
    moved = client.get("/trust.json", HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert moved.status_code == 200
    assert moved.json()["evidence_log"]["checkpoint"]["tree_size"] == signed.tree_size == chain_head().seq
    assert moved.json()["chain_head"] == document["chain_head"]
    assert client.get("/", HTTP_IF_NONE_MATCH=page_etag).status_code == 304


def test_the_live_head_has_its_own_endpoint(client, published, editor):
    draft_edit(editor)
    head = chain_head()
    response = client.get("/evidence/head")
    body = response.json()
    assert (body["sequence"], body["hash"]) == (head.seq, head.hash)
    assert response.headers["Cache-Control"] in ("public, no-cache", "no-cache, public")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_publication_on_one_server_is_served_by_every_server_within_the_memo_second(
    clock, client, published, editor, approver, memo_clock, django_assert_num_queries
):
    client.get("/")
    other_server = live._memo  # the other app server has read version 1 too
    clock.advance(hours=1)
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver)  # on this server: its memo is forgotten
    assert "Fly.io" in client.get("/").content.decode()

    mine = as_another_server(other_server)
    # Its memo is not a second old yet: it still serves version 1, from the shared cache.
    assert "Version 1 · " in client.get("/").content.decode()
    memo_clock.advance(1)
    # Then one query reads version 2, whose body this server rendered into the shared cache.
    with django_assert_num_queries(1):
        html = client.get("/").content.decode()
    assert "Fly.io" in html and "Version 2 · " in html
    as_another_server(mine)


def test_a_scheduled_version_goes_live_at_its_moment_on_every_server(
    clock, client, published, editor, approver, django_assert_num_queries
):
    SubprocessorFactory.create(actor=editor)
    moment = clock.now + timedelta(hours=2)
    publish_draft(requester=editor, approver=approver, effective_at=moment)
    client.get("/")
    other_server = live._memo
    assert other_server is not None and other_server.next_go_live == moment

    clock.set(moment - timedelta(microseconds=1))
    with django_assert_num_queries(0):
        assert "Fly.io" not in client.get("/").content.decode()
    # No request and no worker passes in between; the memo's clock does not move.
    clock.set(moment)
    with django_assert_num_queries(2):  # the memo expired at the moment: it reads v2; v2's row to render it
        assert "Fly.io" in client.get("/").content.decode()
    as_another_server(other_server)
    with django_assert_num_queries(1):  # the other server: its memo expired too; the body is rendered
        assert "Fly.io" in client.get("/").content.decode()


def test_nothing_published_costs_the_memo_its_two_queries_and_caches_nothing(client, seeded, django_assert_num_queries):
    # The memo: nothing live, nothing scheduled; the layout's organization (none).
    with django_assert_num_queries(3):
        assert client.get("/").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/trust.json").status_code == 404


def test_the_warm_path_answers_only_plain_requests_and_exact_tags(client, published, django_assert_num_queries):
    first = client.get("/")
    etag, body = first.headers["ETag"], first.content
    client.get("/")  # the ready answer is in place
    with django_assert_num_queries(0):
        other = client.get("/", HTTP_IF_NONE_MATCH='"someone-else"')
        held = client.get("/", HTTP_IF_NONE_MATCH=etag)
        star = client.get("/", HTTP_IF_NONE_MATCH="*")
        listed = client.get("/", HTTP_IF_NONE_MATCH=f'"old", {etag}')
        wrong_match = client.get("/", HTTP_IF_MATCH='"someone-else"')
        since = client.get("/", HTTP_IF_MODIFIED_SINCE=first.headers["Last-Modified"])
    assert (other.status_code, other.content) == (200, body)
    assert (held.status_code, held.content) == (304, b"")
    assert (star.status_code, listed.status_code) == (304, 304)  # answered by the general path
    assert wrong_match.status_code == 412
    assert since.status_code == 304
    for response in (other, held, star, listed, since):
        assert response.headers["ETag"] == etag
        assert response.headers["Last-Modified"] == first.headers["Last-Modified"]
        assert response.headers["Cache-Control"] == "public, max-age=60"


def test_the_warm_trust_json_keeps_its_cors_headers(client, published, django_assert_num_queries):
    first = client.get("/trust.json")
    client.get("/trust.json")
    with django_assert_num_queries(0):
        again = client.get("/trust.json")
        revalidated = client.get("/trust.json", HTTP_IF_NONE_MATCH=first.headers["ETag"])
    expected = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "If-None-Match",
        "Access-Control-Expose-Headers": "ETag",
        "Access-Control-Max-Age": "86400",
        "Link": '<http://127.0.0.1:8000/trust.schema.json>; rel="describedby"',
    }
    for response in (first, again, revalidated):
        assert {name: response.headers.get(name) for name in expected} == expected
    assert "Last-Modified" not in again.headers
    assert (again.status_code, again.content) == (200, first.content)
    assert (revalidated.status_code, revalidated.content) == (304, b"")


def test_a_settings_change_reaches_the_warm_path_at_once(client, published, settings):
    client.get("/")
    assert client.get("/").headers["Cache-Control"] == "public, max-age=60"
    settings.PUBLIC_CACHE_MAX_AGE = 5
    assert client.get("/").headers["Cache-Control"] == "public, max-age=5"
