"""Safe run folders: a run never deletes or overwrites anything that is not a previous run.

:func:`check_target` is called before anything is written. It refuses, with a :class:`RunFolderError`:

- the filesystem root, and any folder inside the project's ``notebooks/``, ``src/`` or ``data/raw/``
  (``PROTECTED``);
- a target that is a file or a symbolic link;
- an existing folder that is neither empty nor a run folder. A run folder holds ``manifest.json`` and nothing
  but the entries a run writes (``RUN_ENTRIES``), so a folder holding anything else (a clone of the project,
  a home directory, a previous run with a notes file added) is never replaced.

The run then writes into a fresh staging folder beside the target (``.<name>.staging-XXXX``, from
:func:`tempfile.mkdtemp`, same filesystem so the final move is a rename). :func:`commit` moves it into place:
an empty target or a previous run folder is replaced only after the new run is complete; if the rename fails
the previous run is put back. A run that fails keeps the previous run untouched (the staging folder with the
partial notebooks is left for inspection and named in the message); with no previous run it becomes the
run folder, as before.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from helpers.core import paths
from helpers.core.errors import RunFolderError
from helpers.run import manifest as mf

RUN_SUBDIRS = ("notebooks", "html", "figures", "tables", "thumbnails")
RUN_FILES = ("index.html", mf.MANIFEST_NAME, mf.RUN_LOG_NAME)
RUN_ENTRIES = RUN_SUBDIRS + RUN_FILES
#: project folders a run folder may never be (or be inside), relative to the project root
PROTECTED = ("notebooks", "src", "data/raw")
_LISTED = 5


def is_run_folder(folder: Path) -> bool:
    """True when ``folder`` holds ``manifest.json`` and only entries a run writes (``RUN_ENTRIES``)."""
    names = {p.name for p in folder.iterdir()}
    return mf.MANIFEST_NAME in names and names <= set(RUN_ENTRIES)


def check_target(out: Path | str) -> Path:
    """Return the absolute run folder for ``out``, or raise :class:`RunFolderError` saying why it is refused.

    Nothing is created, moved or removed here.
    """
    given = Path(out).expanduser()
    if given.is_symlink():
        raise RunFolderError(f"--out {out}: is a symbolic link; give the folder itself")
    target = given.resolve()
    if target.parent == target:
        raise RunFolderError(f"--out {out}: is the filesystem root; give a folder of its own, e.g. runs/default")
    for rel in PROTECTED:
        guarded = (paths.PROJECT_ROOT / rel).resolve()
        if target == guarded or guarded in target.parents:
            raise RunFolderError(f"--out {out}: is inside the project's {rel}/, which a run never writes; "
                                 "use a folder under runs/")  # fmt: skip
    if target.exists() and not target.is_dir():
        raise RunFolderError(f"--out {out}: is a file, not a folder; nothing was written")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RunFolderError(f"--out {out}: {parent} is a file, not a folder")
            break
    if target.is_dir() and any(target.iterdir()) and not is_run_folder(target):
        names = sorted(p.name for p in target.iterdir())
        other = [n for n in names if n not in RUN_ENTRIES] or names
        shown = ", ".join(other[:_LISTED]) + (f" and {len(other) - _LISTED} more" if len(other) > _LISTED else "")
        raise RunFolderError(f"--out {out}: the folder is not empty and is not a run folder (no manifest.json, "
                             f"or other entries: {shown}); choose an empty or new folder - nothing was written")
    return target


def stage(target: Path) -> Path:
    """Create a fresh staging folder beside ``target`` with the run sub-folders; return it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    for sub in RUN_SUBDIRS:
        (staging / sub).mkdir()
    return staging


def has_previous_run(target: Path) -> bool:
    """True when ``target`` is a non-empty run folder (a failed run must then leave it untouched)."""
    return target.is_dir() and any(target.iterdir())


def commit(staging: Path, target: Path) -> Path:
    """Move the finished ``staging`` folder to ``target``, replacing an empty folder or a previous run."""
    check_target(target)  # still empty or a run folder (nothing appeared since the run started)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
        os.rename(target, old / "run")
    try:
        os.rename(staging, target)
    except OSError as exc:
        if old is not None:
            os.rename(old / "run", target)
            old.rmdir()
        raise RunFolderError(f"could not move the finished run {staging} to {target}: {exc}; "
                             "the previous run is unchanged") from exc
    if old is not None:
        shutil.rmtree(old)
    return target
