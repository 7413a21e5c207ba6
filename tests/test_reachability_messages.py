"""is_reachable's reasons in plain words (swarm.dial.plain_reason): the p2p daemon's errors and our own timeout
become sentences a server's operator can act on; an unknown error gets a sentence of ours, never its own text."""

from swarm.dial import MAX_REASON, REASONS, UNKNOWN_REASON, plain_reason


def test_the_daemons_errors_are_said_in_plain_words():
    assert plain_reason("Connect failed. msg=routing: not found", 5.0).startswith(
        "no route to this peer: it is not connected to the DHT or not announcing itself")
    refused = ("Connect failed. msg=failed to dial: failed to dial QmX: all dials failed\n"
               "  * [/ip4/10.0.0.1/tcp/31337] dial tcp4 10.0.0.1:31337: connect: connection refused")
    assert plain_reason(refused, 5.0).startswith("the connection was refused")
    assert plain_reason("Connect failed. msg=dial backoff", 5.0).startswith("a dial to this peer failed moments ago")
    assert plain_reason("Connect failed. msg=context deadline exceeded", 5.0).startswith(
        "the peer's address did not answer in time")


def test_our_own_timeout_says_how_long_the_peer_had():
    message = plain_reason("Failed to connect in 5 s. A firewall may be blocking connections", 5.0)
    assert message.startswith("the peer did not answer within 5 s")


def test_an_unknown_error_gets_a_sentence_of_ours_not_its_text_and_success_has_no_reason():
    assert plain_reason("Connect failed. msg=something new", 5.0) == UNKNOWN_REASON
    assert plain_reason("Connect failed. msg=<script>" + "x" * 1000, 5.0) == UNKNOWN_REASON
    assert plain_reason(None, 5.0) is None
    assert all(len(reason) <= MAX_REASON for _, reason in REASONS)
