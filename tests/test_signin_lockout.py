"""Password guessing is locked out on both sign-in pages, per address and per account, with a clear 429 page in the
site's layout; the lockout is logged (username and address, never the password) and shown to staff; forwarding
headers never pick the address; an account's lock spares addresses that signed in to it before; sessions end after
SESSION_IDLE_SECONDS without a request."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]
PAGES = ["/accounts/login/", "/admin/login/"]
PASSWORD = "a-long-password-1"
GUESS = "guess-Tr0ub4dor-{}"
OPERATOR_HOME = "198.51.100.1"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Every attempt hashes a password: the fast hasher keeps these tests cheap (the policy is the same)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator() -> User:
    return User.objects.create_user("ops", password=PASSWORD, is_staff=True, is_superuser=True)


def sign_in(page: str, username: str, password: str, address: str, **headers):
    return Client(REMOTE_ADDR=address).post(page, {"username": username, "password": password}, **headers)


def signed_in(response) -> bool:
    return response.status_code == 302 and "/login/" not in response["Location"]


async def asgi_request(method: str, path: str, client: str, headers=(), body: bytes = b""):
    """One request through the site's whole ASGI application, as the web server makes it: status, headers, body."""
    from config.asgi import application

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"testserver"), *headers], "scheme": "http", "http_version": "1.1",
             "server": ("testserver", 80), "client": (client, 50000), "root_path": ""}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start, received = await communicator.receive_output(10), b""
    while True:
        message = await communicator.receive_output(10)
        received += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], [(key.lower(), value) for key, value in start["headers"]], received.decode()


def asgi_sign_in(username: str, password: str, proxy: str, client: str):
    """The sign-in form, fetched and posted through the ASGI application from `client` behind `proxy`."""
    forwarded = [(b"x-forwarded-for", client.encode())]
    _, headers, html = async_to_sync(asgi_request)("GET", "/accounts/login/", proxy, forwarded)
    cookie = next(value for key, value in headers if key == b"set-cookie" and value.startswith(b"csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = f"csrfmiddlewaretoken={token}&username={username}&password={password}".encode()
    return async_to_sync(asgi_request)("POST", "/accounts/login/", proxy, [
        *forwarded, (b"cookie", cookie.split(b";")[0]), (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(form)).encode())], form)


def assert_locked(response):
    assert response.status_code == 429, response.status_code
    html = response.content.decode()
    assert "<h1>Sign-in is locked</h1>" in html and 'href="/static/explorer/site.css"' in html  # the site's layout
    assert f"after {settings.SIGNIN_FAILURE_LIMIT} wrong passwords" in html
    assert "locked for 15 minutes. Try again in 15 minutes" in html
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60  # counted from the failure that locked it


@pytest.mark.parametrize("page", PAGES)
def test_guessing_one_accounts_password_locks_it_out_on_both_pages(operator, page):
    address = "203.0.113.7"
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT - 1):
        refused = sign_in(page, "ops", GUESS.format(attempt), address)
        assert refused.status_code == 200 and "correct username and password" in refused.content.decode()
    assert_locked(sign_in(page, "ops", GUESS.format("last"), address))
    for other_page in PAGES:  # now even the right password is refused, on either page
        assert_locked(sign_in(other_page, "ops", PASSWORD, address))
    assert AccessAttempt.objects.get().failures_since_start == settings.SIGNIN_FAILURE_LIMIT  # the lock is not extended


def test_one_address_guessing_many_accounts_is_locked_whatever_its_forwarding_headers_say(operator):
    address = "203.0.113.8"
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT):  # a new account and a new "forwarded" address each time
        sign_in(PAGES[attempt % 2], f"user{attempt}", GUESS.format(attempt), address,
                HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}", HTTP_X_REAL_IP=f"192.0.2.{attempt}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {address}
    assert_locked(sign_in(PAGES[0], "ops", PASSWORD, address, HTTP_X_FORWARDED_FOR="192.0.2.200"))
    assert signed_in(sign_in(PAGES[0], "ops", PASSWORD, "203.0.113.9"))  # the account itself is not locked


def test_guessing_one_account_from_many_addresses_locks_the_account_but_not_its_operators_own_address(operator):
    assert signed_in(sign_in(PAGES[0], "ops", PASSWORD, OPERATOR_HOME))  # the operator's usual address
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT):
        sign_in(PAGES[attempt % 2], "ops", GUESS.format(attempt), f"203.0.113.{100 + attempt}")
    assert_locked(sign_in(PAGES[0], "ops", PASSWORD, "203.0.113.200"))  # a stranger's address, even with the password
    assert_locked(sign_in(PAGES[1], "ops", PASSWORD, "203.0.113.201"))
    assert signed_in(sign_in(PAGES[0], "ops", PASSWORD, OPERATOR_HOME))  # the attacker cannot lock the operator out
    assert signed_in(sign_in(PAGES[1], "ops", PASSWORD, OPERATOR_HOME))


