"""Calendar helpers in the site's time zone (TIME_ZONE)."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone


def local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, local_zone()).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The last instant of `day` in the configured time zone."""
    return dt.datetime.combine(day, dt.time.max, tzinfo=local_zone())
