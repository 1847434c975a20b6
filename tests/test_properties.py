"""Property suite (issue 12 points 4-5): a seeded mutation harness over the package reader, the tidy reader,
the review-map loader and the runner's ``-p`` parser.

Properties checked for every generated input:

1. it either loads or raises the project's error (:class:`helpers.core.errors.DataError` /
   :class:`ParameterError`); any other exception fails the test and names the seed that reproduces it;
2. nothing outside the given folder changes (the temporary folder holding the input, and ``data/raw/``);
3. meaning-preserving variants (column order, CRLF, byte-order mark, quoting, container: folder, inner zip,
   outer zip, zip in a zip) load to the same tables.

Seeds: the tiny fixture package (tests/fixtures/packages), the committed synthetic package (copied; never
written) and the shared RevMan sample Fleiss1993.zip. Each case ``i`` uses ``random.Random(i)``, so a failure
is reproduced by its number. Budget: ``NMDA_MUTATIONS`` (default 1) multiplies the case counts; the default
run makes about 90 loads (well under a minute on an idle two-core machine); ``NMDA_MUTATIONS=20`` is a deeper local search.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import warnings
import zipfile
from pathlib import Path

import pytest

from conftest import need_shared
from fixtures.packages.build import package_files, zip_bytes
from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data.dataset import load_dataset
from helpers.data.tidy import read_tidy, write_tidy
from helpers.data.reviewmap import load_review_map
from helpers.run.cli import parse_param

SCALE = int(os.environ.get("NMDA_MUTATIONS", "1"))
HOSTILE_CELLS = ("inf", "-inf", "nan", "NaN", "", "#N/A", "-1", "0", "1e300", "1.5", "317.5", "\u0663\u0664",
                 "0x10", "1_000", "  7  ", "x" * 5000, '"', '""', "a,b", "line\nbreak", "\r", "\x00", "true",
                 "Infinity", "9" * 400, "1e-320", "SUBGROUP_ONLY", "Alpha 2001", "é", "\ufeff1")  # fmt: skip


# --- seeds -------------------------------------------------------------------------------------------------


def _folder_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _seed_files(seed: str) -> dict[str, bytes]:
    """The files of one seed; the shared sample through conftest.need_shared (skips outside CI, fails on CI)."""
    if seed == "tiny":
        return {k: v.encode("utf-8") for k, v in package_files().items()}
    if seed == "synthetic":
        return _folder_files(paths.DATA_RAW / "synthetic-cd015373")
    outer = zipfile.ZipFile(need_shared(paths.SHARED_SAMPLE_PACKAGE, "shared sample package"))
    inner_name = next(n for n in outer.namelist() if n.endswith("-data.zip"))
    inner = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
    return {n: inner.read(n) for n in inner.namelist() if not n.endswith("/")}


def _review(seed: str):
    return None if seed == "fleiss" else "cd015373"


# --- mutations ---------------------------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _set_cell(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 2:
        return data
    r = rng.randrange(0, len(rows))  # the header too
    if rows[r]:
        rows[r][rng.randrange(len(rows[r]))] = rng.choice(HOSTILE_CELLS)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def _flip(rng, data):
    if not data:
        return bytes([rng.randrange(256)])
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def _duplicate_line(rng, data):
    lines = _lines(data)
    i = rng.randrange(len(lines))
    return b"".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])


def _drop_line(rng, data):
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"".join(lines)


def _swap_lines(rng, data):
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def _truncate(rng, data):
    return data[: rng.randrange(len(data) + 1)]


def _insert(rng, data):
    at = rng.randrange(len(data) + 1)
    junk = rng.choice([b",", b'"', b"\r", b"\n", b"\xff\xfe", b"\x00", b"\xe9", b"#N/A", "\u0663".encode()])
    return data[:at] + junk + data[at:]


MUTATORS = (_set_cell, _set_cell, _set_cell, _flip, _duplicate_line, _drop_line, _swap_lines, _truncate, _insert)


def _mutate(rng: random.Random, files: dict[str, bytes]) -> dict[str, bytes]:
    files = dict(files)
    csvs = [n for n in files if n.endswith(".csv")]
    for _ in range(rng.choice((1, 1, 2))):
        name = rng.choice(csvs)
        files[name] = rng.choice(MUTATORS)(rng, files[name])
    if rng.random() < 0.05:
        del files[rng.choice(csvs)]
    return files


# --- containers --------------------------------------------------------------------------------------------


def _zip(files: dict[str, bytes]) -> bytes:
    return zip_bytes(files)


def _write(root: Path, files: dict[str, bytes], container: str) -> Path:
    """Write ``files`` as a folder, an inner data zip, an outer zip (zip in a zip); return the path to load."""
    if container == "folder":
        for name, data in files.items():
            (root / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "pkg" / name).write_bytes(data)
        return root / "pkg"
    if container == "inner":
        (root / "pkg-data.zip").write_bytes(_zip(files))
        return root / "pkg-data.zip"
    outer = _zip({"pkg/1-files/1-data.zip": _zip(files), "pkg/1-article.pdf": b"%PDF"})
    (root / "pkg.zip").write_bytes(outer)
    return root / "pkg.zip"


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _load_or_refuse(loader, label: str):
    """Call ``loader``; return the result or the DataError; fail naming ``label`` on any other exception."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return loader()
    except DataError as exc:
        assert str(exc).strip(), label
        return exc
    except Exception as exc:  # pragma: no cover - what the suite exists to find
        pytest.fail(f"{label}: {type(exc).__name__} instead of the project's error: {exc}")


