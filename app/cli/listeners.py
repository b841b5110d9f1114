"""Several web processes on one port, each with a listening socket of its own
(SO_REUSEPORT), so that the kernel spreads new connections evenly across them.

Why not uvicorn's own supervisor as it is: it hands every process the same socket, and the
process that wakes first accepts a whole burst of connections (asyncio takes up to 100 per
wakeup) and keeps them (keep-alive). Under 50 annotators one process held 38 of the 50
connections at 80% of a core while the other idled, and p99 rose to 0.5-1.9 s
(bench/load.py, 2026-12-06). This subclass keeps uvicorn's supervision (health checks,
restarts, signals) and changes which socket each process slot gets, and what wakes the loop
(a process's end, see run)."""

from __future__ import annotations

import os
import socket
from multiprocessing.connection import wait

from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process, logger

STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that failed before serving


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

    def run(self) -> None:
        """uvicorn's loop, woken by a process's end as well as every half second. uvicorn's
        sleeps 0.5 s on an Event, and a process killed just before the round was still running
        when pinged, so its slot waited out the 5 s health check (2 of 30 kills, 5.1 s); and CI
        saw a killed process neither reaped nor replaced within 60 s, the parent idle in that
        Event's wait (cause not pinned down). Here the processes' sentinels (readable once a
        process is ending) are waited on with poll(2), and an ending one is taken as dead at once."""
        logger.info(f"Started parent process [{os.getpid()}]")
        self.init_processes()
        while not self.should_exit.is_set():
            wait([process.process.sentinel for process in self.processes], timeout=0.5)
            self.handle_signals()
            self.keep_subprocess_alive()
        self.terminate_all()
        self.join_all()
        logger.info(f"Stopping parent process [{os.getpid()}]")

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
        # a readable sentinel: the process has closed its files on the way out; waitpid may not
        # report it yet (and a ping would wait out the health check's 5 s), so it counts as ended
        ended = set(wait([process.process.sentinel for process in self.processes], timeout=0))
        for slot, process in enumerate(self.processes):
            if process.process.sentinel not in ended and \
                    process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung (or ended: then a no-op)
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app or the socket is broken: a restart fails too
                logger.error(f"Child process [{process.pid}] failed to start, stopping the parent process.")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info(f"Child process [{process.pid}] died")
            self.processes[slot] = self._spawn(slot)
