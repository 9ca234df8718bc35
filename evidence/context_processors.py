from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import chain_head as read_chain_head


def chain_head(request: HttpRequest) -> dict[str, object]:
    """`chain_head` (seq, hash) for templates; read only by pages that show it."""
    return {"chain_head": SimpleLazyObject(read_chain_head)}
