"""A paginator for admin lists over large tables: it counts at most a bounded
number of rows, so a list's first page costs the same with a thousand rows or
a million, whatever the filter.

Django's admin counts every matching row (and, under a filter, the whole table
again for "N total"). `CappedCountPaginator` counts up to `COUNT_CAP` rows,
``SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)``; past it the list says "more
than N" and offers the pages up to the cap (narrow the filter or search to see
further). Use it with `show_full_result_count = False`.
"""

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator

# Rows counted at most: 200 pages of 50.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        """Matching rows, counted up to one past the cap: one query."""
        object_list: Any = self.object_list
        return int(object_list[: self.cap + 1].count())

    @cached_property
    def count(self) -> int:
        """The number of rows, or `cap` when there are more (then `capped` is true)."""
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """Whether more rows match than were counted."""
        return self._counted > self.cap
