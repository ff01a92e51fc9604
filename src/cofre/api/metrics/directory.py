"""Where the workers of a node keep their metrics: prometheus-client's multi-process mode
reads ``PROMETHEUS_MULTIPROC_DIR`` when it is first imported, so ``cofre serve`` sets it
(and empties the directory: counters start at zero with the node) before any worker
starts and before prometheus-client is imported."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(data_dir: Path) -> Path:
    """The node's metrics directory (``<data dir>/metrics``), emptied, named in the
    environment for this process and the workers it starts."""
    path = data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def forget_process(pid: int) -> None:
    """A worker died: its live gauges (the database pool) stop counting."""
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
