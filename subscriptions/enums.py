from django.db import models


class SubscriptionScope(models.TextChoices):
    ALL = "all", "All updates to the trust page"
    SUBPROCESSORS = "subprocessors", "Subprocessor changes only"
