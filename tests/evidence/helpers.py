"""Helpers of the evidence tests: what `verify_chain` prints for an intact chain, computed
independently of it, and ways around the append-only guards."""

import base64
from contextlib import contextmanager

from django.db import connection, transaction

from evidence import tlog
from evidence.models import ChainHead, ChainLink, TreeNode
from evidence.tlog_store import link_leaf_hash


def links_root() -> bytes:
    """The Merkle tree root over every link, recomputed in memory."""
    return tlog.root_of_leaves([link_leaf_hash(link) for link in ChainLink.objects.order_by("seq")])


def verify_ok_output(checkpoints: int = 0) -> str:
    head = ChainHead.objects.get()
    return (
        f"Chain OK: {head.seq} links, head {head.seq}:{head.hash}\n"
        f"Log OK: tree root {base64.b64encode(links_root()).decode()}, {checkpoints} signed checkpoints verified\n"
    )


@contextmanager
def unguarded():
    """A transaction with the triggers off (PostgreSQL), as an install from before the tree
    would look or as the database superuser could do. Only tests marked `db_owner` run as
    a role allowed to; the application's role is refused."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield


def cut_tree(size: int) -> None:
    """Forget the stored tree beyond its first `size` leaves."""
    with unguarded():
        for level in range(64):
            TreeNode.objects.filter(level=level, index__gte=size >> level).delete()
