from typing import Any

from django import template

from ..checks import live_security_txt_expiry

register = template.Library()


@register.inclusion_tag("admin/compliance/_security_txt_warning.html")
def security_txt_warning() -> dict[str, Any]:
    """A warning box on the admin index while the live security.txt is about
    to lapse (or has). One query; shown only where the template includes it."""
    expiry = live_security_txt_expiry()
    return {"expiry": expiry if expiry is not None and expiry.needs_attention else None}
