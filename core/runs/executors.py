"""Where independent pieces of work run: in this process (the default) or as tasks on a Ray cluster.

:class:`LocalExecutor` runs each item in this process, one after another: what
every command did before executors existed, and what they still do unless
``--executor ray`` is given. It never imports Ray, so the default path starts
no Ray process.

:class:`RayExecutor` sends each item to a Ray cluster as one task with its own
CPU budget (``num_cpus``) and hands the results back to the driver as they
finish; :func:`core.models.feature_shards.compute_on_ray` uses its connection
for a pool of feature-extraction actors. Its address is ``"auto"`` (the cluster this machine is part of, or the
one ``RAY_ADDRESS`` names), ``"host:port"`` of a running cluster's head (the
port ``ray start --head --port`` was given), or ``"local"`` (a cluster started
for this job on this machine and stopped with it). ``FERBIAS_RAY_ADDRESS`` is
the default address of ``--executor ray``.

Ray workers import ``core`` from the same checkout as the driver
(:data:`REPO_ROOT` is put on their ``PYTHONPATH``): on a cluster of several
machines the checkout, its virtual environment and the artifacts folder must be
at the same paths on every node (a shared file system).
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..common._errors import ClusterUnavailableError

#: Environment variable holding the default address of ``--executor ray``.
ADDRESS_ENV = "FERBIAS_RAY_ADDRESS"
#: Names of the executors (``--executor``).
EXECUTORS: tuple[str, ...] = ("local", "ray")
#: The folder that holds the ``core`` package (put on Ray workers' ``PYTHONPATH``).
REPO_ROOT = Path(__file__).resolve().parent.parent

_START_HINT = ("start one with 'ray start --head --port 6379' on the head node (and 'ray start --address "
               "HEAD:6379' on each worker), or pass --address local to start one for this job")


class LocalExecutor:
    """Runs every item in this process, in order (the default; no Ray)."""

    name = "local"
    is_local = True

    def map(self, fn: Callable[..., Any], items: Iterable[tuple], num_cpus: int = 1) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(*item))`` for each item, in order; ``num_cpus`` is ignored here."""
        for i, item in enumerate(items):
            yield i, fn(*item)

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return "local (this process)"


def check_address(address: str) -> str:
    """A validated Ray address: ``"auto"``, ``"local"`` or ``"host:port"``.

    Raises
    ------
    ValueError
        Anything else (the message shows the expected forms and what was received).
    """
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"the Ray address must be 'auto', 'local' or 'host:port', received {address!r}")
    address = address.strip()
    if address.startswith("ray://"):
        raise ValueError(f"Ray client addresses (ray://) are not supported: the driver must be a node of the "
                         f"cluster (it writes the run folders); give the head's 'host:port', received {address!r}")
    if address in ("auto", "local"):
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"the Ray address must be 'auto', 'local' or 'host:port' (e.g. 127.0.0.1:6379), "
                         f"received {address!r}")
    return address


