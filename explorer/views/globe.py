"""The overview's globe (pure): a Plotly scattergeo figure of where the latest crawl's servers are, one point per
located peer coloured by state and sized by throughput, the fastest next_pings between located peers as arcs, and
a count of the peers that have no place on the map. The page draws it with static/explorer/globe.js."""

from __future__ import annotations

import html
import math
from collections import Counter
from typing import Mapping, Optional

from explorer import display
from explorer.locations import PublicLocation
from swarm.snapshot import BEST_FIRST, CrawlSnapshot, ServerRecord, ServerState, best_state

MAX_POINTS = 300  # peers drawn, the highest throughput first; the rest are counted below the globe
MAX_ARCS = 60  # next_pings drawn: the fastest pairs between drawn peers
MIN_SIZE, MAX_SIZE = 6, 22  # marker diameter in px, by throughput relative to the swarm's largest
NAME_CAP, LABEL_CAP, MODELS_SHOWN = 32, 48, 3
STATE_COLOURS = {  # static/explorer/site.css's --online, --joining, --unreachable, --offline
    ServerState.ONLINE: "#16a34a", ServerState.JOINING: "#facc15",
    ServerState.UNREACHABLE: "#f97316", ServerState.OFFLINE: "#9ca3af",
}
ARC_COLOUR = "rgba(37, 99, 235, 0.45)"
PROJECTIONS = ("orthographic", "natural earth")  # the globe, and the flat map its button switches to
UNPLACED_WORDS = {"private": "on a private network", "relayed": "relayed", "unknown": "with no known address",
                  "direct": "not found in the database"}


def _size(throughput: float, largest: float) -> float:
    if largest <= 0 or not math.isfinite(throughput) or throughput <= 0:
        return MIN_SIZE
    return round(MIN_SIZE + (MAX_SIZE - MIN_SIZE) * math.sqrt(min(throughput / largest, 1.0)), 1)


def _hover(records: list[ServerRecord], state: ServerState, location: PublicLocation) -> str:
    """The point's hover text as lines joined by newlines (globe.js turns them into Plotly's line breaks: a tag here
    would cost six bytes per angle bracket in the page's JSON), every string from the swarm escaped and capped
    (Plotly reads a few HTML tags in hover text; escaped, a name shows as the text it is)."""
    first = records[0]
    name = display.cap(first.public_name, NAME_CAP) if first.public_name else display.short_peer_id(first.peer_id)
    lines = [html.escape(name), html.escape(display.cap(location.label, LABEL_CAP)), state.value]
    for record in sorted(records, key=lambda record: record.dht_prefix)[:MODELS_SHOWN]:
        lines.append(html.escape(f"{display.cap(record.dht_prefix, NAME_CAP)}: blocks "
                                 f"{record.start_block}:{record.end_block}"))
    if len(records) > MODELS_SHOWN:
        lines.append(f"and {len(records) - MODELS_SHOWN} more models")
    return "\n".join(line.replace("\n", " ") for line in lines)


def unplaced_note(counts: Mapping[str, int], beyond: int = 0) -> str:
    """"2 on a private network, 1 relayed: not on the map.", or "" when every peer is on it."""
    parts = [f"{count} {UNPLACED_WORDS.get(reach, reach)}" for reach, count in sorted(counts.items()) if count]
    if beyond:
        parts.append(f"{beyond} more beyond the {MAX_POINTS} largest")
    return ", ".join(parts) + ": not on the map." if parts else ""


def _arcs(peers: dict[str, list[ServerRecord]], places: dict[str, PublicLocation]) -> dict:
    """One lines trace of the fastest next_pings between drawn peers (each pair once, the faster direction's rtt)."""
    rtts: dict[tuple[str, str], float] = {}
    for peer_id, records in peers.items():
        for record in records:
            for target, rtt in record.next_pings.items():
                if target == peer_id or target not in places or rtt is None or not math.isfinite(rtt) or rtt < 0:
                    continue
                pair = tuple(sorted((peer_id, target)))
                rtts[pair] = min(rtt, rtts.get(pair, math.inf))
    lat, lon = [], []
    for (one, other), _ in sorted(rtts.items(), key=lambda item: (item[1], item[0]))[:MAX_ARCS]:
        lat += [places[one].latitude, places[other].latitude, None]
        lon += [places[one].longitude, places[other].longitude, None]
    return {"type": "scattergeo", "mode": "lines", "name": f"next pings ({len(lat) // 3})", "lat": lat, "lon": lon,
            "line": {"width": 1, "color": ARC_COLOUR}, "hoverinfo": "skip", "showlegend": bool(lat)}


