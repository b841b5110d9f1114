"""Several web processes on one port, each with a listening socket of its own
(SO_REUSEPORT), so that the kernel spreads new connections evenly across them.

Why not uvicorn's own supervisor as it is: it hands every process the same socket, and the
process that wakes first accepts a whole burst of connections (asyncio takes up to 100 per
wakeup) and keeps them (keep-alive). Under 50 annotators one process held 38 of the 50
connections at 80% of a core while the other idled, and p99 rose to 0.5-1.9 s
(bench/load.py, 2026-12-06). This subclass keeps uvicorn's supervision (health checks,
restarts, signals) and changes only which socket each process slot gets."""

from __future__ import annotations

import socket

from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process, logger

STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that failed before serving
EXIT_WAIT_S = 2.0  # how long a slot waits for its killed process to end before starting the next


def listener(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port) that others may share (SO_REUSEPORT). Made with
    proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets, and a proto-0 socket
    costs every multi-packet response a 40 ms delayed-ACK stall."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    # listening from the start, so the kernel counts it among the port's sockets at once: a
    # process still starting gets its share of connections (answered when it is up) instead
    # of the first process taking every connection made before the others listen
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class BalancedMultiprocess(Multiprocess):
    """uvicorn's Multiprocess, process slot i always on listeners[i] (restarts included: a
    slot's socket never goes unserved for longer than its process takes to come back)."""

    def __init__(self, config: Config, listeners: list[socket.socket]) -> None:
        super().__init__(config, sockets=listeners)
        self.listeners = listeners
        self.exiting: list[Process] = []  # killed, not yet ended: reaped by later rounds

    def _spawn(self, slot: int) -> Process:
        process = Process(self.config, [self.listeners[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._spawn(slot) for slot in range(len(self.listeners))]

    def restart_all(self) -> None:  # SIGHUP: each slot replaced on its own socket, new one first
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._spawn(slot)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        self.exiting = [process for process in self.exiting if process.exitcode is None]  # exitcode reaps
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung: kill it
            # uvicorn joins without a timeout, so a killed process slow to exit would hold every
            # slot's restart (CI once saw a killed process not replaced within 60 s, and no "died"
            # in the log; the cause was not pinned down): wait a little, reap it in a later round
            process.process.join(EXIT_WAIT_S)
            if process.exitcode is None:
                logger.warning(f"Child process [{process.pid}] is still exiting; its slot starts again now")
                self.exiting.append(process)
            if process.exitcode == STARTUP_FAILURE:  # the app or the socket is broken: a restart fails too
                logger.error(f"Child process [{process.pid}] failed to start, stopping the parent process.")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info(f"Child process [{process.pid}] died")
            self.processes[slot] = self._spawn(slot)
