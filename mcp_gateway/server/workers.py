"""`serve --workers N`: N gateway processes on one port, so the gateway uses N cores.

The parent binds the port, forks N workers and supervises them; each worker is a whole gateway (its own registry,
upstream connections and event loop). The parent serves nothing itself.

How connections reach the workers. On Linux the parent's socket has SO_REUSEPORT and never listens (it only holds
the port); each worker binds a socket of its own to the same address, which starts listening once that worker's
gateway has started, and the kernel spreads new connections evenly over the listening sockets. A shared accept
socket (the fallback elsewhere) spreads them badly: an asyncio server accepts every pending connection at each
wake-up, so when a load balancer or client opens its connections at once, the first worker to wake takes them
all. Measured with wrk at c=32 (benchmarks/peers.py --workers 2): one shared socket gave 1.03x one worker's
calls/s, and the two workers together used one core's worth of CPU.

What that means for MCP's two protocol eras: a modern-era (2026-07-28) request is self-contained and any worker
answers it; so is every request with `--stateless`. A handshake-era session lives in the worker that opened it,
and a client's next request may arrive on another connection, at another worker, which answers 404 (as for any
unknown session), so the client starts over. With several workers, handshake-era clients therefore need
`--stateless` (or a balancer in front that routes by `Mcp-Session-Id`); the gateway says so when it starts.

Signals: workers run in their own process group, so a terminal's Ctrl-C reaches only the parent, which passes
SIGINT and SIGTERM on to every worker once: each drains as a single gateway does (server/drain.py), and a second
signal stops them at once. SIGHUP is passed on too: every worker re-reads the config. When a worker dies of
anything else the parent stops the others and exits with that worker's status, for the process manager to restart
the whole gateway.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger(__name__)

_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_RELOAD_SIGNAL: signal.Signals | None = getattr(signal, "SIGHUP", None)
_PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int) -> None:
    """Linux: get SIGTERM when the parent dies (even of SIGKILL), so no worker outlives its gateway."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def sockets_per_worker() -> bool:
    """Whether each worker gets a listening socket of its own: Linux, where SO_REUSEPORT balances connections
    (on the BSDs and macOS it does not, so they keep one shared socket)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _worker_socket(port_holder: socket.socket) -> socket.socket:
    """The socket a worker serves on. With SO_REUSEPORT on the parent's socket: a new socket on the same address,
    bound but not listening yet (the server listens once its application has started, so no connection waits on
    a worker that is still starting); otherwise the shared listening socket itself."""
    if not sockets_per_worker() or not port_holder.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT):
        return port_holder
    own = socket.socket(port_holder.family, port_holder.type, port_holder.proto)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    own.bind(port_holder.getsockname())
    port_holder.close()
    return own


def _run_worker(index: int, parent: int, serve: Callable[[int, socket.socket], None], sock: socket.socket) -> None:
    """The child's whole life; it never returns into the parent's code."""
    code = 0
    try:
        os.setpgid(0, 0)
        for forwarded in _FORWARDED_SIGNALS:
            signal.signal(forwarded, signal.SIG_DFL)
        if _RELOAD_SIGNAL is not None:
            # Until the worker's config watcher takes SIGHUP over, a reload request must not kill it.
            signal.signal(_RELOAD_SIGNAL, signal.SIG_IGN)
        _stop_with_parent(parent)
        serve(index, _worker_socket(sock))
    except SystemExit as exit_request:
        code = exit_request.code if isinstance(exit_request.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve_in_workers(workers: int, serve: Callable[[int, socket.socket], None], sock: socket.socket) -> int:
    """Run `serve(index, socket)` in `workers` forked processes until they all end; the exit status is the first
    failing worker's (0 when all ended cleanly). `sock` is bound to the gateway's address: with SO_REUSEPORT set
    (`sockets_per_worker`) and not listening, each worker serves on a socket of its own; else it is shared."""
    if not hasattr(os, "fork"):
        raise OSError("--workers needs a platform with fork(); run one gateway per core behind a balancer instead")
    children: dict[int, int] = {}
    stopping = False

    def pass_on(sig: int) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):  # already gone; os.wait below collects it
                os.kill(pid, sig)

    def forward(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        pass_on(sig)

    previous = {forwarded: signal.signal(forwarded, forward) for forwarded in _FORWARDED_SIGNALS}
    if _RELOAD_SIGNAL is not None:
        # Each worker re-reads the config on SIGHUP, as a single gateway does.
        previous[_RELOAD_SIGNAL] = signal.signal(_RELOAD_SIGNAL, lambda sig, frame: pass_on(sig))
    status = 0
    parent = os.getpid()
    try:
        for index in range(workers):
            pid = os.fork()
            if pid == 0:
                _run_worker(index, parent, serve, sock)
            children[pid] = index
        while children:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            index = children.pop(pid, -1)
            code = os.waitstatus_to_exitcode(wait_status)
            if code != 0 and not stopping:
                logger.error("worker %d (pid %d) exited with status %d: stopping the other workers", index, pid, code)
                status = status or (code if code > 0 else 1)
                forward(signal.SIGTERM, None)
            elif code != 0:
                status = status or (code if code > 0 else 1)
    finally:
        for forwarded, handler in previous.items():
            signal.signal(forwarded, handler)
    return status
