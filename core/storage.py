"""Private file storage shared by every app that keeps files for people.

Files live under PRIVATE_MEDIA_ROOT, which no URL serves; downloads go through
views that check a secret link or a staff permission. The root is read from
settings at each use, so tests and deployments can move it and it is not frozen
into migrations or module state.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible
class PrivateStorage(FileSystemStorage):
    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL.")


def private_storage() -> PrivateStorage:
    """The storage of every private file field (a callable, so migrations name no instance)."""
    return PrivateStorage()
