import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from hypothesis import given
from hypothesis import strategies as st

from requests_app import deadlines
from requests_app.checks import COUNTRY_HINT, check_holiday_calendar
from requests_app.enums import TicketKind
from requests_app.models import ExtraHoliday

UTC = dt.UTC


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def end(day: str, tz: str = "UTC") -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.max, tzinfo=zoneinfo.ZoneInfo(tz))


def due(kind: str, received: dt.datetime) -> dt.datetime:
    return deadlines.due_at_for(kind=kind, received_at=received)


# ---- business days (DPA 5, BAA 10)


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-03-02", "2026-03-09"),  # Monday: receipt day not counted, next Monday
        ("2026-03-06", "2026-03-13"),  # Friday: weekend skipped
        ("2026-03-07", "2026-03-13"),  # Saturday
        ("2026-03-08", "2026-03-13"),  # Sunday
        ("2026-06-29", "2026-07-07"),  # Independence Day observed on Friday 3 July
        ("2026-11-23", "2026-12-01"),  # Thanksgiving, Thursday 26 November
        ("2026-12-21", "2026-12-29"),  # Christmas Day
        ("2026-12-28", "2027-01-05"),  # New Year's Day, across the year end
    ],
)
def test_dpa_due_five_us_business_days_after_receipt(db, received, expected):
    assert due(TicketKind.DPA, at(received)) == end(expected)


def test_baa_due_after_configured_business_days(db, settings):
    assert due(TicketKind.BAA, at("2026-03-02")) == end("2026-03-16")
    settings.BAA_DUE_BUSINESS_DAYS = 3
    assert due(TicketKind.BAA, at("2026-03-02")) == end("2026-03-05")


def test_staff_added_holiday_is_skipped(db):
    ExtraHoliday.objects.create(date=dt.date(2026, 3, 5), description="Company offsite")
    assert due(TicketKind.DPA, at("2026-03-02")) == end("2026-03-10")


def test_holiday_calendar_follows_configured_country(db, settings):
    # 1 May 2026 is a Friday: a holiday in Germany, a working day in the US.
    assert due(TicketKind.DPA, at("2026-04-27")) == end("2026-05-04")
    settings.HOLIDAY_COUNTRY = "DE"
    assert due(TicketKind.DPA, at("2026-04-27")) == end("2026-05-05")


def test_business_days_count_in_configured_time_zone(db, settings):
    settings.TIME_ZONE = "America/New_York"
    # 02:00 UTC on Saturday is still Friday evening in New York.
    received = dt.datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
    assert due(TicketKind.DPA, received) == end("2026-03-13", "America/New_York")
    assert due(TicketKind.DPA, received).astimezone(UTC) == dt.datetime(2026, 3, 14, 3, 59, 59, 999999, tzinfo=UTC)


# ---- data-subject requests: earlier of 30 days and one month


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-01-31", "2026-02-28"),  # no 31 February: last day of the month
        ("2028-01-31", "2028-02-29"),  # leap year
        ("2028-01-30", "2028-02-29"),  # 30 days and the clamped month both end on 29 February
        ("2026-02-10", "2026-03-10"),  # month (28 days) is earlier than 30 days
        ("2026-03-15", "2026-04-14"),  # 30 days earlier than the month (31-day March)
        ("2026-04-15", "2026-05-15"),  # 30-day month: both the same
        ("2026-12-31", "2027-01-30"),  # across the year end: 30 days earlier
        ("2026-03-31", "2026-04-30"),  # 31 April does not exist; 30 days is also 30 April
        ("2026-08-31", "2026-09-30"),
    ],
)
def test_data_subject_due_is_earlier_of_thirty_days_and_one_month(db, received, expected):
    for kind in (TicketKind.DSR_ERASURE, TicketKind.DSR_ACCESS, TicketKind.DSR_PORTABILITY):
        assert due(kind, at(received)) == end(expected)


def test_data_subject_due_ignores_weekends_and_holidays(db):
    # 25 December 2026 (holiday, Friday) is received; due 30 days later on Sunday 24 January.
    assert due(TicketKind.DSR_ACCESS, at("2026-12-25")) == end("2027-01-24")


def test_promised_days_setting_longer_than_a_month_leaves_the_month(db, settings):
    settings.DSR_PROMISED_DAYS = 45
    assert due(TicketKind.DSR_ERASURE, at("2026-03-15")) == end("2026-04-15")


def test_data_subject_days_follow_local_date_and_store_utc(db, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # 23:30 UTC on 30 January is 31 January in Berlin.
    received = dt.datetime(2026, 1, 30, 23, 30, tzinfo=UTC)
    result = due(TicketKind.DSR_ACCESS, received)
    assert result.astimezone(UTC) == dt.datetime(2026, 2, 28, 22, 59, 59, 999999, tzinfo=UTC)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(1, 3))
def test_add_months_same_date_or_month_end(day, months):
    result = deadlines.add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    if result.day != day.day:
        assert result.day < day.day
        assert (result + dt.timedelta(days=1)).day == 1  # clamped to the month's last day


# ---- extension


