"""Limit/offset pagination for /api/v2 with bounds: a page holds at most 1000 items (a larger limit is cut to that),
and an offset past what any database can count is clamped (it yields an empty page) instead of reaching SQL as an
out-of-range integer. A limit or offset that is not a whole number, or is below its least value, is a 400 that says
why, as a filter's bad value is ({"limit": ["..."]})."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


def _whole_number(request, name: str, least: int):
    """The query parameter as an int, None when absent; a ValidationError naming it when it is not one >= least."""
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        value = int(text.strip(), 10)
    except ValueError:
        value = None
    if value is None or value < least:
        raise ValidationError({name: [f"must be a whole number, {least} or more (got {text[:40]!r})"]})
    return value


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_limit(self, request):
        limit = _whole_number(request, self.limit_query_param, 1)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request):
        offset = _whole_number(request, self.offset_query_param, 0)
        return 0 if offset is None else min(offset, MAX_OFFSET)
