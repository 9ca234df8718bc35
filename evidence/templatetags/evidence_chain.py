from typing import Any

from django import template

from ..models import ChainLink
from ..registry import PUBLICATION_LABEL
from ..selectors import Head, chain_head

register = template.Library()


@register.simple_tag
def chain_position(publication: Any = None) -> Head:
    """Where the evidence chain stood for what the page shows.

    For a publication: the link that chained it, which never changes, so a
    page cached per version stays right and a reader can later check that
    nothing up to it was rewritten (`verify_chain --expect-head SEQ:HASH`).
    Without one (a draft preview): the current head.
    """
    if publication is not None and getattr(publication, "pk", None) is not None:
        link = (
            ChainLink.objects.filter(model_label=PUBLICATION_LABEL, row_pk=publication.pk)
            .values_list("seq", "link_hash").first()
        )
        if link is not None:
            return Head(*link)
    return chain_head()
