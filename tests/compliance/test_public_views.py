"""The public page, changelog and as-of pages render publications; the preview renders the draft."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.http import http_date

from compliance import services
from compliance.models import Certification, Control, Organization
from core.history import system_actor
from tests.factories import SubprocessorFactory, add_rows_per_section, publish_draft, save


def main_part(html: str) -> str:
    """The page body from the heading to the end of the sections: banner and footer left out."""
    return html[html.index('<div class="hero">') : html.index("</main>")]


# --- before the first publication ------------------------------------------------------


def test_unpublished_site_says_so(client, seeded):
    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Not yet published</h1>" in html
    assert "Netlify" not in html  # the draft does not leak
    assert response.headers["Cache-Control"] == "no-cache"
    assert "ETag" not in response.headers


def test_unpublished_changelog_says_so(client, seeded):
    assert "<h1>Not yet published</h1>" in client.get("/changelog/").content.decode()


# --- the live page ---------------------------------------------------------------


def test_live_page_renders_the_publication_not_the_draft(client, published, editor):
    SubprocessorFactory.create(actor=editor)
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.name = "SOC 2 Type One"
    save(cert, editor, "rename")

    html = client.get("/").content.decode()

    assert "Fly.io" not in html
    assert "SOC 2 Type One" not in html
    assert '<h3 class="card-title">SOC 2 Type I</h3>' in html


def test_footer_last_updated_is_when_the_version_took_effect(clock, client, seeded, editor, approver):
    services.publication_publish_initial(actor=system_actor())
    clock.set(datetime(2026, 6, 3, 8, 0, tzinfo=UTC))
    SubprocessorFactory.create(actor=editor)  # draft edited on 3 June ...
    clock.set(datetime(2026, 6, 5, 16, 30, tzinfo=UTC))
    publish_draft(requester=editor, approver=approver)  # ... published on 5 June

    html = client.get("/").content.decode()

    assert 'Last updated: <time datetime="2026-06-05T16:30:00+00:00">5 June 2026</time>' in html
    assert 'Version 2 · <a href="/changelog/">What changed</a>' in html


def test_page_carries_etag_last_modified_and_cache_control(clock, client, published):
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"v1-')
    assert response.headers["Last-Modified"] == "Mon, 01 Jun 2026 09:00:00 GMT"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Vary" not in response.headers  # no cookie read: a CDN may share it


def test_repeat_visit_with_if_none_match_gets_304(client, published):
    etag = client.get("/").headers["ETag"]

    response = client.get("/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_repeat_visit_with_if_modified_since_gets_304(clock, client, published):
    clock.advance(hours=5)

    assert client.get("/", HTTP_IF_MODIFIED_SINCE=http_date(published.effective_at.timestamp())).status_code == 304
    earlier = http_date((published.effective_at - timedelta(seconds=1)).timestamp())
    assert client.get("/", HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200


def test_a_new_publication_changes_the_etag(clock, client, published, editor, approver):
    old_etag = client.get("/").headers["ETag"]
    clock.advance(hours=1)
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver)

    response = client.get("/", HTTP_IF_NONE_MATCH=old_etag)

    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"v2-')
    assert response.headers["ETag"] != old_etag
    assert "Fly.io" in response.content.decode()
    assert client.get("/", HTTP_IF_MODIFIED_SINCE=http_date(published.effective_at.timestamp())).status_code == 200


@pytest.mark.parametrize("rows", [1, 30])
def test_public_page_costs_no_query_when_warm_whatever_the_rows(
    client, seeded, editor, django_assert_num_queries, rows
):
    add_rows_per_section(rows, editor)
    services.publication_publish_initial(actor=system_actor())

    # Cold: the live version (the memo's one query) and its row to render it.
    with django_assert_num_queries(2):
        cold = client.get("/")
    # Warm: the memo and the shared cache answer.
    with django_assert_num_queries(0):
        warm = client.get("/")
    with django_assert_num_queries(0):
        assert client.get("/", HTTP_IF_NONE_MATCH=warm.headers["ETag"]).status_code == 304

    assert cold.content == warm.content
    assert cold.content.decode().count('<li class="control control-') == 27 + 4 * rows


@pytest.mark.parametrize("versions", [1, 10])
def test_public_pages_cost_the_same_whatever_the_versions(
    clock,
    client,
    published,
    editor,
    approver,
    django_assert_num_queries,
    versions,
):
    for i in range(versions - 1):
        clock.advance(hours=1)
        SubprocessorFactory.create(actor=editor, slug=f"p{i}", name=f"P{i}")
        publish_draft(requester=editor, approver=approver)

    # Cold: the page reads the live version and its row; the changelog the
    # versions (without snapshots), their snapshots for the changes and the
    # organization; the as-of page its version and the head sealed into it.
    # Warm: nothing, but the as-of page's version and the newest update by then
    # (its cache key).
    for warm in (False, True):
        with django_assert_num_queries(0 if warm else 2):
            assert client.get("/").status_code == 200
        with django_assert_num_queries(0 if warm else 3):
            assert client.get("/changelog/").status_code == 200
        with django_assert_num_queries(2 if warm else 3):
            assert client.get("/as-of/2026-06-01/").status_code == 200


# --- scheduled publications -------------------------------------------------------


def test_scheduled_publication_shows_on_the_page_at_its_time(clock, client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(hours=2))

    clock.advance(hours=1, minutes=59)
    before = client.get("/")
    clock.advance(minutes=1)
    after = client.get("/", HTTP_IF_NONE_MATCH=before.headers["ETag"])

    assert "Fly.io" not in before.content.decode()
    assert after.status_code == 200
    assert "Fly.io" in after.content.decode()


# --- as of a date ---------------------------------------------------------------


def test_as_of_equals_the_live_page_of_that_date(clock, client, seeded, editor, approver):
    live_at = {}
    services.publication_publish_initial(actor=system_actor())
    live_at["2026-06-01"] = main_part(client.get("/").content.decode())
    clock.set(datetime(2026, 6, 3, 9, 0, tzinfo=UTC))
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver)
    clock.set(datetime(2026, 6, 3, 23, 59, tzinfo=UTC))
    live_at["2026-06-03"] = main_part(client.get("/").content.decode())
    clock.set(datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.status = "achieved"
    save(cert, editor, "report")
    publish_draft(requester=editor, approver=approver)
    live_at["2026-06-10"] = main_part(client.get("/").content.decode())
    clock.set(datetime(2026, 7, 1, tzinfo=UTC))

    for day, html in live_at.items():
        assert main_part(client.get(f"/as-of/{day}/").content.decode()) == html
    assert main_part(client.get("/as-of/2026-06-02/").content.decode()) == live_at["2026-06-01"]
    assert len(set(live_at.values())) == 3


def test_as_of_shows_the_version_in_effect_at_the_end_of_the_day(client, three_versions):
    _v1, _v2, _v3 = three_versions

    day1 = client.get("/as-of/2026-06-01/").content.decode()
    day3 = client.get("/as-of/2026-06-03/").content.decode()

    assert (
        'This is the page as it stood on <time datetime="2026-06-01">1 June 2026</time>\n'
        "    (version 1, in effect since 1 June 2026, 09:00 UTC)."
    ) in day1
    assert "Fly.io" not in day1
    assert "(version 3, in effect since 3 June 2026, 15:00 UTC)" in day3
    assert "within 48 hours" in day3


def test_as_of_ends_the_day_in_the_site_time_zone(settings, clock, client, published, editor, approver):
    settings.TIME_ZONE = "America/New_York"
    SubprocessorFactory.create(actor=editor)
    clock.set(datetime(2026, 6, 2, 2, 0, tzinfo=UTC))  # 1 June, 22:00 in New York
    publish_draft(requester=editor, approver=approver)
    clock.set(datetime(2026, 6, 5, tzinfo=UTC))

    assert "(version 2, in effect since 1 June 2026, 22:00 EDT)" in client.get("/as-of/2026-06-01/").content.decode()


def test_as_of_today_does_not_show_a_version_scheduled_later_today(clock, client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(hours=3))

    html = client.get("/as-of/2026-06-01/").content.decode()

    assert "(version 1," in html
    assert "Fly.io" not in html


@pytest.mark.parametrize(
    "day",
    [
        "2026-13-01",
        "2026-02-30",
        "yesterday",
        "20260601",
        "2026-6-1",
        "2026-06-01T25:00",
        "2026-06-01T14:30:00+2",
        "2026-06-01 14:30",
        "2026-06-01T14:30:00.1234567Z",
        "2026-W22-1",
    ],
)
def test_as_of_a_malformed_date_is_a_clear_400(clock, client, published, day):
    response = client.get(f"/as-of/{day}/")

    assert response.status_code == 400
    assert (
        f"“{day}” is not a date or a moment. Write it as year-month-day, for example 2026-06-01, "
        "or as an ISO 8601 moment, for example 2026-06-01T14:30:00Z."
    ) in response.content.decode()


def test_as_of_a_future_date_or_before_the_first_publication_is_404(clock, client, published):
    future = client.get("/as-of/2026-06-02/")
    before = client.get("/as-of/2026-05-31/")

    assert future.status_code == 404
    assert "That date is in the future" in future.content.decode()
    assert before.status_code == 404
    assert "The page was not yet published on 31 May 2026." in before.content.decode()


def test_as_of_can_be_staff_only(settings, clock, client, published, editor):
    settings.AS_OF_PUBLIC = False

    anonymous = client.get("/as-of/2026-06-01/")
    client.force_login(editor)
    staff = client.get("/as-of/2026-06-01/")

    assert (anonymous.status_code, anonymous.headers["Location"]) == (
        302,
        "/admin/login/?next=/as-of/2026-06-01/",
    )
    assert staff.status_code == 200
    assert "This is the page as it stood on" in staff.content.decode()
    assert "private" in staff.headers["Cache-Control"]


def test_as_of_answers_304_too(clock, client, three_versions):
    first = client.get("/as-of/2026-06-01/")

    assert client.get("/as-of/2026-06-01/", HTTP_IF_NONE_MATCH=first.headers["ETag"]).status_code == 304
    assert client.get("/as-of/2026-06-03/", HTTP_IF_NONE_MATCH=first.headers["ETag"]).status_code == 200


# --- changelog -------------------------------------------------------------------


def test_changelog_lists_every_version_with_date_summary_and_changes(clock, client, three_versions):
    html = client.get("/changelog/").content.decode()

    assert html.index('id="v3"') < html.index('id="v2"') < html.index('id="v1"')
    v3 = html[html.index('id="v3"') : html.index('id="v2"')]
    v2 = html[html.index('id="v2"') : html.index('id="v1"')]
    v1 = html[html.index('id="v1"') :]
    assert '<time datetime="2026-06-03T15:00:00+00:00">3 June 2026, 15:00 UTC</time>' in v3
    assert '<p class="summary">Notify within 48 hours</p>' in v3
    assert "<li>Breach notification: …within 72 hours… -&gt; …within 48 hours…</li>" in v3
    assert "<li>Subprocessor added: Fly.io</li>" in v2
    assert '<p class="summary">Initial publication</p>' in v1
    assert "First publication of the page." in v1
    assert (
        '<a href="/as-of/2026-06-03T15:00:00Z/">The page as version 3 showed it</a> · '
        '<a href="/as-of/2026-06-03T15:00:00Z/security.txt">its security.txt</a> · '
        '<a href="/as-of/2026-06-03T15:00:00Z/trust.json">its trust.json</a>'
    ) in v3
    assert '<a href="/as-of/2026-06-03T10:00:00Z/">The page as version 2 showed it</a>' in v2
    # Each link shows its own version, although v2 and v3 took effect on the same day.
    assert (
        "(version 2, in effect since 3 June 2026, 10:00 UTC)"
        in client.get("/as-of/2026-06-03T10:00:00Z/").content.decode()
    )


def test_changelog_leaves_out_versions_not_yet_in_effect(clock, client, published, editor, approver):
    clock.advance(hours=1)
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=1))

    html = client.get("/changelog/").content.decode()

    assert 'id="v2"' not in html
    assert "Fly.io" not in html


# --- draft preview -----------------------------------------------------------------


def test_preview_sends_anonymous_visitors_to_the_admin_login(client, published):
    response = client.get("/preview/")

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/login/?next=/preview/")


def test_preview_refuses_staff_without_the_permission(client, published, make_staff):
    client.force_login(make_staff("handler"))

    assert client.get("/preview/").status_code == 403


def test_preview_shows_the_draft_with_its_changes_and_is_not_cached(client, published, editor):
    SubprocessorFactory.create(actor=editor)
    client.force_login(editor)

    response = client.get("/preview/")

    html = response.content.decode()
    assert "<strong>Draft preview.</strong>" in html
    assert "Compared with the live page (version 1):" in html
    assert '<ul class="changes"><li>Subprocessor added: Fly.io</li></ul>' in html
    assert "Fly.io" in main_part(html)
    assert "no-store" in response.headers["Cache-Control"]


def test_preview_is_exactly_what_goes_live(clock, client, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    breach = Control.objects.get(slug="breach-notification")
    breach.title = "Breach notice"
    save(breach, editor, "wording")
    client.force_login(approver)
    preview = main_part(client.get("/preview/").content.decode())
    client.logout()
    clock.advance(minutes=5)

    publish_draft(requester=editor, approver=approver)

    assert main_part(client.get("/").content.decode()) == preview


def test_preview_without_changes_says_so(client, published, approver):
    client.force_login(approver)

    assert "No changes: the draft is the same as the live page." in client.get("/preview/").content.decode()


@pytest.mark.postgres
def test_the_live_query_can_use_an_index(published):
    from django.db import connection

    from compliance.models import Publication

    sql, params = Publication.objects.live().values("id")[:1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index" in plan
    assert "Seq Scan" not in plan


# --- as of a moment ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "version"),
    [
        ("2026-06-03T09:59:59.999999Z", 1),
        ("2026-06-03T10:00:00Z", 2),
        ("2026-06-03T14:59:59Z", 2),
        ("2026-06-03T15:00:00Z", 3),
        ("2026-06-03T15:00", 3),  # no zone: the site's (UTC here)
        ("2026-06-03T16:59:59+02:00", 2),
        ("2026-06-03T17:00:00+02:00", 3),
        ("2026-06-03", 3),  # a day: its end
    ],
)
def test_as_of_a_moment_shows_the_version_in_effect_then(clock, client, three_versions, moment, version):
    clock.set(datetime(2026, 6, 4, 12, 0, tzinfo=UTC))

    page = client.get(f"/as-of/{moment}/")
    trust = client.get(f"/as-of/{moment}/trust.json")

    assert page.status_code == 200
    assert f"(version {version}, in effect since" in page.content.decode()
    assert (trust.status_code, trust.json()["version"]) == (200, version)


def test_as_of_a_moment_says_which_moment(clock, client, three_versions):
    html = client.get("/as-of/2026-06-03T12:30:00Z/").content.decode()

    assert (
        'This is the page as it stood at <time datetime="2026-06-03T12:30:00+00:00">3 June 2026, 12:30:00 UTC</time>'
        in html
    )


def test_security_txt_and_trust_json_of_the_past_are_the_bytes_served_then(clock, client, published, editor, approver):
    served = {}
    served[1] = client.get("/.well-known/security.txt").content
    clock.set(datetime(2026, 6, 3, 10, 0, tzinfo=UTC))
    organization = Organization.objects.get()
    organization.security_email = "psirt@example.com"
    save(organization, editor, "new security address")
    v2 = publish_draft(requester=editor, approver=approver, summary="New security address")
    served[2] = client.get("/.well-known/security.txt").content
    trust_v2 = client.get("/trust.json").json()
    clock.set(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))

    assert client.get("/as-of/2026-06-02/security.txt").content == served[1]
    assert client.get(f"/as-of/{v2.effective_at:%Y-%m-%dT%H:%M:%S}Z/security.txt").content == served[2]
    assert served[1] != served[2]
    past = client.get("/as-of/2026-06-03T10:00:00Z/trust.json").json()
    assert {k: v for k, v in past.items() if k != "chain_head"} == {
        k: v for k, v in trust_v2.items() if k != "chain_head"
    }


def test_past_formats_refuse_clearly(clock, client, published):
    malformed = client.get("/as-of/soon/security.txt")
    future = client.get("/as-of/2026-06-01T09:00:01Z/trust.json")
    before = client.get("/as-of/2026-05-31T23:00:00Z/security.txt")

    assert (malformed.status_code, malformed["Content-Type"]) == (400, "text/plain; charset=utf-8")
    assert malformed.content.decode().startswith("“soon” is not a date or a moment.")
    assert (future.status_code, future.json()) == (
        404,
        {"error": "as_of", "detail": "That moment is in the future: the page of that moment is not known yet."},
    )
    assert (before.status_code, before.content.decode()) == (
        404,
        "The page was not yet published on 31 May 2026, 23:00:00 UTC.\n",
    )


def test_past_formats_follow_the_staff_only_setting(settings, clock, client, published):
    settings.AS_OF_PUBLIC = False

    for path in ("/as-of/2026-06-01/security.txt", "/as-of/2026-06-01/trust.json"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/admin/login/?next={path}")
