"""`derivlab serve` (what `make run` starts): migrates, seeds the demo once, serves."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import free_port, web_processes

DERIVLAB = str(Path(sys.executable).parent / "derivlab")


def serve(url: str, data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([DERIVLAB, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Uvicorn running" in line or "Application startup complete" in line:
            return proc, "".join(lines)
    proc.kill()
    raise AssertionError("server did not start:\n" + "".join(lines))


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_serve_seeds_the_demo_and_the_printed_password_works(fresh_database_url, tmp_path):
    port = free_port()
    proc, output = serve(fresh_database_url, tmp_path, port)
    try:
        password = re.search(r"^\s+admin\s+(\S+)$", output, re.M).group(1)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        login = client.get("/login")
        assert login.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        response = client.post("/login", data={"username": "admin", "password": password, "csrf_token": token})
        assert response.status_code == 303
        home = client.get("/")
        assert "Demo" in home.text and "150" in home.text
        assert "worker(s) started for check and export jobs" in output  # `make run` checks in the background
    finally:
        stop(proc)
    # a second start finds the database seeded: no new demo, no password printed
    proc, output = serve(fresh_database_url, tmp_path, port)
    stop(proc)
    assert "shown only this once" not in output


def test_serve_says_when_the_port_is_taken(fresh_database_url, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": fresh_database_url, "DATA_DIR": str(tmp_path)}
        result = subprocess.run([DERIVLAB, "serve", "--port", str(port)], env=env, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 1 and f"port {port}" in result.stderr and "in use" in result.stderr


def test_serve_starts_a_killed_worker_again_and_the_queue_moves_on(fresh_database_url, tmp_path):
    """kill -9 of the worker serve started: it was left <defunct> and nothing else was checked
    until the whole app restarted (issue 24, item 7)."""
    import signal
    import threading

    from sqlalchemy import create_engine, text

    port = free_port()
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([DERIVLAB, "serve", "--port", str(port), "--check-workers", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()

    def wait_for(pattern: str, seconds: float = 120) -> re.Match:
        deadline = time.time() + seconds
        while time.time() < deadline:
            for line in list(lines):
                if (m := re.search(pattern, line)):
                    return m
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(lines))

    engine = create_engine(fresh_database_url)
    try:
        first = int(wait_for(r"worker 1 started \(pid (\d+)\)").group(1))
        wait_for("Uvicorn running|Application startup complete")
        os.kill(first, signal.SIGKILL)
        wait_for(rf"worker 1 \(pid {first}\) was killed by signal 9; starting it again")
        second = int(wait_for(r"worker 1 started \(pid (?!{first}\))(\d+)\)".replace("{first}", str(first))).group(1))
        assert second != first
        # the demo's check jobs go on: one finished by the new worker
        deadline = time.time() + 240
        done_by_second = 0
        while time.time() < deadline and not done_by_second:
            with engine.connect() as conn:
                done_by_second = conn.execute(text("SELECT count(*) FROM jobs WHERE state = 'done' AND worker_id LIKE :w"),
                                              {"w": f"%:{second}:%"}).scalar_one()
            time.sleep(0.5)
        assert done_by_second, "no job done by the restarted worker:\n" + "".join(lines)
        assert not os.path.exists(f"/proc/{first}") or "zombie" not in open(f"/proc/{first}/status").read().lower()
    finally:
        engine.dispose()
        stop(proc)


def _state(pid: int) -> str:
    """What a process is doing, for a failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        wchan = {t.name: (t / "wchan").read_text() for t in Path(f"/proc/{pid}/task").iterdir()}
    except OSError as exc:
        return f"{pid}: {exc}"
    return f"{pid}: " + " ".join(line for line in status.splitlines() if line.startswith(("State", "Threads"))) \
        + f" wchan {wchan}"


def _established(pid: int, port: int) -> int:
    """Established TCP connections on `port` whose socket this process holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += local_port == port and state == "01" and inode in inodes
    return count


def test_several_web_processes_share_the_connections_and_one_killed_comes_back(fresh_database_url, tmp_path):
    """Each web process has a listening socket of its own (SO_REUSEPORT): with one shared socket
    one process took 38 of 50 annotators' connections while the other idled (app.cli.listeners)."""
    import signal

    port = free_port()
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "DATA_DIR": str(tmp_path)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:  # serve's own copy stays open
        proc = subprocess.Popen([DERIVLAB, "serve", "--port", str(port), "--web-processes", "2", "--no-worker",
                                 "--no-demo"], env=env, stdout=out, stderr=subprocess.STDOUT)
    connections: list[httpx.Client] = []
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        while time.time() < deadline and len(web_processes(proc.pid)) < 2:
            time.sleep(0.2)
        web = web_processes(proc.pid)
        assert len(web) == 2
        # 40 annotators arriving at once, each with a kept-alive connection of its own: all
        # connected before any is served (a burst), then each answered, so each is held by
        # the process that accepted it
        burst = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
        for sock in burst:
            sock.sendall(f"GET /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        for sock in burst:
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
        held = [_established(pid, port) for pid in web]
        assert sum(held) == 40 and min(held) >= 8, held  # by the kernel's hash, not all on one

        os.kill(web[0], signal.SIGKILL)  # its slot comes back on its own socket
        deadline = time.time() + 60
        now = web_processes(proc.pid)
        while time.time() < deadline and (len(now) < 2 or web[0] in now):
            time.sleep(0.2)
            now = web_processes(proc.pid)
        assert len(now) == 2 and web[0] not in now, (now, _state(proc.pid), _state(web[0]), log.read_text()[-3000:])
        fresh = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(20)]
        connections += fresh
        assert all(c.get("/login").status_code == 200 for c in fresh)  # none waits on an unserved socket
    finally:
        for client in connections:
            client.close()
        for sock in locals().get("burst", []):
            sock.close()
        stop(proc)
