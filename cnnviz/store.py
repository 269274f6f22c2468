"""Where learners' work is kept: a database (SQLite by default, PostgreSQL for several servers) and a
data folder, private to each learner.

Why SQLAlchemy 2 (Core) with Alembic: one library speaks to both SQLite (nothing to install or start,
so `streamlit run app.py` stays the whole set-up) and PostgreSQL (what several app servers share), with
the same tables and queries; Alembic versions the schema, so a server that finds an older store
upgrades it in place, and two that start at once do not both try. The ORM would add little to a
dozen tables read as rows.

What goes where: rows in the database (runs with their settings and curves, own-class examples as
small PNGs and as drawn or uploaded, each page's settings, the lesson in progress); files in the data folder (models,
per-epoch checkpoints, results, uploaded datasets), each with a row naming it and its size. The
files are written by training workers (Keras saves to a path; a run's checkpoints are tens of MB),
are read back by path (`keras.models.load_model`), and are removed with `rm`: in a database they
would bloat every backup and vacuum, and stream through the database server for nothing. Several
servers share the data folder (a shared volume) as they share the database.

Who is who: a learner is known by a random id (`new_learner_id`, 256 bits) that lives in their
browser; the store keeps only its SHA-256 (`learner_key`), so a copy of the database opens nobody's
work, and a made-up id finds an empty workspace. Every query names the learner's key.

Faults (a corrupt or locked database file, a read-only or full data folder, a PostgreSQL server that
is down or goes away) raise `StoreUnavailable`, whose message names the cause and what to do; the
store never rewrites or removes a file it cannot read. SQLite runs in WAL mode with a busy timeout,
and writes take the lock at their start (BEGIN IMMEDIATE) and retry, so forty sessions writing at
once lose no row (bench/store.py).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cnnviz.errors import InvalidInput

SCHEMA_REVISION = "0002"  # the newest migration in cnnviz/migrations/versions (tests check they agree)
SQLITE_FILE = "store.sqlite"
BUSY_TIMEOUT_S = 15  # SQLite waits this long for another writer before reporting the file locked
WRITE_TRIES = 6  # a write that meets a lock or a dropped connection is tried again, with growing pauses
LEARNER_ID = re.compile(r"^[A-Za-z0-9_-]{32,128}$")  # url-safe base64: at least 192 bits as we write them


def default_data_folder() -> Path:
    """~/.local/share/cnnviz (or $XDG_DATA_HOME/cnnviz): the data folder when CNNVIZ_DATA is not set."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "cnnviz"


class StoreUnavailable(InvalidInput):
    """The store cannot be used now. `cause` says what is wrong, `fix` what whoever runs the server
    should do; the message (both) is safe to show to a learner."""

    def __init__(self, cause: str, fix: str):
        self.cause, self.fix = cause, fix
        super().__init__(f"{cause} {fix}")


# --- the schema (cnnviz/migrations/versions holds the same tables as migrations) ---------------------


