"""Checks for files staff attach to tickets: a plain PDF (see `core.pdf`), size cap."""

import hashlib

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from core.pdf import pdf_check
from core.text import clean_filename


def attachment_check(upload: UploadedFile) -> tuple[str, str, int]:
    """Validate an uploaded file. Returns (cleaned name, sha256, size)."""
    pdf_check(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES, code_prefix="attachment")
    digest, size = hashlib.sha256(), 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return clean_filename(upload.name or "document.pdf"), digest.hexdigest(), size
