"""Background tasks (Django Tasks API; `manage.py db_worker` runs them).

The worker sends each mail right after its transaction commits. The periodic
housekeeping (mail retries, expiry, retention) is declared in `periodic.py`
and scheduled by `core.schedule`.
"""

import logging

from django_tasks import task

from .models import OutboxMail

logger = logging.getLogger(__name__)


@task()
def send_outbox_mail(mail_id: int) -> str:
    """Send one outbox mail; after a failure, schedule the next try at its backoff time."""
    from .outbox import enqueue_send, outbox_send_one

    outcome = outbox_send_one(mail_id=mail_id)
    if outcome in {"retry", "not_due"}:
        next_attempt_at = OutboxMail.objects.values_list("next_attempt_at", flat=True).get(pk=mail_id)
        enqueue_send(mail_id, run_after=next_attempt_at)
    return outcome
