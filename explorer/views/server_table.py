"""The model page's server table, one page of it at a time: what a visitor asked for (?page=, ?state=, ?name=,
?version=, ?sort=; read by the rule in explorer.views.paging), the servers of that page, and the table as HTML.
The first page with no filter is rendered once per crawl (explorer.views.model_page); any other is rendered per
request, which costs one page of rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Mapping
from urllib.parse import urlencode

from django.template.loader import render_to_string

from explorer.views.names import public_names
from explorer.views.paging import BadQuery, Page, page_number, page_of
from swarm.snapshot import BEST_FIRST, ModelReport, ServerRecord, ServerState

PAGE_SIZE = 50
NAME_MAX = 64  # characters of a name filter
VERSION_MAX = 64
VERSIONS_LISTED = 30  # the most common versions offered in the form
STATES = tuple(state.value for state in ServerState)
STATE_ORDER = {state.value: rank for rank, state in enumerate(BEST_FIRST)}
ANCHOR = "servers"


def _span(server: ServerRecord) -> tuple:
    return server.start_block, server.end_block, server.peer_id


def _name(server: ServerRecord) -> str:
    return (server.public_name or server.peer_id).casefold()


SORTS = {  # the value of ?sort= -> (label, key)
    "span": ("span", _span),
    "throughput": ("throughput, highest first", lambda server: (-(server.throughput or 0.0), _span(server))),
    "state": ("state, online first", lambda server: (STATE_ORDER.get(server.state.value, 9), _span(server))),
    "name": ("name", lambda server: (_name(server), server.peer_id)),
}
DEFAULT_SORT = "span"


@dataclass(frozen=True)
class TableQuery:
    page: int = 1
    state: str = ""
    name: str = ""
    version: str = ""
    sort: str = DEFAULT_SORT

    @property
    def is_default(self) -> bool:
        return self == TableQuery()

    @property
    def filtered(self) -> bool:
        return bool(self.state or self.name or self.version)

    def link(self, **changes) -> str:
        """This query with `changes` as a relative link to the table (only what differs from the defaults)."""
        values = asdict(replace(self, **changes))
        params = {key: value for key, value in values.items() if value != getattr(TableQuery, key)}
        return f"?{urlencode(params)}#{ANCHOR}"


def _text(query: Mapping[str, str], name: str, limit: int) -> str:
    value = (query.get(name) or "").strip()
    if len(value) > limit:
        raise BadQuery(f"{name} may be at most {limit} characters")
    return value


def table_query(query: Mapping[str, str]) -> TableQuery:
    """The table's query from GET parameters; BadQuery on a value the table does not accept."""
    state = _text(query, "state", 16)
    if state and state not in STATES:
        raise BadQuery(f"state must be one of {', '.join(STATES)}")
    sort = _text(query, "sort", 16) or DEFAULT_SORT
    if sort not in SORTS:
        raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
    return TableQuery(page=page_number(query, "page"), state=state, name=_text(query, "name", NAME_MAX),
                      version=_text(query, "version", VERSION_MAX), sort=sort)


def matching(servers, query: TableQuery) -> list[ServerRecord]:
    """The servers the query's filters keep, in its order."""
    needle = query.name.casefold()
    kept = [server for server in servers
            if (not query.state or server.state.value == query.state)
            and (not query.version or (server.version or "") == query.version)
            and (not needle or needle in (server.public_name or "").casefold() or needle in server.peer_id.casefold())]
    return sorted(kept, key=SORTS[query.sort][1])


def versions(report: ModelReport) -> list[str]:
    """The versions the model's servers run, most common first (those a filter can name)."""
    counts = Counter(server.version for server in report.servers
                     if server.version and len(server.version) <= VERSION_MAX)
    return [version for version, _ in counts.most_common(VERSIONS_LISTED)]


def table_page(report: ModelReport, query: TableQuery) -> Page:
    return page_of(matching(report.servers, query), query.page, PAGE_SIZE, "page")


def render_table(report: ModelReport, pings_to: dict, offered_versions: list[str], query: TableQuery,
                 page: Page) -> str:
    """The table's section: its form, one page of rows and the links to the pages around it."""
    context = {
        "report": report, "pings_to": pings_to, "query": query, "page": page, "versions": offered_versions,
        "states": STATES, "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "previous_link": query.link(page=page.previous) if page.previous else None,
        "next_link": query.link(page=page.next) if page.next else None,
        "reset_link": TableQuery().link(), "name_max": NAME_MAX,
        "names": public_names(report.servers),  # pings come from the model's other servers: their names, no query
    }
    return render_to_string("explorer/partials/server_table.html", context)
