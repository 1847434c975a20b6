"""Serve ``notebooks/explore.ipynb`` with Voila on localhost (``make explore``, ``make explore-real``).

Usage::

    python -m helpers.explore [real [--from FILE] | --data PATH] [--port PORT] [--no-browser] [--notebook PATH]

Without arguments the explorer shows the synthetic default package (bannered as synthetic). ``real`` opens the
real review's pinned data rows (CD015373.pub2): fetched, cached and SHA-256 checked exactly as by
``python -m helpers.run real`` (:func:`helpers.data.fetch.fetch`; ``--from FILE``: a local copy, checked the same
way). ``--data PATH`` opens any input :func:`helpers.data.dataset.load_dataset` accepts. The data are read once
here, so a bad input stops with a one-line error before Voila starts; the notebook gets the path in the
environment variable ``NMDA_EXPLORE_DATA`` (:data:`DATA_ENV`).

Voila runs with a pre-heated kernel (``--preheat_kernel``): the notebook is executed before the first visit, so
the page shows the pooled result as soon as it loads (a visit before that kernel is ready waits for it); the
address is printed once the server answers.
Without ``--port`` a free loopback port is chosen. The notebook's kernel is ``nmda-review-py3``
(installed by ``make install``); when that kernel is not registered, a kernel spec of the same name
pointing at this Python (``sys.executable``) is written to a temporary folder put first on
``JUPYTER_PATH``, so Voila always runs the notebook in the current environment.
The server listens on 127.0.0.1 only and the address is printed once it answers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from helpers.core import paths
from helpers.core.errors import OneLineArgumentParser, ParameterError, cli_main

KERNEL_NAME = paths.KERNEL_NAME
HOST = "127.0.0.1"
NOTEBOOK = paths.NOTEBOOKS / "explore.ipynb"
DATA_ENV = "NMDA_EXPLORE_DATA"  # the data the notebook opens (absent: the synthetic default)
#: A page of the Voila server that starts no kernel (the notebook's own address would use the pre-heated one).
READY_PATH = "voila/static/voila.js"


def free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that was free at the time of asking (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _kernel_registered(name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager

    return name in KernelSpecManager().find_kernel_specs()


def kernel_env(base: dict[str, str] | None = None, kernel_dir: Path | None = None,
               name: str = KERNEL_NAME) -> dict[str, str]:
    """Environment for Voila in which the kernel ``name`` (the project's, ``KERNEL_NAME``) runs this Python.

    When Jupyter finds that kernel already (``make install`` registers it), ``base`` is returned unchanged (as a
    copy). Otherwise a kernel spec is written under ``kernel_dir`` (a new temporary folder when None) and that
    folder is put first on ``JUPYTER_PATH``.
    """
    env = dict(os.environ if base is None else base)
    if _kernel_registered(name):
        return env
    root = Path(kernel_dir) if kernel_dir is not None else Path(tempfile.mkdtemp(prefix="nmda-kernel-"))
    spec_dir = paths.ensure_writable_dir(root / "kernels" / name)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (nmda-review)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(root), env.get("JUPYTER_PATH", "")) if p)
    return env


def voila_command(port: int, notebook: Path = NOTEBOOK, open_browser: bool = False) -> list[str]:
    """The Voila command line serving ``notebook`` on ``HOST:port``."""
    if not 0 < int(port) < 65536:
        raise ValueError(f"port must be in 1..65535, got {port!r}")
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--port={int(port)}",
        f"--Voila.ip={HOST}",
        f"--Voila.open_browser={bool(open_browser)}",
        "--show_tracebacks=True",
        "--preheat_kernel=True",
        "--pool_size=1",
    ]


def wait_until_ready(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers HTTP 200; raise TimeoutError after ``timeout`` seconds.

    Raises RuntimeError at once if ``process`` (the server) exits while we wait.
    """
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Voila exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last_error = str(exc)
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last: {last_error})")


def start(port: int | None = None, notebook: Path = NOTEBOOK, open_browser: bool = False,
          log=subprocess.DEVNULL, data: Path | str | None = None) -> tuple[subprocess.Popen, str]:
    """Start Voila for ``notebook`` showing ``data`` (None: the synthetic default); return the process and the
    address (not yet waited for)."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"explorer notebook not found: {notebook}")
    port = free_port() if port is None else int(port)
    cmd = voila_command(port, notebook, open_browser)
    env = kernel_env()
    env.pop(DATA_ENV, None)
    if data is not None:
        env[DATA_ENV] = str(Path(data).absolute())  # the kernel runs in the notebook's folder
    process = subprocess.Popen(cmd, env=env, cwd=notebook.parent, stdout=log, stderr=log)
    return process, f"http://{HOST}:{port}/"


def data_path(args) -> Path | None:
    """The data the explorer opens for the parsed command line: the review's pinned rows for ``real`` (fetched,
    cached, SHA-256 checked: :func:`helpers.data.fetch.fetch`), ``--data``, or None (the synthetic default)."""
    if args.what == "real":
        from helpers.data.fetch import fetch, review_source

        source = review_source("cd015373")
        path = fetch(source, local=args.local)
        print(f"data rows: {path} (SHA-256 {source.sha256[:12]}... as pinned; from {source.url})", flush=True)
        return path
    if args.local is not None:
        raise ParameterError("--from goes with 'real' (python -m helpers.explore real --from FILE); "
                             "for any other input use --data PATH")
    return args.data


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate the Voila process (kill it when it does not exit within ``timeout`` s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="python -m helpers.explore", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK, help=f"notebook to serve (default {NOTEBOOK})")
    parser.add_argument("what", nargs="?", choices=("real",), default=None,
                        help="real: the review's own data rows (CD015373.pub2), fetched and checked")
    parser.add_argument("--from", dest="local", type=Path, default=None,
                        help="with real: a local copy of the review's data file (checked against the pinned SHA-256)")
    parser.add_argument("--data", type=Path, default=None,
                        help="any input load_dataset accepts: a Cochrane data package, data rows (.rda or "
                             "*-data-rows.csv), a tidy folder or the CSV template")
    args = parser.parse_args(argv)
    if args.what == "real" and args.data is not None:
        raise ParameterError("give either 'real' or --data PATH, not both")
    data = data_path(args)
    if data is not None:
        from helpers.explore.app import load_quietly

        dataset = load_quietly(data)  # a bad input stops here, in one line, before Voila starts
        print(f"explorer data: {dataset.label}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops Voila too (via the finally below)
    process, url = start(args.port, args.notebook, open_browser=not args.no_browser, log=None, data=data)
    try:
        wait_until_ready(url + READY_PATH, timeout=120, process=process)
        print(f"nmda-review explorer: {url}  (Ctrl-C to stop)", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(process)

