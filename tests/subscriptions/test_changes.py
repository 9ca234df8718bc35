"""The pure comparison of two snapshots' subprocessors."""

from copy import deepcopy

from subscriptions.changes import subprocessor_changes


def snapshot(*subprocessors):
    return {"schema_version": 1, "subprocessors": list(subprocessors), "certifications": []}


NETLIFY = {"slug": "netlify", "name": "Netlify", "purpose": "Hosting", "certifications": ["SOC 2"], "location": "US"}
STRIPE = {"slug": "stripe", "name": "Stripe", "purpose": "Payments", "certifications": [], "location": "US"}


def test_added_removed_and_changed_are_told_apart_by_slug():
    moved = deepcopy(NETLIFY) | {"location": "EU"}
    fly = {"slug": "fly", "name": "Fly.io", "purpose": "Hosting", "certifications": [], "location": "EU"}

    changes = subprocessor_changes(snapshot(NETLIFY, STRIPE), snapshot(moved, fly))

    assert [c.text for c in changes.added] == ["Subprocessor added: Fly.io"]
    assert [c.text for c in changes.removed] == ["Subprocessor removed: Stripe"]
    assert [c.text for c in changes.changed] == ["Netlify location: US -> EU"]
    assert changes.concerned == {"fly": "Fly.io", "stripe": "Stripe", "netlify": "Netlify"}
    assert bool(changes) is True


def test_a_new_order_or_other_areas_are_no_subprocessor_change():
    old, new = snapshot(NETLIFY, STRIPE), snapshot(STRIPE, NETLIFY)
    new["certifications"] = [{"slug": "iso", "name": "ISO 27001", "status": "planned"}]

    changes = subprocessor_changes(old, new)

    assert (changes.added, changes.removed, changes.changed, changes.concerned) == ([], [], [], {})
    assert bool(changes) is False


def test_the_first_publication_announces_no_change():
    assert bool(subprocessor_changes(None, snapshot(NETLIFY))) is False
