"""Signals compliance sends so that other apps can react without compliance
importing them.

`publication_live(sender=Publication, publication=...)` is sent once per
publication when it goes live, from the go-live task (`compliance.tasks`),
i.e. after the publication is committed and outside any transaction. A
publication superseded before its moment never goes live and is not announced.
"""

from django.dispatch import Signal

publication_live = Signal()
