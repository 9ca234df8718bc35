from django.db import models


class PeriodicJobSlot(models.Model):
    """When a periodic job (declared in an app's ``periodic.py``) runs next.

    One row per job. Whoever runs or queues a run locks the row first, so
    several workers never run one slot twice (see ``core.schedule``).
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="The job's declared name, e.g. requests.housekeeping."
    )
    next_run_at = models.DateTimeField(help_text="The slot the next run is for.")
    queued_for = models.DateTimeField(
        null=True, blank=True, help_text="The slot a run was queued for; equal to next_run_at while one waits."
    )
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "periodic job"

    def __str__(self) -> str:
        return self.name
