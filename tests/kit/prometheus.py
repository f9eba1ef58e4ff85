"""Prometheus in tests: parse an exposition, check it with promtool, run a real server.

``PrometheusServer`` starts Debian's ``prometheus`` on a free loopback port, scraping one
target every second with a bearer token read from a file (never written into the config),
waits for ``/-/ready`` and answers instant queries through ``/api/v1/query``. Prometheus
2.x hands new targets to the scraper in 5 s batches, so the first sample shows up ~6 s after
start: poll a query with a deadline (``wait_value``), never sleep.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from prometheus_client.parser import text_string_to_metric_families

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
NO_PROMETHEUS = "Debian's prometheus package is not installed here (CI installs it)"
NO_PROMTOOL = "promtool (Debian's prometheus package) is not installed here (CI installs it)"

Labels = frozenset[tuple[str, str]]


class Samples:
    """Every sample of one exposition, by sample name and labels; families by name."""

    def __init__(self, text: str) -> None:
        self.values: dict[tuple[str, Labels], float] = {}
        self.families: dict[str, str] = {}
        """Family name → type (a counter family ``x`` has samples ``x_total``)."""
        self.sample_names: set[str] = set()
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family.type
            for s in family.samples:
                self.values[(s.name, frozenset(s.labels.items()))] = s.value
                self.sample_names.add(s.name)

    def value(self, name: str, **labels: str) -> float | None:
        return self.values.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of ``name`` whose labels include ``labels``."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.values.items() if n == name and want <= ls)

    def has(self, name: str) -> bool:
        """A sample name or a family name (a family with no sample yet still counts)."""
        return name in self.sample_names or name in self.families

    def declares(self, name: str) -> bool:
        """``name`` is a series this exposition declares, sampled yet or not: a counter
        family ``x`` declares ``x_total``, a histogram ``x_bucket``, ``x_sum``, ``x_count``."""
        if self.has(name):
            return True
        for suffix, kinds in _SUFFIXES:
            if name.endswith(suffix) and self.families.get(name[: -len(suffix)]) in kinds:
                return True
        return False


_SUFFIXES = (
    ("_total", ("counter",)),
    ("_bucket", ("histogram",)),
    ("_sum", ("histogram", "summary")),
    ("_count", ("histogram", "summary")),
)


def samples(body: bytes) -> Samples:
    return Samples(body.decode())


def promtool_check(body: bytes) -> subprocess.CompletedProcess[bytes]:
    """``promtool check metrics`` on an exposition (it reads stdin)."""
    assert PROMTOOL is not None, NO_PROMTOOL
    return subprocess.run(
        [PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrometheusServer:
    """A throwaway Prometheus scraping ``target`` (``host:port``) every second."""

    def __init__(self, workdir: Path, target: str, token: str, metrics_path: str = "/metrics"):
        assert PROMETHEUS is not None, NO_PROMETHEUS
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        token_file = workdir / "token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        scrape = {
            "job_name": "gridmaker",
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "metrics_path": metrics_path,
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
            "static_configs": [{"targets": [target]}],
        }
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [scrape],
        }
        self.config_file = workdir / "prometheus.yml"
        self.config_file.write_text(json.dumps(config))  # JSON is YAML
        self.log_file = workdir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> PrometheusServer:
        with self.log_file.open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while not self._ready():
            if self._proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self._proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready after {timeout_s} s: {self.log()}")
            time.sleep(0.05)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-2000:]

    def query(self, expr: str) -> list[dict[str, object]]:
        """An instant query's result vector (``metric``, ``value``: [time, "string"])."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The first series' value of an instant query, or ``None`` when it has none."""
        result = self.query(expr)
        if not result:
            return None
        pair = result[0]["value"]
        assert isinstance(pair, list)
        return float(pair[1])

    def wait_value(
        self, expr: str, accept: Callable[[float], bool], *, timeout_s: float = 30.0
    ) -> float:
        """Poll ``expr`` until its value satisfies ``accept``; fail with the last seen."""
        deadline = time.monotonic() + timeout_s
        last: float | None = None
        while True:
            last = self.value(expr)
            if last is not None and accept(last):
                return last
            if time.monotonic() > deadline:
                targets = self.targets()
                raise AssertionError(
                    f"{expr} never accepted in {timeout_s} s; last {last}; targets {targets}"
                )
            time.sleep(0.2)

    def targets(self) -> list[object]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as r:
            active: list[object] = json.load(r)["data"]["activeTargets"]
            return active

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def prometheus(workdir: Path, target: str, token: str) -> Iterator[PrometheusServer]:
    """A started server, stopped on exit (for a pytest fixture's ``with``)."""
    with PrometheusServer(workdir, target, token) as server:
        yield server
