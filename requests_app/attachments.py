"""Checks for files staff attach to tickets: PDF only, by content; size cap."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from core.text import clean_filename

PDF_MAGIC = b"%PDF-"


def attachment_check(upload: UploadedFile) -> tuple[str, str, int]:
    """Validate an uploaded file. Returns (sanitized name, sha256, size)."""
    if upload.size is not None and upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            f"The file is larger than {settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.",
            code="attachment_too_large",
        )
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    # Trust the bytes, not the file name or the browser's content type.
    if head != PDF_MAGIC:
        raise ValidationError("Only PDF files can be attached.", code="attachment_not_pdf")
    upload.seek(0)
    digest, size = hashlib.sha256(), 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            f"The file is larger than {settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.",
            code="attachment_too_large",
        )
    upload.seek(0)
    return clean_filename(upload.name or "document.pdf"), digest.hexdigest(), size