# --- 1-2. package reader -----------------------------------------------------------------------------------

CASES = {"tiny": 20 * SCALE, "synthetic": 6 * SCALE, "fleiss": 6 * SCALE}


@pytest.mark.parametrize("seed", sorted(CASES))
def test_mutated_packages_load_or_raise_the_projects_error(seed, tmp_path):
    seed_files = _seed_files(seed)
    raw_before = _snapshot(paths.DATA_RAW)
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(CASES[seed]):
        rng = random.Random(i)
        files = _mutate(rng, seed_files)
        case = tmp_path / str(i)
        case.mkdir()
        path = _write(case, files, rng.choice(("folder", "inner", "outer")))
        before = _snapshot(tmp_path)
        result = _load_or_refuse(lambda: load_dataset(path, review=_review(seed)), f"{seed} case {i}")
        outcomes["refused" if isinstance(result, DataError) else "loaded"] += 1
        assert _snapshot(tmp_path) == before, f"{seed} case {i} changed files beside its input"
        shutil.rmtree(case)
    assert _snapshot(paths.DATA_RAW) == raw_before
    assert outcomes["loaded"] and outcomes["refused"], outcomes  # the harness exercises both outcomes


def test_mutated_real_data_rows_load_or_raise(tmp_path, real_rows):
    """The real review's data rows as a bare ``*-data-rows.csv`` (read by helpers.data.datarows), mutated."""
    from helpers.data.rdata import read_rda_rows

    rows, _ = read_rda_rows(real_rows)
    seed = rows.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    for i in range(3 * SCALE):
        rng = random.Random(i)
        path = tmp_path / str(i) / "real-data-rows.csv"
        path.parent.mkdir()
        path.write_bytes(rng.choice(MUTATORS)(rng, seed))
        before = _snapshot(tmp_path)
        _load_or_refuse(lambda: load_dataset(path), f"real rows case {i}")
        assert _snapshot(tmp_path) == before
    flipped = tmp_path / "flipped.rda"
    flipped.write_bytes(_flip(random.Random(0), real_rows.read_bytes()))
    _load_or_refuse(lambda: load_dataset(flipped), "flipped .rda")


def test_mutated_zip_containers_load_or_raise(tmp_path):
    good = _zip({"pkg/1-files/1-data.zip": _zip(_seed_files("tiny"))})
    for i in range(30 * SCALE):
        rng = random.Random(i)
        data = rng.choice((_flip, _truncate, _insert))(rng, good)
        path = tmp_path / f"{i}.zip"
        path.write_bytes(data)
        _load_or_refuse(lambda: load_dataset(path), f"zip case {i}")


# --- 3. meaning-preserving variants ------------------------------------------------------------------------


def _rewrite(data: bytes, rng: random.Random, *, crlf=None, bom=None, shuffle=False, quote_all=False) -> bytes:
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if shuffle:
        order = list(range(len(rows[0])))
        rng.shuffle(order)
        rows = [[r[j] for j in order] for r in rows]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if crlf else "\n",
               quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def _tables(ds):
    return ds.rows, ds.studies, ds.published


@pytest.mark.parametrize("seed", sorted(CASES))
def test_meaning_preserving_variants_give_the_same_tables(seed, tmp_path):
    files = _seed_files(seed)
    (tmp_path / "base").mkdir()
    base_path = _write(tmp_path / "base", files, "folder")
    base = _load_or_refuse(lambda: load_dataset(base_path, review=_review(seed)), seed)
    assert not isinstance(base, DataError), base
    rng = random.Random(0)
    variants = {  # one container each, so every container and every rewrite is covered in three loads
        "folder": ("columns shuffled, CRLF, BOM", dict(shuffle=True, crlf=True, bom=True)),
        "inner": ("LF, no BOM", dict(crlf=False, bom=False)),
        "outer": ("CRLF, BOM, every field quoted", dict(crlf=True, bom=True, quote_all=True)),
    }
    for container, (name, how) in variants.items():
        changed = {n: (_rewrite(d, rng, **how) if n.endswith(".csv") else d) for n, d in files.items()}
        root = tmp_path / container
        root.mkdir()
        ds = _load_or_refuse(lambda: load_dataset(_write(root, changed, container), review=_review(seed)),
                             f"{seed} {name} {container}")
        for a, b, what in zip(_tables(base), _tables(ds), ("rows", "studies", "published")):
            assert a.equals(b), f"{seed}: {name} in a {container} changed the {what} table"


