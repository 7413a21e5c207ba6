"""/contribute/ from stored crawls: the weakest ranges in order (a gap before a single point of failure), the exact
run_server command for the worst one (safe to paste whatever the swarm wrote), and the contributors' board's
block-hours over 7 and 30 days from known sessions."""

import html
import re
import shlex
from datetime import datetime, timedelta, timezone

import pytest

from explorer.crawls.ingest import store_crawl
from explorer.models import Model, Peer, Server, ServerSession
from explorer.views.contribute import command_peers
from explorer.views.contributors import board
from swarm.gaps import REPOSITORY_PLACEHOLDER, BlockRange, model_needs, run_server_command, weakest_ranges
from swarm.records import is_valid_dht_prefix
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

AT = 1_790_000_000.0
SWARM = "/ip4/127.0.0.1/tcp/1/p2p/" + PEERS[0]  # tests.support.snapshots' initial peer


def commands(content: bytes) -> dict[str, list[str]]:
    """dht_prefix -> the argv of the command printed for it (the <pre> as a visitor copies it)."""
    found = re.findall(r'<pre class="message command" data-command="([^"]*)">(.*?)</pre>', content.decode(), re.S)
    return {html.unescape(prefix): shlex.split(html.unescape(line)) for prefix, line in found}


def block_indices(argv: list[str]) -> range:
    start, end = argv[argv.index("--block_indices") + 1].split(":")
    return range(int(start), int(end))


def test_runs_of_equal_replication_lowest_first_and_wider_first():
    assert weakest_ranges([1, 1, 0, 2, 2, 0, 0, 1]) == [
        BlockRange(5, 7, 0), BlockRange(2, 3, 0), BlockRange(0, 2, 1), BlockRange(7, 8, 1), BlockRange(3, 5, 2)]


def test_the_gap_comes_first_and_its_command_covers_it(client):
    gappy = model([server(0, 0, 3)], prefix="gappy")  # blocks 3..5 on no server: broken
    fragile = model([server(1, 0, 2), server(2, 0, 4)], num_blocks=4, prefix="fragile")  # 2:4 on one server
    sound = model([server(1, 0, 4), server(2, 0, 4)], num_blocks=4, prefix="sound")
    store_crawl(snapshot(AT, [sound, fragile, gappy]))

    content = client.get("/contribute/").content
    order = re.findall(r'<section class="need" data-need="([^"]*)">', content.decode())
    assert order == ["gappy", "fragile", "sound"]
    printed = commands(content)
    gap = printed["gappy"]
    assert gap[:4] == ["python", "-m", "petals.cli.run_server", REPOSITORY_PLACEHOLDER]  # no repository in the swarm
    assert set(range(3, 6)) <= set(block_indices(gap))
    assert gap[gap.index("--dht_prefix") + 1] == "gappy"  # a local model: the prefix is passed
    assert gap[gap.index("--initial_peers") + 1:] == [SWARM]  # the peers the crawl joined through
    assert block_indices(printed["fragile"]) == range(2, 4)
    assert re.search(rb'data-range="3:6" data-replication="0">.*?gap', content, re.S)
    assert re.search(rb'data-range="0:3" data-replication="1">.*?single point of failure', content, re.S)


def test_a_gap_wider_or_on_a_more_used_model_comes_first():
    one = model([server(0, 0, 5)], prefix="one-missing")
    three = model([server(0, 0, 3)], prefix="three-missing")
    busy = model([server(0, 0, 5), server(1, 0, 5)], prefix="busy-one-missing")
    assert [need.report.dht_prefix for need in model_needs([one, busy, three])] == [
        "three-missing", "busy-one-missing", "one-missing"]


def test_dht_prefix_only_when_petals_would_not_derive_it_and_no_peers_for_the_public_swarm(settings):
    gap = BlockRange(3, 6, 0)
    repository = "https://huggingface.co/meta-llama/Llama-2-70b-chat-hf"
    derived = run_server_command("Llama-2-70b-chat-hf", repository, gap, [SWARM])
    assert derived.argv[3] == "meta-llama/Llama-2-70b-chat-hf" and "--dht_prefix" not in derived.argv
    hub = "https://huggingface.co/"
    assert "--dht_prefix" not in run_server_command("bigscience/bloom-petals", hub + "bigscience/bloom", gap, None).argv
    assert "--dht_prefix" not in run_server_command("falcon-180B-chat", hub + "tiiuae/falcon-180B-chat", gap, None).argv
    other = run_server_command("my-swarm", repository, gap, [SWARM])
    assert other.argv[other.argv.index("--dht_prefix") + 1] == "my-swarm"

    from explorer.crawls.crawling import initial_peers

    settings.SWARM_INITIAL_PEERS = []  # the explorer watches the public swarm
    assert command_peers(tuple(initial_peers())) is None
    assert "--initial_peers" not in run_server_command("x", None, gap, None).argv
    settings.SWARM_INITIAL_PEERS = [SWARM]
    assert command_peers((SWARM,)) == (SWARM,)


