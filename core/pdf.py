"""The one check every uploaded PDF passes: countersigned ticket files and
public or gated documents alike.

A file is accepted only when all of this holds, judged by its bytes (never by
its name or the browser's claimed type):

1. it is within the size cap the caller gives;
2. it starts with the PDF header `%PDF-` (no junk before it);
3. it parses as a PDF with pypdf: a trailer, a document catalog and a page
   tree with at least one page (so `%PDF-1.4` followed by HTML is refused);
4. it is not encrypted (the recipient could not open it, and we could not
   inspect it);
5. no object in it carries JavaScript (`/JS`, `/JavaScript`, including an
   `/OpenAction` or additional action that runs it) or a `/Launch` action
   (which asks the reader to start a program).

Files that fail are refused with a `ValidationError` whose code is
`<prefix>_too_large`, `<prefix>_not_pdf`, `<prefix>_encrypted` or
`<prefix>_active_content`; refusing is simpler and safer than flagging such a
file to the handler, who can ask for a clean one.
"""

import io
import logging
import os
from collections.abc import Iterator
from typing import IO, Any

from django.core.exceptions import ValidationError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

logger = logging.getLogger(__name__)

PDF_HEADER = b"%PDF-"
# Dictionary keys and action types that make a PDF run something when opened or used.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch"})


def _size(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
    return int(size)


def _read_all(file: IO[bytes]) -> bytes:
    file.seek(0)
    data = file.read()
    file.seek(0)
    return data


def _walk(obj: Any, depth: int = 0) -> Iterator[DictionaryObject]:
    """Every dictionary inside one object (direct values only; indirect ones are visited on their own)."""
    if depth > 64 or isinstance(obj, IndirectObject):
        return
    if isinstance(obj, DictionaryObject):
        yield obj
        for value in obj.values():
            yield from _walk(value, depth + 1)
    elif isinstance(obj, ArrayObject):
        for value in obj:
            yield from _walk(value, depth + 1)


def _all_objects(reader: PdfReader) -> Iterator[PdfObject]:
    """Every indirect object of the file, including those packed in object streams, and the trailer."""
    yield reader.trailer
    ids: set[tuple[int, int]] = set()
    for generation, entries in reader.xref.items():
        ids.update((idnum, generation) for idnum in entries)
    ids.update((idnum, 0) for idnum in reader.xref_objStm)
    for idnum, generation in sorted(ids):
        try:
            obj = reader.get_object(IndirectObject(idnum, generation, reader))
        except (PyPdfError, ValueError, KeyError, TypeError):
            continue
        if obj is not None:
            yield obj


def _is_active(dictionary: DictionaryObject) -> bool:
    if any(key in dictionary for key in ACTIVE_KEYS):
        return True
    action = dictionary.get("/S")
    return isinstance(action, NameObject) and action in ACTIVE_ACTIONS


def pdf_check(file: IO[bytes], *, max_bytes: int, code_prefix: str) -> None:
    """Refuse anything but a plain PDF of at most `max_bytes` (see the module docstring)."""
    if _size(file) > max_bytes:
        raise ValidationError(
            f"The file is larger than {max_bytes // (1024 * 1024)} MB.", code=f"{code_prefix}_too_large"
        )
    data = _read_all(file)
    if len(data) > max_bytes:
        raise ValidationError(
            f"The file is larger than {max_bytes // (1024 * 1024)} MB.", code=f"{code_prefix}_too_large"
        )
    not_pdf = ValidationError("Only PDF files can be uploaded; this file is not a PDF.", code=f"{code_prefix}_not_pdf")
    if not data.startswith(PDF_HEADER):
        raise not_pdf
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                "This PDF is encrypted or password-protected; upload an unprotected copy.",
                code=f"{code_prefix}_encrypted",
            )
        catalog = reader.trailer["/Root"].get_object()
        if not isinstance(catalog, DictionaryObject) or catalog.get("/Type") != "/Catalog":
            raise not_pdf
        if len(reader.pages) < 1:
            raise not_pdf
        active = any(_is_active(d) for obj in _all_objects(reader) for d in _walk(obj))
    except ValidationError:
        raise
    except Exception as exc:  # pypdf raises many kinds of error on broken input
        logger.info("Upload refused: does not parse as a PDF (%s)", type(exc).__name__)
        raise not_pdf from None
    if active:
        raise ValidationError(
            "This PDF contains JavaScript or a launch action, which we do not accept; "
            "export or print it to a plain PDF and upload that.",
            code=f"{code_prefix}_active_content",
        )
