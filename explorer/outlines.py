"""World outlines for the overview's globe: plotly.js draws its geo base layers from topojson files it fetches from
`topojsonURL` (a CDN by default). We serve them ourselves from static/vendor/topojson/, the dist/topojson folder of
the npm package plotly.js of the version plotly's Python package bundles, its tarball checked against a pinned
sha512 before use. `make install` runs `python -m explorer.outlines` (the Dockerfile's node stage does the same):
it fetches them with `npm pack` when the folder is missing or holds another version, and only warns when npm is
missing (the globe then draws its points without outlines, never from a CDN). No Django here: it runs before it."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "static" / "vendor" / "topojson"  # git-ignored, filled at install
STATIC_PATH = "vendor/topojson/"  # under STATIC_URL (config/settings.py serves ROOT/static)
VERSION_FILE = "VERSION"  # the plotly.js version the files came from
PROBE = "world_110m.json"  # what the globe needs (scope world, resolution 110m)
# npm's dist.integrity of each plotly.js release we may bundle (`npm view plotly.js@X dist.integrity`); add the new
# one here (and in the Dockerfile's outlines stage) when plotly's Python package moves to another plotly.js.
INTEGRITY = {
    "3.3.0": "sha512-3PT9dW7IbIfN7JWGr4YxxFQnbN5MRaB36qIKF/eF0iC9l0/MuGSlMlgRgI7Uu8vYuGxX6AjLwsBBRYTPG7NFSA==",
}


def bundled_plotly_js_version() -> str:
    """The plotly.js version in plotly's package_data/plotly.min.js (its header: `* plotly.js v3.3.0`)."""
    import plotly

    head = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()[:400].decode()
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+\S*)", head)
    if not found:
        raise RuntimeError("no plotly.js version in the header of plotly's bundled plotly.min.js")
    return found.group(1)


def installed_version(folder: Path = FOLDER) -> Optional[str]:
    """The plotly.js version the installed outlines came from, or None when they are not installed."""
    try:
        version = (folder / VERSION_FILE).read_text().strip()
    except OSError:
        return None
    return version if (folder / PROBE).is_file() else None


def integrity_of(path: Path) -> str:
    """npm's integrity string of a file (Subresource Integrity form, sha512)."""
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def unpack(tarball: Path, version: str, folder: Path) -> int:
    """Puts the tarball's package/dist/topojson/*.json and a VERSION file in `folder` (replaced whole); returns the
    number of files."""
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count = 0
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            name = member.name
            if member.isfile() and re.fullmatch(r"package/dist/topojson/[A-Za-z0-9_-]+\.json", name):
                source = archive.extractfile(member)
                (staging / Path(name).name).write_bytes(source.read())
                count += 1
    if not (staging / PROBE).is_file():
        raise RuntimeError(f"plotly.js {version}'s tarball has no dist/topojson/{PROBE}")
    (staging / VERSION_FILE).write_text(version + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return count


def install(folder: Path = FOLDER) -> int:
    """Fetches the outlines when missing or of another version. 0 when in place, or with a warning when npm is
    missing or cannot fetch (the site works without them); 1 when the version's integrity is not pinned here or the
    tarball does not match it."""
    version = bundled_plotly_js_version()
    if installed_version(folder) == version:
        return 0
    expected = INTEGRITY.get(version)
    if expected is None:
        print(f"explorer.outlines: plotly bundles plotly.js {version}, whose npm integrity is not pinned in "
              f"explorer/outlines.py INTEGRITY (npm view plotly.js@{version} dist.integrity)", file=sys.stderr)
        return 1
    npm = shutil.which("npm")
    if npm is None:
        print("WARNING: npm is not installed: the overview's globe gets no world outlines (only its points). "
              "Install Node.js/npm and run `make install` again to fetch them "
              f"(plotly.js {version}'s dist/topojson, into {folder}).", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="plotly-js-") as scratch:
        done = subprocess.run([npm, "pack", "--silent", f"plotly.js@{version}"], cwd=scratch,
                              capture_output=True, text=True)
        tarball = Path(scratch) / f"plotly.js-{version}.tgz"
        if done.returncode != 0 or not tarball.is_file():  # offline, say: the site works, the globe has no outlines
            print(f"WARNING: npm pack plotly.js@{version} failed, so the overview's globe gets no world outlines "
                  f"(only its points); run `make install` again when the npm registry is reachable:\n"
                  f"{done.stderr[-2000:]}", file=sys.stderr)
            return 0
        got = integrity_of(tarball)
        if got != expected:
            print(f"explorer.outlines: plotly.js {version}'s tarball has integrity {got}, expected {expected}",
                  file=sys.stderr)
            return 1
        count = unpack(tarball, version, folder)
    print(f"explorer.outlines: {count} world outline files of plotly.js {version} in {folder}")
    return 0


if __name__ == "__main__":  # python -m explorer.outlines [FOLDER]
    sys.exit(install(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER))
