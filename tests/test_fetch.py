"""helpers.data.fetch against a local HTTP server: success, wrong hash, 404, truncated, no network, --from."""

from __future__ import annotations


import hashlib
import http.server
import socket
import threading
import warnings

import pytest

from helpers.core.errors import FetchError
from helpers.data.fetch import Source, fetch, review_source
from helpers.run.cli import main

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.hits.append(self.path)
        if self.path == "/file.rda":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/truncated.rda":  # promises the whole file, sends half, closes
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _source(server, path="/file.rda", payload=PAYLOAD, file="data.rda"):
    return Source(url=f"http://127.0.0.1:{server.server_port}{path}", sha256=hashlib.sha256(payload).hexdigest(),
                  size=len(payload), file=file)  # fmt: skip


def test_download_checked_cached_and_reused(server, tmp_path):
    path = fetch(_source(server), cache=tmp_path)
    assert path == tmp_path / "data.rda" and path.read_bytes() == PAYLOAD
    assert fetch(_source(server), cache=tmp_path) == path
    assert server.hits == ["/file.rda"]  # the second call used the checked copy
    path.write_bytes(b"damaged")
    assert fetch(_source(server), cache=tmp_path).read_bytes() == PAYLOAD  # a damaged copy is fetched again
    assert len(server.hits) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.rda"]


@pytest.mark.parametrize("path, payload, message", [
    ("/file.rda", PAYLOAD[:-1] + b"x", r"SHA-256 [0-9a-f]{64} does not match the pinned"),
    ("/missing.rda", PAYLOAD, r"/missing.rda: HTTP 404 Not Found"),
    ("/truncated.rda", PAYLOAD, r"truncated download: .*5120 of 10240 bytes"),
    ("/file.rda", PAYLOAD[:-4], r"more than the pinned 10236 bytes; refused"),
], ids=["wrong-hash", "404", "truncated", "too-long"])  # fmt: skip
def test_failures_leave_nothing_in_the_cache(server, tmp_path, path, payload, message):
    with pytest.raises(FetchError, match=message):
        fetch(_source(server, path, payload), cache=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_network_names_from(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = Source(url=f"http://127.0.0.1:{port}/x.rda", sha256="0" * 64, size=1, file="x.rda")
    with pytest.raises(FetchError, match=r"^no network: cannot reach .*; with a local copy of the file: "
                                         r"make real FROM=path/to/x.rda \(or python -m helpers.run real --from"):
        fetch(src, cache=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_local_copy_is_checked_the_same_way(server, tmp_path):
    good, cache = tmp_path / "copy.rda", tmp_path / "cache"
    good.write_bytes(PAYLOAD)
    assert fetch(_source(server), local=good, cache=cache) == good and server.hits == []
    good.write_bytes(PAYLOAD[:-1])
    with pytest.raises(FetchError, match="copy.rda: 10239 bytes, expected 10240"):
        fetch(_source(server), local=good, cache=cache)
    with pytest.raises(FetchError, match="nothere.rda: no such file"):
        fetch(_source(server), local=tmp_path / "nothere.rda", cache=cache)


def test_a_checked_local_copy_is_cached_so_a_later_fetch_works_offline(server, tmp_path):
    good, cache = tmp_path / "copy.rda", tmp_path / "cache"
    good.write_bytes(PAYLOAD)
    fetch(_source(server), local=good, cache=cache)
    assert [p.name for p in cache.iterdir()] == ["data.rda"] and (cache / "data.rda").read_bytes() == PAYLOAD
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # already cached and checked: nothing to copy, nothing to warn about
        assert fetch(_source(server), local=good, cache=cache) == good
    good.unlink()
    offline = _source(server, path="/gone.rda")  # the server would answer 404: never asked
    assert fetch(offline, cache=cache) == cache / "data.rda" and server.hits == []
    # a wrong --from file is refused before anything reaches the cache
    other = tmp_path / "other"
    bad = tmp_path / "bad.rda"
    bad.write_bytes(bytes(len(PAYLOAD)))
    with pytest.raises(FetchError, match="does not match the pinned"):
        fetch(_source(server), local=bad, cache=other)
    assert not other.exists() or list(other.iterdir()) == []


def test_source_refuses_bad_entries():
    with pytest.raises(FetchError, match="http"):
        Source(url="file:///etc/passwd", sha256="0" * 64, size=1, file="x")
    with pytest.raises(FetchError, match="plain file name"):
        Source(url="https://example.org/x", sha256="0" * 64, size=1, file="../x")


def test_review_source_is_the_pinned_file():
    src = review_source("cd015373")
    assert src.sha256 == "943cda91e23592be2b5dd9ed5ab2e48b4ecf2b9f8f7abf9c5470b43ca7284409" and src.size == 10832
    assert src.url.endswith("/5230e0e9804ce3e356553675d2aceb328dadaf0c/data/CD015373_pub2_data.rda")
    assert "Pairwise70" in src.provenance


def test_cli_real_fetch_only(real_rows, tmp_path, capsys, monkeypatch):
    from helpers.core import paths

    monkeypatch.setattr(paths, "DATA_EXTERNAL", tmp_path / "external")
    assert main(["real", "--from", str(real_rows), "--fetch-only"]) == 0
    assert "CD015373_pub2_data.rda (SHA-256 943cda91e235... as pinned" in capsys.readouterr().out
    cached = tmp_path / "external" / "CD015373_pub2_data.rda"
    assert cached.read_bytes() == real_rows.read_bytes()  # a later `make real` without FROM finds it offline
    assert main(["real", "--fetch-only"]) == 0 and f"data rows: {cached}" in capsys.readouterr().out
    wrong = tmp_path / "wrong.rda"
    wrong.write_bytes(b"x" * 10832)
    assert main(["real", "--from", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not match the pinned" in err and err.count("\n") == 1