def test_hostile_names_are_escaped_and_the_command_is_quoted(client):
    prefix = "x';touch${IFS}/tmp/pwned;#<b>bold</b>"
    assert is_valid_dht_prefix(prefix) and is_valid_dht_prefix("--new_swarm")  # what a crawl accepts
    hostile = model([server(0, 0, 3, name="<script>alert(1)</script>")], prefix=prefix).model_copy(
        update={"repository": "https://huggingface.co/evil/$(reboot)<i>"})
    dash = model([server(1, 0, 2)], num_blocks=4, prefix="--new_swarm")
    store_crawl(snapshot(AT, [hostile, dash]))
    content = client.get("/contribute/").content
    assert b"<b>bold" not in content and b"<i>" not in content and b"<script>alert" not in content
    assert b"evil/$(reboot)&lt;i&gt;" in content  # the repository is shown as text, never put in the command
    printed = commands(content)
    argv = printed[prefix]
    assert argv[3] == REPOSITORY_PLACEHOLDER and argv[argv.index("--dht_prefix") + 1] == prefix  # one argument
    assert "--dht_prefix=--new_swarm" in printed["--new_swarm"]  # never read as petals' own --new_swarm option


def _server(name: str, peer_index: int, prefix: str, blocks: int, at: datetime) -> Server:
    peer, _ = Peer.objects.get_or_create(peer_id=f"QmPeer{peer_index}",
                                         defaults={"public_name": name, "first_seen": at})
    model_row, _ = Model.objects.get_or_create(dht_prefix=prefix, defaults={
        "num_blocks": 8, "first_seen": at, "last_seen": at})
    return Server.objects.create(peer=peer, model=model_row, state="online", state_since=at, start_block=0,
                                 end_block=blocks, first_seen=at)


def _known_sessions(now: datetime) -> None:
    day, hour = timedelta(days=1), timedelta(hours=1)
    alice, alice_too = _server("alice", 1, "m1", 4, now), _server("alice", 1, "m2", 2, now)
    bob, carol = _server("bob", 2, "m1", 6, now), _server("", 3, "m1", 3, now)
    dave, old = _server("", 4, "m2", 1, now), _server("ancient", 5, "m2", 8, now)
    ServerSession.objects.bulk_create([
        ServerSession(server=alice, started_at=now - 10 * day, ended_at=now - 2 * day),  # straddles the 7-day edge
        ServerSession(server=alice_too, started_at=now - hour, ended_at=None),  # open: counts up to now
        ServerSession(server=bob, started_at=now - 40 * day, ended_at=now - 20 * day),  # straddles the 30-day edge
        ServerSession(server=carol, started_at=now - 3 * hour, ended_at=now - hour),
        ServerSession(server=dave, started_at=now - 5 * day, ended_at=None),
        ServerSession(server=old, started_at=now - 50 * day, ended_at=now - 31 * day),  # before both windows
    ])


def test_block_hours_over_7_and_30_days_clip_sessions_at_the_window():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    _known_sessions(now)
    week, month = board(7, now), board(30, now)
    assert [(entry.name, round(entry.block_hours, 6), entry.servers) for entry in week.top] == [
        ("alice", 5 * 24 * 4 + 2, 2)]
    assert [(entry.name, round(entry.block_hours, 6)) for entry in month.top] == [
        ("bob", 10 * 24 * 6), ("alice", 8 * 24 * 4 + 2)]
    assert round(week.anonymous.block_hours, 6) == round(month.anonymous.block_hours, 6) == 2 * 3 + 5 * 24
    assert week.anonymous.servers == 2 and week.anonymous.name == ""


def test_the_board_lists_names_escaped_and_never_anonymous_peer_ids(client):
    now = datetime.now(timezone.utc)
    _known_sessions(now)
    Peer.objects.filter(peer_id="QmPeer2").update(public_name="<img src=x onerror=alert(1)>" + "b" * 100)
    content = client.get("/contribute/").content
    assert b"No crawl yet" in content  # the board needs no crawl
    assert b"<img src=x" not in content and b"&lt;img src=x onerror=alert(1)&gt;bbb" in content
    assert b"b" * 60 not in content  # capped
    assert b"QmPeer3" not in content and b"QmPeer4" not in content
    month = re.search(rb'data-board-days="30">(.*?)</table>', content, re.S).group(1)
    assert re.search(rb"<em>anonymous</em></td><td data-block-hours=\"126\.00\"", month)
    alice = float(re.search(rb'alice</td><td data-block-hours="([0-9.]+)"', month).group(1))
    assert alice == pytest.approx(8 * 24 * 4 + 2, abs=0.01)


def test_every_page_links_here_and_the_overview_asks_for_gpus(client):
    store_crawl(snapshot(AT, [model([server(0, 0, 6)])]))
    overview = client.get("/").content.decode()
    assert 'Not enough servers? <a href="/contribute/">Connect your GPU</a>' in overview
    assert '<a href="/contribute/">Contribute</a>' in overview
    assert '<a href="/contribute/" aria-current="page">Contribute</a>' in client.get("/contribute/").content.decode()
