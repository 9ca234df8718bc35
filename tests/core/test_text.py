import pytest
from django.core.exceptions import ValidationError

from core.text import SINGLE_LINE_MESSAGE, mail_identity, single_line, validate_single_line, xml_text


@pytest.mark.parametrize("value", ["Acme\r\nContact: x", "Acme\n", "A\tB", "A\x1b[31m", "A\x7f", "A\x00"])
def test_control_characters_are_refused_with_a_code(value):
    with pytest.raises(ValidationError) as raised:
        validate_single_line(value)
    assert (raised.value.code, raised.value.messages) == ("control_characters", [SINGLE_LINE_MESSAGE])


@pytest.mark.parametrize("value", ["Coaxiom LLC", "Müller & Söhne \u2013 Zürich", "", "日本語", "a\u2028b"])
def test_ordinary_one_line_text_passes(value):
    validate_single_line(value)  # no error


def test_single_line_turns_each_run_of_controls_into_one_space():
    assert single_line("Acme\r\nContact: mailto:x@y.z\x1b") == "Acme Contact: mailto:x@y.z"
    assert single_line(None) == ""


def test_xml_text_drops_what_xml_cannot_carry_and_keeps_line_breaks():
    assert xml_text("a\x00b\x1bc\nd\te\r\ufffe") == "abc\nd\te\r"


@pytest.mark.parametrize(
    ("address", "identity"),
    [
        ("alice@example.com", "alice@example.com"),
        ("Alice@Example.COM", "alice@example.com"),
        ("alice+x@Example.com", "alice@example.com"),
        ("ALICE+Newsletter+2@example.com", "alice@example.com"),
        ("alice+@example.com", "alice@example.com"),
        ("  alice+x@example.com \n", "alice@example.com"),
        ("a.lice@example.com", "a.lice@example.com"),  # dots are the provider's business
        ("alice-x@example.com", "alice-x@example.com"),  # only "+" is a tag separator
        ("+x@example.com", "+x@example.com"),  # nothing before the tag: kept whole
        ("bob@sub+domain.example", "bob@sub+domain.example"),  # "+" in the domain is not a tag
        ('"a@b"+x@example.com', '"a@b"@example.com'),  # the last "@" splits off the domain
        ("not an address", "not an address"),
        ("Alice+x", "alice+x"),  # no "@": only stripped and lower-cased
        ("@example.com", "@example.com"),
        ("", ""),
    ],
)
def test_mail_identity_names_the_mailbox_an_address_reaches(address, identity):
    assert mail_identity(address) == identity
