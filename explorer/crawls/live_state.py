"""The live view of the swarm that pages keep current: a compact state document (sent on connect and by the polling
endpoint) and the delta between two of them (pushed after each crawl). Pure functions over CrawlSnapshot values."""

from __future__ import annotations

from typing import Optional

from swarm.snapshot import CrawlSnapshot

# fields that matter to a reader; pings and RTTs jitter every crawl and are left out on purpose
SERVER_FIELDS = ("state", "start", "end", "throughput", "cache_tokens_left", "public_name", "using_relay")
MODEL_FIELDS = ("health", "replication", "blocks_covered", "num_blocks", "servers_online", "throughput")


def server_key(dht_prefix: str, peer_id: str) -> str:
    return f"{dht_prefix}/{peer_id}"


def live_state(snapshot: Optional[CrawlSnapshot], crawl_id: Optional[int] = None) -> dict:
    """The full live document; {"models": {}, "servers": {}} when there is no crawl yet."""
    if snapshot is None:
        return {"type": "state", "crawl": None, "models": {}, "servers": {}}
    models = {
        report.dht_prefix: {
            "health": report.health,  # healthy, degraded or broken: the words the pages show
            "replication": list(report.replication),
            "blocks_covered": report.blocks_covered,
            "num_blocks": report.num_blocks,
            "servers_online": report.servers_online,
            "throughput": round(report.throughput_online, 3),
        }
        for report in snapshot.models
    }
    servers = {
        server_key(server.dht_prefix, server.peer_id): {
            "peer_id": server.peer_id,
            "dht_prefix": server.dht_prefix,
            "state": server.state.value,
            "start": server.start_block,
            "end": server.end_block,
            "throughput": round(server.throughput, 3),
            "cache_tokens_left": server.cache_tokens_left,
            "public_name": server.public_name,
            "using_relay": server.using_relay,
        }
        for server in snapshot.servers
    }
    return {
        "type": "state",
        "crawl": {"id": crawl_id, "started_at": snapshot.started_at, "duration_s": round(snapshot.duration_s, 3)},
        "models": models,
        "servers": servers,
    }


def _changed(old: Optional[dict], new: dict, fields: tuple[str, ...]) -> bool:
    return old is None or any(old.get(field) != new.get(field) for field in fields)


def diff_states(old: dict, new: dict, state_changes: list[dict]) -> Optional[dict]:
    """What changed from old to new, or None when nothing a reader would see changed."""
    models = {prefix: model for prefix, model in new["models"].items()
              if _changed(old["models"].get(prefix), model, MODEL_FIELDS)}
    servers = {key: server for key, server in new["servers"].items()
               if _changed(old["servers"].get(key), server, SERVER_FIELDS)}
    removed_models = sorted(set(old["models"]) - set(new["models"]))
    removed_servers = sorted(set(old["servers"]) - set(new["servers"]))
    if not (models or servers or removed_models or removed_servers or state_changes):
        return None
    return {
        "type": "delta",
        "crawl": new["crawl"],
        "models": models,
        "servers": servers,
        "removed_models": removed_models,
        "removed_servers": removed_servers,
        "state_changes": state_changes,
    }
