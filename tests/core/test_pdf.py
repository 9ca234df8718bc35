"""The one PDF check (core.pdf) on its own: what it accepts and refuses."""

import io

import pytest
from django.core.exceptions import ValidationError

from core.pdf import pdf_check
from tests.pdfs import FAKE_PDF, encrypted_pdf, javascript_pdf, launch_pdf, pdf

NOT_PDF = "Only PDF files can be uploaded; this file is not a PDF."
ENCRYPTED = "This PDF is encrypted or password-protected; upload an unprotected copy."
ACTIVE = (
    "This PDF contains JavaScript or a launch action, which we do not accept; "
    "export or print it to a plain PDF and upload that."
)


def check(data: bytes, max_bytes: int = 1024 * 1024) -> None:
    pdf_check(io.BytesIO(data), max_bytes=max_bytes, code_prefix="upload")


def refusal(data: bytes, max_bytes: int = 1024 * 1024) -> tuple[str | None, str]:
    with pytest.raises(ValidationError) as refused:
        check(data, max_bytes)
    return refused.value.code, refused.value.messages[0]


def test_a_real_pdf_is_accepted_and_left_readable_from_the_start():
    stream = io.BytesIO(pdf("Signed DPA"))
    pdf_check(stream, max_bytes=1024 * 1024, code_prefix="upload")
    assert stream.tell() == 0


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (FAKE_PDF, "upload_not_pdf", NOT_PDF),
        (b"<html>%PDF-1.4</html>", "upload_not_pdf", NOT_PDF),
        (b"junk before the header\n" + pdf(), "upload_not_pdf", NOT_PDF),
        (pdf()[:300], "upload_not_pdf", NOT_PDF),
        (b"", "upload_not_pdf", NOT_PDF),
        (encrypted_pdf(), "upload_encrypted", ENCRYPTED),
        (javascript_pdf(), "upload_active_content", ACTIVE),
        (launch_pdf(), "upload_active_content", ACTIVE),
    ],
    ids=[
        "html-after-header",
        "header-inside-html",
        "junk-before-header",
        "truncated",
        "empty",
        "encrypted",
        "js",
        "launch",
    ],
)
def test_refused_files(data, code, message):
    assert refusal(data) == (code, message)


def test_size_cap_comes_first():
    assert refusal(pdf(), max_bytes=100) == ("upload_too_large", "The file is larger than 0 MB.")
