"""Every ticket deadline is computed here, and only here.

Days are counted in the configured TIME_ZONE; results are aware datetimes at
the last instant of the due day (stored as UTC by the ORM).

- DPA and BAA: business days after the day of receipt, skipping weekends, the
  public holidays of settings.HOLIDAY_COUNTRY (`holidays` package; "none" for no
  national calendar, weekends only) and the staff-maintained `ExtraHoliday` dates.
- Subprocessor objections and document access requests: business days too
  (SUBPROCESSOR_OBJECTION_DUE_BUSINESS_DAYS, DOCUMENT_ACCESS_DUE_BUSINESS_DAYS).
- Data-subject requests: the earlier of settings.DSR_PROMISED_DAYS calendar
  days and one month (GDPR Art. 12(3)), counted per Regulation 1182/71 Art. 3:
  the day of receipt is not counted; a period in months ends at the end of the
  day with the same date in the last month, or on that month's last day when
  the date does not exist (received 31 January, due 28/29 February).
  Art. 3(4) would let a period that ends on a weekend or holiday run to the next
  working day; we do not use that allowance, so the date we promise is never
  later than the plain reading.
- Extension: once, with a reason, decided before the original deadline, and to
  at most three months from receipt (Art. 12(3), same counting).
"""

import calendar
import datetime as dt
import zoneinfo
from functools import lru_cache

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from .enums import DATA_SUBJECT_KINDS, TicketKind

EXTENSION_MAX_MONTHS = 3
# HOLIDAY_COUNTRY value for "no national calendar": business days skip weekends
# (and ExtraHoliday dates) only. Checked at start-up by requests_app.checks.
NO_HOLIDAY_CALENDAR = "none"


def local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, local_zone()).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The last instant of `day` in the configured time zone."""
    return dt.datetime.combine(day, dt.time.max, tzinfo=local_zone())


def add_months(day: dt.date, months: int) -> dt.date:
    """Same date `months` later, or that month's last day if the date does not exist."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=32)
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    if country == NO_HOLIDAY_CALENDAR:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def non_working_days(start: dt.date, end: dt.date) -> set[dt.date]:
    """Holidays between `start` and `end` inclusive (weekends not included)."""
    from .models import ExtraHoliday

    days: set[dt.date] = set()
    for year in range(start.year, end.year + 1):
        days |= _country_holidays(settings.HOLIDAY_COUNTRY, settings.HOLIDAY_SUBDIVISION, year)
    days |= set(ExtraHoliday.objects.filter(date__range=(start, end)).values_list("date", flat=True))
    return {d for d in days if start <= d <= end}


def add_business_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th business day after `day` (`day` itself is not counted)."""
    # Look far enough ahead that even a holiday-dense stretch fits in one query.
    horizon = day + dt.timedelta(days=count * 2 + 30)
    closed = non_working_days(day, horizon)
    current, remaining = day, count
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current > horizon:
            horizon = current + dt.timedelta(days=60)
            closed |= non_working_days(current, horizon)
        if current.weekday() < 5 and current not in closed:
            remaining -= 1
    return current


def business_days_for(kind: str) -> int:
    if kind == TicketKind.DPA:
        return settings.DPA_DUE_BUSINESS_DAYS
    if kind == TicketKind.BAA:
        return settings.BAA_DUE_BUSINESS_DAYS
    if kind == TicketKind.SUBPROCESSOR_OBJECTION:
        return settings.SUBPROCESSOR_OBJECTION_DUE_BUSINESS_DAYS
    if kind == TicketKind.DOCUMENT_ACCESS:
        return settings.DOCUMENT_ACCESS_DUE_BUSINESS_DAYS
    raise ValueError(f"{kind!r} is not counted in business days")


def due_at_for(*, kind: str, received_at: dt.datetime) -> dt.datetime:
    """When a ticket of `kind` received at `received_at` is due."""
    received = local_date(received_at)
    if kind in DATA_SUBJECT_KINDS:
        promised = received + dt.timedelta(days=settings.DSR_PROMISED_DAYS)
        one_month = add_months(received, 1)
        return end_of_day(min(promised, one_month))
    return end_of_day(add_business_days(received, business_days_for(kind)))


def extension_limit(*, received_at: dt.datetime) -> dt.datetime:
    """The latest a deadline may be extended to: three months from receipt."""
    return end_of_day(add_months(local_date(received_at), EXTENSION_MAX_MONTHS))


def extended_due_at(
    *,
    kind: str,
    received_at: dt.datetime,
    original_due_at: dt.datetime,
    extended_at: dt.datetime | None,
    now: dt.datetime,
    new_due_date: dt.date | None = None,
    reason: str = "",
) -> dt.datetime:
    """The new deadline of an extension decided at `now`, or ValidationError.

    Without `new_due_date`: data-subject requests go to the three-month limit;
    business-day kinds get their period once more, counted from the original
    deadline (never past the limit).
    """
    if not (reason or "").strip():
        raise ValidationError(
            "An extension needs a reason; it is sent to the requester.", code="extension_reason_required"
        )
    if extended_at is not None:
        raise ValidationError("This deadline has already been extended once.", code="extension_already_used")
    if now > original_due_at:
        raise ValidationError(
            "The original deadline has passed; an extension must be decided before it.",
            code="extension_too_late",
        )
    limit = extension_limit(received_at=received_at)
    if new_due_date is not None:
        new_due = end_of_day(new_due_date)
    elif kind in DATA_SUBJECT_KINDS:
        new_due = limit
    else:
        new_due = min(end_of_day(add_business_days(local_date(original_due_at), business_days_for(kind))), limit)
    if new_due > limit:
        raise ValidationError(
            "A deadline can be extended to at most three months from receipt.",
            code="extension_beyond_limit",
        )
    if new_due <= original_due_at:
        raise ValidationError("The new deadline must be later than the original one.", code="extension_not_later")
    return new_due
