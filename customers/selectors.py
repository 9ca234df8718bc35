"""Reads of customers and incidents shared by services, admin and exports."""

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from compliance.enums import SectionKey
from compliance.selectors import live_publication

from .clocks import Clock, incident_clocks
from .models import Contact, Incident

# "within 72 hours", "within 48h", "24-hour", "within 3 days": a number and its unit.
_PERIOD = re.compile(r"(\d{1,4})\s*-?\s*(hours?|hrs?|h|days?)\b", re.IGNORECASE)


def _period_hours(text: str) -> int | None:
    match = _PERIOD.search(text)
    if match is None:
        return None
    number = int(match.group(1))
    return number * 24 if match.group(2).lower().startswith("d") else number


def contract_notice_hours(snapshot: dict[str, Any] | None) -> tuple[int, str]:
    """The hours within which the page promises to notify of a breach, and
    where that comes from.

    Read from the incident-response section of `snapshot`: the first line
    whose title or text speaks of notification ("notif…") and names a period
    in hours or days ("notified within 72 hours"). Other lines (a response
    SLA of 24 hours) are not a notification promise. Without one,
    INCIDENT_PROCESSOR_NOTICE_HOURS (72)."""
    default = settings.INCIDENT_PROCESSOR_NOTICE_HOURS
    for section in (snapshot or {}).get("sections") or []:
        if section.get("key") != SectionKey.INCIDENT_RESPONSE:
            continue
        for group in section.get("groups") or []:
            for item in group.get("items") or []:
                text = f"{item.get('title', '')}: {item.get('body', '')}"
                if "notif" not in text.lower():
                    continue
                hours = _period_hours(text)
                if hours:
                    return hours, f"page, incident response: “{text[:150]}”"
    return default, f"default (INCIDENT_PROCESSOR_NOTICE_HOURS = {default})"


def live_contract_notice_hours(now: dt.datetime | None = None) -> tuple[int, str]:
    publication = live_publication(now)
    return contract_notice_hours(publication.snapshot if publication is not None else None)


def clocks_for(incident: Incident) -> list[Clock]:
    affected = list(incident.affected.select_related("customer"))
    return incident_clocks(
        aware_at=incident.aware_at,
        processor_hours=incident.processor_notice_hours,
        affects_customers=bool(affected),
        company_is_controller=incident.company_is_controller,
        affects_baa_customer=any(a.customer.has_baa for a in affected),
        customers_notified_at=incident.first_notified_at,
    )


def subprocessor_notice_contacts() -> QuerySet[Contact]:
    """Confirmed, not removed legal and privacy contacts of current customers."""
    return (
        Contact.objects.filter(confirmed_at__isnull=False, removed_at__isnull=True, customer__ended_at__isnull=True)
        .filter(Q(legal=True) | Q(privacy=True))
        .order_by("pk")
    )


def incident_notice_contacts(incident: Incident) -> QuerySet[Contact]:
    """Confirmed, not removed security and privacy contacts of the customers the incident affects."""
    return (
        Contact.objects.filter(
            confirmed_at__isnull=False, removed_at__isnull=True, customer__incidents__incident=incident
        )
        .filter(Q(security=True) | Q(privacy=True))
        .order_by("pk")
    )


def contact_for_address(email: str) -> Contact | None:
    """The confirmed, not removed contact with this address (the oldest, if several customers share one)."""
    email = (email or "").strip().lower()
    if not email:
        return None
    return (
        Contact.objects.filter(email=email, confirmed_at__isnull=False, removed_at__isnull=True).order_by("pk").first()
    )


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else ""


def _clock_cells(incident: Incident, now: dt.datetime) -> dict[str, str]:
    cells = {}
    by_key = {c.key: c for c in clocks_for(incident)}
    for key in ("processor", "authority", "hipaa"):
        clock = by_key.get(key)
        cells[f"{key}_due_at"] = _utc(clock.due_at) if clock else ""
        cells[f"{key}_state"] = clock.state(now) if clock else "not applicable"
    return cells


# The register export's columns, in order.
REGISTER_COLUMNS = (
    "reference",
    "title",
    "aware_at",
    "recorded_at",
    "recorded_by",
    "company_is_controller",
    "affected_customers",
    "subject_categories",
    "subjects_approx",
    "record_categories",
    "records_approx",
    "consequences",
    "measures",
    "processor_notice_hours",
    "processor_notice_source",
    "processor_due_at",
    "processor_state",
    "authority_due_at",
    "authority_state",
    "hipaa_due_at",
    "hipaa_state",
    "first_notified_at",
    "notices",
    "notices_sent",
)


def register_rows(incidents: QuerySet[Incident], *, now: dt.datetime) -> list[dict[str, str]]:
    """One row per incident for the CSV export, oldest awareness first; times in UTC.
    Contacts are counted, never named."""
    rows = []
    for incident in incidents.select_related("recorded_by").order_by("aware_at", "id"):
        notices = list(incident.notices.select_related("mail"))
        rows.append(
            {
                "reference": incident.reference,
                "title": incident.title,
                "aware_at": _utc(incident.aware_at),
                "recorded_at": _utc(incident.recorded_at),
                "recorded_by": incident.recorded_by.get_username(),
                "company_is_controller": "yes" if incident.company_is_controller else "no",
                "affected_customers": "; ".join(
                    a.customer.name for a in incident.affected.select_related("customer").order_by("customer__name")
                ),
                "subject_categories": incident.subject_categories,
                "subjects_approx": "" if incident.subjects_approx is None else str(incident.subjects_approx),
                "record_categories": incident.record_categories,
                "records_approx": "" if incident.records_approx is None else str(incident.records_approx),
                "consequences": incident.consequences,
                "measures": incident.measures,
                "processor_notice_hours": str(incident.processor_notice_hours),
                "processor_notice_source": incident.processor_notice_source,
                **_clock_cells(incident, now),
                "first_notified_at": _utc(incident.first_notified_at),
                "notices": str(len(notices)),
                "notices_sent": str(sum(1 for n in notices if n.mail.sent_at is not None)),
            }
        )
    return rows
