"""The model page's server table a page at a time (the first page in the HTML, ?page=, ?state=, ?name=, ?version=,
?sort=; the first page with no filter kept once per crawl), and the server page's sessions and state changes a page
at a time; a value a parameter does not accept is a 400 that names it."""

import re

import pytest

from explorer.crawls import latest
from explorer.crawls.ingest import store_crawl
from explorer.crawls.regions import location_config
from swarm.localswarm.synthetic import make_swarm
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

AT = 1_790_000_000.0
PATH = "/models/table-0/"
ROW = re.compile(r'<span class="state state-([a-z]+)" data-server-state="table-0/([^"]+)">')


@pytest.fixture
def swarm():
    """The records of a stored 120-server model, by peer id."""
    crawl = make_swarm(120, models=1, prefix="table").snapshot(at=AT)
    store_crawl(crawl)
    return {server.peer_id: server for server in crawl.model("table-0").servers}


def html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def rows(client, query: str) -> list[tuple[str, str]]:
    """(state, peer id) of each row of the table on the page for this query."""
    return ROW.findall(html(client, PATH + query))


def test_the_first_page_is_in_the_html_and_links_to_the_next(client, swarm):
    page = html(client, PATH)
    shown = ROW.findall(page)
    assert len(shown) == 50 and "Servers 1–50 of 120" in page
    assert [peer for _, peer in shown] == [peer for peer, _ in sorted(
        swarm.items(), key=lambda item: (item[1].start_block, item[1].end_block, item[0]))][:50]
    assert 'href="?page=2#servers" rel="next"' in page and 'rel="prev"' not in page
    last = html(client, PATH + "?page=3")
    assert len(ROW.findall(last)) == 20 and "Servers 101–120 of 120" in last
    assert 'href="?#servers" rel="prev"' not in last and 'href="?page=2#servers" rel="prev"' in last
    assert 'rel="next"' not in last
    everyone = {peer for query in ("", "?page=2", "?page=3") for _, peer in rows(client, query)}
    assert everyone == set(swarm)


def test_the_default_first_page_is_the_one_kept_for_the_crawl(client, swarm):
    page = html(client, PATH)

    def must_not_build(*_args):
        raise AssertionError("the sections were built again for the same crawl")

    kept = latest.derived(("model-sections", "table-0"), must_not_build, location_config())
    assert kept["servers"] and kept["servers"] in page
    assert kept["servers"] not in html(client, PATH + "?page=2")
    assert kept["servers"] in html(client, PATH + "?state=&name=&page=")  # empty values are no filter