@pytest.mark.django_db(transaction=True)
def test_through_the_web_server_each_client_behind_the_trusted_proxy_is_counted_on_its_own(operator, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT - 1):
        assert asgi_sign_in(f"user{attempt}", GUESS.format(attempt), "10.0.0.1", "203.0.113.20")[0] == 200
    status, headers, html = asgi_sign_in("ops", GUESS.format("last"), "10.0.0.1", "203.0.113.20")
    assert status == 429 and "<h1>Sign-in is locked</h1>" in html and 840 < int(dict(headers)[b"retry-after"]) <= 900
    assert asgi_sign_in("ops", PASSWORD, "10.0.0.1", "203.0.113.20")[0] == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.20"}  # never the proxy
    assert asgi_sign_in("ops", PASSWORD, "10.0.0.1", "203.0.113.21")[0] == 302  # its neighbour is not locked


def test_the_lock_lifts_after_the_lockout_minutes(operator):
    address = "203.0.113.10"
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT):
        sign_in(PAGES[0], "ops", GUESS.format(attempt), address)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=10))
    locked = sign_in(PAGES[0], "ops", PASSWORD, address)
    assert locked.status_code == 429 and "Try again in 5 minutes" in locked.content.decode()  # what is left
    assert 4 * 60 < int(locked["Retry-After"]) <= 5 * 60
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert signed_in(sign_in(PAGES[0], "ops", PASSWORD, address))


def test_the_lockout_is_logged_with_username_and_address_and_never_the_password(operator, caplog):
    address = "203.0.113.11"
    typed = "ops\nAXES: forged line"
    with caplog.at_level(logging.INFO):
        for attempt in range(settings.SIGNIN_FAILURE_LIMIT + 1):
            sign_in(PAGES[attempt % 2], typed if attempt == 0 else "ops", GUESS.format(attempt), address)
    lines = [record.getMessage() for record in caplog.records]
    assert any("Locking out" in line and "username='ops'" in line and f"address={address}" in line for line in lines)
    assert any(r"username='ops\nAXES: forged line'" in line for line in lines)  # escaped: one line, no forgery
    assert not any("\n" in line for line in lines if line.startswith("AXES"))
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT + 1):
        assert GUESS.format(attempt) not in caplog.text and GUESS.format(attempt) not in stored


def test_staff_see_the_lockouts_and_nobody_else_does(operator):
    for attempt in range(settings.SIGNIN_FAILURE_LIMIT):
        sign_in(PAGES[0], "<b>ops</b>", GUESS.format(attempt), "203.0.113.12")
    User.objects.create_user("visitor", password=PASSWORD)
    plain_staff = User.objects.create_user("oncall", password=PASSWORD, is_staff=True)
    for url in ("/accounts/lockouts/", "/admin/axes/accessattempt/"):
        assert Client().get(url).status_code == 302  # to a sign-in page
    visitor = Client()
    visitor.force_login(User.objects.get(username="visitor"))
    assert visitor.get("/accounts/lockouts/").status_code == 403
    for user in (plain_staff, operator):
        client = Client()
        client.force_login(user)
        html = client.get("/accounts/lockouts/").content.decode()
        addresses = html.split('data-locked="addresses"')[1].split("</table>")[0]
        accounts = html.split('data-locked="accounts"')[1].split("</table>")[0]
        assert "203.0.113.12" in addresses and "&lt;b&gt;ops&lt;/b&gt;" in accounts and "<b>ops" not in html
        assert ("/admin/axes/accessattempt/" in html) == user.is_superuser
        assert 'href="/accounts/lockouts/"' in client.get("/alerts/").content.decode()  # the staff pages' tab
    admin = Client()
    admin.force_login(operator)
    listing = admin.get("/admin/axes/accessattempt/").content.decode()
    assert "203.0.113.12" in listing and "&lt;b&gt;ops&lt;/b&gt;" in listing


def test_a_session_ends_after_its_idle_time_and_each_request_moves_the_end(operator):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_SECONDS
    client = Client()
    client.force_login(operator)
    Session.objects.update(expire_date=timezone.now() + timedelta(seconds=30))  # 30 s of idle time left
    response = client.get("/alerts/")
    assert response.status_code == 200
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""  # a browser-session cookie
    assert Session.objects.get().expire_date > timezone.now() + timedelta(seconds=settings.SESSION_IDLE_SECONDS - 60)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))  # idle for longer than allowed
    response = client.get("/alerts/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_sign_in_settings_come_from_the_environment(tmp_path):
    env = {**os.environ, "VAR_DIR": str(tmp_path), "SIGNIN_FAILURE_LIMIT": "3", "SIGNIN_LOCKOUT_MINUTES": "2.5",
           "SESSION_IDLE_SECONDS": "600", "SESSION_EXPIRE_AT_BROWSER_CLOSE": "no", "DJANGO_SETTINGS_MODULE": ""}
    show = ("import config.settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), "
            "s.SESSION_COOKIE_AGE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE)")
    shown = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert shown.stdout.split() == ["3", "150.0", "600", "False"], shown.stderr
    env["SESSION_IDLE_SECONDS"] = "10"
    refused = subprocess.run([sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "SESSION_IDLE_SECONDS='10': must be at least 60" in refused.stderr
