"""Files of `Document`: the checks an upload must pass and its fingerprint.

Documents are stored in private storage (`core.storage`), which no URL
serves. An upload is accepted only when it is a plain PDF (`core.pdf`: parsed,
not encrypted, no JavaScript or launch actions) within DOCUMENT_MAX_BYTES.
"""

import hashlib

from django.conf import settings
from django.core.files import File

from core.pdf import pdf_check

CHUNK = 1024 * 1024


def validate_document_file(file: File) -> None:
    """Refuse anything but a plain PDF within DOCUMENT_MAX_BYTES (see `core.pdf`)."""
    pdf_check(file, max_bytes=settings.DOCUMENT_MAX_BYTES, code_prefix="document")


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
