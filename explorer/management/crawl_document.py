"""What `manage.py crawl --json` prints: the stored crawl's summary, the swarm it crawled, and what it saw (each
model with its health word, blocks and servers: peer id, name, span, state, throughput), for scripts."""

from __future__ import annotations

from typing import Optional

from explorer.crawls.latest import latest
from explorer.models import Crawl
from swarm.snapshot import CrawlSnapshot, ModelReport, ServerRecord


def snapshot_of(crawl: Crawl) -> Optional[CrawlSnapshot]:
    """The snapshot this crawl stored, through the one reader of the latest snapshot (a failed crawl stores none,
    and a newer crawl's replaces it)."""
    key, snapshot = latest()
    return snapshot if key is not None and key[0] == crawl.pk else None


def server_document(server: ServerRecord) -> dict:
    return {"peer_id": server.peer_id, "public_name": server.public_name, "start_block": server.start_block,
            "end_block": server.end_block, "state": server.state.value, "throughput": server.throughput,
            "reachable": server.reachable, "version": server.version}


def model_document(model: ModelReport) -> dict:
    return {"dht_prefix": model.dht_prefix, "repository": model.repository, "health": model.health,
            "num_blocks": model.num_blocks, "blocks_covered": model.blocks_covered,
            "replication": list(model.replication), "replication_min": model.replication_min,
            "servers_online": model.servers_online, "throughput_online": model.throughput_online,
            "servers": [server_document(server) for server in model.servers]}


def crawl_document(crawl: Crawl, swarm: dict) -> dict:
    """The summary keys (id, status, error, started_at, duration_s, models_seen, servers_seen, records_rejected,
    bootstrap_reachable), `swarm` (which swarm and why) and `models` (what the crawl saw; empty when it failed)."""
    snapshot = snapshot_of(crawl) if crawl.status == Crawl.Status.OK else None
    return {
        "id": crawl.pk, "status": crawl.status, "error": crawl.error, "started_at": crawl.started_at.isoformat(),
        "duration_s": crawl.duration_s, "models_seen": crawl.models_seen, "servers_seen": crawl.servers_seen,
        "records_rejected": crawl.records_rejected,
        "bootstrap_reachable": f"{crawl.bootstrap_reachable}/{crawl.bootstrap_total}",
        "swarm": swarm,
        "models": [] if snapshot is None else [model_document(model) for model in snapshot.models],
    }


def models_text(document: dict) -> str:
    """One line per model: its health, blocks covered and servers online."""
    return "\n".join(f"  {model['dht_prefix']}: {model['health']}, {model['blocks_covered']}/{model['num_blocks']} "
                     f"blocks covered, {model['servers_online']} servers online" for model in document["models"])
