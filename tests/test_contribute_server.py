"""/contribute/ on the real local swarm: a model with a gap and a single point of failure names the gap first, and a
real Petals server started with the printed command closes it (the next crawl sees every block served)."""

import html
import re
import shlex
import sys

import pytest

from explorer.crawls.ingest import store_crawl
from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import get_dht
from swarm.gaps import REPOSITORY_PLACEHOLDER
from swarm.localswarm import processes
from swarm.localswarm.launcher import PROJECT_ROOT, ServerPlan
from swarm.localswarm.tiny_models import TINY_LLAMA, ensure_tiny_model
from tests.support.swarm import UPDATE_PERIOD, extra_servers

PREFIX = "contribute-llama"  # a 6-block model of its own: blocks 0:3 on one server (a single point), 3:6 on none
FRONT = ServerPlan("contribute-front", TINY_LLAMA, PREFIX, 0, 3)
# what the printed command leaves to the volunteer's machine, added here for this one: CPU, float32, a loopback
# address, a fixed throughput (no speed test) and the shared swarm's quick re-announcements
LOCAL_ONLY = ["--device", "cpu", "--torch_dtype", "float32", "--host_maddrs", "/ip4/127.0.0.1/tcp/0",
              "--throughput", "10", "--num_handlers", "2", "--update_period", str(UPDATE_PERIOD)]


def printed_command(client) -> tuple[list[str], list[str]]:
    """The models in the page's order and PREFIX's command, as a visitor copies it."""
    content = client.get("/contribute/").content.decode()
    order = [html.unescape(item) for item in re.findall(r'<section class="need" data-need="([^"]*)">', content)]
    line = re.search(rf'<pre class="message command" data-command="{re.escape(PREFIX)}">(.*?)</pre>', content, re.S)
    return order, shlex.split(html.unescape(line.group(1)))


@pytest.mark.django_db
def test_the_printed_command_starts_a_server_that_closes_the_gap(local_swarm, quiet_swarm, client):
    def crawl():
        return crawl_swarm(get_dht(quiet_swarm), CrawlSettings(initial_peers=tuple(quiet_swarm)))

    with extra_servers(local_swarm, [FRONT]):
        before = crawl()
        assert before.model(PREFIX).replication == (1, 1, 1, 0, 0, 0)
        store_crawl(before)
        order, argv = printed_command(client)
        assert order[0] == PREFIX  # the shared swarm's models are single points of failure: the gap goes first
        assert argv[:4] == ["python", "-m", "petals.cli.run_server", REPOSITORY_PLACEHOLDER]  # a local model
        blocks = argv[argv.index("--block_indices") + 1]
        assert blocks == "3:6" and argv[argv.index("--dht_prefix") + 1] == PREFIX
        assert argv[argv.index("--initial_peers") + 1:] == quiet_swarm

        # the volunteer's part: the model's files (a local copy stands for the repository) on a CPU of this machine
        path = ensure_tiny_model(TINY_LLAMA, local_swarm.home / "models")
        args = [str(path) if part == REPOSITORY_PLACEHOLDER else part for part in argv[3:]]
        started = processes.spawn([sys.executable, "-m", "swarm.localswarm.petals_entry", "server", *args, *LOCAL_ONLY],
                                  local_swarm.home / "logs" / "contribute-volunteer.log", PROJECT_ROOT,
                                  local_swarm._env())
        try:
            def closed():
                report = crawl().model(PREFIX)
                return report is not None and 0 not in report.replication and report

            report = processes.wait_until(closed, timeout=180, interval=1.0, what="the volunteer's server to serve 3:6")
            assert report.replication == (1, 1, 1, 1, 1, 1)
            store_crawl(crawl())
            _, argv = printed_command(client)
            assert argv[argv.index("--block_indices") + 1] != "3:6"  # no gap is named any more
            section = re.search(rf'data-need="{re.escape(PREFIX)}">(.*?)</section>',
                                client.get("/contribute/").content.decode(), re.S).group(1)
            assert 'data-replication="0"' not in section and 'data-range="0:6" data-replication="1"' in section
        finally:
            processes.stop(started["pid"], started["create_time"], graceful_timeout=None)
