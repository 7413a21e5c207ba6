"""Page numbers in query strings (?page=, ?sessions_page=, ...): read strictly, one page of a list cut out, and the
links to the pages around it.

The rule for every query parameter of the pages' tables: an empty value is the same as none, and any other value
that the parameter does not accept (a page that is not a whole number from 1 to the last page, an unknown state or
sort, a filter longer than its cap) is answered with HTTP 400 and a message naming the parameter (BadQuery)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from django.http import HttpResponseBadRequest, QueryDict

from explorer import display

PAGE_DIGITS = 6  # a page number longer than this is no page of ours


class BadQuery(ValueError):
    """A query parameter with a value it does not accept; str() is the message for the visitor."""


def bad_request(error: BadQuery) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(display.cap(str(error), 300), content_type="text/plain; charset=utf-8")


def page_number(query: Mapping[str, str], name: str) -> int:
    """The page asked for in `name` (1 when it is absent or empty); BadQuery unless it is a whole number >= 1."""
    value = (query.get(name) or "").strip()
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or len(value) > PAGE_DIGITS or int(value) < 1:
        raise BadQuery(f"{name} must be a whole number from 1 (got {display.cap(value, 20)!r})")
    return int(value)


@dataclass(frozen=True)
class Page:
    number: int
    pages: int  # how many pages there are (at least 1, even with no items)
    total: int  # the items on all pages
    first: int  # the position (from 1) of the page's first item; 0 on an empty list
    items: Sequence

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def previous(self) -> Optional[int]:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> Optional[int]:
        return self.number + 1 if self.number < self.pages else None


def page_of(items: Sequence, number: int, size: int, name: str) -> Page:
    """Page `number` (from 1) of `size` items; BadQuery when it is past the last page."""
    pages = max(1, math.ceil(len(items) / size))
    if number > pages:
        raise BadQuery(f"{name} {number} is past the last page ({pages})")
    begin = (number - 1) * size
    shown = items[begin: begin + size]
    return Page(number=number, pages=pages, total=len(items), first=begin + 1 if shown else 0, items=shown)


def page_links(page: Page, query: QueryDict, name: str, anchor: str) -> dict:
    """The links to the previous and next page (None where there is none): the query string with `name` changed
    (the other parameters as they were; page 1 leaves it out), and #anchor."""
    def link(number: Optional[int]) -> Optional[str]:
        if number is None:
            return None
        params = query.copy()
        params.pop(name, None)
        if number > 1:
            params[name] = str(number)
        return f"?{params.urlencode()}#{anchor}"

    return {"previous": link(page.previous), "next": link(page.next)}
