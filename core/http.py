"""HTTP helpers shared by the apps: the one way a private response is marked.

Every page reached through a secret link (status, verification, subscription
links, gated downloads) and every staff export is marked with `mark_no_store`
(or the `no_store` decorator): `Cache-Control: no-store` keeps it out of shared
caches and the browser's history cache, `X-Robots-Tag` keeps a leaked link out
of search engines, and the referrer policy keeps the link out of the Referer
of anything the page loads or links to.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponseBase

R = TypeVar("R", bound=HttpResponseBase)

# Pages with a form use "same-origin": under "no-referrer" browsers send
# `Origin: null` with the POST, which the CSRF check rightly refuses.
NO_REFERRER = "no-referrer"
SAME_ORIGIN = "same-origin"


def mark_no_store(response: R, *, referrer_policy: str = NO_REFERRER) -> R:
    """Mark a response as private: never stored, never indexed, no referrer beyond `referrer_policy`."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = referrer_policy
    # Validators would invite conditional requests for something never stored.
    for header in ("ETag", "Last-Modified", "Expires"):
        if header in response:
            del response[header]
    return response


def no_store(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """`mark_no_store` for every response of a view.

    Use on function views, or `method_decorator(no_store, name="dispatch")`.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return mark_no_store(view(request, *args, **kwargs))

    return wrapped
