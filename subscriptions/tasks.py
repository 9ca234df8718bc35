"""Background work of subscriptions (Django Tasks API; `manage.py run_worker` runs it)."""

from django_tasks import task

from .services import publication_notices_send


@task()
def send_publication_notices(*, publication_id: int) -> int:
    """Write the notices of one publication (idempotent); returns how many were new."""
    return publication_notices_send(publication_id=publication_id)
