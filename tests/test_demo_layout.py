"""`make demo`'s local swarm (swarm.localswarm.launcher.DEMO_PLAN) gives the consistency check something to compare:
two servers on the same span of one model, every block of both models still covered."""

from collections import Counter

from swarm.localswarm.launcher import DEFAULT_PLAN, DEMO_PLAN


def test_the_demo_has_two_servers_on_the_same_blocks():
    spans = Counter((plan.dht_prefix, plan.start, plan.end) for plan in DEMO_PLAN)
    assert max(spans.values()) >= 2, spans


def test_the_demo_covers_both_models_with_at_most_four_servers():
    assert len(DEMO_PLAN) <= 4 and len({plan.name for plan in DEMO_PLAN}) == len(DEMO_PLAN)
    for prefix in {plan.dht_prefix for plan in DEMO_PLAN}:
        plans = [plan for plan in DEMO_PLAN if plan.dht_prefix == prefix]
        covered = {block for plan in plans for block in range(plan.start, plan.end)}
        assert covered == set(range(plans[0].model.num_blocks)), prefix
    # llama keeps its two-hop route (the probes' route shows two servers), as in the tests' swarm
    assert [(plan.start, plan.end) for plan in DEMO_PLAN if plan.dht_prefix == "tiny-llama"] == [(0, 3), (3, 6)]
    assert set(DEFAULT_PLAN) <= set(DEMO_PLAN)
