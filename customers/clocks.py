"""The notification clocks of an incident: pure functions of given times.

Every period is counted in hours from the moment the company became aware
(`aware_at`), weekends and holidays included: these are hours, not business
days.

- Processor to controller (GDPR Art. 33(2)): "without undue delay". The
  contract (the hours the page's incident-response section promises, see
  `selectors.contract_notice_hours`) or INCIDENT_PROCESSOR_NOTICE_HOURS (72)
  makes it a number. Applies when the incident affects customers, for whom
  the company processes data.
- Controller to supervisory authority (GDPR Art. 33(1)): 72 hours, where the
  company is controller for the data concerned.
- Business associate to covered entity (HIPAA, 45 CFR 164.410(b)): 60
  calendar days from discovery (1440 hours), when an affected customer signed
  a BAA.
"""

import datetime as dt
from dataclasses import dataclass

from .enums import ClockState

AUTHORITY_HOURS = 72  # GDPR Art. 33(1)
HIPAA_DAYS = 60  # 45 CFR 164.410(b)


@dataclass(frozen=True)
class Clock:
    key: str
    label: str
    basis: str
    hours: int
    due_at: dt.datetime
    # When the notice this clock asks for was given (None: not yet, or not recorded here).
    met_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        if self.met_at is not None:
            return ClockState.MET if self.met_at <= self.due_at else ClockState.MISSED
        return ClockState.RUNNING if now < self.due_at else ClockState.OVERDUE

    def hours_left(self, now: dt.datetime) -> float:
        """Hours from `now` to the due time (negative once past)."""
        return round((self.due_at - now).total_seconds() / 3600, 1)

    def describe(self, now: dt.datetime) -> str:
        state = self.state(now)
        due = self.due_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = f"{self.label}: {self.hours} h, due {due}, {ClockState(state).label}"
        if state == ClockState.RUNNING:
            text += f", {self.hours_left(now)} h left"
        return text


def incident_clocks(
    *,
    aware_at: dt.datetime,
    processor_hours: int,
    affects_customers: bool,
    company_is_controller: bool,
    affects_baa_customer: bool,
    customers_notified_at: dt.datetime | None = None,
) -> list[Clock]:
    """The clocks that apply to an incident, in the order they run out.

    `customers_notified_at` (the first notices to the affected customers'
    contacts) meets the processor and the business associate clocks; the
    notice to the authority is given outside the application, so its clock
    only runs. Counted on UTC, so a daylight-saving change in between
    neither adds nor takes an hour."""
    aware_at = aware_at.astimezone(dt.UTC)
    clocks = []
    if affects_customers:
        clocks.append(
            Clock(
                key="processor",
                label="Processor to controller",
                basis="GDPR Art. 33(2), without undue delay; hours per contract",
                hours=processor_hours,
                due_at=aware_at + dt.timedelta(hours=processor_hours),
                met_at=customers_notified_at,
            )
        )
    if company_is_controller:
        clocks.append(
            Clock(
                key="authority",
                label="Controller to supervisory authority",
                basis="GDPR Art. 33(1)",
                hours=AUTHORITY_HOURS,
                due_at=aware_at + dt.timedelta(hours=AUTHORITY_HOURS),
                met_at=None,
            )
        )
    if affects_baa_customer:
        clocks.append(
            Clock(
                key="hipaa",
                label="Business associate to covered entity",
                basis="HIPAA 45 CFR 164.410(b)",
                hours=HIPAA_DAYS * 24,
                due_at=aware_at + dt.timedelta(days=HIPAA_DAYS),
                met_at=customers_notified_at,
            )
        )
    return sorted(clocks, key=lambda c: c.due_at)
