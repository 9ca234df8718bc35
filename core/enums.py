from django.db import models


class MailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    # Claimed by a worker and handed to the mail server; the outcome is recorded next.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Caused by a public form after its address reached the day's cap
    # (PUBLIC_MAIL_PER_ADDRESS_PER_DAY): kept for the record, never sent.
    WITHHELD = "withheld", "Withheld"
