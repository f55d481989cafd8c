#!/usr/bin/env python3
"""python-tuf's verdict on a TUF repository, as one JSON line.

Runs python-tuf's ngclient ``Updater`` the way a client does: bootstrap from a
trusted root, ``refresh()`` (root rotation, timestamp, snapshot, targets), then
``get_targetinfo()`` + ``download_target()`` for each requested target (which
checks every downloaded target's length and hashes against the metadata).

Prints exactly one line on stdout:

    {"verdict": "accepted"|"rejected",
     "error": "<ExceptionClass: message>" | null,
     "targets": {"<name>": "ok" | "<ExceptionClass: message>"}}

"accepted" means refresh succeeded and every requested target was downloaded
and verified; anything else is "rejected" and "error" holds the first failure
(the refresh error, or the first failing target). Exit status is 0 for either
verdict; 2 only for bad usage (or a missing cryptography package).

Usage:
    python_tuf_verdict.py --root FILE --metadata-url URL --targets-url URL
        [--target NAME ...] [--all-targets] [--at RFC3339]
        [--metadata-dir DIR] [--target-dir DIR] [-v]

URLs are http(s):// on loopback only (127.0.0.0/8, ::1, localhost), file://
URLs, or plain directory paths; file URLs and directories are read by
``LocalFetcher`` below, which answers 404 for files that are not there.

Written against tuf 7.0.1 (securesystemslib 1.6.0), the version pinned in
requirements.txt next to this file.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import ipaddress
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib import parse

import tuf
from tuf.api import exceptions
from tuf.api.metadata import Root, Targets
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher


# ---------------------------------------------------------------------------
# Fetching: http(s) on loopback through python-tuf's own fetcher, file:// here
# ---------------------------------------------------------------------------


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, as HTTP clients (urllib3 too) apply it to a URL
    before sending it: "a/../b" -> "b", "/x/../../y" -> "/y"."""
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/".join(out)


class LocalFetcher(FetcherInterface):
    """Reads file:// URLs like a static web server whose only documents are
    the files under ``roots`` (the metadata and targets directories).

    * dot segments are removed first, as an HTTP client would do;
    * each path segment is then percent-decoded; a segment that decodes to
      something containing "/" (an encoded slash, as in a role named
      "a/b" -> "a%2Fb.json") or to "." / ".." names no file;
    * anything missing, a directory, or outside ``roots`` -> 404, raised as
      ``DownloadHTTPError`` so that python-tuf treats it as "not found" (that
      is what ends the root rotation loop, for instance).
    """

    def __init__(self, roots: list[Path], chunk_size: int = 400000) -> None:
        self.roots = [r.resolve() for r in roots]
        self.chunk_size = chunk_size

    def _fetch(self, url: str) -> Iterator[bytes]:
        parts = parse.urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise exceptions.DownloadError(f"LocalFetcher cannot fetch {url}")
        segments = []
        for raw in _remove_dot_segments(parts.path).split("/"):
            seg = parse.unquote(raw)
            if "/" in seg or "\0" in seg or seg in (".", ".."):
                raise exceptions.DownloadHTTPError(f"Not found: {url}", 404)
            segments.append(seg)
        path = Path("/".join(segments)).resolve()
        inside = any(path == r or r in path.parents for r in self.roots)
        if not inside or not path.is_file():
            raise exceptions.DownloadHTTPError(f"Not found: {url}", 404)
        return self._chunks(path)

    def _chunks(self, path: Path) -> Iterator[bytes]:
        with open(path, "rb") as f:
            while chunk := f.read(self.chunk_size):
                yield chunk


