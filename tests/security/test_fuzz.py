"""Hostile input at every public GET endpoint and at the admin sign-in: never a 500."""

from urllib.parse import quote

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from core.heartbeat import beat
from tests.security.fuzz import ROUTE_CONVERTER, _hyp, fuzz_form_post, fuzz_get, hostile_text, public_routes


def _segment(converter: str | None) -> st.SearchStrategy[str]:
    if converter == "int":
        return st.integers(min_value=0, max_value=2**80).map(str)
    if converter == "uuid":
        return st.one_of(st.uuids().map(str), hostile_text(40).map(lambda s: quote(s, safe="")))
    return st.one_of(
        st.from_regex(r"[-a-zA-Z0-9_]{1,80}", fullmatch=True),
        hostile_text(200).filter(bool).map(lambda s: quote(s, safe="")),
    )


def route_strategy(route: str) -> st.SearchStrategy[str]:
    parts: list[st.SearchStrategy[str]] = []
    last = 0
    for match in ROUTE_CONVERTER.finditer(route):
        parts.append(st.just(route[last : match.start()]))
        parts.append(_segment(match.group("converter")))
        last = match.end()
    parts.append(st.just(route[last:]))
    return st.tuples(*parts).map(lambda bits: "/" + "".join(bits))


def test_public_routes_are_found(db):
    routes = public_routes()
    assert "" in routes and "healthz" in routes
    assert not any(r.startswith("admin/") for r in routes)


def test_public_get_endpoints_survive_hostile_query_strings(client, seeded):
    beat(now=timezone.now())  # a worker is alive: /readyz answers 200, not its 503
    for route in public_routes():
        if ROUTE_CONVERTER.search(route):
            continue
        fuzz_get(client, "/" + route, max_examples=25)


def test_public_get_endpoints_survive_hostile_path_values(client, seeded):
    routed = [r for r in public_routes() if ROUTE_CONVERTER.search(r)]

    @_hyp(max(25, 15 * len(routed)))
    @given(data=st.data())
    def run(data) -> None:
        if not routed:
            return
        route = data.draw(st.sampled_from(routed))
        path = data.draw(route_strategy(route))
        response = client.get(path)
        assert response.status_code < 500, (response.status_code, path)

    run()


def test_arbitrary_paths_never_fail(client, seeded):
    @_hyp(60)
    @given(segments=st.lists(hostile_text(60), min_size=1, max_size=4))
    def run(segments: list[str]) -> None:
        path = "/" + "/".join(quote(s, safe="") for s in segments)
        response = client.get(path)
        assert response.status_code < 500, (response.status_code, path)

    run()


def test_admin_login_page_survives_hostile_query_strings(client, db):
    fuzz_get(client, "/admin/login/", max_examples=40)


def test_admin_login_post_survives_hostile_input(client, make_staff):
    make_staff("fuzzed", "Compliance editor")
    fuzz_form_post(
        client,
        "/admin/login/",
        {"username": None, "password": None, "otp_token": None, "next": None},
        allowed_statuses=frozenset({200, 400, 413, 429}),
        max_examples=60,
    )


def test_admin_login_post_with_mfa_survives_hostile_input(client, make_staff, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.ADMIN_MFA_REQUIRED = True
    user = make_staff("fuzzed", "Compliance editor")
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    # The right password, so that every code reaches the authenticator check.
    fuzz_form_post(
        client,
        "/admin/login/",
        {"otp_token": None},
        base_data={"username": "fuzzed", "password": "correct-horse-battery"},
        allowed_statuses=frozenset({200, 400, 429}),
        max_examples=40,
    )


def test_overlong_username_and_headers_are_refused_cleanly(client, make_staff):
    make_staff("fuzzed", "Compliance editor")
    response = client.post(
        "/admin/login/",
        {"username": "A" * 1000, "password": "x"},
        HTTP_USER_AGENT="U" * 10_000,
        HTTP_ACCEPT="a/b," * 2_000,
    )
    assert response.status_code == 200
    assert "Usernames have at most 150 characters." in response.content.decode()
    response = client.post(
        "/admin/login/",
        {"username": "fuzzed", "password": "wrong-password-here"},
        HTTP_USER_AGENT="U" * 10_000,
        HTTP_ACCEPT="a/b," * 2_000,
    )
    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.content.decode()
