"""Hostile-input helpers (hypothesis) for public endpoints and forms.

    from tests.security.fuzz import fuzz_form_post, hostile_text
    def test_dpa_form_survives_hostile_input(client, db):
        fuzz_form_post(client, "/requests/dpa/", {"name": None, "email": None, "company": None},
                       created_together=[Ticket, TicketEvent, OutboxMail])

Every field gets arbitrary text, unicode, control characters, huge values,
repeated keys and look-alikes of attacks. The helper asserts that the status
is in an allowed set (never a 500) and that a refused submission wrote
nothing, while an accepted one wrote a row in every model of
`created_together` (no partial rows).
"""

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

# Statuses a form may answer hostile input with. 200 re-shows the form with
# errors, 302 follows a success, 400/403/404/413/429 refuse (404: a form
# behind a private link whose token is wrong).
FORM_STATUSES = frozenset({200, 302, 303, 400, 403, 404, 405, 413, 429})

NASTY = (
    "",
    " ",
    "\t\n\r",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202eevil",
    "\ufeff",
    "\u200b",
    "\ud7ff",
    "'; DROP TABLE auth_user; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "${jndi:ldap://x/a}",
    "../../../../etc/passwd",
    "%00",
    "%",
    "%%",
    "%zz",
    "%ff%fe",
    "+",
    "&",
    "=",
    "?",
    "#",
    "\\",
    "/",
    "//evil.example",
    "javascript:alert(1)",
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    "99999999999999999999999999",
    "-0",
    "0x7fffffff",
    "2147483648",
    "9223372036854775808",
    "true",
    "null",
    "None",
    "[]",
    "{}",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31T99:99",
    "a@b",
    "@",
    "a" * 255 + "@example.com",
    "x@" + "y" * 300 + ".com",
    "\u0130",
    "ß",
    "ﬃ",
    "𝕏𝕐ℤ",
    "🙂" * 50,
    "Ａｄｍｉｎ",
    "admin\u0000",
    "é" * 1000,
)


def hostile_text(max_size: int = 120) -> st.SearchStrategy[str]:
    """Arbitrary and hostile strings (no lone surrogates: they cannot be sent)."""
    return st.one_of(
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=max_size),
        st.sampled_from(NASTY),
        st.integers(min_value=1_000, max_value=300_000).map(lambda n: "A" * n),
    )


def hostile_value() -> st.SearchStrategy[str | list[str]]:
    """One value, or several for the same key (a list)."""
    return st.one_of(hostile_text(), st.lists(hostile_text(40), min_size=2, max_size=4))


def hostile_query_string() -> st.SearchStrategy[str]:
    """A raw query string, possibly malformed (bad escapes, bare keys, huge)."""
    key = st.one_of(
        st.sampled_from(["q", "page", "as_of", "format", "next", "lang", "token", "o", "p"]), hostile_text(20)
    )
    pair = st.tuples(key, hostile_text(60)).map(lambda kv: f"{quote(kv[0], safe='')}={quote(kv[1], safe='%')}")
    raw = st.sampled_from(["%", "%zz", "a=%ff%fe", "=&=&", "&&&", "a[]=1&a[]=2", ";;", "a=1;b=2", "x" * 20_000])
    return st.one_of(st.lists(st.one_of(pair, raw), max_size=6).map("&".join), raw)


def _hyp(max_examples: int) -> Callable:
    return hsettings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def _counts(model_list: Iterable[type[models.Model]]) -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in model_list}


def fuzz_form_post(
    client: Client,
    url: str,
    fields: Mapping[str, st.SearchStrategy | None],
    *,
    allowed_statuses: frozenset[int] = FORM_STATUSES,
    success_statuses: frozenset[int] = frozenset({302, 303}),
    created_together: Iterable[type[models.Model]] = (),
    base_data: Mapping[str, Any] | None = None,
    max_examples: int = 40,
    before_each: Callable[[], None] | None = None,
) -> None:
    """Post hostile values for `fields` to `url` and check every answer.

    `fields` maps a field name to a strategy, or None for `hostile_value()`.
    `base_data` is merged under the fuzzed values (e.g. a valid choice field).
    `before_each` can reset state between examples (e.g. clear rate limits).
    """
    strategies = {name: (s if s is not None else hostile_value()) for name, s in fields.items()}
    watched = list(created_together)

    @_hyp(max_examples)
    @given(data=st.fixed_dictionaries(strategies))
    def run(data: dict[str, Any]) -> None:
        if before_each is not None:
            before_each()
        payload = {**(base_data or {}), **data}
        before = _counts(watched)
        response = client.post(url, payload)
        after = _counts(watched)
        assert response.status_code in allowed_statuses, (response.status_code, payload)
        grown = {label for label in after if after[label] != before[label]}
        if response.status_code in success_statuses:
            assert grown in (set(), set(after)), f"partial rows: only {sorted(grown)} changed"
        else:
            assert grown == set(), f"refused with {response.status_code} but wrote {sorted(grown)}"

    run()


def fuzz_get(
    client: Client,
    path: str,
    *,
    max_examples: int = 40,
    allowed: Callable[[int], bool] = lambda status: status < 500,
) -> None:
    """GET `path` with hostile query strings: never a server error."""

    @_hyp(max_examples)
    @given(query=hostile_query_string())
    def run(query: str) -> None:
        response = client.get(path, QUERY_STRING=query)
        assert allowed(response.status_code), (response.status_code, path, query)

    run()


ROUTE_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def public_routes() -> list[str]:
    """Every URL route outside the admin, as a route string with <converters>."""
    routes: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry.pattern, RegexPattern):
                text = str(entry.pattern.regex.pattern).lstrip("^").rstrip("$")
                if re.search(r"[()\[\]*+?{}|]", text.replace("\\.", "")):
                    continue  # a regex with groups: no generic way to fill it
                text = text.replace("\\", "")
            else:
                text = str(entry.pattern)
            if isinstance(entry, URLResolver):
                if (prefix + text).startswith("admin/"):
                    continue
                walk(entry.url_patterns, prefix + text)
            elif isinstance(entry, URLPattern):
                routes.append(prefix + text)

    walk(get_resolver().url_patterns, "")
    return sorted(set(routes))