def _reachable(host: str, port: int, timeout: float = 5.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _use_token_if_available() -> None:
    """Send Ray's authentication token when one is available and ``RAY_AUTH_MODE`` is not set.

    A cluster started with ``ray start --head`` while a token exists
    (``~/.ray/auth_token``, ``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``) requires
    it, and Ray 2.60's driver does not send it unless ``RAY_AUTH_MODE=token``.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    from ray._private.authentication.authentication_token_setup import maybe_enable_token_auth_if_token_available

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


class RayExecutor:
    """Runs every item as one Ray task and yields results as tasks finish.

    Parameters
    ----------
    address : str, optional
        ``"auto"``, ``"host:port"`` or ``"local"``; default ``$FERBIAS_RAY_ADDRESS``, else ``"auto"``.

    Raises
    ------
    ValueError
        A malformed address.

    Notes
    -----
    Ray is imported and connected on first use (:meth:`start`), so building the
    executor is cheap and validates the address only. Actors asked for by
    :meth:`actors` (the feature workers) are kept until the next :meth:`map` or
    :meth:`close`: a further feature pass through the same executor reuses them
    instead of starting and loading its models again.
    """

    name = "ray"
    is_local = False

    def __init__(self, address: str | None = None) -> None:
        self.address = check_address(address if address is not None else os.environ.get(ADDRESS_ENV) or "auto")
        self._ray: Any = None
        self._actors: dict[tuple[type, str, int], list[Any]] = {}  # (class, key, CPUs each) -> started actors

    def describe(self) -> str:
        return f"ray ({self.address})"

    def start(self) -> Any:
        """Connect to the cluster (or start the local one); returns the ``ray`` module.

        Raises
        ------
        core.common._errors.ClusterUnavailableError
            No Ray cluster at the address (a ``ConnectionError``); the message says how to start one.
        """
        if self._ray is not None:
            return self._ray
        if self.address not in ("auto", "local"):
            host, _, port = self.address.rpartition(":")
            if not _reachable(host, int(port)):
                raise ClusterUnavailableError(f"no Ray cluster at {self.address} (nothing listens there); "
                                              f"{_START_HINT}")
        import ray

        env = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False,
                                  "logging_level": "ERROR"}
        if self.address == "local":
            kwargs["include_dashboard"] = False
        else:
            kwargs["address"] = self.address
            _use_token_if_available()
        try:
            ray.init(**kwargs)
        except ConnectionError as exc:
            raise ClusterUnavailableError(f"no Ray cluster at address {self.address!r} ({exc}); {_START_HINT}") from None
        self._ray = ray
        return ray

    def map(self, fn: Callable[..., Any], items: Iterable[tuple], num_cpus: int = 1) -> Iterator[tuple[int, Any]]:
        """Submit ``fn(*item)`` for every item as a task of ``num_cpus`` CPUs; yield ``(index, result)`` as they finish.

        A task's exception is raised here (the remaining tasks are cancelled).
        """
        if not isinstance(num_cpus, int) or num_cpus < 1:
            raise ValueError(f"num_cpus must be a positive integer, received {num_cpus!r}")
        ray = self.start()
        self.release_actors()  # kept feature workers hold CPUs these tasks need
        remote = ray.remote(num_cpus=num_cpus, max_retries=0)(fn)
        refs = {remote.remote(*item): i for i, item in enumerate(items)}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                try:
                    result = ray.get(ready[0])
                except ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                yield refs[ready[0]], result
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def actors(self, cls: type, args: tuple, n: int, num_cpus: int, key: str) -> list[Any]:
        """``n`` actors of ``cls(*args)`` with ``num_cpus`` CPUs each, started once and kept under ``key``.

        A later call with the same ``cls``, ``key`` and ``num_cpus`` returns the same actors (more are started if it asks for more), so
        a second feature pass does not start workers or build its model again; they are killed by
        :meth:`release_actors`, :meth:`map` (tasks need their CPUs) and :meth:`close`.

        Parameters
        ----------
        cls : type
            The actor class.
        args : tuple
            Its constructor's arguments (picklable).
        n : int
            Actors wanted (>= 1).
        num_cpus : int
            CPUs each actor holds (>= 1).
        key : str
            What ``args`` build (for the same ``cls``, the same key must mean the same arguments).

        Returns
        -------
        list of ray.actor.ActorHandle

        Raises
        ------
        ValueError
            ``n`` or ``num_cpus`` not a positive integer.
        """
        for name, value in (("n", n), ("num_cpus", num_cpus)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, received {value!r}")
        ray = self.start()
        pool = self._actors.setdefault((cls, key, num_cpus), [])
        if len(pool) < n:
            remote = ray.remote(num_cpus=num_cpus, max_restarts=0)(cls)
            pool.extend(remote.remote(*args) for _ in range(n - len(pool)))
        return pool[:n]

    def kept_actors(self) -> list[Any]:
        """The actors kept now (all keys), in the order they were started."""
        return [a for pool in self._actors.values() for a in pool]

    def release_actors(self, key: str | None = None) -> None:
        """Kill the kept actors of ``key`` (their :meth:`actors` key, any class and CPUs), or all of them."""
        for k in [k for k in self._actors if key is None or k[1] == key]:
            for actor in self._actors.pop(k):
                try:
                    self._ray.kill(actor)
                except Exception:  # noqa: BLE001 - an actor that already died
                    pass

    def close(self) -> None:
        """Kill the kept actors and disconnect (a ``"local"`` cluster started for the job stops with it)."""
        if self._ray is not None:
            self.release_actors()
            self._ray.shutdown()
            self._ray = None

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(name: str = "local", address: str | None = None) -> LocalExecutor | RayExecutor:
    """The executor ``--executor NAME [--address ADDR]`` asks for.

    Raises
    ------
    ValueError
        An unknown name, an address without ``--executor ray``, or a malformed address.
    """
    if name not in EXECUTORS:
        raise ValueError(f"executor must be one of {list(EXECUTORS)}, received {name!r}")
    if name == "local":
        if address is not None:
            raise ValueError(f"--address {address!r} needs --executor ray (the local executor runs in this process)")
        return LocalExecutor()
    return RayExecutor(address)


def add_executor_options(p: Any) -> None:
    """``--executor`` and ``--address`` on a command's parser (run options: they change no result)."""
    g = p.add_argument_group("where the work runs (changes no result or run id)")
    g.add_argument("--executor", choices=list(EXECUTORS), default="local",
                   help="local: this process (default); ray: on a Ray cluster (feature extraction in shards over its "
                        "CPUs, one task per run)")
    g.add_argument("--address", default=None,
                   help=f"with --executor ray: 'auto', 'host:port' of a running cluster's head, or 'local' "
                        f"(a cluster started for this job); default ${ADDRESS_ENV}, else 'auto'")


def executor_from_args(args: Any) -> LocalExecutor | RayExecutor:
    """The executor of a command's ``--executor`` / ``--address`` options."""
    return make_executor(getattr(args, "executor", "local"), getattr(args, "address", None))
