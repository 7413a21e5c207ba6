"""Operator alerting: rules evaluated after every crawl and probe round, alerts with a pending → firing → resolved
lifecycle, grouping, inhibition, silences and flapping detection, and deliveries to webhook, email and chat channels."""