def _schema():
    import sqlalchemy as sa

    metadata = sa.MetaData()
    key = sa.String(64)  # a learner's key: the SHA-256 of their id, in hex
    sa.Table(
        "learners",
        metadata,
        sa.Column("key", key, primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("seen", sa.Float, nullable=False),
    )
    sa.Table(
        "runs",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("learner", key, nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False, default=""),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False, default=""),
        sa.Column("job", sa.Text, nullable=False),  # the TrainJob as JSON: settings and what it trained on
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("finished", sa.Float),
        sa.Column("params", sa.Integer),
        sa.Column("train_seconds", sa.Float),
        sa.Column("test_accuracy", sa.Float),
        sa.Column("epochs", sa.Text, nullable=False, default="[]"),  # the per-epoch curve points, JSON
        sa.Column("batches", sa.Text, nullable=False, default="[]"),  # the running points, JSON
        sa.Column("server", sa.String(32)),  # the server that trains it (while it is not finished)
        sa.UniqueConstraint("learner", "number", name="runs_learner_number"),
    )
    sa.Table(
        "files",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("learner", key, nullable=False, index=True),
        sa.Column("run", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True),
        sa.Column("kind", sa.String(16), nullable=False),  # model, checkpoint, results, dataset
        sa.Column("epoch", sa.Integer),
        sa.Column("path", sa.Text, nullable=False),  # relative to the data folder
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("run", "path", name="files_run_path"),
    )
    sa.Table(
        "own_classes",
        metadata,
        sa.Column("learner", key, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        # [[class name, [example digest, ...], [box or None, ...], [original's digest or None, ...]], ...]
        sa.Column("layout", sa.Text, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    sa.Table(
        "own_examples",
        metadata,
        sa.Column("learner", key, primary_key=True),
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("png", sa.LargeBinary, nullable=False),  # the example as the network gets it
    )
    sa.Table(
        "own_originals",
        metadata,
        sa.Column("learner", key, primary_key=True),
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),  # the example as drawn (PNG) or uploaded (the file)
    )
    sa.Table(
        "learner_state",
        metadata,
        sa.Column("learner", key, primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),  # "lesson", "settings:trainer", ...
        sa.Column("value", sa.Text, nullable=False),  # JSON
        sa.Column("updated", sa.Float, nullable=False),
    )
    sa.Table(
        "servers",
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),  # the machine (its boot) and process id: a
        sa.Column("pid", sa.Integer, nullable=False),  # restarted server sees at once that it is gone
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
    )
    return metadata


_METADATA = None


def schema():
    """The store's tables (SQLAlchemy MetaData), built once."""
    global _METADATA
    if _METADATA is None:
        _METADATA = _schema()
    return _METADATA


def new_learner_id() -> str:
    """A fresh learner id: 32 random bytes, url-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def learner_key(learner_id: str) -> str:
    """What the store keeps of a learner id: its SHA-256 in hex. Raises InvalidInput for an id that
    is not one (too short, odd characters): such an id gets a fresh one instead.

    >>> learner_key("a" * 43)[:16]
    '66d34fba71f8f450'
    """
    if not isinstance(learner_id, str) or not LEARNER_ID.match(learner_id):
        raise InvalidInput("A learner id is 32 to 128 letters, digits, - or _.")
    return hashlib.sha256(learner_id.encode()).hexdigest()


def this_host() -> str:
    """This machine as the servers table names it: host name and boot id (a container's own)."""
    import socket

    boot = ""
    with contextlib.suppress(OSError):
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return f"{socket.gethostname()}/{boot}"[:255]


@dataclass(frozen=True)
class Usage:
    """What one learner keeps: runs, bytes (files and example pictures) and the biggest runs."""

    runs: int
    bytes: int
    biggest: tuple[tuple[int, str, int], ...]  # (run number, title, bytes), largest first
    own_classes: int = 0  # of `bytes`: the own classes' examples, as the network gets them and as made


# --- faults --------------------------------------------------------------------------------------


def _errno_of(error: BaseException) -> int | None:
    while error is not None:
        if isinstance(error, OSError) and error.errno:
            return error.errno
        error = error.__cause__ or error.__context__
    return None


class Store:
    """Learners' runs, files, own classes and settings, in a database and a data folder.

    Nothing is opened until first used: a store that cannot be reached fails with `StoreUnavailable`
    where it is used, and the pages that need no store are unaffected.

    Parameters
    ----------
    url : SQLAlchemy URL of the database; None: SQLite, `store.sqlite` in `data`.
    data : the data folder (files, and the SQLite database); None: `default_data_folder()`.
    runs, megabytes : what one learner may keep (`check_room` refuses past them, naming what to delete).
    keep_days : a learner's work is removed this many days after their last visit (`remove_old`).
    busy_timeout_s : how long an SQLite write waits for another writer before it counts as locked.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        data: str | Path | None = None,
        runs: int = 50,
        megabytes: float = 500.0,
        keep_days: float = 90.0,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ):
        self.data = Path(data).expanduser() if data else default_data_folder()
        self.busy_timeout_s = float(busy_timeout_s)
        self.url = url or f"sqlite:///{self.data / SQLITE_FILE}"
        self.limit_runs, self.limit_megabytes, self.keep_days = int(runs), float(megabytes), float(keep_days)
        self._engine = None
        self._writer = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ=None) -> Store:
        """The store the environment describes (`cnnviz.run_settings.STORE_SETTINGS`)."""
        from cnnviz.run_settings import store_settings_from_env

        return cls(**store_settings_from_env(environ))

    @property
    def kind(self) -> str:
        """'sqlite' or 'postgresql'."""
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def where(self) -> str:
        """The database as a person names it (the password left out)."""
        if self.kind == "sqlite":
            return self.url.removeprefix("sqlite:///")
        import sqlalchemy as sa

        return sa.make_url(self.url).render_as_string(hide_password=True)

    # --- opening ---

    def open(self) -> Store:
        """Create the data folder and the database's tables (or upgrade them), once. Raises StoreUnavailable."""
        if self._engine is not None:
            return self
        with self._lock:
            if self._engine is None:
                try:
                    self._open()
                except StoreUnavailable:
                    raise
                except Exception as error:
                    raise self.explain(error) from error
        return self

    def _open(self) -> None:
        import sqlalchemy as sa

        self.data.mkdir(parents=True, exist_ok=True)
        if not os.access(self.data, os.W_OK):  # SQLite's WAL cannot even be read in a folder it cannot write
            raise self.explain(OSError(errno.EROFS, "read-only", str(self.data)))
        if self.kind == "sqlite":
            path = Path(self.where())
            if path.exists() and path.stat().st_size >= 16 and path.read_bytes()[:16] != b"SQLite format 3\x00":
                raise StoreUnavailable(
                    f"The store's database file {path} is not an SQLite database (it is damaged, or another file).",
                    "Nothing was changed in it. Whoever runs the server: move that file aside (a new, empty store "
                    "is then made) or put a backup in its place, and restart.",
                )
            engine = sa.create_engine(
                self.url,
                connect_args={"timeout": self.busy_timeout_s, "check_same_thread": False},
                pool_size=8,
                max_overflow=32,
                pool_timeout=60,
            )

            @sa.event.listens_for(engine, "connect")
            def _connect(connection, _record):
                connection.isolation_level = None  # transactions begin below, as asked
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed row
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
                cursor.close()

            @sa.event.listens_for(engine, "begin")
            def _begin(connection):
                # A write takes the database's write lock when it begins: two transactions that both
                # read and then write would otherwise deadlock, and one would fail at once.
                write = connection.get_execution_options().get("cnnviz_write")
                connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        else:
            engine = sa.create_engine(
                self.url,
                connect_args={"connect_timeout": 5},
                pool_pre_ping=True,  # a connection the server dropped (restart) is replaced, not used
                pool_size=8,
                max_overflow=32,
                pool_timeout=60,
            )
        self._migrate(engine)
        self._engine, self._writer = engine, engine.execution_options(cnnviz_write=True)

    def _migrate(self, engine) -> None:
        """Bring the schema to SCHEMA_REVISION with Alembic (skipped, without importing Alembic, when it
        is there already)."""
        import sqlalchemy as sa

        with engine.connect() as connection:
            current = None
            if sa.inspect(connection).has_table("alembic_version"):
                current = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if current == SCHEMA_REVISION:
            return
        for attempt in range(WRITE_TRIES):
            try:
                upgrade(engine)
                return
            except Exception:
                # Another server upgrading at the same moment: it will have finished after a pause.
                time.sleep(0.2 * (attempt + 1))
                with engine.connect() as connection:
                    if sa.inspect(connection).has_table("alembic_version"):
                        done = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                        if done == SCHEMA_REVISION:
                            return
                if attempt == WRITE_TRIES - 1:
                    raise

    def close(self) -> None:
        """Let go of the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = self._writer = None

    def explain(self, error: BaseException) -> StoreUnavailable:
        """The StoreUnavailable that names what `error` means here, and what to do about it."""
        if isinstance(error, StoreUnavailable):
            return error
        text = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else ""
        lowered = text.lower()
        code = _errno_of(error)
        folder = self.data
        admin = "Whoever runs the server: "
        if code == errno.ENOSPC or "disk is full" in lowered or "no space left" in lowered or self._full(lowered):
            return StoreUnavailable(
                f"The data folder {folder} is full: your work cannot be saved now (what is saved stays as it was).",
                admin + "free some space there (or give it a bigger disk); nothing needs restarting.",
            )
        if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in lowered or "read-only" in lowered:
            return StoreUnavailable(
                f"The data folder {folder} cannot be written (read-only, or not the server's): your work cannot "
                "be saved now.",
                admin + "make it writable for the server, or set CNNVIZ_DATA to a folder it can write, and restart.",
            )
        if self.kind == "sqlite":
            if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
                return StoreUnavailable(
                    f"The store's database file {self.where()} is damaged ({text}).",
                    admin + "move that file aside (a new, empty store is then made) or put a backup in its place, "
                    "and restart. Nothing was changed in it.",
                )
            if "locked" in lowered or "busy" in lowered:
                return StoreUnavailable(
                    f"The store's database file {self.where()} is locked by another program (still so after "
                    f"{self.busy_timeout_s:g} s): your work cannot be saved this moment.",
                    admin + "look for a program holding it open (a backup, a database browser) and close it.",
                )
            if "unable to open" in lowered:
                return StoreUnavailable(
                    f"The store's database file {self.where()} cannot be opened ({text}).",
                    admin + "check that the data folder exists and the server can write it, or set CNNVIZ_DATA.",
                )
        else:
            where = self.where()
            if "password" in lowered or "authentication" in lowered or "role" in lowered:
                return StoreUnavailable(
                    f"The database server at {where} refused the store's login ({text}).",
                    admin + "check the user and password in CNNVIZ_DATABASE_URL.",
                )
            if "does not exist" in lowered and "database" in lowered:
                return StoreUnavailable(
                    f"The database named in CNNVIZ_DATABASE_URL does not exist on its server ({where}).",
                    admin + "create it (createdb) or correct CNNVIZ_DATABASE_URL.",
                )
            return StoreUnavailable(
                f"The database server at {where} does not answer ({text or type(error).__name__}): your work cannot "
                "be saved or loaded now. Runs keep training, and are saved once it is back.",
                admin + "start PostgreSQL again (or check the network to it); the app reconnects by itself.",
            )
        return StoreUnavailable(
            f"The store ({self.where()}) failed: {text or type(error).__name__}.",
            admin + "check the server's log; the data folder and the database file are left as they were.",
        )

    def _full(self, lowered: str) -> bool:
        """Whether an SQLite I/O error comes from a full data folder (its files cannot grow)."""
        if "i/o error" not in lowered:
            return False
        try:
            return shutil.disk_usage(self.data).free < 2**20
        except OSError:
            return False

    # --- transactions ---

    def _read(self, work: Callable):
        self.open()
        try:
            with self._engine.connect() as connection:
                return work(connection)
        except StoreUnavailable:
            raise
        except Exception as error:
            raise self.explain(error) from error

    def _write(self, work: Callable):
        """Run `work(connection)` in one transaction, tried again when the database was locked or the
        connection dropped; raises StoreUnavailable when it still fails."""
        import sqlalchemy as sa

        self.open()
        for attempt in range(WRITE_TRIES):
            try:
                with self._writer.begin() as connection:
                    return work(connection)
            except sa.exc.IntegrityError:
                raise
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
                transient = any(
                    word in str(error).lower()
                    for word in ("locked", "busy", "deadlock", "serialize", "closed", "terminat", "connection")
                )
                if not transient or attempt == WRITE_TRIES - 1:
                    raise self.explain(error) from error
                time.sleep(min(2.0, 0.05 * 2**attempt) * (1 + secrets.randbelow(100) / 100))
            except StoreUnavailable:
                raise
            except Exception as error:
                raise self.explain(error) from error
        raise AssertionError("unreachable")

    def check(self) -> None:
        """Raise StoreUnavailable unless the database answers and the data folder can be written."""

        def ping(connection):
            import sqlalchemy as sa

            connection.execute(sa.text("SELECT 1"))

        self._read(ping)
        try:
            probe = self.data / f".write-check-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            raise self.explain(error) from error

    # --- learners ---

    def touch_learner(self, key: str, *, now: float | None = None) -> None:
        """Note that the learner with this key was here now (created on their first visit)."""
        now = time.time() if now is None else now
        learners = schema().tables["learners"]

        def work(connection):
            updated = connection.execute(learners.update().where(learners.c.key == key).values(seen=now)).rowcount
            if not updated:
                connection.execute(learners.insert().values(key=key, created=now, seen=now))

        self._write(work)

    # --- runs ---

    def save_run(self, row: dict, files: Iterable[tuple[str, int | None, str, int]] = ()) -> None:
        """Write a run's row (inserted or replaced as a whole) and its files (kind, epoch, path relative
        to the data folder, bytes): idempotent, so a failed write is simply tried again later."""
        runs, table = schema().tables["runs"], schema().tables["files"]
        row = {**row, "updated": time.time()}
        files = list(files)

        def work(connection):
            updated = connection.execute(
                runs.update().where((runs.c.id == row["id"]) & (runs.c.learner == row["learner"])).values(**row)
            ).rowcount
            if not updated:
                connection.execute(runs.insert().values(**row))
            if files:
                known = set(
                    connection.execute(
                        table.select().with_only_columns(table.c.path).where(table.c.run == row["id"])
                    ).scalars()
                )
                new = [
                    {
                        "learner": row["learner"],
                        "run": row["id"],
                        "kind": kind,
                        "epoch": epoch,
                        "path": path,
                        "bytes": size,
                    }
                    for kind, epoch, path, size in files
                    if path not in known
                ]
                if new:
                    connection.execute(table.insert(), new)

        self._write(work)

    def run_versions(self, learner: str) -> dict[str, float]:
        """{run id: when its row last changed} of a learner's runs (a cheap query: what to reload)."""
        runs = schema().tables["runs"]
        query = runs.select().with_only_columns(runs.c.id, runs.c.updated).where(runs.c.learner == learner)
        return self._read(lambda connection: dict(connection.execute(query).all()))

    def run_rows(self, learner: str, ids: Iterable[str] | None = None) -> list[dict]:
        """A learner's run rows (all, or those with these ids), each with its `files` [(kind, epoch, path)]."""
        runs, table = schema().tables["runs"], schema().tables["files"]
        condition = runs.c.learner == learner
        if ids is not None:
            ids = list(ids)
            if not ids:
                return []
            condition = condition & runs.c.id.in_(ids)

        def work(connection):
            rows = [dict(row) for row in connection.execute(runs.select().where(condition)).mappings()]
            if rows:
                query = table.select().where(table.c.run.in_([row["id"] for row in rows])).order_by(table.c.id)
                by_run: dict[str, list] = {}
                for file in connection.execute(query).mappings():
                    by_run.setdefault(file["run"], []).append((file["kind"], file["epoch"], file["path"]))
                for row in rows:
                    row["files"] = by_run.get(row["id"], [])
            return sorted(rows, key=lambda row: row["number"])

        return self._read(work)

    def next_number(self, learner: str) -> int:
        """The number the learner's next run gets: one more than any they have."""
        import sqlalchemy as sa

        runs = schema().tables["runs"]
        query = sa.select(sa.func.max(runs.c.number)).where(runs.c.learner == learner)
        return int(self._read(lambda connection: connection.execute(query).scalar()) or 0) + 1

    def interrupt(self, run_id: str, learner: str, *, server: str | None, state: str, message: str) -> bool:
        """Mark a run that was training on `server` (now gone) as interrupted; False when another server
        did so first or the run moved on."""
        runs = schema().tables["runs"]
        unfinished = ("queued", "starting", "running", "stopping")

        def work(connection):
            condition = (runs.c.id == run_id) & (runs.c.learner == learner) & runs.c.state.in_(unfinished)
            condition = condition & (runs.c.server == server if server is not None else runs.c.server.is_(None))
            update = runs.update().where(condition).values(state=state, message=message, updated=time.time())
            return connection.execute(update).rowcount > 0

        return self._write(work)

    def delete_run(self, run_id: str, learner: str) -> bool:
        """Remove a learner's run: its row, its files' rows and the files (those no other run names)."""
        runs, table = schema().tables["runs"], schema().tables["files"]

        def work(connection):
            paths = list(
                connection.execute(
                    table.select().with_only_columns(table.c.path).where(table.c.run == run_id)
                ).scalars()
            )
            connection.execute(table.delete().where((table.c.run == run_id) & (table.c.learner == learner)))
            gone = connection.execute(runs.delete().where((runs.c.id == run_id) & (runs.c.learner == learner))).rowcount
            if not gone:
                return None
            still = (
                set(
                    connection.execute(
                        table.select().with_only_columns(table.c.path).where(table.c.path.in_(paths))
                    ).scalars()
                )
                if paths
                else set()
            )
            return [path for path in paths if path not in still]

        removable = self._write(work)
        if removable is None:
            return False
        self._remove_files(removable)
        shutil.rmtree(self.data / "runs" / run_id, ignore_errors=True)
        return True

    def _remove_files(self, paths: Iterable[str]) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                (self.data / path).unlink()

    # --- servers (which runs are still training somewhere) ---

    def heartbeat(self, server: str, *, pid: int | None = None) -> None:
        """Say that `server` (one RunManager) is alive now."""
        servers = schema().tables["servers"]
        now = time.time()

        def work(connection):
            updated = connection.execute(servers.update().where(servers.c.id == server).values(heartbeat=now)).rowcount
            if not updated:
                connection.execute(
                    servers.insert().values(
                        id=server, host=this_host(), pid=pid or os.getpid(), started=now, heartbeat=now
                    )
                )

        self._write(work)

    def live_servers(self, *, stale_s: float) -> set[str]:
        """The servers that have said they are alive within `stale_s` seconds, less those on this machine
        whose process has gone (a restarted server knows at once)."""
        servers = schema().tables["servers"]
        rows = self._read(lambda connection: connection.execute(servers.select()).mappings().all())
        host, now, alive = this_host(), time.time(), set()
        for row in rows:
            if now - row["heartbeat"] > stale_s:
                continue
            if row["host"] == host and not _process_alive(row["pid"]):
                continue
            alive.add(row["id"])
        return alive

    def forget_server(self, server: str) -> None:
        """A server closing cleanly takes its row away."""
        servers = schema().tables["servers"]
        self._write(lambda connection: connection.execute(servers.delete().where(servers.c.id == server)))

    # --- own classes ---

    def save_own_classes(self, learner: str, own) -> float:
        """Keep a learner's own classes (`cnnviz.own_classes.OwnClasses`): the classes in order, every
        example as a PNG and as drawn or uploaded (only what is not yet kept is written) and, for
        pictures with boxes, each example's box. Returns the time it was kept (`own_classes_updated`)."""
        import numpy as np

        from cnnviz.images import encode_png

        tables = schema().tables
        classes, examples, originals = tables["own_classes"], tables["own_examples"], tables["own_originals"]
        layout, pictures, files = [], {}, {}
        for name, items in own.examples.items():
            digests, sources = [], []
            for picture, original in zip(items, own.originals_of(name), strict=True):
                digest = hashlib.blake2b(
                    np.ascontiguousarray(picture).data, digest_size=16, person=str(picture.shape).encode()[:16]
                ).hexdigest()
                digests.append(digest)
                pictures[digest] = picture
                source = None if original is None else hashlib.blake2b(original, digest_size=16).hexdigest()
                sources.append(source)
                if source is not None:
                    files[source] = original
            # Pictures with boxes: each example's box (fractions of the picture) or None, by position.
            boxes = [None if box is None else list(box) for box in own.boxes_of(name)]
            layout.append([name, digests, boxes, sources])

        def keep(connection, table, column, rows: dict, encode) -> None:
            digest = table.c.digest
            kept = set(
                connection.execute(table.select().with_only_columns(digest).where(table.c.learner == learner)).scalars()
            )
            new = [
                {"learner": learner, "digest": key, column: encode(value)}
                for key, value in rows.items()
                if key not in kept
            ]
            if new:
                connection.execute(table.insert(), new)
            unused = kept - set(rows)
            if unused:
                connection.execute(table.delete().where((table.c.learner == learner) & digest.in_(unused)))

        def work(connection):
            keep(connection, examples, "png", pictures, lambda p: encode_png(p[..., 0] if p.shape[-1] == 1 else p))
            keep(connection, originals, "data", files, bytes)
            values = {"kind": own.kind, "layout": json.dumps(layout), "updated": time.time()}
            if not connection.execute(classes.update().where(classes.c.learner == learner).values(**values)).rowcount:
                connection.execute(classes.insert().values(learner=learner, **values))
            return values["updated"]

        return self._write(work)

    def own_classes_updated(self, learner: str) -> float | None:
        """When the learner's own classes were last kept (by any tab or server), or None: a session whose
        copy is older reloads it before changing it, so two tabs never write over each other's work."""
        classes = schema().tables["own_classes"]
        query = classes.select().with_only_columns(classes.c.updated).where(classes.c.learner == learner)
        return self._read(lambda connection: connection.execute(query).scalar())

    def load_own_classes(self, learner: str):
        """A learner's own classes as kept (an OwnClasses), or None when they have none."""
        from cnnviz.own_classes import OwnClasses

        tables = schema().tables
        classes, examples, originals = tables["own_classes"], tables["own_examples"], tables["own_originals"]

        def work(connection):
            row = connection.execute(classes.select().where(classes.c.learner == learner)).mappings().first()
            if row is None:
                return None
            query = examples.select().where(examples.c.learner == learner)
            pngs = {item["digest"]: item["png"] for item in connection.execute(query).mappings()}
            query = originals.select().where(originals.c.learner == learner)
            return dict(row), pngs, {item["digest"]: item["data"] for item in connection.execute(query).mappings()}

        found = self._read(work)
        if found is None:
            return None
        row, pngs, files = found
        own = OwnClasses(kind=row["kind"])
        decoded = {digest: _decode_png(png, row["kind"]) for digest, png in pngs.items()}
        for name, digests, *rest in json.loads(row["layout"]):
            boxes = rest[0] if rest else [None] * len(digests)
            sources = rest[1] if len(rest) > 1 else [None] * len(digests)
            kept = [
                (digest, box, source)
                for digest, box, source in zip(digests, boxes, sources, strict=False)
                if digest in decoded
            ]
            own.examples[name] = [decoded[digest].copy() for digest, _, _ in kept]
            own.boxes[name] = [None if box is None else tuple(float(v) for v in box) for _, box, _ in kept]
            own.originals[name] = [None if source is None else files.get(source) for _, _, source in kept]
        return own

    # --- small state: each page's settings, the lesson in progress ---

    def put_state(self, learner: str, name: str, value) -> None:
        """Keep a JSON-able `value` under `name` for the learner."""
        table = schema().tables["learner_state"]
        values = {"value": json.dumps(value), "updated": time.time()}

        def work(connection):
            condition = (table.c.learner == learner) & (table.c.name == name)
            if not connection.execute(table.update().where(condition).values(**values)).rowcount:
                connection.execute(table.insert().values(learner=learner, name=name, **values))

        self._write(work)

    def get_state(self, learner: str, name: str, default=None):
        """What `put_state` kept under `name`, or `default`."""
        table = schema().tables["learner_state"]
        query = (
            table.select().with_only_columns(table.c.value).where((table.c.learner == learner) & (table.c.name == name))
        )
        text = self._read(lambda connection: connection.execute(query).scalar())
        return default if text is None else json.loads(text)

    # --- housekeeping ---

    def usage(self, learner: str) -> Usage:
        """How much the learner keeps: runs, bytes of files and example pictures, the biggest runs."""
        import sqlalchemy as sa

        runs, table, examples, originals = (
            schema().tables[name] for name in ("runs", "files", "own_examples", "own_originals")
        )

        def work(connection):
            count = connection.execute(sa.select(sa.func.count()).where(runs.c.learner == learner)).scalar()
            files = connection.execute(
                sa.select(sa.func.coalesce(sa.func.sum(table.c.bytes), 0)).where(table.c.learner == learner)
            ).scalar()
            pictures = sum(
                connection.execute(_bytes_in(column).where(column.table.c.learner == learner)).scalar()
                for column in (examples.c.png, originals.c.data)
            )
            per_run = (
                sa.select(runs.c.number, runs.c.title, sa.func.coalesce(sa.func.sum(table.c.bytes), 0).label("size"))
                .select_from(runs.outerjoin(table, table.c.run == runs.c.id))
                .where(runs.c.learner == learner)
                .group_by(runs.c.id, runs.c.number, runs.c.title)
                .order_by(sa.desc("size"))
                .limit(3)
            )
            biggest = tuple((int(n), str(t), int(s)) for n, t, s in connection.execute(per_run))
            return Usage(int(count), int(files) + int(pictures), biggest, int(pictures))

        return self._read(work)

    def check_room(self, learner: str, usage: Usage | None = None) -> None:
        """Raise InvalidInput, saying what to delete, when the learner keeps as many runs or megabytes as
        this server allows (`runs`, `megabytes`); a new run would go past it. `usage`: the learner's
        `usage`, when the caller has just read it (it is not read again)."""
        if usage is None:
            usage = self.usage(learner)
        largest = ", ".join(f"run {number} ({size / 2**20:.0f} MB)" for number, _, size in usage.biggest if size)
        if usage.runs >= self.limit_runs:
            raise InvalidInput(
                f"You keep {usage.runs} runs, the most this server keeps for one learner ({self.limit_runs}). "
                "Delete runs you no longer need (Delete this run, under 4. Runs) to train another."
            )
        if usage.bytes >= self.limit_megabytes * 2**20:
            own = (
                f" Your own classes take {usage.own_classes / 2**20:.0f} MB of it: remove examples you do not need."
                if usage.own_classes >= usage.bytes / 4
                else ""
            )
            raise InvalidInput(
                f"Your work takes {usage.bytes / 2**20:.0f} MB, the most this server keeps for one learner "
                f"({self.limit_megabytes:g} MB). Delete runs you no longer need to train another"
                + (f"; the largest are {largest}." if largest else ".")
                + own
            )

    def delete_learner(self, learner: str) -> int:
        """Remove everything a learner keeps (runs, files, own classes, settings); returns the runs removed.
        The learner id stays valid: their workspace is empty."""
        names = ("files", "runs", "own_examples", "own_originals", "own_classes", "learner_state")
        tables = schema().tables

        def work(connection):
            runs = list(
                connection.execute(
                    tables["runs"]
                    .select()
                    .with_only_columns(tables["runs"].c.id)
                    .where(tables["runs"].c.learner == learner)
                ).scalars()
            )
            paths = list(
                connection.execute(
                    tables["files"]
                    .select()
                    .with_only_columns(tables["files"].c.path)
                    .where(tables["files"].c.learner == learner)
                ).scalars()
            )
            for name in names:
                connection.execute(tables[name].delete().where(tables[name].c.learner == learner))
            return runs, paths

        runs, paths = self._write(work)
        self._remove_files(paths)
        for run_id in runs:
            shutil.rmtree(self.data / "runs" / run_id, ignore_errors=True)
        shutil.rmtree(self.data / "uploads" / learner[:16], ignore_errors=True)
        return len(runs)

    def remove_old(self, *, now: float | None = None) -> int:
        """Remove the work of learners not seen for `keep_days` days; returns how many."""
        learners = schema().tables["learners"]
        cutoff = (time.time() if now is None else now) - self.keep_days * 86400
        query = learners.select().with_only_columns(learners.c.key).where(learners.c.seen < cutoff)
        old = list(self._read(lambda connection: connection.execute(query).scalars().all()))
        for key in old:
            self.delete_learner(key)
            self._write(lambda connection, key=key: connection.execute(learners.delete().where(learners.c.key == key)))
        return len(old)

    def report(self) -> dict:
        """The store's size for whoever runs the server: learners, runs, files and bytes, the limits."""
        import sqlalchemy as sa

        tables = schema().tables

        def count(connection, name):
            return int(connection.execute(sa.select(sa.func.count()).select_from(tables[name])).scalar())

        def work(connection):
            files = tables["files"]
            examples, originals = tables["own_examples"], tables["own_originals"]
            return {
                "learners": count(connection, "learners"),
                "runs": count(connection, "runs"),
                "files": count(connection, "files"),
                "file_bytes": int(
                    connection.execute(sa.select(sa.func.coalesce(sa.func.sum(files.c.bytes), 0))).scalar()
                ),
                "examples": count(connection, "own_examples"),
                "example_bytes": int(connection.execute(_bytes_in(examples.c.png)).scalar()),
                "originals": count(connection, "own_originals"),
                "original_bytes": int(connection.execute(_bytes_in(originals.c.data)).scalar()),
            }

        found = self._read(work)
        on_disk = sum(path.stat().st_size for path in self.data.rglob("*") if path.is_file())
        return {
            "database": self.where(),
            "data_folder": str(self.data),
            **found,
            "data_folder_bytes": on_disk,
            "limits": {"runs": self.limit_runs, "megabytes": self.limit_megabytes, "keep_days": self.keep_days},
        }

    def relative(self, path: str | Path) -> str | None:
        """`path` relative to the data folder (posix), or None when it lies outside it."""
        try:
            return Path(path).resolve().relative_to(self.data.resolve()).as_posix()
        except ValueError:
            return None


def _bytes_in(column):
    """SELECT the bytes a binary column holds, summed over its rows (0 for none); add a WHERE."""
    import sqlalchemy as sa

    return sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(column)), 0))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _decode_png(png: bytes, kind: str):
    import io

    import numpy as np
    from PIL import Image

    picture = np.asarray(Image.open(io.BytesIO(png)))
    return picture[..., None] if kind == "drawings" and picture.ndim == 2 else picture


def upgrade(engine) -> None:
    """Run the Alembic migrations in cnnviz/migrations up to the newest, on `engine`."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Two servers starting at once: one migrates, the other waits for it here.
            import sqlalchemy as sa

            connection.execute(sa.text("SELECT pg_advisory_xact_lock(210021)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
