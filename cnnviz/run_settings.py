"""The server's settings: the training backends (`BACKENDS`) and the environment variables that
choose and size them (`SETTINGS`, read by `settings_from_env`), and where learners' work is kept
(`STORE_SETTINGS`, read by `store_settings_from_env`). Kept apart from `cnnviz.runs`
(and NumPy), so that app.py can check them on every page without slowing the home page's start.
"""

from __future__ import annotations

import os

from cnnviz.errors import InvalidInput

# The training backends, one entry each: where its worker pool lives. A pool opens (connects, and
# says how many runs its resources allow at once), spawns workers, gathers their events, and closes.
BACKENDS = {
    "local": "cnnviz.workers.LocalPool",  # worker processes on this machine: the default, nothing to start
    "ray": "cnnviz.ray_runs.RayPool",  # actors on a Ray cluster, by address or started here
}

# The environment variables that choose and size the training backend (the README lists them):
# name -> (RunManager or backend option, type, default, what is accepted).
SETTINGS = {
    "CNNVIZ_BACKEND": ("backend", str, "local", "local or ray"),
    "CNNVIZ_MAX_ACTIVE": ("max_active", int, None, "runs training at once, 1 to 64 (local: 2; Ray: its resources)"),
    "CNNVIZ_SPARES": ("spares", int, None, "local workers kept started for the next run, 0 to 8 (default 1)"),
    "CNNVIZ_WORKER_RUNS": ("max_runs", int, None, "runs a worker trains before a fresh one replaces it, 1 to 1000"),
    "CNNVIZ_WORKER_RSS_MB": ("max_rss_mb", float, None, "a worker's memory in MB past which it retires, 200 to 1e6"),
    "CNNVIZ_RAY_ADDRESS": ("address", str, "auto", "auto, local (start a cluster here) or ray://host:port"),
    "CNNVIZ_RAY_CPUS_PER_RUN": ("cpus_per_run", float, None, "CPUs one run asks Ray for, above 0"),
    "CNNVIZ_RAY_GPUS_PER_RUN": ("gpus_per_run", float, None, "GPUs one run asks for when the cluster has some, 0-8"),
}
_RANGES = {
    "max_active": (1, 64),
    "spares": (0, 8),
    "max_runs": (1, 1000),
    "max_rss_mb": (200, 1e6),
    "cpus_per_run": (1e-3, 1024),
    "gpus_per_run": (1e-3, 8),
}
_RAY_ONLY = {"address", "cpus_per_run", "gpus_per_run"}

# Where learners' work is kept (`cnnviz.store`) and how much of it: name -> (Store option, type, default,
# what is accepted). The defaults suit a class: 40 learners x 500 MB is 20 GB at most.
STORE_SETTINGS = {
    "CNNVIZ_DATA": ("data", str, None, "a folder the server can write (default ~/.local/share/cnnviz)"),
    "CNNVIZ_DATABASE_URL": (
        "url",
        str,
        None,
        "sqlite:////path/store.sqlite or postgresql://user:password@host:5432/name (default: SQLite in CNNVIZ_DATA)",
    ),
    "CNNVIZ_LEARNER_RUNS": ("runs", int, 50, "runs kept per learner, 1 to 10000 (default 50)"),
    "CNNVIZ_LEARNER_MB": ("megabytes", float, 500.0, "megabytes kept per learner, 1 to 1e6 (default 500)"),
    "CNNVIZ_KEEP_DAYS": ("keep_days", float, 90.0, "days a learner's work is kept after their last visit, 1 to 3650"),
}
_STORE_RANGES = {"runs": (1, 10_000), "megabytes": (1, 1e6), "keep_days": (1, 3650)}


def _read(table: dict, ranges: dict, environ) -> dict:
    """Each variable of `table` from `environ` as its type, checked against `ranges`; raises InvalidInput
    naming the variable and what it accepts."""
    values = {}
    for variable, (key, kind, default, accepted) in table.items():
        text = environ.get(variable, "").strip()
        if not text:
            values[key] = default
            continue
        try:
            value = kind(text)
        except ValueError:
            raise InvalidInput(f"{variable}={text!r} is not accepted: {accepted}.") from None
        low, high = ranges.get(key, (None, None))
        if low is not None and not low <= value <= high:
            raise InvalidInput(f"{variable}={text!r} is out of range: {accepted}.")
        values[key] = value
    return values


def store_settings_from_env(environ=None) -> dict:
    """`cnnviz.store.Store` keywords from the environment (`STORE_SETTINGS`): the data folder, the
    database and the limits per learner. Nothing set: SQLite in ~/.local/share/cnnviz.

    >>> store_settings_from_env({})["runs"]
    50
    >>> store_settings_from_env({"CNNVIZ_DATABASE_URL": "postgresql://cnnviz@db/cnnviz"})["url"]
    'postgresql+psycopg://cnnviz@db/cnnviz'
    """
    environ = os.environ if environ is None else environ
    values = _read(STORE_SETTINGS, _STORE_RANGES, environ)
    url = values["url"]
    if url is not None:
        scheme = url.partition("://")[0].lower()
        if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
            values["url"] = "postgresql+psycopg://" + url.partition("://")[2]
        elif scheme != "sqlite" or "://" not in url:
            raise InvalidInput(
                f"CNNVIZ_DATABASE_URL={url!r} is not accepted: {STORE_SETTINGS['CNNVIZ_DATABASE_URL'][3]}."
            )
    return values


def settings_from_env(environ=None) -> dict:
    """RunManager keywords from the environment (`SETTINGS`): the backend, its options, and how many
    runs train at once; `spares` only when set (0 saves a server that trains little its memory and the
    seconds a spare spends importing TensorFlow). Nothing set gives today's server: local workers, two
    at a time.

    >>> settings_from_env({})
    {'backend': 'local', 'backend_options': {}, 'max_active': 2}
    >>> settings_from_env({"CNNVIZ_BACKEND": "ray", "CNNVIZ_RAY_ADDRESS": "local"})["max_active"] is None
    True
    >>> settings_from_env({"CNNVIZ_SPARES": "0"})["spares"]
    0
    """
    environ = os.environ if environ is None else environ
    values = _read(SETTINGS, _RANGES, environ)
    backend = values.pop("backend")
    if backend not in BACKENDS:
        raise InvalidInput(f"CNNVIZ_BACKEND={backend!r} is not accepted: {SETTINGS['CNNVIZ_BACKEND'][3]}.")
    address = values["address"]
    if not (address in ("auto", "local") or address.startswith("ray://") or ":" in address):
        raise InvalidInput(f"CNNVIZ_RAY_ADDRESS={address!r} is not accepted: {SETTINGS['CNNVIZ_RAY_ADDRESS'][3]}.")
    max_active, spares = values.pop("max_active"), values.pop("spares")
    if max_active is None and backend == "local":
        max_active = 2  # this class of machine: two cores
    options = {
        key: value for key, value in values.items() if value is not None and (backend == "ray" or key not in _RAY_ONLY)
    }
    settings = {"backend": backend, "backend_options": options, "max_active": max_active}
    return settings if spares is None else {**settings, "spares": spares}
