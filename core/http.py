"""HTTP helpers shared by the apps."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase


def no_store(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Mark a response as never to be stored by a browser or any cache.

    For responses reached by a secret link and for exports: `Cache-Control:
    no-store` keeps them out of shared caches and the browser's history cache,
    and `X-Robots-Tag` keeps a leaked link out of search engines.
    Use on function views, or `method_decorator(no_store, name="dispatch")`.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        mark_no_store(response)
        return response

    return wrapped


def mark_no_store(response: HttpResponseBase) -> HttpResponseBase:
    """Set the no-store headers on a response built outside a decorated view."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Validators would invite conditional requests for something never stored.
    for header in ("ETag", "Last-Modified", "Expires"):
        if header in response:
            del response[header]
    return response