# --- tidy reader -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tidy_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tidy")
    pkg = _write(root, _seed_files("tiny"), "folder")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _folder_files(write_tidy(load_dataset(pkg), root / "tidy"))


def test_mutated_tidy_folders_load_or_raise(tidy_files, tmp_path):
    for i in range(20 * SCALE):
        rng = random.Random(i)
        files = dict(tidy_files)
        name = rng.choice(sorted(files))
        mutator = rng.choice(MUTATORS if name.endswith(".csv") else (_flip, _truncate, _insert, _drop_line))
        files[name] = mutator(rng, files[name])
        folder = tmp_path / str(i)
        folder.mkdir()
        for n, d in files.items():
            (folder / n).write_bytes(d)
        before = _snapshot(tmp_path)
        _load_or_refuse(lambda: read_tidy(folder), f"tidy case {i} ({name}, {mutator.__name__})")
        assert _snapshot(tmp_path) == before


def test_tidy_variants_give_the_same_tables(tidy_files, tmp_path):
    (tmp_path / "a").mkdir()
    for n, d in tidy_files.items():
        (tmp_path / "a" / n).write_bytes(d)
    base = read_tidy(tmp_path / "a")
    rng = random.Random(1)
    (tmp_path / "b").mkdir()
    for n, d in tidy_files.items():
        (tmp_path / "b" / n).write_bytes(_rewrite(d, rng, shuffle=True, crlf=True, bom=True) if n.endswith(".csv")
                                          else d)
    other = read_tidy(tmp_path / "b")
    for a, b, what in zip(_tables(base), _tables(other), ("rows", "studies", "published")):
        assert a.equals(b), f"tidy {what} changed by column order / CRLF / BOM"


# --- review-map loader -------------------------------------------------------------------------------------

YAML_SNIPPETS = ("!!python/object/apply:os.system [echo]", "&a [*a]", "[", "{", "- - -", "? [a]\n: b", "~", "''",
                 "- ''", "[--]", "{drug: ketamine}", "12", "!!binary aGk=", "*undefined", "\t", "%YAML 9.9\n---")


def test_mutated_review_maps_load_or_raise(tmp_path):
    text = (paths.REVIEWS / "cd015373.yaml").read_bytes()
    for i in range(150 * SCALE):
        rng = random.Random(i)
        data = text
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                lines = _lines(data)
                top = [k for k, line in enumerate(lines) if line[:1].isalpha()]  # section keys: rules, overrides
                j = rng.choice(top) if top and rng.random() < 0.3 else rng.randrange(len(lines))
                head = lines[j].split(b":")[0] + b": " if b":" in lines[j] and rng.random() < 0.7 else b""
                lines[j] = head + rng.choice(YAML_SNIPPETS).encode() + b"\n"
                data = b"".join(lines)
            else:
                data = rng.choice(MUTATORS[3:])(rng, data)
        path = tmp_path / f"{i}.yaml"
        path.write_bytes(data)
        _load_or_refuse(lambda: load_review_map(path), f"review map case {i}")


# --- runner -p values --------------------------------------------------------------------------------------


def test_random_parameter_values_parse_or_raise_a_parameter_error():
    names = ("drug", "route", "estimator", "ci_method", "colour", "out_dir", "", " drug")
    for i in range(300 * SCALE):
        rng = random.Random(i)
        value = "".join(rng.choice(["!!python/object:x", "[", "{", "a", "1", ":", " ", "'", '"', "&a", "*a", "\x00",
                                    "null", "\n", "#", "é", "%", "-", "?", "1e309"])
                        for _ in range(rng.randint(0, 6)))
        text = rng.choice((f"{rng.choice(names)}={value}", value))
        try:
            name, parsed = parse_param(text)
        except ParameterError:
            continue
        except ValueError as exc:  # the unknown-name and not-NAME=VALUE messages
            assert "allowed:" in str(exc) or "is not NAME=VALUE" in str(exc), exc
            continue
        assert name in ("drug", "route", "estimator", "ci_method")
