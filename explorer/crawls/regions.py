"""Per model of the latest crawl, where its blocks are served from: a row per region (the continents where any server
of the swarm is located, then "Private network" and "Relayed / unknown" when the model has servers there), computed
once per crawl (explorer.crawls.latest.derived) for the model page and /api/v2's model detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from django.conf import settings

from explorer.crawls.latest import derived
from explorer.locations import CONTINENTS, PublicLocation, locations_of
from swarm.addresses import PRIVATE
from swarm.block_regions import Column, RegionCoverage, Span, columns, region_coverage, span_label
from swarm.snapshot import CrawlSnapshot

PRIVATE_REGION, UNKNOWN_REGION = "private", "relayed_or_unknown"  # /api/v2 never says "unknown" for a value
REGION_NAMES = {**CONTINENTS, PRIVATE_REGION: "Private network", UNKNOWN_REGION: "Relayed / unknown"}
MOST_RANGES_SAID = 6  # a sentence names at most this many ranges of blocks, then how many more
# what explorer.locations' answers (and the credit shown beside them) depend on
LOCATION_SETTINGS = ("GEOIP_DATABASE", "GEOIP_ATTRIBUTION", "PRIVATE_NETWORK_LOCATION")


def location_config() -> tuple:
    """The settings locations depend on, for latest.derived's `config` (a change recomputes what was derived)."""
    return tuple(repr(getattr(settings, name, None)) for name in LOCATION_SETTINGS)


def _locations(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> dict[str, PublicLocation]:
    return locations_of(snapshot.servers) if snapshot is not None else {}


def latest_locations() -> dict[str, PublicLocation]:
    """peer_id -> location of the latest crawl's servers (explorer.locations.locations_of), once per crawl for the
    overview's globe, the regions and /api/v1/state; shared: do not change it."""
    return derived("locations", _locations, location_config())


def region_key(location: PublicLocation) -> str:
    """A continent code when the location has a country, "private" for a private address with no place, else
    "relayed_or_unknown" (relayed: the relay's place is not the server's; or no address known)."""
    if location.country_code and location.continent_code in CONTINENTS:
        return location.continent_code
    return PRIVATE_REGION if location.reach == PRIVATE else UNKNOWN_REGION


@dataclass(frozen=True)
class RegionRow:
    region: str
    name: str
    coverage: RegionCoverage

    @property
    def continent(self) -> bool:
        return self.region in CONTINENTS

    @property
    def sentence(self) -> str:
        """What a reader sees first, for a continent: "No server in Europe holds blocks 40–79." or "Served end to end
        from Europe." (blocks numbered from 0, ranges inclusive)."""
        if self.coverage.end_to_end:
            return f"Served end to end from {self.name}."
        if not self.coverage.serves_any:
            return f"No server in {self.name} holds any of its blocks."
        return f"No server in {self.name} holds {blocks_text(self.coverage.missing)}."


@dataclass(frozen=True)
class ModelRegions:
    num_blocks: int
    rows: tuple[RegionRow, ...]
    columns: tuple[Column, ...]

    @property
    def continent_rows(self) -> tuple[RegionRow, ...]:
        return tuple(row for row in self.rows if row.continent)

    @property
    def runs_differ(self) -> bool:
        """Some column is a run of blocks whose counts differ (its cells show the fewest)."""
        return not all(column.exact for column in self.columns)

    @property
    def cells(self) -> list[tuple[RegionRow, list[tuple[Column, int]]]]:
        """Each row with its (column, count) cells, for the template."""
        return [(row, [(column, column.counts[index]) for column in self.columns])
                for index, row in enumerate(self.rows)]

    def as_json(self) -> list[dict]:
        """/api/v2's `regions`: missing as [start, end) pairs, end exclusive like start_block / end_block."""
        return [{"region": row.region, "name": row.name, "replication": list(row.coverage.replication),
                 "missing": [list(span) for span in row.coverage.missing]} for row in self.rows]


def blocks_text(spans: tuple[Span, ...]) -> str:
    """((40, 80),) -> "blocks 40–79"; ((5, 6),) -> "block 5"; inclusive, at most MOST_RANGES_SAID ranges named."""
    said = [span_label(start, end) for start, end in spans[:MOST_RANGES_SAID]]
    more = len(spans) - MOST_RANGES_SAID
    text = ", ".join(said) + (f" and {more} more range{'s' if more > 1 else ''}" if more > 0 else "")
    return f"block {text}" if len(spans) == 1 and spans[0][1] - spans[0][0] == 1 else f"blocks {text}"


def _swarm_regions(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> tuple[dict[str, str], tuple]:
    """(peer id -> region, the continents where any server of the swarm is, in CONTINENTS' order)."""
    if snapshot is None:
        return {}, ()
    region_of = {peer_id: region_key(location) for peer_id, location in latest_locations().items()}
    present = set(region_of.values())
    return region_of, tuple(code for code in CONTINENTS if code in present)


def _model_regions(dht_prefix: str):
    def build(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> Optional[ModelRegions]:
        report = snapshot.model(dht_prefix) if snapshot else None
        if report is None:
            return None
        region_of, continents = derived("server-regions", _swarm_regions, location_config())
        here = {region_of.get(server.peer_id) for server in report.servers}
        regions = list(continents) + [key for key in (PRIVATE_REGION, UNKNOWN_REGION) if key in here]
        coverage = region_coverage(report, region_of, regions)
        return ModelRegions(report.num_blocks,
                            tuple(RegionRow(row.region, REGION_NAMES[row.region], row) for row in coverage),
                            tuple(columns(coverage, report.num_blocks)))

    return build


def model_regions(dht_prefix: str) -> Optional[ModelRegions]:
    """The latest crawl's regions of this model (None when the crawl did not see it); shared: do not change it."""
    return derived(("model-regions", dht_prefix), _model_regions(dht_prefix), location_config())
