"""Background work of subscriptions (Django Tasks API; `manage.py run_worker` runs it)."""

from django_tasks import task

from .services import publication_notices_send, update_notices_send


@task()
def send_publication_notices(*, publication_id: int) -> int:
    """Write the notices of one publication (idempotent); returns how many were new."""
    return publication_notices_send(publication_id=publication_id)


@task()
def send_update_notices(*, update_id: int) -> int:
    """Mail one published update to the subscribers of its category (idempotent); returns how many were new."""
    return update_notices_send(update_id=update_id)
