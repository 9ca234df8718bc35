"""Start-up checks of the request settings (run by `manage.py check`, `migrate`, `runserver`).

A calendar the `holidays` package does not know would only fail when the first
DPA or BAA deadline is computed, as a server error for the customer; the check
names the problem before anyone submits.
"""

from collections.abc import Sequence
from typing import Any

import holidays
from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .deadlines import NO_HOLIDAY_CALENDAR

COUNTRY_HINT = (
    "Set HOLIDAY_COUNTRY to a country code of the holidays package, e.g. US, DE or GB "
    '(`python -c "import holidays; print(sorted(holidays.list_supported_countries()))"` lists them), '
    f"or to '{NO_HOLIDAY_CALENDAR}' to count weekends only."
)


@register("requests_app")
def check_holiday_calendar(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if app_configs is not None and not any(config.name == "requests_app" for config in app_configs):
        return []
    country = settings.HOLIDAY_COUNTRY
    subdivision = settings.HOLIDAY_SUBDIVISION
    if not country:
        return [Error("HOLIDAY_COUNTRY is empty.", hint=COUNTRY_HINT, id="requests_app.E001")]
    if country == NO_HOLIDAY_CALENDAR:
        if subdivision:
            return [
                Error(
                    f"HOLIDAY_SUBDIVISION is {subdivision!r} but HOLIDAY_COUNTRY is '{NO_HOLIDAY_CALENDAR}'.",
                    hint="Leave HOLIDAY_SUBDIVISION empty, or name the country it belongs to.",
                    id="requests_app.E003",
                )
            ]
        return []
    supported = holidays.list_supported_countries()
    if country not in supported:
        return [
            Error(
                f"HOLIDAY_COUNTRY {country!r} is not a country code the holidays package knows.",
                hint=COUNTRY_HINT,
                id="requests_app.E002",
            )
        ]
    if subdivision and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        return [
            Error(
                f"HOLIDAY_SUBDIVISION {subdivision!r} is not a subdivision of {country}.",
                hint=f"Subdivisions of {country}: {known}. Leave it empty for national holidays only.",
                id="requests_app.E003",
            )
        ]
    return []
