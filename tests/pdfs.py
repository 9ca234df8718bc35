"""Real PDFs for tests, generated with pypdf (deterministic bytes for a given text).

`pdf(text)` is a plain one-page PDF whose title is `text`, so `text` appears
in its bytes and two texts give two different files. The others are the kinds
of file the upload check must refuse.
"""

import io

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject


def _writer(text: str) -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    return writer


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf(text: str = "test document") -> bytes:
    return _bytes(_writer(text))


def encrypted_pdf(text: str = "locked") -> bytes:
    writer = _writer(text)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    return _bytes(writer)


def javascript_pdf(text: str = "scripted") -> bytes:
    """Runs JavaScript when opened (/OpenAction)."""
    writer = _writer(text)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hi');")}
    )
    return _bytes(writer)


def launch_pdf(text: str = "launching") -> bytes:
    """Asks the reader to start a program when opened (/Launch)."""
    writer = _writer(text)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    return _bytes(writer)


# What a browser or a careless script might upload as "a PDF": the header, then HTML.
FAKE_PDF = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n"
