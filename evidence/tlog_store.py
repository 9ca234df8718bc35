"""The transparency log's Merkle tree, stored as its perfect subtrees (`TreeNode`).

Leaf i of the tree is the RFC 6962 leaf hash of `link_leaf_bytes` of link
i + 1. The tree grows in `append_link`'s transaction, under the head lock, so
its size equals the head's sequence number; an install whose links predate
the tree catches up on the next append, or with `manage.py evidence_tree_sync`.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q

from . import tlog
from .canonical import canonical_json, link_fields
from .models import HEAD_ID, ChainHead, ChainLink, TreeNode

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000


def link_leaf_fields(link: Any) -> dict[str, Any]:
    """The link's exported fields: what its hash covers in its format (`link_fields`), and
    the hash itself. What its leaf in the tree, its export and its proof show; the one
    place that maps a link to its leaf."""
    return {
        **link_fields(
            seq=link.seq,
            model_label=link.model_label,
            row_pk=link.row_pk,
            row_hash=link.row_hash,
            prev_hash=link.prev_hash,
            recorded_at=link.recorded_at,
            actor_id=link.actor_id,
            actor_username=link.actor_username,
            format=link.format,
        ),
        "link_hash": link.link_hash,
    }


def link_leaf_bytes(link: Any) -> bytes:
    """The bytes of the link's leaf: canonical JSON of its exported fields."""
    return canonical_json(link_leaf_fields(link))


def link_leaf_hash(link: Any) -> bytes:
    return tlog.leaf_hash(link_leaf_bytes(link))


def node_getter(using: str = DEFAULT_DB_ALIAS) -> tlog.NodeGetter:
    """Reads the asked perfect subtrees in one query."""

    def get(ids: Sequence[tlog.NodeId]) -> Mapping[tlog.NodeId, bytes]:
        if not ids:
            return {}
        by_level: dict[int, list[int]] = defaultdict(list)
        for level, index in ids:
            by_level[level].append(index)
        condition = Q()
        for level, indexes in by_level.items():
            condition |= Q(level=level, index__in=indexes)
        rows = TreeNode.objects.using(using).filter(condition).values_list("level", "index", "hash")
        return {(level, index): bytes.fromhex(digest) for level, index, digest in rows}

    return get


def tree_size(using: str = DEFAULT_DB_ALIAS) -> int:
    """The number of leaves stored (one index lookup)."""
    last = TreeNode.objects.using(using).filter(level=0).order_by("-index").values_list("index", flat=True).first()
    return 0 if last is None else last + 1


def tree_root(size: int, using: str = DEFAULT_DB_ALIAS) -> bytes:
    return tlog.root_hash(size, node_getter(using))


def _store(created: Iterable[tuple[int, int, bytes]], using: str) -> None:
    TreeNode.objects.using(using).bulk_create(
        [TreeNode(level=level, index=index, hash=digest.hex()) for level, index, digest in created]
    )


def _extend(size: int, links: Iterable[Any], using: str) -> int:
    """Append the leaves of `links` (in order, the first being link size + 1) to a tree of `size`."""
    frontier = tlog.Frontier.load(size, node_getter(using))
    created: list[tuple[int, int, bytes]] = []
    for link in links:
        if link.seq != frontier.size + 1:
            raise ValueError(f"link {link.seq} is not the next leaf of a tree of {frontier.size}")
        created += frontier.append(link_leaf_hash(link))
        if len(created) >= BATCH_SIZE:
            _store(created, using)
            created = []
    _store(created, using)
    return frontier.size - size


def _links_after(size: int, until: int, using: str) -> Iterable[Any]:
    after = size
    while after < until:
        batch = list(ChainLink.objects.using(using).filter(seq__gt=after, seq__lte=until).order_by("seq")[:BATCH_SIZE])
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def tree_append(link: Any, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add the just-appended `link` to the tree, catching up on older links first.

    Called by `append_link` inside its transaction, under the head lock. A tree
    larger than the chain means links were cut off behind the head's back; the
    tree is then left as it is, for `verify_chain` to report, rather than
    refusing every write.
    """
    size = tree_size(using)
    if size == link.seq - 1:
        _extend(size, [link], using)
    elif size < link.seq - 1:
        _extend(size, [*_links_after(size, link.seq - 1, using), link], using)
    else:
        logger.error("The evidence tree has %d leaves but link %d was just appended: links were cut.", size, link.seq)


def tree_sync(*, using: str = DEFAULT_DB_ALIAS, progress: Callable[[int], None] | None = None) -> int:
    """Append the links the tree lacks (installs whose chain predates the tree).

    Takes the head lock for the whole catch-up, so no link is appended
    meanwhile. Returns how many leaves were added.
    """
    added = 0
    with transaction.atomic(using=using):
        head = ChainHead.objects.using(using).select_for_update().filter(pk=HEAD_ID).first()
        until = head.seq if head is not None else 0
        size = tree_size(using)
        while size < until:
            batch = list(_links_after(size, min(size + BATCH_SIZE * 10, until), using))
            if not batch:
                break
            added += _extend(size, batch, using)
            size += len(batch)
            if progress is not None:
                progress(size)
    return added


def inclusion_proof(seq: int, size: int, using: str = DEFAULT_DB_ALIAS) -> list[bytes]:
    """The audit path of link `seq` in the tree of the first `size` links."""
    return tlog.inclusion_proof(seq - 1, size, node_getter(using))


def consistency_proof(size1: int, size2: int, using: str = DEFAULT_DB_ALIAS) -> list[bytes]:
    return tlog.consistency_proof(size1, size2, node_getter(using))
