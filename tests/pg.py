"""A throwaway PostgreSQL cluster for the tests that run on both engines, and where a test's
database lives on each engine.

The cluster is Debian's PostgreSQL (initdb, pg_ctl), run as a non-root user (PostgreSQL refuses
root: as root the `postgres` user the package made runs it) on a private port and socket
folder, without fsync (the data is thrown away). One cluster per test process; stopped by its
PID when the process ends. A test's database is named after the path its DuckDB file would have,
so fixtures keep one identity for "this test's database" on both engines, and a template is
copied with CREATE DATABASE ... TEMPLATE (as a file is copied with copyfile).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from crm_data.config import Config, config_for
from crm_data.db import Database

ENGINES = ("duckdb", "postgres")
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (CRM_PG_BIN, else Debian's newest), or None."""
    chosen = os.environ.get("CRM_PG_BIN")
    for folder in [Path(chosen)] if chosen else BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Cluster:
    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin = bin_dir
        self.port = port
        base = "/dev/shm" if Path("/dev/shm").is_dir() else None
        self.root = Path(tempfile.mkdtemp(prefix="crm-pg-", dir=base))
        self.data = self.root / "data"
        self.user = None if os.geteuid() != 0 else "postgres"
        if self.user is not None:
            uid = pwd.getpwnam(self.user)
            os.chown(self.root, uid.pw_uid, uid.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "crm", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = (
            f"-p {port} -k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        self._admin: psycopg.Connection | None = None

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def url(self, name: str) -> str:
        return f"postgresql://crm@/{name}?host={self.root}&port={self.port}"

    def sql(self, statement: str, params: list | None = None) -> list[tuple]:
        """Run a statement on the cluster's own database, on one connection kept open (a new
        connection per test's database costs more than the copy)."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.url("postgres"), autocommit=True)
        cur = self._admin.execute(statement, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description is not None else []

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGQUIT)  # immediate shutdown: the data is thrown away
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


CLUSTER: Cluster | None = None  # this test process's, started by conftest's `pg_cluster`


def database_name(path: Path) -> str:
    return "t" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:24]


def config_of(path: Path, engine: str) -> Config:
    """The configuration of the database that `path` names on `engine` (the file itself on DuckDB;
    on PostgreSQL a database of the test cluster, created when missing, with the attachments
    still in the file's folder)."""
    if engine == "duckdb":
        return config_for(path)
    assert CLUSTER is not None, "the PostgreSQL cluster is not running"
    name = database_name(path)
    if not CLUSTER.sql("SELECT 1 FROM pg_database WHERE datname = %s", [name]):
        CLUSTER.sql(f'CREATE DATABASE "{name}"')
    base = config_for(path)
    return Config(db_path=base.db_path, data_dir=base.data_dir, database_url=CLUSTER.url(name))


def open_db(path: Path, engine: str) -> Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Database.open(config_of(path, engine))


def copy_db(source: Path, target: Path, engine: str) -> None:
    """Copy the (closed) database `source` names to the one `target` names."""
    if engine == "duckdb":
        shutil.copyfile(source, target)
        return
    assert CLUSTER is not None
    name = database_name(target)
    CLUSTER.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    CLUSTER.sql(f'CREATE DATABASE "{name}" TEMPLATE "{database_name(source)}" STRATEGY FILE_COPY')


def drop_db(path: Path, engine: str) -> None:
    if engine == "postgres" and CLUSTER is not None:
        CLUSTER.sql(f'DROP DATABASE IF EXISTS "{database_name(path)}" WITH (FORCE)')
