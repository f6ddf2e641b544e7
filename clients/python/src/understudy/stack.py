"""Starting the ``understudy`` binary (the whole stack in one process) on free ports."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from .client import Understudy

__all__ = ["LocalStack", "StackError", "find_binary"]

UP_MESSAGE = "understudy stack is up"


class StackError(RuntimeError):
    """The stack did not start (the message ends with the tail of its log)."""


def find_binary(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The ``understudy`` binary: ``explicit``, else ``$UNDERSTUDY_BIN``, else the one on
    ``PATH``. A directory stands for the ``understudy`` in it."""
    for candidate in (explicit, os.environ.get("UNDERSTUDY_BIN")):
        if candidate:
            path = Path(candidate)
            if path.is_dir():
                path = path / "understudy"
            return str(path)
    return shutil.which("understudy")


class LocalStack:
    """The ``understudy`` launcher as a child process: Identity, Compute and Load
    Balancers on free ports (``--identity-port 0`` ...), the catalog naming them.

    ``with LocalStack(binary) as us:`` starts it and yields a ready :class:`Understudy`;
    the block's end stops it. ``env`` adds settings (``UNDERSTUDY__...``); ``admin_token``
    sets ``control.admin_token`` and makes the client send it; the log (JSON lines) goes
    to ``log_path`` (a temporary file when not given).
    """

    def __init__(
        self,
        binary: str | os.PathLike[str] | None = None,
        *,
        admin_token: str | None = None,
        env: Mapping[str, str] | None = None,
        config: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        found = find_binary(binary)
        if found is None:
            raise StackError(
                "no understudy binary: set UNDERSTUDY_BIN or put understudy on PATH"
            )
        self.binary = found
        self.admin_token = admin_token
        self.env = dict(env or {})
        self.config = config
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}
        self.client: Understudy | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Identity's base URL."""
        if "identity" not in self.ports:
            raise StackError("the stack is not started")
        return f"http://localhost:{self.ports['identity']}"

    def start(self, timeout: float = 60.0) -> Understudy:
        """Starts the stack and waits until every mock is ready."""
        if self.process is not None:
            raise StackError("already started")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="understudy-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        env = {**os.environ, **self.env, "UNDERSTUDY__TELEMETRY__JSON": "true"}
        # The start-up line is an info line: keep it whatever filter RUST_LOG sets.
        if env.get("RUST_LOG"):
            env["RUST_LOG"] = f"{env['RUST_LOG']},understudy=info"
        if self.admin_token:
            env["UNDERSTUDY__CONTROL__ADMIN_TOKEN"] = self.admin_token
        args = [self.binary, "--identity-port", "0", "--compute-port", "0", "--lb-port", "0"]
        if self.config is not None:
            args += ["--config", os.fspath(self.config)]
        try:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env
            )
        except OSError as e:
            self._close_log()
            raise StackError(f"cannot run {self.binary}: {e}") from None
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        try:
            self.ports = self._wait_for_ports(deadline)
            self.client = Understudy(self.url, self.admin_token)
            while not self.client.ready():
                self._check_alive()
                if time.monotonic() > deadline:
                    raise StackError(f"the stack was not ready after {timeout} s{self._tail()}")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
        return self.client

    def _wait_for_ports(self, deadline: float) -> dict[str, int]:
        assert self.log_path is not None
        while True:
            self._check_alive()
            for line in self.log_path.read_text(errors="replace").splitlines():
                if UP_MESSAGE not in line:
                    continue
                try:
                    fields = json.loads(line).get("fields", {})
                    return {s: int(fields[s]) for s in ("identity", "compute", "lb")}
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
            if time.monotonic() > deadline:
                raise StackError(f"the stack did not say it was up{self._tail()}")
            time.sleep(0.05)

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise StackError(
                f"{self.binary} exited with status {self.process.returncode}{self._tail()}"
            )

    def _tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f" (log {self.log_path}):\n" + "\n".join(tail) if tail else ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the stack (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        process, self.process = self.process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Understudy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
