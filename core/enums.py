from django.db import models


class MailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Caused by a public form after its address reached the day's cap
    # (PUBLIC_MAIL_PER_ADDRESS_PER_DAY): kept for the record, never sent.
    WITHHELD = "withheld", "Withheld"
