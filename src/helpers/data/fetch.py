"""Fetch a review's pinned data file: download once, check its SHA-256, keep it in a git-ignored cache.

The review map (``data/reviews/<review>.yaml``) records where the file comes from in a ``source:`` section
(``url``, ``sha256``, ``size``, ``file``, ``provenance``); :func:`review_source` reads it. :func:`fetch`
returns a local path to exactly that file:

- ``local=FILE`` (the command line's ``--from``): FILE itself, after its size and SHA-256 are checked; a copy is
  kept in the cache (written and checked the same way) so that later runs need neither FILE nor the network;
- a copy already in the cache (``data/external/<file>``) whose SHA-256 matches: that copy, nothing downloaded;
- otherwise a download of ``url`` into a temporary file in the cache folder, checked for size (more bytes than
  recorded, or fewer: truncated) and SHA-256, then renamed into place (``os.replace``, atomic): the cache never
  holds a half-written or wrong file, and the temporary file is removed on every failure.

Every failure is a :class:`~helpers.core.errors.FetchError` naming the URL (or file); when the host cannot be
reached at all, the message says so in one line and names ``make real FROM=...`` and ``--from``.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpers.core import paths
from helpers.core.errors import FetchError
from helpers.data.reviewmap import load_review_map

CHUNK = 64 * 1024
TIMEOUT = 30.0  # seconds per network operation
#: What to do without network ({file}: the pinned file's name): the make form first, then the module's option.
NO_NETWORK_HINT = ("with a local copy of the file: make real FROM=path/to/{file} "
                   "(or python -m helpers.run real --from path/to/{file}); once checked it is cached in data/external/, "
                   "so later runs work offline")


@dataclass(frozen=True)
class Source:
    """Where a review's data file comes from (the review map's ``source:`` section)."""

    url: str
    sha256: str
    size: int
    file: str
    provenance: str = ""
    label: str = ""  # what figures and tables call the pinned file (the Dataset label when it is loaded)

    def __post_init__(self):
        if not self.url.startswith(("https://", "http://")):
            raise FetchError(f"source url must be http(s): {self.url!r}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise FetchError(f"source sha256 must be 64 lower-case hex digits; got {self.sha256!r}")
        if Path(self.file).name != self.file or self.file.startswith("."):
            raise FetchError(f"source file must be a plain file name; got {self.file!r}")


def review_source(review: str | Path = "cd015373") -> Source:
    """The ``source:`` section of the review map as a :class:`Source`."""
    path = load_review_map(review).path
    spec = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("source")
    missing = [k for k in ("url", "sha256", "size", "file") if not isinstance(spec, dict) or spec.get(k) is None]
    if missing:
        raise FetchError(f"{path}: source: missing {', '.join(missing)} (url, sha256, size, file)")
    return Source(url=str(spec["url"]), sha256=str(spec["sha256"]).lower(), size=int(spec["size"]),
                  file=str(spec["file"]), provenance=" ".join(str(spec.get("provenance", "")).split()),
                  label=str(spec.get("label", "")))  # fmt: skip


def _check(path: Path, source: Source, what: str) -> None:
    size = path.stat().st_size
    if size != source.size:
        raise FetchError(f"{what}: {size} bytes, expected {source.size} ({source.file} at {source.url})")
    digest = paths.sha256_file(path)
    if digest != source.sha256:
        raise FetchError(f"{what}: SHA-256 {digest} does not match the pinned {source.sha256} ({source.file})")


def _download(source: Source, target: Path, timeout: float) -> None:
    """Stream ``source.url`` into a temporary file beside ``target``, check it, rename it into place."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(source.url, headers={"User-Agent": "nmda-review fetch"})
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
                while block := response.read(CHUNK):
                    received += len(block)
                    if received > source.size:
                        raise FetchError(f"{source.url}: more than the pinned {source.size} bytes; refused")
                    out.write(block)
        if received < source.size:
            raise FetchError(f"{source.url}: truncated download: {received} of {source.size} bytes")
        _check(tmp, source, source.url)
        os.replace(tmp, target)
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{source.url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:  # DNS, refused, unreachable, timeout while connecting
        raise FetchError(f"no network: cannot reach {source.url} ({exc.reason}); "
                         f"{NO_NETWORK_HINT.format(file=source.file)}") from exc
    except http.client.IncompleteRead as exc:  # the server closed before its Content-Length
        raise FetchError(f"{source.url}: truncated download: the connection closed after "
                         f"{received + len(exc.partial)} of {source.size} bytes") from exc
    except (http.client.HTTPException, OSError) as exc:  # reset connection, timeout while reading, disk
        raise FetchError(f"{source.url}: download failed ({type(exc).__name__}: {exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)


def fetch(source: Source, local: Path | str | None = None, cache: Path | str | None = None,
          timeout: float = TIMEOUT) -> Path:
    """A checked local path to ``source``'s file (see the module docstring for the three ways)."""
    if local is not None:
        local = Path(local)
        if not local.is_file():
            raise FetchError(f"{local}: no such file (--from)")
        _check(local, source, str(local))
        _cache_copy(local, source, cache)
        return local
    folder = paths.ensure_writable_dir(paths.DATA_EXTERNAL if cache is None else cache)
    target = folder / source.file
    if target.is_file():
        try:
            _check(target, source, str(target))
            return target
        except FetchError:
            target.unlink()  # a stale or damaged copy: fetched again below
    _download(source, target, timeout)
    return target


def _cache_copy(local: Path, source: Source, cache: Path | str | None) -> None:
    """Keep a checked ``--from`` file in the cache (temporary file, checked again, renamed into place), so that a
    later fetch without ``--from`` finds it offline; a cache that cannot be written is warned about, not fatal."""
    try:
        folder = paths.ensure_writable_dir(paths.DATA_EXTERNAL if cache is None else cache)
        target = folder / source.file
        if target.is_file() and target.stat().st_size == source.size and paths.sha256_file(target) == source.sha256:
            return
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, open(local, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
            _check(tmp, source, str(tmp))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, FetchError) as exc:
        warnings.warn(f"{local}: checked, but not cached in {cache or paths.DATA_EXTERNAL} ({exc})", stacklevel=3)
