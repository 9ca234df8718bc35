from django.db import models


class AgreementKind(models.TextChoices):
    DPA = "dpa", "Data processing agreement (DPA)"
    BAA = "baa", "Business associate agreement (BAA)"


class NoticeKind(models.TextChoices):
    INITIAL = "initial", "First notice"
    FOLLOW_UP = "follow_up", "Follow-up"


class ClockState(models.TextChoices):
    RUNNING = "running", "running"
    MET = "met", "met"
    MISSED = "missed", "missed (notice sent late)"
    OVERDUE = "overdue", "overdue (no notice yet)"
