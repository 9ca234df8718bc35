"""The public site as static files: the live page, its assets, trust.json,
security.txt, the feed, the changelog and the page of each past version.

Every file is the body Django answers for its address: the site is rendered
through Django's own request handling (`django.test.Client`, with the host of
`SITE_URL`), so the middleware, the views and their caches produce the bytes
and nothing is rendered twice in two ways. A static server (the nginx snippet
in `deploy/nginx-static-export.conf`) then serves them with the same content
types.

`export_static_site(target)` writes a complete new version into
`<target>.versions/` and only then points `target` (a symbolic link) at it,
with one `os.replace` of a new link: a reader sees the old site or the new
one, never a half-written directory. Nothing is swapped when any address
fails to render. The newest `keep` versions stay; older ones are removed.
"""

import fcntl
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.test import Client
from django.urls import reverse

from .selectors import as_of_slug, live_publication, publication_changelog

# Versions kept next to the one being served, for a quick look back.
DEFAULT_KEEP = 3
VERSIONS_SUFFIX = ".versions"
BUILD_PREFIX = ".build-"
LOCK_NAME = ".lock"

_ASSET_RE = re.compile(r"""(?:href|src)=["']([^"'#?]+)""")
_CSS_URL_RE = re.compile(r"""url\(\s*["']?([^"')#?]+)""")


class StaticExportError(Exception):
    """The site could not be exported; the served directory is unchanged."""


@dataclass(frozen=True)
class Address:
    """One public address and whether the export may go without it."""

    url: str
    optional: bool = False  # answered 404 (security.txt of a page naming no contact): left out


def site_addresses() -> list[Address]:
    """Every public address the export holds, in the order they are rendered."""
    addresses = [
        Address(reverse("compliance:page")),
        Address(reverse("compliance:changelog")),
        Address(reverse("compliance:trust-json")),
        Address(reverse("compliance:trust-json-well-known")),
        Address(reverse("compliance:trust-schema")),
        Address(reverse("compliance:security-txt"), optional=True),
        Address(reverse("compliance:feed")),
    ]
    if settings.AS_OF_PUBLIC:
        # Each version's own moment, as the changelog links it.
        for entry in publication_changelog():
            moment = as_of_slug(entry.publication.effective_at)
            addresses += [
                Address(reverse("compliance:as_of", args=[moment])),
                Address(reverse("compliance:security-txt-as-of", args=[moment]), optional=True),
                Address(reverse("compliance:trust-json-as-of", args=[moment])),
            ]
    return addresses


def file_path(url: str) -> str:
    """Where an address's body goes, relative to the export: a path ending in
    "/" is the index.html of that directory."""
    path = unquote(urlsplit(url).path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise StaticExportError(f"Refusing to write {url!r} outside the export.")
    return path


def _client() -> Client:
    site = urlsplit(settings.SITE_URL)
    return Client(HTTP_HOST=site.netloc or "localhost", raise_request_exception=True)


def _secure() -> bool:
    return urlsplit(settings.SITE_URL).scheme == "https"


def _static_prefix() -> str | None:
    """The path static files are served under, or None when they live on
    another host (a CDN): then the export needs no copy of them."""
    url = str(settings.STATIC_URL)
    if "://" in url or url.startswith("//"):
        return None
    return url if url.startswith("/") else "/" + url


def _static_bytes(name: str) -> bytes:
    """A static file's bytes, from the collected files or, before
    `collectstatic` (development), from the app and project directories."""
    if staticfiles_storage.exists(name):
        with staticfiles_storage.open(name) as handle:
            return bytes(handle.read())
    found = finders.find(name)
    if not found:
        raise StaticExportError(f"The static file {name!r} the site references is missing: run collectstatic.")
    return Path(str(found)).read_bytes()


def _assets(pages: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    """The static files the HTML pages reference, and what their stylesheets reference."""
    wanted = [url for path, body in pages.items() if path.endswith(".html") for url in _ASSET_RE.findall(body.decode())]
    assets: dict[str, bytes] = {}
    while wanted:
        url = wanted.pop()
        if not url.startswith(prefix):
            continue
        path = file_path(url)
        if path in assets:
            continue
        assets[path] = _static_bytes(unquote(url[len(prefix) :]))
        if path.endswith(".css"):
            css = assets[path].decode("utf-8", "replace")
            wanted += [urljoin(url, ref) for ref in _CSS_URL_RE.findall(css) if not ref.startswith("data:")]
    return assets


def render_site() -> dict[str, bytes]:
    """Each file of the export (relative path: bytes), rendered by the site itself.

    Raises `StaticExportError` before anything is written when nothing is
    published yet or an address does not answer 200.
    """
    if live_publication() is None:
        raise StaticExportError("Nothing has been published yet: there is no page to export.")
    client = _client()
    files: dict[str, bytes] = {}
    for address in site_addresses():
        response = client.get(address.url, secure=_secure())
        if response.status_code == 404 and address.optional:
            continue
        if response.status_code != 200:
            raise StaticExportError(f"{address.url} answered {response.status_code}; nothing was swapped.")
        files[file_path(address.url)] = response.content
    prefix = _static_prefix()
    if prefix is not None:
        files.update(_assets(files, prefix))
    return files


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One export at a time per directory (two workers finishing together)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, body in sorted(files.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        path.chmod(0o644)
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)  # the web server reads it as another user


def versions_dir(target: Path) -> Path:
    return target.parent / f"{target.name}{VERSIONS_SUFFIX}"


def _prune(versions: Path, *, keep: int, current: Path) -> None:
    """Remove all but the newest `keep` versions (never the one served), and
    what an interrupted export left behind."""
    done = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[: max(len(done) - keep, 0)]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in versions.glob(f"{BUILD_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def export_static_site(target: Path, *, keep: int = DEFAULT_KEEP) -> Path:
    """Render the public site and make `target` show it, atomically.

    `target` is a symbolic link this function manages (created if absent);
    returns the directory it now points to. On any failure `target` still
    shows the previous export, untouched.
    """
    target = Path(os.path.abspath(target))
    if target.exists() and not target.is_symlink():
        raise StaticExportError(
            f"{target} is a directory, not a link: move it away; the export replaces a link, "
            "which is what makes the swap atomic."
        )
    if keep < 1:
        raise StaticExportError("At least one version must be kept: the one being served.")
    versions = versions_dir(target)
    versions.mkdir(parents=True, exist_ok=True)
    with _locked(versions / LOCK_NAME):
        files = render_site()
        build = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=versions))
        try:
            _write_tree(build, files)
            # Named by the wall clock, so that names sort by age.
            final = versions / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
            os.rename(build, final)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        link = target.parent / f".{target.name}.{secrets.token_hex(6)}.link"
        os.symlink(os.path.relpath(final, target.parent), link)
        try:
            os.replace(link, target)
        except BaseException:
            link.unlink(missing_ok=True)
            shutil.rmtree(final, ignore_errors=True)
            raise
        _prune(versions, keep=keep, current=final)
    return final
