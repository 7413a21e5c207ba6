"""`manage.py crawl` says which swarm it crawls (--initial-peers, SWARM_INITIAL_PEERS, the local swarm of this
VAR_DIR while it is up, else the public one; `probe` too), and with --json prints what the crawl saw."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from explorer.management.which_swarm import LOCAL, PUBLIC, choose_swarm
from explorer.models import Crawl
from swarm.snapshot import HEALTH_WORDS


def servers_by_name(local_swarm) -> dict[str, dict]:
    return {item["name"]: item for item in local_swarm.read_state()["servers"]}


@pytest.fixture
def beside_the_local_swarm(local_swarm, settings, tmp_path):
    """This VAR_DIR holds the shared local swarm's localswarm.json (its processes alive), as `make demo` leaves it;
    SWARM_INITIAL_PEERS is not set."""
    settings.VAR_DIR = tmp_path
    shutil.copy(local_swarm.state_path, tmp_path / "localswarm.json")
    settings.SWARM_INITIAL_PEERS = None
    return tmp_path / "localswarm.json"


@pytest.mark.django_db
def test_crawl_json_lists_the_models_and_servers_the_crawl_saw(swarm_peers, local_swarm, redis_url):
    out = io.StringIO()
    call_command("crawl", "--json", "--initial-peers", *swarm_peers, stdout=out)
    document = json.loads(out.getvalue())
    crawl = Crawl.objects.get()
    assert document["id"] == crawl.pk and document["status"] == "ok" and document["models_seen"] == crawl.models_seen
    assert document["swarm"]["source"] == "--initial-peers" and document["swarm"]["initial_peers"] == swarm_peers

    models = {model["dht_prefix"]: model for model in document["models"]}
    llama = models["tiny-llama"]
    assert llama["health"] in HEALTH_WORDS and llama["num_blocks"] == 6 and llama["blocks_covered"] == 6
    assert len(llama["replication"]) == 6
    ours = servers_by_name(local_swarm)
    seen = {server["peer_id"]: server for server in llama["servers"]}
    for name in ("llama-front", "llama-back"):
        server = seen[ours[name]["peer_id"]]
        assert server["public_name"] == name and server["state"] == "online" and server["throughput"] == 10.0
        assert (server["start_block"], server["end_block"]) == (ours[name]["start"], ours[name]["end"])


def test_a_crawl_beside_a_running_local_swarm_crawls_it_and_says_so(beside_the_local_swarm, swarm_peers, redis_url,
                                                                     transactional_db):
    out = io.StringIO()
    call_command("crawl", stdout=out)
    first_line = out.getvalue().splitlines()[0]
    assert first_line == f"crawling the local swarm ({beside_the_local_swarm}): {' '.join(swarm_peers)}"
    assert Crawl.objects.get().status == "ok"  # not the public swarm: the local one answered

    out = io.StringIO()
    call_command("crawl", "--json", stdout=out)
    swarm = json.loads(out.getvalue())["swarm"]
    assert swarm["source"] == LOCAL and swarm["state_file"] == str(beside_the_local_swarm)
    assert swarm["initial_peers"] == swarm_peers and swarm["description"].startswith("crawling the local swarm (")


def test_probe_beside_a_running_local_swarm_says_it_probes_it(beside_the_local_swarm, swarm_peers, db):
    out = io.StringIO()
    with pytest.raises(CommandError, match="no served model is known yet"):
        call_command("probe", "--server", "not-a-peer", stdout=out)
    assert out.getvalue().splitlines()[0] == \
        f"probing the local swarm ({beside_the_local_swarm}): {' '.join(swarm_peers)}"


def test_the_crawl_says_which_peers_it_was_told(settings, swarm_peers, redis_url, transactional_db, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SWARM_INITIAL_PEERS = list(swarm_peers)
    out = io.StringIO()
    call_command("crawl", stdout=out)
    assert out.getvalue().splitlines()[0] == f"crawling SWARM_INITIAL_PEERS: {' '.join(swarm_peers)}"


def test_without_a_local_swarm_or_peers_the_public_swarm_is_named(settings, tmp_path):
    import swarm.compat  # noqa: F401  (before petals)
    from petals.constants import PUBLIC_INITIAL_PEERS

    settings.VAR_DIR = tmp_path
    settings.SWARM_INITIAL_PEERS = None
    choice = choose_swarm()
    assert choice.source == PUBLIC and list(choice.initial_peers) == list(PUBLIC_INITIAL_PEERS)
    assert choice.sentence().startswith("crawling the public swarm: /")
    # a localswarm.json whose processes are gone is not a running local swarm
    (tmp_path / "localswarm.json").write_text(json.dumps({
        "initial_peers": ["/ip4/127.0.0.1/tcp/9/p2p/QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ"],
        "dht": {"pid": 2 ** 22 + 1, "create_time": 1.0}, "models": [], "servers": []}))
    assert choose_swarm().source == PUBLIC
    assert choose_swarm(["/ip4/127.0.0.1/tcp/1/p2p/x"]).source == "--initial-peers"
