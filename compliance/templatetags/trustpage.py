from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django import template
from django.template.context import Context
from django.utils import timezone
from django.utils.safestring import SafeString

from ..enums import UpdateCategory
from ..markdown import markdown_to_html
from ..selectors import Concern, as_of_slug, update_concerns

register = template.Library()


@register.filter
def iso_datetime(value: str | None) -> datetime | None:
    """Turn an ISO 8601 string from a snapshot back into a datetime for display."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


@register.filter
def machine_datetime(value: datetime | str | None) -> str:
    """A moment as HTML's `datetime` attribute takes it: ISO 8601 to the
    second. (Django's "c" format keeps microseconds, which HTML refuses.)"""
    if isinstance(value, str):
        value = iso_datetime(value)
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)  # the zone the visible text is in
    return value.isoformat(timespec="seconds")


@register.filter(name="as_of_slug")
def as_of_slug_filter(value: datetime) -> str:
    """A moment as the as-of URLs take it, exactly (see `compliance.selectors.as_of_slug`)."""
    return as_of_slug(value)


@register.simple_tag
def section_template(key: str) -> str:
    return f"compliance/sections/{key}.html"


@register.simple_tag(takes_context=True)
def layout_organization(context: Context) -> Mapping[str, Any]:
    """The organization the layout's header names: that of the snapshot the
    page renders if it renders one, else the published one (context processor
    `public_layout`), else none (an error page rendered without the request)."""
    snapshot = context.get("snapshot")
    if isinstance(snapshot, Mapping) and isinstance(snapshot.get("organization"), Mapping):
        return snapshot["organization"]
    return context.get("published_organization") or {}


@register.filter
def markdown(value: str | None) -> SafeString:
    """An update body as sanitized HTML (see `compliance.markdown`)."""
    return markdown_to_html(value or "")


@register.filter
def update_category(value: str) -> str:
    return UpdateCategory(value).label if value in UpdateCategory.values else value


@register.simple_tag
def concerns_shown(refs: list[str], snapshot: Mapping[str, Any] | None) -> list[Concern]:
    """What an update concerns, named as the shown snapshot names it (an item
    not in it is left out: the public sees only published names)."""
    return update_concerns(list(refs or []), dict(snapshot) if snapshot else None)
