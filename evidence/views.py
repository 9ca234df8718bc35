"""The transparency log's public endpoints: no sign-in, cacheable, open to other sites (CORS).

- `/evidence/checkpoint`: the newest signed checkpoint, as a C2SP signed note (text/plain).
- `/evidence/head`: the live head of the chain (the newest link, unsigned) as JSON; the page
  footer and trust.json's `chain_head` show the head sealed into the version shown instead.
- `/evidence/proof/inclusion/<seq>?size=N`: that link's leaf hash, its audit path in
  the tree of the first N links, and the checkpoint signed for N if there is one. The
  leaf itself (the link's fields: kind of record, row id, time, acting user) is shown
  only for records that are public anyway (publications); for any other record the
  public sees the hash alone, and whoever holds the record's link fields (an auditor,
  from the audit log or an evidence bundle) checks it.
- `/evidence/proof/consistency?from=A&to=B`: the proof that the tree of B links
  extends the tree of A links, with both roots and their checkpoints.
- `/evidence/keys`: every signing key ever used, with its validity period.

Hashes are standard base64, as in the checkpoints. Bad input answers 400 with
`{"error": "..."}`.
"""

import base64
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from .canonical import plain, utc_iso
from .models import ChainLink
from .registry import chained_models
from .selectors import chain_head, checkpoint_at_size, checkpoint_latest, signing_keys_public
from .tlog import leaf_hash
from .tlog_store import consistency_proof, inclusion_proof, link_leaf_bytes, link_leaf_fields, tree_root, tree_size

TEXT = "text/plain; charset=utf-8"


class BadInput(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _public(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _json(view: Callable[..., dict[str, Any] | list[Any]]) -> Callable[..., HttpResponse]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            body = view(request, *args, **kwargs)
        except BadInput as exc:
            return _public(JsonResponse({"error": str(exc)}, status=400))
        return _public(JsonResponse(body, safe=False, json_dumps_params={"sort_keys": True}))

    wrapped.__doc__ = view.__doc__
    return require_safe(wrapped)


def _size(request: HttpRequest, name: str, default: int | None = None) -> int:
    text = request.GET.get(name)
    if text is None or text == "":
        if default is None:
            raise BadInput(f"give ?{name}= as a tree size (a whole number)")
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise BadInput(f"{name} must be a whole number, not {text[:40]!r}")
    return int(text)


def _checkpoint_note(size: int) -> str | None:
    checkpoint = checkpoint_at_size(size)
    return checkpoint.note if checkpoint else None


@require_safe
def checkpoint(request: HttpRequest) -> HttpResponse:
    """The newest signed checkpoint."""
    latest = checkpoint_latest()
    if latest is None:
        return _public(HttpResponse("No checkpoint has been signed yet.\n", content_type=TEXT, status=404))
    return _public(HttpResponse(latest.note, content_type=TEXT))


@require_safe
def head(request: HttpRequest) -> HttpResponse:
    """The live head of the chain, unsigned: the newest link, and the newest signed
    checkpoint's tree size. Revalidated on every use (it moves with every change)."""
    current = chain_head()
    latest = checkpoint_latest()
    body = {
        "sequence": current.seq,
        "hash": current.hash,
        "recorded_at": utc_iso(current.recorded_at) if current.recorded_at is not None else None,
        "checkpoint_tree_size": latest.tree_size if latest is not None else None,
        "checkpoint_url": f"{settings.SITE_URL}{reverse('evidence:checkpoint')}",
    }
    response = JsonResponse(body, json_dumps_params={"sort_keys": True})
    patch_cache_control(response, public=True, no_cache=True)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@_json
def inclusion(request: HttpRequest, seq: int) -> dict[str, Any]:
    """An inclusion proof of link `seq`; without ?size= in the newest checkpoint that holds it
    (or the whole tree when none does yet)."""
    stored = tree_size()
    latest = checkpoint_latest()
    default = latest.tree_size if latest is not None and latest.tree_size >= seq else stored
    size = _size(request, "size", default)
    if size > stored:
        raise BadInput(f"size {size} is larger than the log ({stored} links)")
    if not 1 <= seq <= size:
        raise BadInput(f"link {seq} is not in the tree of the first {size} links")
    link = ChainLink.objects.filter(seq=seq).first()
    if link is None:
        raise BadInput(f"link {seq} is missing from the chain")
    leaf = link_leaf_bytes(link)
    chained = chained_models().get(link.model_label)
    public = chained is not None and chained.publishes
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": _b64(leaf_hash(leaf)),
        "leaf": plain(link_leaf_fields(link)) if public else None,
        "leaf_bytes": _b64(leaf) if public else None,
        "audit_path": [_b64(node) for node in inclusion_proof(seq, size)],
        "root_hash": _b64(tree_root(size)),
        "checkpoint": _checkpoint_note(size),
    }


@_json
def consistency(request: HttpRequest) -> dict[str, Any]:
    """A consistency proof from the tree of ?from= links to the tree of ?to= links
    (by default the newest checkpoint's)."""
    stored = tree_size()
    latest = checkpoint_latest()
    first = _size(request, "from")
    second = _size(request, "to", latest.tree_size if latest is not None else stored)
    if second > stored:
        raise BadInput(f"to {second} is larger than the log ({stored} links)")
    if not 1 <= first <= second:
        raise BadInput(f"a consistency proof needs 1 <= from <= to, not from {first} to {second}")
    return {
        "from": first,
        "to": second,
        "proof": [_b64(node) for node in consistency_proof(first, second)],
        "from_root_hash": _b64(tree_root(first)),
        "to_root_hash": _b64(tree_root(second)),
        "from_checkpoint": _checkpoint_note(first),
        "to_checkpoint": _checkpoint_note(second),
    }


@_json
def keys(request: HttpRequest) -> list[dict[str, Any]]:
    """Every checkpoint signing key ever used, with its validity period."""
    return signing_keys_public()
