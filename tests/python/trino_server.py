"""Real Trino for the Athena target's tests: Athena engine v3's engine, on the local AWS stand-ins.

``make trino`` installs the pinned release (``TRINO_HOME``); ``TrinoServer`` starts it with two
catalogs shaped like Athena's ``AwsDataCatalog``, both on the same Glue and S3 endpoint (moto):

* ``awsdatacatalog``: the Hive connector on the Glue metastore, redirecting Iceberg tables to
  ``iceberg`` (Athena's catalog holds both kinds of table under one name);
* ``iceberg``: the Iceberg connector on the same Glue catalog.

Trino's own Glue and S3 clients read what the loader wrote and registered, so Trino's rules for
which files and partitions are read (hidden files, unregistered partitions, each SerDe) apply.
Trino's defaults are kept where Athena has the same limit (100 open partition writers).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import trino

TRINO_VERSION = "476"
# Where `make trino` puts it (Makefile: TRINO_HOME).
DEFAULT_HOME = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "transaction-lakehouse"
    / f"trino-server-{TRINO_VERSION}"
)
START_TIMEOUT_S = 180
# Beside a test suite on 2 cores and 24 GB: one JVM, 3 GB heap, at most 2 GB for one query.
JVM_CONFIG = (
    "-server",
    "-Xmx3G",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:ReservedCodeCacheSize=256M",
    "-XX:+EnableDynamicAgentLoading",
    "-Djdk.attach.allowAttachSelf=true",
    "-Dfile.encoding=UTF-8",
    "--enable-native-access=ALL-UNNAMED",
)


class TrinoUnavailable(RuntimeError):
    """Trino is not installed, has no Java to run on, or did not come up (one line, the log)."""


def trino_home() -> Path:
    home = Path(os.environ.get("TRINO_HOME") or DEFAULT_HOME)
    if not (home / ".installed").exists():
        raise TrinoUnavailable(f"Trino {TRINO_VERSION} is not installed in {home}: run make trino")
    return home


def java_home() -> Path:
    """TRINO_JAVA_HOME, else the newest JDK under /usr/lib/jvm that is Java 24 or later."""
    if configured := os.environ.get("TRINO_JAVA_HOME"):
        return Path(configured)
    found = []
    for candidate in Path("/usr/lib/jvm").glob("*"):
        release = candidate / "release"
        if not (candidate / "bin" / "java").exists() or not release.exists():
            continue
        version = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
        if version and int(version.group(1)) >= 24:
            found.append((int(version.group(1)), candidate))
    if not found:
        raise TrinoUnavailable("Trino needs Java 24 or later: set TRINO_JAVA_HOME to such a JDK")
    return max(found)[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalog_properties(aws_endpoint: str, region: str) -> dict[str, str]:
    """The two catalogs' properties files, by name."""
    aws = "\n".join(
        (
            f"hive.metastore.glue.region={region}",
            f"hive.metastore.glue.endpoint-url={aws_endpoint}",
            "hive.metastore.glue.aws-access-key=stand-in",
            "hive.metastore.glue.aws-secret-key=stand-in",
            "fs.native-s3.enabled=true",
            f"s3.endpoint={aws_endpoint}",
            f"s3.region={region}",
            "s3.path-style-access=true",
            "s3.aws-access-key=stand-in",
            "s3.aws-secret-key=stand-in",
        )
    )
    return {
        "awsdatacatalog": "\n".join(
            (
                "connector.name=hive",
                "hive.metastore=glue",
                "hive.iceberg-catalog-name=iceberg",
                # Athena's CTAS and INSERT write to external locations
                "hive.non-managed-table-writes-enabled=true",
                # Athena's CTAS writes no Glue column statistics (and moto's Glue lacks
                # UpdateColumnStatisticsForTable)
                "hive.collect-column-statistics-on-write=false",
                aws,
            )
        ),
        "iceberg": "\n".join(
            (
                "connector.name=iceberg",
                "iceberg.catalog.type=glue",
                # Athena's VACUUM: snapshots and orphan files older than 5 days by default
                "iceberg.expire-snapshots.min-retention=5d",
                "iceberg.remove-orphan-files.min-retention=5d",
                aws,
            )
        ),
    }


class TrinoServer:
    """One Trino coordinator (which is also its only worker) on a free port of 127.0.0.1."""

    def __init__(self, work_dir: Path, aws_endpoint: str, region: str) -> None:
        self.home = trino_home()
        self.java = java_home()
        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work_dir / "trino.log"
        self.aws_endpoint = aws_endpoint
        self.region = region
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        etc = self.work_dir / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        (etc / "node.properties").write_text("node.environment=local\nnode.id=local-1\n")
        (etc / "jvm.config").write_text("\n".join(JVM_CONFIG) + "\n")
        (etc / "config.properties").write_text(
            "\n".join(
                (
                    "coordinator=true",
                    "node-scheduler.include-coordinator=true",
                    f"http-server.http.port={self.port}",
                    f"discovery.uri={self.url}",
                    "query.max-memory=2GB",
                    "query.max-memory-per-node=2GB",
                    "",
                )
            )
        )
        for name, text in catalog_properties(self.aws_endpoint, self.region).items():
            (etc / "catalog" / f"{name}.properties").write_text(text + "\n")
        return etc

    def start(self) -> TrinoServer:
        etc = self._write_config()
        env = {
            **os.environ,
            "JAVA_HOME": str(self.java),
            "PATH": f"{self.java / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(self.home / "bin" / "launcher"),
                    "run",
                    f"--etc-dir={etc}",
                    f"--data-dir={self.work_dir / 'data'}",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait()
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise TrinoUnavailable(
                    f"Trino {TRINO_VERSION} exited with {self.process.returncode} while"
                    f" starting: see {self.log}"
                )
            with contextlib.suppress(OSError, ValueError, trino.exceptions.TrinoQueryError):
                if self._active_nodes() > 0:
                    return
            time.sleep(0.5)
        self.stop()
        raise TrinoUnavailable(
            f"Trino {TRINO_VERSION} did not start within {START_TIMEOUT_S} s: see {self.log}"
        )

    def _active_nodes(self) -> int:
        """Nodes the scheduler can use (a query sent before one is active fails)."""
        with urllib.request.urlopen(f"{self.url}/v1/info", timeout=2) as answer:
            if json.load(answer).get("starting", True):
                return 0
        connection = trino.dbapi.connect(host="127.0.0.1", port=self.port, user="harness")
        cursor = connection.cursor()
        cursor.execute("select count(*) from system.runtime.nodes where state = 'active'")
        return int(cursor.fetchall()[0][0])

    def version(self) -> str:
        with urllib.request.urlopen(f"{self.url}/v1/info", timeout=5) as answer:
            return str(json.load(answer)["nodeVersion"]["version"])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def remove_data(self) -> None:
        shutil.rmtree(self.work_dir / "data", ignore_errors=True)