def extend(
    received: str,
    *,
    now: str,
    reason: str = "Many systems to search",
    extended_at=None,
    kind: str = TicketKind.DSR_ACCESS,
    new_due_date: dt.date | None = None,
) -> dt.datetime:
    received_at = at(received)
    return deadlines.extended_due_at(
        kind=kind,
        received_at=received_at,
        original_due_at=due(kind, received_at),
        extended_at=extended_at,
        now=at(now),
        reason=reason,
        new_due_date=new_due_date,
    )


def test_extension_defaults_to_three_months_from_receipt(db):
    assert extend("2026-01-31", now="2026-02-20") == end("2026-04-30")
    assert extend("2027-11-30", now="2027-12-01") == end("2028-02-29")


def test_extension_to_a_chosen_date_within_the_limit(db):
    assert extend("2026-01-10", now="2026-01-20", new_due_date=dt.date(2026, 3, 1)) == end("2026-03-01")


def test_extension_of_business_day_kind_adds_the_period_again(db):
    # DPA received Monday 2 March is due 9 March; extended by 5 business days.
    assert extend("2026-03-02", now="2026-03-03", kind=TicketKind.DPA) == end("2026-03-16")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"now": "2026-03-01"}, "extension_too_late"),  # original deadline 28 Feb has passed
        ({"now": "2026-02-10", "extended_at": at("2026-02-05")}, "extension_already_used"),
        ({"now": "2026-02-10", "new_due_date": dt.date(2026, 5, 1)}, "extension_beyond_limit"),
        ({"now": "2026-02-10", "reason": "  "}, "extension_reason_required"),
        ({"now": "2026-02-10", "new_due_date": dt.date(2026, 2, 27)}, "extension_not_later"),
    ],
)
def test_extension_refusals(db, kwargs, code):
    with pytest.raises(ValidationError) as exc:
        extend("2026-01-31", **kwargs)
    assert exc.value.code == code


def test_extension_on_the_last_day_is_still_allowed(db):
    assert extend("2026-01-31", now="2026-02-28") == end("2026-04-30")


# ---- the holiday calendar setting


def test_without_a_holiday_calendar_only_weekends_and_staff_holidays_are_skipped(db, settings):
    settings.HOLIDAY_COUNTRY = "none"
    # Independence Day (observed Friday 3 July 2026) counts as a working day now.
    assert due(TicketKind.DPA, at("2026-06-29")) == end("2026-07-06")
    assert due(TicketKind.DPA, at("2026-03-06")) == end("2026-03-13")  # the weekend is still skipped
    ExtraHoliday.objects.create(date=dt.date(2026, 7, 2), description="Company offsite")
    assert due(TicketKind.DPA, at("2026-06-29")) == end("2026-07-07")


@pytest.mark.parametrize(
    ("country", "subdivision", "expected"),
    [
        ("", None, [("requests_app.E001", "HOLIDAY_COUNTRY is empty.", COUNTRY_HINT)]),
        (
            "XX",
            None,
            [
                (
                    "requests_app.E002",
                    "HOLIDAY_COUNTRY 'XX' is not a country code the holidays package knows.",
                    COUNTRY_HINT,
                )
            ],
        ),
        (
            "none",
            "CA",
            [
                (
                    "requests_app.E003",
                    "HOLIDAY_SUBDIVISION is 'CA' but HOLIDAY_COUNTRY is 'none'.",
                    "Leave HOLIDAY_SUBDIVISION empty, or name the country it belongs to.",
                )
            ],
        ),
        ("US", None, []),
        ("US", "CA", []),
        ("none", None, []),
    ],
)
def test_start_up_check_of_the_holiday_calendar(settings, country, subdivision, expected):
    settings.HOLIDAY_COUNTRY = country
    settings.HOLIDAY_SUBDIVISION = subdivision
    assert [(e.id, e.msg, e.hint) for e in check_holiday_calendar()] == expected


def test_start_up_check_names_the_valid_subdivisions(settings):
    settings.HOLIDAY_COUNTRY = "US"
    settings.HOLIDAY_SUBDIVISION = "ZZ"
    (error,) = check_holiday_calendar()
    assert (error.id, error.msg) == ("requests_app.E003", "HOLIDAY_SUBDIVISION 'ZZ' is not a subdivision of US.")
    assert error.hint.startswith("Subdivisions of US: AK, AL, AR, AS, AZ, CA, ")


def test_the_hint_says_how_to_find_valid_codes_and_offers_none():
    assert COUNTRY_HINT == (
        "Set HOLIDAY_COUNTRY to a country code of the holidays package, e.g. US, DE or GB "
        '(`python -c "import holidays; print(sorted(holidays.list_supported_countries()))"` lists them), '
        "or to 'none' to count weekends only."
    )


@pytest.mark.parametrize(("country", "error_id"), [("", "requests_app.E001"), ("XX", "requests_app.E002")])
def test_manage_check_fails_on_a_bad_holiday_country(db, settings, country, error_id):
    settings.HOLIDAY_COUNTRY = country
    with pytest.raises(SystemCheckError, match=error_id):
        call_command("check")
