from requests_app.redaction import REMOVED, personal_values, redact

VALUES = personal_values(
    name="Ann Lee-Example",
    emails=["ann.lee+trust@example.org"],
    others=["Example GmbH", "203.0.113.9"],
    answers={"order": "secret-order-42", "choice": "yes", "cc": "Boss@Example.com"},
)


def test_the_values_of_a_requester():
    assert sorted(VALUES) == [
        "203.0.113.9",
        "Ann",
        "Ann Lee-Example",
        "Boss",
        "Boss@Example.com",
        "Example",
        "Example GmbH",
        "Lee",
        "ann lee",
        "ann.lee",
        "ann.lee+trust",
        "ann.lee+trust@example.org",
        "ann.lee@example.org",
        "secret-order-42",
    ]


def test_names_addresses_and_their_variants_are_removed_in_any_case():
    text = (
        "Called ANN LEE-EXAMPLE (ann_lee) about ANN.LEE@example.ORG, ann.lee+other@example.org and "
        "order secret-order-42 from 203.0.113.9; Annex and Leeway stay, yes stays."
    )
    assert redact(text, VALUES) == (
        f"Called {REMOVED} ({REMOVED}) about {REMOVED}, {REMOVED} and "
        f"order {REMOVED} from {REMOVED}; Annex and Leeway stay, yes stays."
    )


def test_any_address_goes_even_when_unknown():
    assert redact("Copy to someone.else@elsewhere.example", set()) == f"Copy to {REMOVED}"
    assert redact("", VALUES) == ""


def test_a_name_read_from_the_address_goes_only_as_a_whole():
    values = personal_values(emails=["ann.account@example.org"])
    text = "Called Ann Account (ann_account); the account holder confirmed."
    assert redact(text, values) == f"Called {REMOVED} ({REMOVED}); the account holder confirmed."
