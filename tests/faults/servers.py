"""Throwaway servers for the fault tests: a PostgreSQL cluster and a Redis of their own.

The fault tests stop, kill and restart servers, so they never touch the shared ones
(DATABASE_URL, REDIS_URL): each session makes a PostgreSQL cluster with initdb in a
temporary folder and runs it with pg_ctl on a free port, and each test that needs Redis
starts ``redis-server`` on another free port. Both listen on 127.0.0.1 only and are
stopped and deleted when the test session ends.

The app runs as `make run` runs it: ``manage.py runserver --noreload`` (DEBUG on), and
``celery worker`` for the tests that need one, against these servers.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
# Debian installs it out of PATH for non-root users.
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # /usr/local/bin may hold a link to initdb only
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def missing_tools() -> str:
    """Why the fault tests cannot run here, or ''."""
    if postgres_bin() is None:
        return "initdb and pg_ctl not found (apt-get install postgresql)"
    if not shutil.which("redis-server"):
        return "redis-server not found (apt-get install redis-server)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run PostgreSQL as"
    return ""


def _as_server_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and the development machines run tests as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class ThrowawayPostgres:
    """A PostgreSQL cluster in ``folder``: its own data directory, port and socket folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.bin = postgres_bin()

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = _as_server_user([str(self.bin / args[0]), *args[1:]])
        result = subprocess.run(command, timeout=timeout, capture_output=True, text=True)
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout}{result.stderr}"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The server's user must reach its folder through the (private) temporary one.
            os.chmod(self.folder.parent, 0o755)
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # The default max_connections (100) is kept: the storm test is about living within it.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` ends every backend at once, as a crash would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def start_replica(self) -> ThrowawayPostgres:
        """A streaming replica of this cluster (pg_basebackup -R), started on a port of its own."""
        replica = ThrowawayPostgres(self.folder.parent / f"replica-{free_port()}")
        replica.folder.mkdir()
        if os.geteuid() == 0:
            shutil.chown(replica.folder, "postgres", "postgres")
        replica._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-D", str(replica.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )  # fmt: skip
        replica.start()
        return replica

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def execute(self, sql: str, database: str = "postgres") -> list:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


class ThrowawayRedis:
    """redis-server on a free port, its data in ``folder``; append-only with fsync on every write, as the
    click buffer needs in production (docker-compose.yml), so a stop loses nothing it acknowledged."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self.ping, timeout=10), "throwaway redis-server did not start"

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # redis-server writes its append-only file and exits
            self.proc.wait(timeout=10)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _pgbouncer_version() -> tuple[int, ...]:
    out = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True, timeout=10).stdout
    return tuple(int(part) for part in out.split()[1].split(".")[:2])


class ThrowawayPgBouncer:
    """PgBouncer in transaction mode on a free port, in front of ``postgres``, with at most
    ``pool_size`` server connections per database. It refuses to run as root, so it runs as the
    postgres user like the cluster does."""

    def __init__(self, folder: Path, postgres: ThrowawayPostgres, pool_size: int = 5):
        self.folder = folder
        self.postgres = postgres
        self.pool_size = pool_size
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Run the shipped deploy/pgbouncer.ini, pointed at the throwaway cluster: its own port,
        trust instead of passwords, ``pool_size`` server connections."""
        import configparser

        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        shipped = configparser.ConfigParser()
        shipped.read(ROOT / "deploy" / "pgbouncer.ini")
        settings = dict(shipped["pgbouncer"])
        settings.update(
            listen_addr="127.0.0.1",
            listen_port=str(self.port),
            unix_socket_dir="",
            auth_type="trust",
            auth_file=str(self.folder / "users.txt"),
            default_pool_size=str(self.pool_size),
            logfile=str(self.folder / "pgbouncer.log"),
        )
        if _pgbouncer_version() < (1, 21):
            settings.pop("max_prepared_statements", None)  # unknown before 1.21, and refused
        lines = ["[databases]", f"* = host=127.0.0.1 port={self.postgres.port} user=postgres", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        config = self.folder / "pgbouncer.ini"
        config.write_text("\n".join(lines) + "\n")
        if os.geteuid() == 0:
            for path in (self.folder, *self.folder.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        self.proc = subprocess.Popen(
            _as_server_user([PGBOUNCER, str(config)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert wait_for(self.ready, timeout=10), "throwaway pgbouncer did not start"

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1, autocommit=True) as conn:
                return conn.execute("SELECT 1").fetchone()[0] == 1
        except psycopg.Error:
            return False

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the app -----------------------------------------------------------------------


def app_env(database_url: str, redis_url: str, spool_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SPOOL_DIR": str(spool_dir),
            "LOG_LEVEL": "WARNING",
            "CELERY_QUEUE": f"faults-{os.getpid()}-{time.monotonic_ns()}",
        }
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def django_json(env: dict, code: str, timeout: float = 120):
    """Run ``code`` in a Django shell under ``env``; its last printed line is JSON."""
    return json.loads(manage(env, "shell", "-c", code, timeout=timeout).strip().splitlines()[-1])


class AppProcess:
    """A long-running process of the app (the web server, a worker), its output in a log file."""

    def __init__(self, args: list[str], env: dict, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")


def start_web(env: dict, folder: Path) -> tuple[AppProcess, str]:
    """``manage.py runserver`` as `make run` starts it; returns the process and its base URL."""
    port = free_port()
    web = AppProcess(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env, folder / "web.log"
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        assert web.proc.poll() is None, "runserver exited:\n" + web.output()
        try:
            return httpx.get(url + "/c/-", timeout=1).status_code > 0
        except httpx.TransportError:
            return False

    assert wait_for(up, timeout=30), "runserver did not start:\n" + web.output()
    return web, url


def start_worker(env: dict, folder: Path, *, beat: bool = False) -> AppProcess:
    args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", env["CELERY_QUEUE"]]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    if beat:
        args += ["-B", "-s", str(folder / "beat-schedule")]
    return AppProcess(args, env, folder / ("worker-beat.log" if beat else "worker.log"))


# --- load ---------------------------------------------------------------------------


def storm(urls: list[str], *, threads: int, on_answered=None, headers=None, timeout: float = 30) -> list:
    """GET every URL in ``urls`` from ``threads`` threads (each with a keep-alive client).

    Returns, per URL in order, (status, body text, Location header); a request that got no
    answer at all is (None, error, ""). ``on_answered(n)`` is called after each answer.
    Bounded: every request has ``timeout`` seconds.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    results: list = [None] * len(urls)
    lock = threading.Lock()
    answered = [0]

    def work(start: int) -> None:
        with httpx.Client(timeout=timeout, headers=headers) as client:
            for index in range(start, len(urls), threads):
                try:
                    response = client.get(urls[index])
                    results[index] = (response.status_code, response.text, response.headers.get("location", ""))
                except httpx.HTTPError as exc:
                    results[index] = (None, repr(exc), "")
                with lock:
                    answered[0] += 1
                    count = answered[0]
                if on_answered is not None:
                    on_answered(count)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(threads)))
    return results


@contextmanager
def peak_connections(postgres: ThrowawayPostgres, database: str):
    """Watch ``database``'s server connections while the block runs; yields a list whose
    first item is the most seen at once (read it after the block)."""
    peak = [0]
    stop = threading.Event()

    def watch():
        import psycopg

        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        with psycopg.connect(postgres.url(database), autocommit=True) as conn:
            while not stop.is_set():
                peak[0] = max(peak[0], conn.execute(query, [database]).fetchone()[0])
                time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield peak
    finally:
        stop.set()
        watcher.join()
