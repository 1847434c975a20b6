"""helpers.data.archive: zips are read in memory; unsafe archives are refused with the archive and entry named."""

from __future__ import annotations

import zipfile

import pytest

from fixtures.packages.build import zip_bytes
from helpers.data import archive
from helpers.data.archive import ArchiveError, read_zip


def test_reads_members_in_memory(tmp_path):
    path = tmp_path / "ok.zip"
    path.write_bytes(zip_bytes({"a/b.csv": b"x,y\n1,2\n", "a/": b""}))
    assert read_zip(path) == {"a/b.csv": b"x,y\n1,2\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.zip"]  # nothing extracted


@pytest.mark.parametrize("name", ["../evil.csv", "a/../../evil.csv", "/etc/passwd", "C:/evil.csv", "..\\evil.csv"])
def test_zip_slip_refused(tmp_path, name):
    path = tmp_path / "slip.zip"
    path.write_bytes(zip_bytes({name: b"x"}))
    with pytest.raises(ArchiveError, match=r"slip.zip: entry .*zip-slip"):
        read_zip(path)


def test_symlink_refused(tmp_path):
    path = tmp_path / "link.zip"
    info = zipfile.ZipInfo("data/link.csv")
    info.external_attr = (0o120777 << 16)  # S_IFLNK
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match=r"link.zip: entry 'data/link.csv' is a symbolic link"):
        read_zip(path)


def test_bomb_ratio_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_bytes({"zeros.csv": b"0" * (4 * 1024**2)}))  # ~4 kB declaring 4 MB
    with pytest.raises(ArchiveError, match=r"bomb.zip: entry 'zeros.csv' has compression ratio \d+:1"):
        read_zip(path)


def test_bomb_total_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1000)
    path = tmp_path / "big.zip"
    path.write_bytes(zip_bytes({"a.csv": b"1" * 600, "b.csv": b"2" * 600}))
    with pytest.raises(ArchiveError, match=r"big.zip: .*MAX_TOTAL_BYTES=1000.*'b.csv'"):
        read_zip(path)


def test_lying_header_enforced_while_reading(tmp_path):
    """Central directory and local header declare 100 bytes; the data inflates to 50,000."""
    data = zip_bytes({"x.csv": b"7" * 50_000})
    declared = (50_000).to_bytes(4, "little")
    assert data.count(declared) == 2
    path = tmp_path / "liar.zip"
    path.write_bytes(data.replace(declared, (100).to_bytes(4, "little")))
    assert zipfile.ZipFile(path).getinfo("x.csv").file_size == 100
    with pytest.raises(ArchiveError, match=r"liar.zip: entry 'x.csv'"):
        read_zip(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_text("Study,Year\n")
    with pytest.raises(ArchiveError, match=r"fake.zip: not a zip archive"):
        read_zip(path)


def test_depth_limit():
    with pytest.raises(ArchiveError, match=r"outer.zip!inner.zip: nested 4 archives deep, over MAX_DEPTH=3"):
        read_zip(zip_bytes({"a": b"1"}), label="outer.zip!inner.zip", depth=4)
