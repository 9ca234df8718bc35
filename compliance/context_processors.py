"""What the public layout needs on every page: the organization as published.

The header and the page title name the organization from the live
publication's snapshot, never from the draft `Organization` row: a name an
editor is still changing is not public until it is approved.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import published_organization


def public_layout(request: HttpRequest) -> dict[str, Any]:
    """`published_organization`, read only when a template uses it.

    Pages that render a snapshot (the trust page, preview, as-of, changelog)
    take the organization from that snapshot and never touch this, so the
    cached trust page costs no query for it; every other page pays one small
    query (the organization part of the live snapshot) on first use.
    """
    return {"published_organization": SimpleLazyObject(published_organization)}
