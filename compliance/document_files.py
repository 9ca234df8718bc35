"""Files of `Document`: private storage and the checks an upload must pass.

Documents are stored under PRIVATE_MEDIA_ROOT, which no URL serves. An upload
is accepted only when its content is a PDF (checked by its first bytes, never
by its name or the browser's claimed type) and it is within DOCUMENT_MAX_BYTES.
"""

import hashlib
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File

from core.storage import PrivateStorage

PDF_MAGIC = b"%PDF-"
# The PDF header may follow a little junk; readers look within the first 1024 bytes.
PDF_HEADER_WINDOW = 1024
CHUNK = 1024 * 1024


def private_document_storage() -> PrivateStorage:
    return PrivateStorage()


def _size(file: File) -> int:
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
    return int(size)


def validate_document_file(file: File) -> None:
    """Refuse anything but a PDF within the size cap."""
    if _size(file) > settings.DOCUMENT_MAX_BYTES:
        raise ValidationError(
            f"The file is larger than {settings.DOCUMENT_MAX_BYTES // (1024 * 1024)} MB.",
            code="document_too_large",
        )
    file.seek(0)
    head = file.read(PDF_HEADER_WINDOW)
    file.seek(0)
    if PDF_MAGIC not in head:
        raise ValidationError("Only PDF files can be uploaded; this file is not a PDF.", code="document_not_pdf")


def document_fingerprint(file: File) -> tuple[str, int]:
    """(SHA-256 hex digest, size in bytes) of the file's content."""
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    for chunk in iter(lambda: file.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return digest.hexdigest(), size
