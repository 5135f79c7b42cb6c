"""Compiled artefacts kept between commands: ONNX graphs of the sentence encoder and the skills.

A one-shot command should not import torch and transformers to run two small networks: that
alone costs ~4 s of its start on a 2-core machine. The first use exports each network once
(with torch, from the real weights, checked against them) into a cache folder; later
commands run the file with onnxruntime. An entry is named by a hash of everything it was
built from (weight files, settings, format version), so a changed checkpoint or setting
builds a new entry instead of reusing a stale one.

The folder is ``$EMBODIED_CACHE_DIR``, else ``$XDG_CACHE_HOME/embodied``, else
``~/.cache/embodied``. Deleting it is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

FORMAT = 1
"""Bumped when what an entry holds changes, so older entries are not reused."""


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get("EMBODIED_CACHE_DIR"):
        return Path(os.environ["EMBODIED_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "embodied"


HASH_LIMIT = 16 << 20
"""Files up to this size (bytes) are identified by their content; larger ones (a model's
weights, ~90 MB) by size and modification time, since hashing them would cost a large part
of a fast start."""


def file_fingerprint(path: Path) -> str:
    """sha256 of a file's bytes, or its size and mtime for a file over :data:`HASH_LIMIT`."""
    stat = path.stat()
    if stat.st_size > HASH_LIMIT:
        return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns}"
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entry_key(kind: str, parts: dict) -> str:
    """A short stable name for an entry built from ``parts`` (JSON-serialisable)."""
    text = json.dumps({"kind": kind, "format": FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached(kind: str, parts: dict, suffix: str, build: Callable[[Path], None], what: str) -> Path:
    """The cached file for (``kind``, ``parts``), built by ``build(path)`` when missing.

    ``build`` writes to a temporary path that is renamed into place only when it returns,
    so an interrupted or failed build leaves no half-written entry. ``what`` is said once
    on stderr while building (it can take tens of seconds).
    """
    folder = cache_dir() / kind
    path = folder / f"{entry_key(kind, parts)}{suffix}"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    print(f"preparing {what} for fast start (once; cached in {folder})", file=sys.stderr, flush=True)
    fd, tmp = tempfile.mkstemp(prefix=".building-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        build(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


@contextlib.contextmanager
def quiet_export() -> Iterator[None]:
    """Silence torch's exporter chatter (missing torchvision ops, axis renames) while it runs."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
