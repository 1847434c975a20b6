"""Safe reading of zip archives into memory.

Cochrane data packages arrive as a zip inside a zip. Nothing is extracted to disk: members are read into
memory after every entry of the central directory has been checked, and sizes are enforced again while
reading, so a lying header cannot make us produce more bytes than allowed. Refused, each with an
``ArchiveError`` naming the archive and the entry:

- entries escaping the extraction root ("zip-slip": absolute paths, drive letters, ``..`` components);
- symbolic links (Unix mode ``S_IFLNK`` in the external attributes);
- zip bombs: more than ``MAX_MEMBERS`` entries, a member larger than ``MAX_MEMBER_BYTES``, a total larger
  than ``MAX_TOTAL_BYTES``, or a compression ratio above ``MAX_RATIO`` for members over ``RATIO_FLOOR_BYTES``;
- nesting deeper than ``MAX_DEPTH`` (outer zip = depth 1);
- files that are not zip archives, corrupt members (bad CRC, truncated or corrupted deflate/bzip2/lzma data,
  unknown compression methods), entry names that are not valid UTF-8 though flagged so, encrypted members.

Reference: the zip-slip advisory (Snyk, 2018) and Python's ``zipfile`` documentation, section
"Decompression pitfalls".
"""

from __future__ import annotations

import io
import lzma
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from helpers.core.errors import DataError

MAX_MEMBERS = 2_000
MAX_MEMBER_BYTES = 100 * 1024**2
MAX_TOTAL_BYTES = 250 * 1024**2
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1024**2  # small members may compress very well (a CSV of zeros); ratio checked above this
MAX_DEPTH = 3
_CHUNK = 64 * 1024
# what zipfile and its decompressors raise on corrupt data: zlib.error (deflate), lzma.LZMAError (a patched
# compression method), OSError (bzip2), EOFError (truncated), NotImplementedError (unknown method)
_CORRUPT = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
            NotImplementedError, RuntimeError, ValueError)


class ArchiveError(DataError):
    """A zip archive or one of its entries was refused; the message names the archive and the entry."""


def _safe_name(archive: str, name: str) -> str:
    """Return the normalised relative POSIX name of an entry, or raise if it could escape the root."""
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if posix.startswith("/") or (parts and len(parts[0]) == 2 and parts[0][1] == ":"):
        raise ArchiveError(f"{archive}: entry {name!r} has an absolute path (zip-slip); refused")
    if ".." in parts:
        raise ArchiveError(f"{archive}: entry {name!r} contains '..' and would escape the folder (zip-slip); refused")
    return "/".join(p for p in parts if p not in ("", "."))


def check_entries(zf: zipfile.ZipFile, archive: str) -> list[zipfile.ZipInfo]:
    """Check the central directory of an open archive; return the file entries (directories skipped)."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{archive}: {len(infos)} entries exceeds MAX_MEMBERS={MAX_MEMBERS}; refused")
    total = 0
    files = []
    for info in infos:
        _safe_name(archive, info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"{archive}: entry {info.filename!r} is a symbolic link; refused")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{archive}: entry {info.filename!r} is encrypted; refused")
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise ArchiveError(
                f"{archive}: entry {info.filename!r} declares {info.file_size} bytes uncompressed, "
                f"over MAX_MEMBER_BYTES={MAX_MEMBER_BYTES} (zip bomb?); refused"
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ArchiveError(
                f"{archive}: entry {info.filename!r} has compression ratio "
                f"{info.file_size / max(info.compress_size, 1):.0f}:1, over MAX_RATIO={MAX_RATIO} (zip bomb?); refused"
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ArchiveError(
                f"{archive}: entries declare more than MAX_TOTAL_BYTES={MAX_TOTAL_BYTES} bytes in total "
                f"(reached at {info.filename!r}; zip bomb?); refused"
            )
        files.append(info)
    return files


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str, budget: int) -> bytes:
    """Read one member in chunks, never producing more than its declared size or the remaining budget."""
    limit = min(info.file_size, MAX_MEMBER_BYTES, budget)
    out = bytearray()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                out += chunk
                if len(out) > limit:
                    raise ArchiveError(
                        f"{archive}: entry {info.filename!r} produced more than {limit} bytes "
                        f"(declared {info.file_size}; zip bomb?); refused"
                    )
    except ArchiveError:
        raise
    except _CORRUPT as exc:
        raise ArchiveError(f"{archive}: entry {info.filename!r} could not be read: {exc}") from exc
    return bytes(out)


def read_zip(source: Path | str | bytes, *, label: str | None = None, depth: int = 1) -> dict[str, bytes]:
    """Read every file entry of a zip archive into memory, after the safety checks.

    ``source`` is a path or the bytes of an archive (e.g. a zip found inside another zip); ``label`` names
    it in messages (for nested archives use ``"outer.zip!inner.zip"``); ``depth`` is its nesting level.
    Returns ``{normalised relative POSIX name: bytes}`` in archive order.
    """
    archive = label or str(source if not isinstance(source, bytes) else "<bytes>")
    if depth > MAX_DEPTH:
        raise ArchiveError(f"{archive}: nested {depth} archives deep, over MAX_DEPTH={MAX_DEPTH}; refused")
    if isinstance(source, bytes):
        handle: io.BytesIO | Path = io.BytesIO(source)
    else:
        handle = Path(source)
        if not handle.is_file():
            raise ArchiveError(f"{archive}: no such file")
    if not zipfile.is_zipfile(handle):
        raise ArchiveError(f"{archive}: not a zip archive")
    try:
        with zipfile.ZipFile(handle) as zf:
            files = check_entries(zf, archive)
            members: dict[str, bytes] = {}
            budget = MAX_TOTAL_BYTES
            for info in files:
                data = _read_member(zf, info, archive, budget)
                budget -= len(data)
                members[_safe_name(archive, info.filename)] = data
    except ArchiveError:
        raise
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{archive}: an entry name is flagged UTF-8 but is not valid UTF-8 (byte {exc.start}); "
                           "refused") from exc
    except _CORRUPT as exc:
        raise ArchiveError(f"{archive}: corrupt zip archive: {exc}") from exc
    return members
