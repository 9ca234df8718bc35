"""The incident clocks: hours from awareness, weekends and DST included."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from customers.clocks import incident_clocks
from customers.enums import ClockState
from customers.selectors import contract_notice_hours

UTC = dt.UTC


def by_key(clocks):
    return {c.key: c for c in clocks}


def test_friday_evening_awareness_runs_through_the_weekend_in_hours():
    aware = dt.datetime(2026, 6, 5, 18, 30, tzinfo=UTC)  # a Friday
    clocks = by_key(
        incident_clocks(
            aware_at=aware,
            processor_hours=24,
            affects_customers=True,
            company_is_controller=True,
            affects_baa_customer=True,
        )
    )
    # Hours, not business days: Saturday and Sunday count.
    assert clocks["processor"].due_at == dt.datetime(2026, 6, 6, 18, 30, tzinfo=UTC)  # Saturday
    assert clocks["authority"].due_at == dt.datetime(2026, 6, 8, 18, 30, tzinfo=UTC)  # Monday
    assert clocks["hipaa"].due_at == dt.datetime(2026, 8, 4, 18, 30, tzinfo=UTC)  # 60 days
    assert clocks["hipaa"].hours == 1440
    assert [
        c.key
        for c in incident_clocks(
            aware_at=aware,
            processor_hours=24,
            affects_customers=True,
            company_is_controller=True,
            affects_baa_customer=True,
        )
    ] == ["processor", "authority", "hipaa"]


def test_states_and_hours_left_at_given_moments():
    aware = dt.datetime(2026, 6, 5, 18, 30, tzinfo=UTC)
    (processor,) = incident_clocks(
        aware_at=aware,
        processor_hours=72,
        affects_customers=True,
        company_is_controller=False,
        affects_baa_customer=False,
    )
    assert processor.due_at == dt.datetime(2026, 6, 8, 18, 30, tzinfo=UTC)
    sunday_noon = dt.datetime(2026, 6, 7, 12, 0, tzinfo=UTC)
    assert processor.state(sunday_noon) == ClockState.RUNNING
    assert processor.hours_left(sunday_noon) == 30.5
    assert processor.state(dt.datetime(2026, 6, 8, 18, 30, tzinfo=UTC)) == ClockState.OVERDUE
    assert processor.describe(sunday_noon) == (
        "Processor to controller: 72 h, due 2026-06-08 18:30 UTC, running, 30.5 h left"
    )


def test_a_notice_meets_or_misses_the_customer_clocks_but_not_the_authority_clock():
    aware = dt.datetime(2026, 6, 5, 18, 30, tzinfo=UTC)
    on_time = by_key(
        incident_clocks(
            aware_at=aware,
            processor_hours=72,
            affects_customers=True,
            company_is_controller=True,
            affects_baa_customer=True,
            customers_notified_at=dt.datetime(2026, 6, 8, 18, 30, tzinfo=UTC),
        )
    )
    later = dt.datetime(2026, 7, 1, tzinfo=UTC)
    assert on_time["processor"].state(later) == ClockState.MET
    assert on_time["hipaa"].state(later) == ClockState.MET
    assert on_time["authority"].state(later) == ClockState.OVERDUE
    late = by_key(
        incident_clocks(
            aware_at=aware,
            processor_hours=72,
            affects_customers=True,
            company_is_controller=False,
            affects_baa_customer=False,
            customers_notified_at=dt.datetime(2026, 6, 8, 18, 31, tzinfo=UTC),
        )
    )
    assert late["processor"].state(later) == ClockState.MISSED
    assert set(late) == {"processor"}


def test_no_clock_without_affected_customers_or_control():
    assert (
        incident_clocks(
            aware_at=dt.datetime(2026, 6, 5, tzinfo=UTC),
            processor_hours=72,
            affects_customers=False,
            company_is_controller=False,
            affects_baa_customer=False,
        )
        == []
    )


def test_a_daylight_saving_change_neither_adds_nor_takes_an_hour():
    berlin = ZoneInfo("Europe/Berlin")
    aware = dt.datetime(2026, 3, 28, 12, 0, tzinfo=berlin)  # Saturday; clocks go forward on Sunday 29 March
    (authority,) = incident_clocks(
        aware_at=aware,
        processor_hours=72,
        affects_customers=False,
        company_is_controller=True,
        affects_baa_customer=False,
    )
    assert authority.due_at == dt.datetime(2026, 3, 31, 11, 0, tzinfo=UTC)
    assert authority.due_at - aware == dt.timedelta(hours=72)
    # On Berlin's wall clock that is 13:00: the lost hour is not given back.
    assert authority.due_at.astimezone(berlin).hour == 13


def _snapshot(*items):
    return {"sections": [{"key": "incident-response", "groups": [{"title": "", "items": list(items)}]}]}


@pytest.mark.parametrize(
    ("items", "hours"),
    [
        # The seed's wording: the 24-hour response SLA is not a notification promise.
        (
            [
                {"title": "P1 security incidents", "body": "24-hour SLA from detection to initial response"},
                {
                    "title": "Breach notification",
                    "body": "affected users notified within 72 hours of confirmed incident",
                },
            ],
            72,
        ),
        ([{"title": "Customer notification", "body": "within 48h of awareness"}], 48),
        ([{"title": "Breach notification", "body": "customers notified within 2 days"}], 48),
        ([{"title": "Incident log", "body": "status page"}], 36),
    ],
)
def test_contract_hours_come_from_the_incident_response_section(settings, items, hours):
    settings.INCIDENT_PROCESSOR_NOTICE_HOURS = 36
    assert contract_notice_hours(_snapshot(*items))[0] == hours


def test_contract_hours_default_without_a_page(settings):
    settings.INCIDENT_PROCESSOR_NOTICE_HOURS = 72
    assert contract_notice_hours(None) == (72, "default (INCIDENT_PROCESSOR_NOTICE_HOURS = 72)")
    other_section = {
        "sections": [
            {
                "key": "data-security",
                "groups": [
                    {"title": "", "items": [{"title": "Breach notification", "body": "notified within 12 hours"}]}
                ],
            }
        ]
    }
    assert contract_notice_hours(other_section)[0] == 72
