"""Serving processes: one worker serves on its own SO_REUSEPORT socket; a supervisor
starts ``--workers`` of them, restarts any that dies, and stops them all on SIGTERM.

Each worker builds its own services (storage connections, caches, background threads);
caches stay coherent through the change feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import resource
import signal
import socket
import ssl
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import uvloop

from cofre.api.http.exchange import Incoming, Outgoing, Response
from cofre.api.http.logs import LOG_FORMAT_ENV, configure_logging
from cofre.api.http.protocol import HttpProtocol
from cofre.api.http.seal_link import SupervisorLinks, WorkerLink
from cofre.api.metrics.directory import forget_process, prepare_metrics_dir
from cofre.api.pipeline.pipeline import METRICS_PATH, Pipeline
from cofre.api.xks.front import XksOnly
from cofre.config import SERVE_ENV, Settings
from cofre.container import Services, reset_quota_buckets

log = logging.getLogger("cofre.server")

SHUTDOWN_GRACE = 10.0
_PR_SET_DUMPABLE = 4


def listening_socket(host: str, port: int, shared: bool) -> socket.socket:
    """The worker's socket; ``shared`` (several workers) joins a SO_REUSEPORT group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def split_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) as a pair; ValueError if it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def check_port_free(host: str, port: int) -> None:
    """Fail early when anything, another Cofre included, holds the port.

    The probe does not set SO_REUSEPORT, so it cannot join an existing group of
    listeners: a port served by another Cofre is reported as in use, never shared.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


async def _serve(settings: Settings, built: Services | None, link: Connection | None) -> None:
    loop = asyncio.get_running_loop()
    if built is not None:  # a lone worker: the services cofre serve built, with their keeper
        services = built
    else:  # a worker of a supervisor, which keeps the seal and hands the keyring over
        services = await loop.run_in_executor(
            None, lambda: Services.build(settings, open_seal=False)
        )
        if link is not None:
            control = WorkerLink(link, services.keyring)
            services.seal_control = control
            await loop.run_in_executor(None, control.wait_for_keyring)
    services.start_background()
    pipeline = Pipeline(settings, services)
    pipeline.observer.start(loop)
    # Everything built so far (service models, caches, code) lives as long as the process:
    # keep it out of the cyclic collector's scans, which otherwise grow with it.
    gc.collect()
    gc.freeze()
    tls = _tls_context(settings.tls_cert, settings.tls_key)
    server = await loop.create_server(
        lambda: HttpProtocol(pipeline, tls is not None),
        sock=listening_socket(settings.host, settings.port, shared=settings.workers > 1),
        ssl=tls,
    )
    servers = [server]
    metrics_address = settings.metrics_address
    if metrics_address is not None and settings.metrics:
        servers.append(
            await loop.create_server(
                lambda: HttpProtocol(MetricsOnly(pipeline), False),
                sock=listening_socket(*metrics_address, shared=settings.workers > 1),
            )
        )
    if settings.xks_listen:  # the XKS API on a listener of its own (ADR 22)
        xks_host, xks_port = split_listen(settings.xks_listen)
        servers.append(
            await loop.create_server(
                lambda: HttpProtocol(XksOnly(pipeline), tls is not None),
                sock=listening_socket(xks_host, xks_port, shared=settings.workers > 1),
                ssl=tls,
            )
        )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for each in servers:
            each.close()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(each.wait_closed() for each in servers)), SHUTDOWN_GRACE
            )
        except TimeoutError:
            log.warning("connections still open after %.0f s; closing", SHUTDOWN_GRACE)
        pipeline.close()
        services.close()


def prepare_runtime(settings: Settings) -> None:
    """What the serving processes of a node share, made anew at start: the metrics
    directory (before prometheus-client is imported) and the quota buckets."""
    prepare_metrics_dir(settings.data_dir)
    reset_quota_buckets(settings.data_dir)


class MetricsOnly:
    """The ``--metrics-listen`` listener: ``GET /metrics``, and nothing else."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def handle(self, request: Incoming) -> Response:
        if request.method == "GET" and request.path == METRICS_PATH:
            return self._pipeline.scrape()
        return Outgoing(404, b"Only GET /metrics is served here.\n", b"text/plain")