def globe_figure(snapshot: CrawlSnapshot, locations: Mapping[str, PublicLocation],
                 outlines: bool = True) -> dict:
    """{"data", "layout", "unplaced", "points", "crawl"}: the figure for Plotly, the note about peers not on the map,
    the number of peers drawn and the crawl's start (unix seconds: globe.js tells a page kept from before by it). `locations` is explorer.locations.locations_of(snapshot.servers); `outlines` False
    (the topojson files are not installed) turns the base layers off, so that plotly.js fetches nothing."""
    peers: dict[str, list[ServerRecord]] = {}
    for record in snapshot.servers:
        peers.setdefault(record.peer_id, []).append(record)
    unplaced: Counter = Counter()
    placed: list[tuple[float, str]] = []
    for peer_id in peers:
        location: Optional[PublicLocation] = locations.get(peer_id)
        if location is None or not location.located:
            unplaced[location.reach if location is not None else "unknown"] += 1
        else:
            throughput = sum(record.throughput for record in peers[peer_id] if math.isfinite(record.throughput))
            placed.append((throughput, peer_id))
    placed.sort(key=lambda item: (-item[0], item[1]))
    drawn, beyond = placed[:MAX_POINTS], max(0, len(placed) - MAX_POINTS)
    largest = max((throughput for throughput, _ in drawn), default=0.0)
    places = {peer_id: locations[peer_id] for _, peer_id in drawn}
    traces: dict[ServerState, dict] = {}
    for throughput, peer_id in drawn:
        state = best_state(peers[peer_id])
        trace = traces.setdefault(state, {
            "type": "scattergeo", "mode": "markers", "name": state.value, "lat": [], "lon": [], "text": [],
            "customdata": [], "hovertemplate": "%{text}<extra></extra>", "marker": {
                "color": STATE_COLOURS[state], "size": [], "opacity": 0.85,
                "line": {"width": 0.5, "color": "#ffffff"}}})
        trace["lat"].append(places[peer_id].latitude)
        trace["lon"].append(places[peer_id].longitude)
        trace["text"].append(_hover(peers[peer_id], state, places[peer_id]))
        trace["customdata"].append(peer_id)
        trace["marker"]["size"].append(_size(throughput, largest))
    data = [_arcs({peer_id: peers[peer_id] for peer_id in places}, places)]
    data += [traces[state] for state in BEST_FIRST if state in traces]
    # the globe turned to the largest drawn peer's longitude (the flat map is centred on it too)
    centre = round(places[drawn[0][1]].longitude, 1) if drawn else 0.0
    geo = {"projection": {"type": PROJECTIONS[0], "rotation": {"lon": centre, "lat": 0}},
           "showframe": False, "bgcolor": "rgba(0,0,0,0)", "showland": outlines, "landcolor": "#f3f4f6",
           "showocean": outlines, "oceancolor": "#eff6ff",
           "showcountries": outlines, "countrycolor": "#d1d5db", "showcoastlines": outlines,
           "coastlinecolor": "#9ca3af", "showlakes": False, "showrivers": False, "showsubunits": False,
           "resolution": 110, "scope": "world"}
    layout = {"autosize": True, "height": 460, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "geo": geo,
              "showlegend": True, "legend": {"orientation": "h", "x": 0, "y": 0, "yanchor": "top"},
              "dragmode": "pan", "paper_bgcolor": "rgba(0,0,0,0)"}
    return {"data": data, "layout": layout, "unplaced": unplaced_note(unplaced, beyond), "points": len(drawn),
            "crawl": snapshot.started_at}
