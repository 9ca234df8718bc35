from django.db import models


class CheckpointReason(models.TextChoices):
    PUBLICATION = "publication", "after a publication"
    PERIODIC = "periodic", "periodic"
    MANUAL = "manual", "signed by an operator"
