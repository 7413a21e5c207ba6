"""The /api/v1/state document, shaped like the public Petals health monitor's, built from a stored CrawlSnapshot.

Programs written against the public monitor (filter model_reports by state == "healthy", read server_rows) work
unchanged. Each row's peer_ip_info keeps the public monitor's shape ({"location": {...ip-api.com's field names},
"multiaddrs": [...]}, or "unknown" for a peer we know no address of), filled only with what we publish: the coarse
location from our offline database (explorer.locations); the IP ("query") and the multiaddrs only when
PUBLISH_PEER_ADDRESSES is on ("multiaddrs" is then filled, else an empty list); never ISP or AS. Non-finite numbers
are written as null.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Mapping, Optional
from urllib.parse import urlparse

from swarm.addresses import PRIVATE, RELAYED, UNKNOWN, locatable_ip
from swarm.snapshot import CrawlSnapshot, ModelReport, ServerRecord, ServerState

SHOW_PUBLIC_NAME_MIN_BLOCKS = 10  # the public monitor shows a public name only for online spans this long
SERVER_INFO_FIELDS = (
    "throughput", "public_name", "version", "network_rps", "forward_rps", "inference_rps", "adapters",
    "torch_dtype", "quant_type", "using_relay", "cache_tokens_left", "next_pings",
)


def finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def model_name(report: ModelReport) -> str:
    if report.repository:
        path = urlparse(report.repository).path.lstrip("/")
        if path:
            return path
    return report.dht_prefix


def row_state(server: ServerRecord) -> str:
    return server.state.value  # online / joining / offline / unreachable


def server_info(server: ServerRecord) -> dict:
    info = {"state": server.announced_state.value, "throughput": server.throughput,
            "start_block": server.start_block, "end_block": server.end_block}
    info.update({field: getattr(server, field) for field in SERVER_INFO_FIELDS if field != "throughput"})
    info["adapters"] = list(server.adapters)
    return info


NOT_LOCATED = {PRIVATE: "private range", RELAYED: "relayed: the address is the relay's", UNKNOWN: "no address known"}


def peer_ip_info(server: ServerRecord, location: Any, publish_addresses: bool = False) -> Any:
    """The public monitor's peer_ip_info, with what we publish: `location` is explorer.locations.PublicLocation."""
    if location is None or (location.reach == UNKNOWN and not (publish_addresses and server.addresses)):
        return "unknown"
    if location.located or location.country_code:
        place = {"status": "success", "continent": location.continent, "continentCode": location.continent_code,
                 "country": location.country, "countryCode": location.country_code, "city": location.city,
                 "lat": location.latitude, "lon": location.longitude}
    else:
        place = {"status": "fail", "message": NOT_LOCATED.get(location.reach, "not in the geolocation database")}
    place["reach"] = location.reach
    query = locatable_ip(server.addresses) if publish_addresses else None
    if query:
        place["query"] = query
    return {"location": place, "multiaddrs": list(server.addresses) if publish_addresses else []}


def server_row(server: ServerRecord, pings_to_me: dict[str, Optional[float]], location: Any = None,
               publish_addresses: bool = False) -> dict:
    length = server.end_block - server.start_block
    row = {
        "short_peer_id": "..." + server.peer_id[-6:],
        "peer_id": server.peer_id,
        "peer_ip_info": peer_ip_info(server, location, publish_addresses),
        "show_public_name": server.state == ServerState.ONLINE and length >= SHOW_PUBLIC_NAME_MIN_BLOCKS,
        "state": row_state(server),
        "span": {"peer_id": server.peer_id, "start": server.start_block, "end": server.end_block,
                 "server_info": server_info(server)},
        "adapters": [{"name": name, "short_name": name.rsplit("/", 1)[-1]} for name in server.adapters],
        "pings_to_me": pings_to_me,
    }
    if server.cache_tokens_left is not None:
        row["cache_tokens_left_per_block"] = server.cache_tokens_left // max(1, length * 2)
    return row


def model_report(report: ModelReport, official: bool, locations: Mapping[str, Any] = {},
                 publish_addresses: bool = False) -> dict:
    rows = []
    for server in sorted(report.servers, key=lambda item: item.peer_id):
        pings = {other.peer_id: other.next_pings[server.peer_id]
                 for other in report.servers if server.peer_id in other.next_pings}
        rows.append(server_row(server, pings, locations.get(server.peer_id), publish_addresses))
    name = model_name(report)
    return {
        "name": name,
        "short_name": name.rsplit("/", 1)[-1],
        "state": "healthy" if report.healthy else "broken",
        "server_rows": rows,
        "num_blocks": report.num_blocks,
        "repository": report.repository,
        "dht_prefix": report.dht_prefix,
        "official": official,
        "limited": False,
    }


def top_contributors(reports: list[dict]) -> dict[str, int]:
    counts: Counter = Counter()
    for report in reports:
        for row in report["server_rows"]:
            name = row["span"]["server_info"]["public_name"]
            if name and row["show_public_name"]:
                counts[name] += row["span"]["end"] - row["span"]["start"]
    return dict(counts.most_common())


def state_document(snapshot: Optional[CrawlSnapshot], update_period: float, official_prefixes=(),
                   locations: Mapping[str, Any] = {}, publish_addresses: bool = False) -> dict:
    """`locations`: peer_id -> explorer.locations.PublicLocation; `publish_addresses`: PUBLISH_PEER_ADDRESSES."""
    if snapshot is None:
        return {"bootstrap_states": [], "top_contributors": {}, "model_reports": [], "reachability_issues": [],
                "last_updated": None, "update_period": update_period, "update_duration": None}
    reports = [model_report(report, report.dht_prefix in official_prefixes, locations, publish_addresses)
               for report in snapshot.models]
    issues = [{"peer_id": peer.peer_id or peer.maddr, "err": peer.error or "no answer"}
              for peer in snapshot.bootstrap if not peer.reachable]
    issues += [{"peer_id": server.peer_id, "err": server.reachability_error or "no answer"}
               for server in snapshot.servers if server.reachable is False]
    return finite({
        "bootstrap_states": ["online" if peer.reachable else "unreachable" for peer in snapshot.bootstrap],
        "top_contributors": top_contributors(reports),
        "model_reports": reports,
        "reachability_issues": sorted(issues, key=lambda issue: issue["peer_id"]),
        "last_updated": snapshot.started_at,
        "update_period": update_period,
        "update_duration": snapshot.duration_s,
    })
