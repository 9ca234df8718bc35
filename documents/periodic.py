"""Periodic jobs of documents (see ``core.schedule``)."""

from core.schedule import PeriodicJob
from requests_app.periodic import housekeeping_interval

from .services import document_grants_redrive

JOBS = [
    # The safety net of granting on `TicketFulfilled`: grants a failure left owed.
    PeriodicJob(name="documents.grants", run=document_grants_redrive, interval=housekeeping_interval),
]