def test_filters_keep_only_matching_servers(client, swarm):
    offline = {peer for peer, record in swarm.items() if record.state == ServerState.OFFLINE}
    assert offline and {peer for _, peer in rows(client, "?state=offline")} == offline
    named = {peer for peer, record in swarm.items() if record.public_name and "server-1" in record.public_name}
    assert named and {peer for _, peer in rows(client, "?name=SERVER-1")} == named  # case does not matter
    peer = next(iter(swarm))
    assert [found for _, found in rows(client, f"?name={peer[-8:]}")] == [peer]  # peer ids are searched too
    versions = {record.version for record in swarm.values()}
    assert len(versions) > 1
    for version in versions:
        expected = {peer for peer, record in swarm.items() if record.version == version}
        found = {peer for query in ("", "&page=2", "&page=3")[: 1 + (len(expected) - 1) // 50]
                 for _, peer in rows(client, f"?version={version}{query}")}
        assert found == expected
    both = rows(client, "?state=online&version=2.1.0")
    assert both and all(state == "online" and swarm[peer].version == "2.1.0" for state, peer in both)
    page = html(client, PATH + "?state=online&version=2.1.0")
    assert f"of {len([p for p, r in swarm.items() if r.state.value == 'online' and r.version == '2.1.0'])} that match"\
        in page and 'href="?#servers">all servers</a>' in page
    assert "No server matches." in html(client, PATH + "?name=nobody-has-this-name")


def test_sorts(client, swarm):
    by_throughput = [swarm[peer].throughput for _, peer in rows(client, "?sort=throughput")]
    assert by_throughput == sorted((record.throughput for record in swarm.values()), reverse=True)[:50]
    by_name = [(swarm[peer].public_name or peer).casefold() for _, peer in rows(client, "?sort=name")]
    assert by_name == sorted(by_name) and len(by_name) == 50
    by_state = [state for state, _ in rows(client, "?sort=state&page=3")]
    assert by_state[-1] == "offline" and by_state == sorted(by_state, key=["online", "joining", "offline"].index)
    page_two = html(client, PATH + "?sort=throughput&state=online&page=2")
    assert 'href="?state=online&amp;sort=throughput#servers" rel="prev"' in page_two  # the query is kept


@pytest.mark.parametrize("query, message", [
    ("?page=0", "page must be a whole number from 1"),
    ("?page=abc", "page must be a whole number from 1"),
    ("?page=-2", "page must be a whole number from 1"),
    ("?page=%EF%BC%92", "page must be a whole number from 1"),  # a fullwidth digit two
    ("?page=4", "page 4 is past the last page (3)"),
    ("?state=sleepy", "state must be one of offline, joining, online, unreachable"),
    ("?sort=random", "sort must be one of span, throughput, state, name"),
    ("?name=" + "x" * 65, "name may be at most 64 characters"),
    ("?version=" + "9" * 65, "version may be at most 64 characters"),
])
def test_bad_parameters_are_a_400_that_says_why(client, swarm, query, message):
    response = client.get(PATH + query)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(message)


def test_the_form_and_the_names_in_it_are_escaped(client):
    hostile = '"><script>alert(1)</script>'
    store_crawl(snapshot(AT, [model([server(0, 0, 6).model_copy(update={"version": hostile})], prefix="m")]))
    page = html(client, "/models/m/?name=%22%3E%3Cb%3Ex")
    assert "<script>" not in page and "<b>x" not in page and 'value="&quot;&gt;&lt;b&gt;x"' in page


def server_page(client, query: str = "") -> str:
    return html(client, f"/servers/{PEERS[0]}/{query}")


def test_the_server_page_shows_sessions_and_state_changes_a_page_at_a_time(client):
    for index in range(111):  # online, offline, online, ...: 111 state changes (the first from absent), 56 sessions
        state = ServerState.ONLINE if index % 2 == 0 else ServerState.OFFLINE
        store_crawl(snapshot(AT + 30 * index, [model([server(0, 0, 6, state=state)], prefix="m")]))
    first = server_page(client)

    def sessions(page: str) -> int:
        table = page[page.index('id="sessions"'): page.index('id="changes"')]
        return table.count("<tr><td>")

    def changes(page: str) -> int:
        listing = page[page.index('id="changes"'):]
        return listing[: listing.index("</ul>")].count("<li><time>")

    assert sessions(first) == 50 and changes(first) == 100
    assert 'href="?sessions_page=2#sessions" rel="next"' in first
    assert 'href="?changes_page=2#changes" rel="next"' in first
    assert "data-state-changes" in first  # live updates add to the first page
    second = server_page(client, "?sessions_page=2&changes_page=2")
    assert sessions(second) == 6 and changes(second) == 11
    assert 'href="?changes_page=2#sessions" rel="prev"' in second  # the other list stays on its page
    assert 'href="?sessions_page=2#changes" rel="prev"' in second
    assert "data-state-changes" not in second  # ... and not to a later one
    for query, message in (("?sessions_page=3", "sessions_page 3 is past the last page (2)"),
                           ("?changes_page=x", "changes_page must be a whole number from 1 (got 'x')")):
        response = client.get(f"/servers/{PEERS[0]}/{query}")
        assert response.status_code == 400 and response.content.decode() == message
