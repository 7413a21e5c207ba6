"""Limit/offset pagination for /api/v2 with bounds: a page holds at most 1000 items, and an offset past what any
database can count is clamped (it yields an empty page) instead of reaching SQL as an out-of-range integer."""

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)
