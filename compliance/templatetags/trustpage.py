from datetime import datetime

from django import template

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


@register.simple_tag
def section_template(key: str) -> str:
    return f"compliance/sections/{key}.html"
