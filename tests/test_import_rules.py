"""The import rules in .importlinter hold on the tree, and the check fails when a change breaks them: a copy of the
tree with one upward import, one circle, or Django imported from swarm/ is refused, naming the import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("explorer", "swarm", "config")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), str(tree / ".importlinter"), "--no-cache"], cwd=tree,
                          env={"PYTHONPATH": str(tree), "PATH": str(LINT_IMPORTS.parent)}, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The project's packages and its .importlinter, copied (the check reads code; nothing of it runs)."""
    tree = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


def with_line(tree: Path, module: str, line: str):
    """A context that adds `line` at the end of `module` (a path under the tree) and takes it away again."""
    path = tree / module

    class Added:
        def __enter__(self):
            self.original = path.read_text() if path.exists() else None
            path.write_text((self.original or "") + f"\n{line}\n")

        def __exit__(self, *_):
            if self.original is None:
                path.unlink()
            else:
                path.write_text(self.original)

    return Added()


def test_the_tree_keeps_every_import_rule():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_the_copy_is_clean_before_it_is_broken(tree_copy):
    result = lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_is_refused(tree_copy):
    with with_line(tree_copy, "explorer/crawls/ingest.py", "from explorer.alerting import evaluate  # noqa"):
        result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "explorer.crawls.ingest -> explorer.alerting.evaluate" in result.stdout


def test_a_circle_inside_a_room_is_refused(tree_copy):
    with with_line(tree_copy, "explorer/crawls/live_state.py", "from explorer.crawls import ingest  # noqa"):
        result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "No cycles are allowed in explorer.crawls" in result.stdout, result.stdout


def test_a_circle_between_bottom_modules_is_refused(tree_copy):
    with with_line(tree_copy, "explorer/locks.py", "from explorer import followups  # noqa"), \
            with_line(tree_copy, "explorer/followups.py", "from explorer import locks  # noqa"):
        result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "explorer.locks" in result.stdout and "explorer.followups" in result.stdout


def test_swarm_importing_django_is_refused(tree_copy):
    with with_line(tree_copy, "swarm/coverage.py", "import django  # noqa"):
        result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "swarm.coverage -> django" in result.stdout
