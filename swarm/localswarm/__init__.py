"""A real local Petals swarm for demos and tests: a bootstrap DHT plus Petals servers on tiny random-weight models."""
