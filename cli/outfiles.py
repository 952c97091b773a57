"""Files a command writes (--csv, --xlsx, chart --out, digest --out): never over an
existing file unless --force, never through a symlink.

The writer fills a fresh temporary file next to the target (created with O_EXCL and
O_NOFOLLOW, so nobody's link or file is opened), which then takes the target's name in
one step: ``os.link`` (fails if the name exists: no clobbering, even in a race) or, with
--force, ``os.replace`` (replaces the name itself — a symlink placed there is replaced,
never followed). A symlink at the target is refused even with --force.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ledger.errors import BadInput
from ledger.i18n import _

FORCE_HELP = "Overwrite a file that exists (a symlink is never followed)."


def check_target(path: Path, *, force: bool, option: str) -> Path:
    """Refuse a target that is a symlink, a directory, in a missing folder, or (without
    --force) already exists. Called before any work, so a refusal costs nothing."""
    if path.is_symlink():
        raise BadInput(_("{option} {path}: is a symbolic link; fundledger never writes through one").format(
            option=option, path=path), rule="output_file")
    if path.exists():
        if path.is_dir():
            raise BadInput(_("{option} {path}: is a folder").format(option=option, path=path), rule="output_file")
        if not path.is_file():
            # A device, a pipe or a socket: --force renames over the name, so it would replace
            # the node itself (as root, /dev/full became a regular file: ATTACK17 E3).
            raise BadInput(_("{option} {path}: is not a regular file (a device, pipe or socket); "
                             "give the path of a file").format(option=option, path=path), rule="output_file")
        if not force:
            raise BadInput(_("{option} {path}: the file exists; add --force to overwrite it").format(
                option=option, path=path), rule="output_file")
    if not path.parent.is_dir():
        raise BadInput(_("{option} {path}: folder {folder} does not exist").format(
            option=option, path=path, folder=path.parent), rule="output_file")
    return path


@contextlib.contextmanager
def safe_target(path: Path, *, force: bool, option: str) -> Iterator[Path]:
    """Yield a fresh temporary path to write; on success it becomes ``path``."""
    check_target(path, force=force, option=option)
    import secrets  # (hmac, random, base64) only when a file is written

    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise BadInput(_("{option} {path}: cannot write in {folder}: {error}").format(
            option=option, path=path, folder=path.parent, error=e.strerror), rule="output_file") from e
    os.close(fd)
    try:
        yield tmp
        if force:
            if path.is_symlink() or (path.exists() and not path.is_file()):
                raise BadInput(_("{option} {path}: is a symbolic link; fundledger never writes through one").format(
                    option=option, path=path), rule="output_file")
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as e:
                raise BadInput(_("{option} {path}: the file exists; add --force to overwrite it").format(
                    option=option, path=path), rule="output_file") from e
    except OSError as e:
        raise BadInput(_("cannot write {file}: {error}").format(file=path, error=e.strerror), rule="output_file") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
