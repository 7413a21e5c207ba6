"""Links built by the server_url / model_url filters are exactly what reverse() builds, odd characters included."""

import pytest
from django.urls import reverse

from explorer.templatetags.explorer_tags import model_url, server_url


@pytest.mark.parametrize("dht_prefix", ["bigscience/bloom-petals", "tiny-llama", "a b<c>\"d'&%e", "ünï/cødé?x#y", "x~y:z@w"])
def test_model_links_match_reverse(dht_prefix):
    assert model_url(dht_prefix) == reverse("model", args=[dht_prefix])


@pytest.mark.parametrize("peer_id", ["QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ",
                                     "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"])
def test_server_links_match_reverse(peer_id):
    assert server_url(peer_id) == reverse("server", args=[peer_id])