class DispatchingFetcher(FetcherInterface):
    """file:// to ``LocalFetcher``, http(s):// to python-tuf's default
    ``Urllib3Fetcher`` (what ``Updater`` uses when given no fetcher)."""

    def __init__(self, local: LocalFetcher) -> None:
        self.local = local
        self.http = Urllib3Fetcher()

    def _fetch(self, url: str) -> Iterator[bytes]:
        if url.startswith("file:"):
            return self.local._fetch(url)
        return self.http._fetch(url)


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_location(value: str, what: str) -> tuple[str, Path | None]:
    """Return (base URL ending in "/", local directory or None)."""
    parts = parse.urlsplit(value)
    if parts.scheme in ("http", "https"):
        if not _is_loopback(parts.hostname):
            usage_error(f"{what}: only loopback http(s) URLs are allowed: {value}")
        return (value if value.endswith("/") else value + "/"), None
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            usage_error(f"{what}: file URL with a host: {value}")
        directory = Path(parse.unquote(parts.path))
    elif parts.scheme == "" or len(parts.scheme) == 1:  # a path (or C:\...)
        directory = Path(value)
    else:
        usage_error(f"{what}: unsupported URL scheme: {value}")
    if not directory.is_dir():
        usage_error(f"{what}: not a directory: {directory}")
    directory = directory.resolve()
    return directory.as_uri() + "/", directory


# ---------------------------------------------------------------------------
# Reference time
# ---------------------------------------------------------------------------


def parse_time(value: str) -> datetime.datetime:
    """RFC 3339 / ISO 8601 ("2025-02-09T09:17:23Z", "2025-02-09 09:17:23+00:00").
    A time without an offset is taken as UTC."""
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        usage_error(f"--at: not an RFC 3339 time: {value}")
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(datetime.timezone.utc)


def set_reference_time(updater: Updater, at: datetime.datetime) -> None:
    """Make python-tuf judge expiry at ``at`` instead of now.

    Checked in tuf 7.0.1: ``TrustedMetadataSet.__init__``
    (tuf/ngclient/_internal/trusted_metadata_set.py) stores
    ``self.reference_time = datetime.datetime.now(timezone.utc)`` once, and
    every expiry check (final root in update_timestamp, timestamp, snapshot,
    targets and delegated targets) calls ``is_expired(self.reference_time)``.
    Loading the bootstrap root in ``__init__`` checks no expiry, so setting the
    attribute right after ``Updater(...)`` and before ``refresh()`` covers every
    check. ``Updater`` keeps the set in ``_trusted_set``.
    """
    trusted_set = getattr(updater, "_trusted_set", None)
    if trusted_set is None or not hasattr(trusted_set, "reference_time"):
        raise RuntimeError(
            f"tuf {tuf.__version__}: Updater._trusted_set.reference_time not "
            "found; --at needs the python-tuf version pinned in requirements.txt"
        )
    trusted_set.reference_time = at


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


def all_target_names(updater: Updater) -> list[str]:
    """Every target path listed by the top-level targets role and by every
    delegated role reachable from it.

    Loads each delegated role with ``Updater._load_targets(role, delegator)``,
    the same (private) call that ``get_targetinfo``'s delegation walk makes,
    so every role is verified against its delegator's keys and threshold, its
    snapshot version and hashes, and its expiry. Unlike that walk (which only
    follows delegations whose paths match the requested target and stops at
    terminating ones) this visits the whole delegation graph, so a role that
    fails to verify rejects the repository even if no target lookup would
    reach it. Hash-bin (succinct) delegations are expanded to all bins.
    """
    names: list[str] = []
    seen_names: set[str] = set()
    visited: set[tuple[str, str]] = set()
    stack: list[tuple[str, str]] = [(Targets.type, Root.type)]  # (role, delegator)
    while stack:
        role, delegator = stack.pop()
        if (role, delegator) in visited:
            continue
        visited.add((role, delegator))
        targets = updater._load_targets(role, delegator)
        for name in targets.targets:
            if name not in seen_names:
                seen_names.add(name)
                names.append(name)
        if targets.delegations is None:
            continue
        children: list[str] = []
        if targets.delegations.roles is not None:
            children = list(targets.delegations.roles)
        elif targets.delegations.succinct_roles is not None:
            children = list(targets.delegations.succinct_roles.get_roles())
        # pushed reversed so that roles are visited in order of appearance
        for child in reversed(children):
            if (child, role) not in visited:
                stack.append((child, role))
    return names


