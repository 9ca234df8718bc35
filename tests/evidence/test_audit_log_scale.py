"""The audit log's pages cost the same number of queries at 5 and at 50 links
of a kind, filtered by kind, user and dates and paged back (timed at a million
links in bench/staff_pages.py)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evidence.models import ChainLink
from tests.evidence.test_audit_log import URL, change_target

KIND = "compliance.historicalcertification"

# session, user, the user's permissions (user's and groups'), the links, the publications after them, the page's
# certification versions with their previous ones, the chain head; then the
# session save (savepoint, update, release). A user filter adds the username's
# lookup, a date filter its two bounds.
PAGES = {
    "kind": ({"model": KIND}, 11),
    "kind and user": ({"model": KIND, "user": "edna"}, 12),
    "kind and dates": ({"model": KIND, "date_from": "TODAY", "date_to": "TODAY"}, 13),
    "kind, older page": ({"model": KIND, "before": "OLDER"}, 11),
}


def edit(editor, n: int, start: int) -> None:
    for i in range(start, start + n):
        change_target(editor, f"Q{i}", f"edit {i}")


def measure(client) -> dict[str, tuple[int, int]]:
    today = timezone.now().date().isoformat()
    links = ChainLink.objects.filter(model_label=KIND).order_by("-seq").values_list("seq", flat=True)
    older = str(links[2])
    counts = {}
    for name, (params, _) in PAGES.items():
        values = {k: today if v == "TODAY" else older if v == "OLDER" else v for k, v in params.items()}
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL, values)
        assert response.status_code == 200
        counts[name] = (len(ctx.captured_queries), len(response.context["page"].entries))
    return counts


def test_audit_log_pages_cost_the_same_at_5_and_50_links(seeded, editor, client, make_staff):
    client.force_login(make_staff("audrey", "Auditor"))
    edit(editor, 5, 0)
    client.get(URL)  # warm per-process caches
    small = measure(client)
    edit(editor, 45, 5)
    large = measure(client)

    expected = {name: queries for name, (_, queries) in PAGES.items()}
    assert {name: queries for name, (queries, _) in small.items()} == expected
    assert {name: queries for name, (queries, _) in large.items()} == expected
    assert [entries for _, entries in large.values()] == [50, 50, 50, 50]
