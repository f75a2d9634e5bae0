"""A Spark standalone cluster on one machine: a master and workers, each its own JVM, reached at ``spark://…``.

What the tests and ``bench/spark.py`` run the Spark engine on instead of ``local[*]`` (one JVM, where nothing
crosses a process boundary): here tasks run in executors the workers launch, rows are shuffled between them and
the scoring functions are shipped to their Python workers — the paths a real cluster takes. Started from pyspark's
own ``bin/spark-class`` (no Spark download), stopped when the block ends:

    with standalone_cluster(workers=2) as master:          # "spark://127.0.0.1:<port>"
        spark = clv.spark.session(master)
        ...
        spark.stop()

The workers start with this checkout on their ``PYTHONPATH``, so the executors they launch import ``clv`` (on a real
cluster the package is installed on the workers instead); ``executor_conf`` gives an application its executors'
size. An application's defaults can also come from ``spark-defaults.conf`` in ``SPARK_CONF_DIR``, as on any cluster.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["standalone_cluster", "executor_conf"]

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def executor_conf(cores: int = 1, memory: str = "1g", shuffle_partitions: int = 8) -> dict:
    """Session settings for an application on the standalone cluster: executors of ``cores`` and ``memory``, a
    driver the workers reach on this machine's loopback address, and ``shuffle_partitions`` partitions after a
    shuffle (Spark's default of 200 is meant for a big cluster: on two one-core workers each is a task of its own).
    (The executors' Python is the driver's, ``clv.spark.session``; they import ``clv`` from the workers' PYTHONPATH.)"""
    return {"spark.executor.cores": str(cores), "spark.executor.memory": memory, "spark.driver.host": HOST,
            "spark.driver.bindAddress": HOST, "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(shuffle_partitions)}


def _alive_workers(ui: int) -> int:
    try:
        state = json.loads(urllib.request.urlopen(f"http://{HOST}:{ui}/json/", timeout=2).read())
    except (OSError, ValueError):
        return -1
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@contextlib.contextmanager
def standalone_cluster(workers: int = 2, cores: int = 1, memory: str = "2g", timeout: float = 90.0,
                       folder: Path | None = None):
    """A master and ``workers`` workers of ``cores`` cores and ``memory`` each; yields the master's URL once every
    worker has registered. Their logs and work folders (``work0``, ``work1``, …: one ``app-…`` folder per application
    whose executors ran there) live in ``folder`` (default: a temporary folder; its path is in the error when the
    cluster does not come up)."""
    import pyspark
    home = Path(pyspark.__file__).resolve().parent
    spark_class = str(home / "bin" / "spark-class")
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="clv-spark-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP=HOST, SPARK_LOG_DIR=str(folder),
               PYSPARK_PYTHON=sys.executable, SPARK_NO_DAEMONIZE="1",
               PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    port, ui = _free_port(), _free_port()
    url = f"spark://{HOST}:{port}"
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str]) -> None:
        log = open(folder / f"{name}.log", "w")
        procs.append(subprocess.Popen([spark_class, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=folder, start_new_session=True))

    try:
        start("master", ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(port),
                         "--webui-port", str(ui)])
        for i in range(workers):
            (folder / f"work{i}").mkdir()
            start(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", url, "--host", HOST, "--cores", str(cores),
                                 "--memory", memory, "--webui-port", str(_free_port()),
                                 "--work-dir", str(folder / f"work{i}")])
        deadline = time.monotonic() + timeout
        while _alive_workers(ui) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"the Spark standalone cluster did not come up in {timeout:.0f} s "
                                   f"(logs in {folder})")
            time.sleep(0.5)
        yield url
    finally:
        for p in reversed(procs):  # workers first, then the master
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, 9)
                p.wait()