def fetch_target(updater: Updater, name: str) -> None:
    """What a client does for one target; raises on any failure."""
    info = updater.get_targetinfo(name)
    if info is None:
        # Listed somewhere, but the delegation walk (paths patterns,
        # terminating roles) does not lead to a role that lists it.
        raise exceptions.RepositoryError(
            f"target {name!r} not found: no role on the delegation walk lists it"
        )
    updater.download_target(info)  # checks length and hashes


def describe(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    cause = e.__cause__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def usage_error(message: str) -> None:
    print(f"python_tuf_verdict.py: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="trusted root metadata to bootstrap from")
    p.add_argument("--metadata-url", required=True, help="loopback http(s) URL, file:// URL or directory")
    p.add_argument("--targets-url", required=True, help="loopback http(s) URL, file:// URL or directory")
    p.add_argument("--target", action="append", default=[], metavar="NAME", help="target to download (repeatable)")
    p.add_argument("--all-targets", action="store_true", help="download every target of every reachable role")
    p.add_argument("--at", help="judge expiry at this RFC 3339 time instead of now")
    p.add_argument("--metadata-dir", help="client metadata cache (default: a fresh temporary directory)")
    p.add_argument("--target-dir", help="where targets are downloaded (default: a fresh temporary directory)")
    p.add_argument("-v", "--verbose", action="store_true", help="python-tuf's debug log on stderr")
    args = p.parse_args(argv)  # exits 2 on bad usage

    # Without cryptography, securesystemslib verifies no signature at all and
    # python-tuf would reject every repository ("signed by 0/1 keys"): that is
    # a broken environment, not a verdict.
    if importlib.util.find_spec("cryptography") is None:
        usage_error("the cryptography package is missing: install securesystemslib[crypto]")

    # Loopback only: never let a proxy from the environment take the requests.
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "*"
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL, stream=sys.stderr)

    try:
        root_bytes = Path(args.root).read_bytes()
    except OSError as e:
        usage_error(f"--root: {e}")
    at = parse_time(args.at) if args.at else None
    metadata_url, metadata_local = normalise_location(args.metadata_url, "--metadata-url")
    targets_url, targets_local = normalise_location(args.targets_url, "--targets-url")
    roots = [d for d in (metadata_local, targets_local) if d is not None]
    fetcher = DispatchingFetcher(LocalFetcher(roots))

    scratch = tempfile.mkdtemp(prefix="python-tuf-verdict-")
    try:
        metadata_dir = args.metadata_dir or os.path.join(scratch, "metadata")
        target_dir = args.target_dir or os.path.join(scratch, "targets")
        os.makedirs(metadata_dir, exist_ok=True)
        os.makedirs(target_dir, exist_ok=True)

        result: dict = {"verdict": "rejected", "error": None, "targets": {}}
        try:
            updater = Updater(
                metadata_dir=metadata_dir,
                metadata_base_url=metadata_url,
                target_dir=target_dir,
                target_base_url=targets_url,
                fetcher=fetcher,
                bootstrap=root_bytes,
            )
            if at is not None:
                set_reference_time(updater, at)
            updater.refresh()
            names = list(dict.fromkeys(args.target))
            if args.all_targets:
                names += [n for n in all_target_names(updater) if n not in names]
        except Exception as e:  # any failure before the targets: rejected
            result["error"] = describe(e)
        else:
            for name in names:
                try:
                    fetch_target(updater, name)
                    result["targets"][name] = "ok"
                except Exception as e:
                    result["targets"][name] = describe(e)
                    if result["error"] is None:
                        result["error"] = f"target {name}: {describe(e)}"
            if result["error"] is None:
                result["verdict"] = "accepted"
        print(json.dumps(result))
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
