import pytest
from django.core.exceptions import ValidationError

from core.text import SINGLE_LINE_MESSAGE, single_line, validate_single_line, xml_text


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
