"""What `manage.py verify_chain` prints for an intact chain, computed independently of it."""

import base64

from evidence import tlog
from evidence.models import ChainHead, ChainLink
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
