"""Security settings hold on every route: CSP without inline scripts, frame denial and a referrer policy on every
response; DEBUG off unless set; production settings pass `manage.py check --deploy`; no secret in the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from explorer.crawls.ingest import store_crawl
from tests.support import ROOT
from tests.support.snapshots import PEERS, model, server, snapshot

SAMPLE_KWARGS = {"dht_prefix": "m", "peer_id": PEERS[0], "pk": 1, "alert_id": 1, "notification_id": 1,
                 "probe_id": 1, "object_id": 1, "name": "eu-west"}


def named_routes(resolvers=None, namespace: str = "") -> list[tuple[str, list[str]]]:
    """(name, parameter names) of every named route outside the Django admin (whose pages are checked by hand)."""
    routes = []
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes += named_routes(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            pattern = entry.pattern
            parameters = list(getattr(pattern, "converters", {}) or pattern.regex.groupindex)
            routes.append((namespace + entry.name, parameters))
    return routes


def every_url() -> list[str]:
    urls = ["/admin/", "/admin/login/", "/no/such/page/"]
    for name, parameters in named_routes():
        if "format" in parameters:
            continue  # DRF's format-suffix twins of the routes below
        urls.append(reverse(name, kwargs={key: SAMPLE_KWARGS[key] for key in parameters}))
    return urls


class InlineCode(HTMLParser):
    """Collects inline scripts, event-handler attributes and javascript: URLs in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self._in_inline_script = "src" not in attributes and attributes.get("type") != "application/json"
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")


@pytest.mark.django_db(transaction=True)
def test_every_route_sends_csp_frame_denial_and_a_referrer_policy_and_no_page_has_inline_code():
    store_crawl(snapshot(time.time(), [model([server(0, 0, 6)])]))
    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="a-long-password-1", is_staff=True, is_superuser=True))
    checked = 0
    for url in every_url():
        for client in (Client(), staff):
            response = client.get(url)
            assert response.status_code != 500, url  # 503: is_reachable finds no swarm here
            csp = response.get("Content-Security-Policy", "")
            directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip())
            assert directives.get("script-src") == "'self'", (url, csp)
            assert directives.get("frame-ancestors") == "'none'" and directives.get("object-src") == "'none'", url
            assert response["X-Frame-Options"] == "DENY", url
            assert response["Referrer-Policy"] == "same-origin", url
            assert response["X-Content-Type-Options"] == "nosniff", url
            if response.get("Content-Type", "").startswith("text/html"):
                parser = InlineCode()
                parser.feed(b"".join(response).decode() if response.streaming else response.content.decode())
                assert parser.found == [], (url, parser.found)
            checked += 1
    assert checked >= 2 * 40  # every route was reached, not just a few


def run_manage(*argv: str, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items()
             if key not in ("DEBUG", "HTTPS", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_debug_is_off_unless_set(tmp_path):
    show = ["shell", "--no-imports", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)"]
    assert run_manage(*show, VAR_DIR=str(tmp_path)).stdout.strip() == "DEBUG False"
    assert run_manage(*show, VAR_DIR=str(tmp_path), DEBUG="1").stdout.strip() == "DEBUG True"


def test_production_settings_pass_the_deployment_checks_and_the_defaults_say_what_is_missing(tmp_path):
    production = run_manage("check", "--deploy", "--fail-level", "WARNING", VAR_DIR=str(tmp_path), HTTPS="1",
                            SECRET_KEY="x7-" + "k" * 20 + "Q9#pL2@vR5!mZ8%wT1^yB4&nC6*fH3(jD0)sG" + "e" * 10,
                            ALLOWED_HOSTS="explorer.example.org")
    assert production.returncode == 0 and "no issues" in production.stdout + production.stderr, production.stderr
    local = run_manage("check", "--deploy", VAR_DIR=str(tmp_path))
    assert "security.W008" in local.stderr and "security.W004" in local.stderr  # plain HTTP: the operator is told


SECRET_PATTERNS = {
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "hard-coded SECRET_KEY": r"SECRET_KEY\s*=\s*['\"][^'\"]{8,}['\"]",
    "AWS key": r"AKIA[0-9A-Z]{16}",
    "Slack token": r"xox[abpr]-[0-9A-Za-z-]{10,}",
    "GitHub token": r"gh[pousr]_[0-9A-Za-z]{30,}",
    "Telegram bot token": r"\b\d{8,10}:AA[0-9A-Za-z_-]{30,}",
}


def test_no_secret_is_in_the_repository_and_generated_ones_stay_out_of_it():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in tracked:
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {what}" for what, pattern in SECRET_PATTERNS.items() if re.search(pattern, text)]
    assert found == []
    ignored = subprocess.run(["git", "check-ignore", "var/secret_key", ".env"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert ignored == ["var/secret_key", ".env"]