def run_worker(
    settings: Settings, services: Services | None = None, link: Connection | None = None
) -> None:
    """Serve in this process until SIGTERM or SIGINT: with ``services`` (a lone worker,
    which keeps its seal), or building its own and reaching the seal over ``link``."""
    harden_process()
    if link is None:  # the node's only process: its metrics and buckets start anew
        prepare_runtime(settings)
    uvloop.run(_serve(settings, services, link))


def _worker_entry(link: Connection) -> None:
    configure_logging(
        os.environ.get("COFRE_LOG_LEVEL", "INFO"),
        os.environ.get(LOG_FORMAT_ENV, "text"),
        worker=True,
    )
    run_worker(Settings.from_worker_env(), link=link)


def run_supervisor(settings: Settings, services: Services) -> None:
    """Start ``settings.workers`` worker processes and keep them running. This process
    keeps the node's seal (its keeper hands the keyring to each worker over a pipe) and
    appends their audit journals to the chain with ``services`` (closed on the way out;
    a thread of a worker would compete with its event loop for the GIL: ADR 11, "The
    journal")."""
    harden_process()
    prepare_runtime(settings)  # before any worker starts: counts and buckets anew
    links = SupervisorLinks(services.keeper, services.keyring)
    services.keyring.on_load(links.broadcast)
    services.keyring.on_drop(links.broadcast)
    services.audit.start(every_journal=True, jobs=False)
    os.environ[SERVE_ENV] = replace(settings, audit_ingester=False).to_worker_env()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    def spawn() -> multiprocessing.process.BaseProcess:
        ours, theirs = context.Pipe()
        worker: multiprocessing.process.BaseProcess = context.Process(
            target=_worker_entry, args=(theirs,), name="cofre-worker"
        )
        worker.start()
        theirs.close()
        links.add(ours)
        return worker

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [spawn() for _ in range(settings.workers)]
    while not stopping:
        time.sleep(0.2)
        for index, worker in enumerate(workers):
            if worker.is_alive() or stopping:
                continue
            log.error("worker %s exited with %s; restarting", worker.pid, worker.exitcode)
            if worker.pid is not None:
                forget_process(worker.pid)
            time.sleep(1.0)
            workers[index] = spawn()
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            os.kill(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_GRACE + 5
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()
    services.close()  # appends what the workers journaled last


def harden_process() -> None:
    """A process that may hold unsealed keys: no core dumps, and not dumpable (no ptrace
    or /proc/<pid>/mem by other users)."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        log.info("cannot mark the process not dumpable")


def scrub_environment(name: str) -> None:
    """Remove ``name`` from this process's environment, its value overwritten in place
    first: the bytes the kernel shows in /proc/<pid>/environ are the ones the process
    started with, which unsetting alone leaves behind."""
    if not os.environ.get(name):
        os.environ.pop(name, None)
        return
    try:
        libc = ctypes.CDLL(None)
        environ = ctypes.POINTER(ctypes.c_char_p).in_dll(libc, "environ")
        prefix = name.encode() + b"="
        index = 0
        while environ[index] is not None:
            entry = environ[index]
            if entry is not None and entry.startswith(prefix):
                address = ctypes.cast(environ, ctypes.POINTER(ctypes.c_void_p))[index]
                if address is not None:
                    ctypes.memset(address + len(prefix), 0, len(entry) - len(prefix))
            index += 1
    except (OSError, ValueError, AttributeError):
        log.warning("cannot overwrite %s in the process environment", name)
    os.environ.pop(name, None)  # (unsets it in the C environment too)
