#!/usr/bin/env python3
"""Starts Callscope's local infrastructure (Kafka, FerretDB, MinIO, an OpenSSH SFTP server)
and, for `run`, the services.

    python deploy/local/stack.py exec --profile test -- <command...>
        start the servers, run <command> with the connection variables exported,
        stop the servers, exit with <command>'s status (what `make test` does)
    python deploy/local/stack.py run
        start the servers and the five services, print the login and API key,
        keep running until Ctrl-C (what `make run` does)
    python deploy/local/stack.py env --profile run
        print the connection variables as shell assignments

Standard library only: it runs before (and independently of) the project's virtualenv
contents. The servers are the ones `make setup` puts under .local/, and Debian's sshd, which
deploy/local/sftpd.py configures (see docs/local-stack.md).
Every child runs in its own process group and is stopped with SIGTERM, then SIGKILL after a
timeout, whatever way this script ends; children also get SIGTERM from the kernel if this
script is killed outright (PR_SET_PDEATHSIG), so no server outlives its stack.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import datetime as dt
import hashlib
import hmac
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import sftpd  # deploy/local/sftpd.py, next to this script

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LOCAL = REPO / ".local"
BIN = LOCAL / "bin"
KAFKA_LIBS = LOCAL / "kafka" / "libs"
VENV_BIN = REPO / ".venv" / "bin"
HOST = "127.0.0.1"


# --------------------------------------------------------------------------------------------
# The one table of profiles, credentials and services. Ports, names and variables used anywhere
# else (Makefile, docs, .env.example) must agree with this block.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """Where one stack listens and keeps its data."""

    name: str
    kafka_port: int
    kafka_controller_port: int
    mongo_port: int
    s3_port: int
    s3_console_port: int
    database: str
    wipe_on_start: bool
    sftp_port: int

    @property
    def data_dir(self) -> Path:
        """Everything this profile writes: server data, rendered configs, logs."""
        return LOCAL / "data" / self.name

    @property
    def log_dir(self) -> Path:
        """One log file per server and per service."""
        return self.data_dir / "logs"

    @property
    def sftp(self) -> sftpd.Layout:
        """The SFTP server's base folder, outside the repository (see sftpd.py for why)."""
        return sftpd.Layout(sftpd.base_dir(REPO, self.name))


PROFILES = {
    "run": Profile(
        "run", 9092, 9093, 27017, 9000, 9001, "callscope", wipe_on_start=False, sftp_port=2222
    ),
    "test": Profile(
        "test",
        29092,
        29093,
        37017,
        39000,
        39001,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32222,
    ),
    # More throwaway stacks, so that parallel work can run test suites side by side.
    "test2": Profile(
        "test2",
        29192,
        29193,
        37117,
        39100,
        39101,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32322,
    ),
    "test3": Profile(
        "test3",
        29292,
        29293,
        37217,
        39200,
        39201,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32422,
    ),
    "test4": Profile(
        "test4",
        29392,
        29393,
        37317,
        39300,
        39301,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32522,
    ),
    "test5": Profile(
        "test5",
        29492,
        29493,
        37417,
        39400,
        39401,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32622,
    ),
    "test6": Profile(
        "test6",
        29592,
        29593,
        37517,
        39500,
        39501,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32722,
    ),
    # The fault-injection suite's own servers (tests/faults): it kills and restarts them.
    "faults": Profile(
        "faults",
        29692,
        29693,
        37617,
        39600,
        39601,
        "callscope_test",
        wipe_on_start=True,
        sftp_port=32822,
    ),
}

# Development-only credentials of the local MinIO; never used outside loopback.
S3_ACCESS_KEY = "callscope"
S3_SECRET_KEY = "callscope-local-secret"
S3_REGION = "us-east-1"
S3_BUCKET = "callscope-audio"

GATEWAY_HTTP_PORT = 8080
# Where `run` serves each service's Prometheus /metrics (the gateway: on GATEWAY_HTTP_PORT).
# Fixed like the gRPC ports, clear of every profile's server ports above.
METRICS_PORTS = {"ingest": 9464, "transcription": 9465, "analysis": 9466, "sftp": 9467}
DEMO_SFTP_USER = "callscope-demo"
DEMO_SFTP_SLUG = "inbound"  # the demo campaign's folder, set by the gateway's demo seed


@dataclass(frozen=True)
class Service:
    """One Callscope service process of `run`: console script and its own variables."""

    name: str
    env: dict[str, str]
    ports: tuple[int, ...] = ()

    @property
    def executable(self) -> Path:
        """The console script uv installs for the service."""
        return VENV_BIN / f"callscope-{self.name}"


def services(profile: Profile) -> list[Service]:
    """The five services in start order, with their ports and peer addresses."""
    return [
        Service(
            "gateway",
            {
                "GATEWAY_HTTP_PORT": str(GATEWAY_HTTP_PORT),
                "GATEWAY_GRPC_PORT": "50051",
                "INGEST_ADDR": f"{HOST}:50052",
                "TRANSCRIPTS_ADDR": f"{HOST}:50053",
                "ANALYSES_ADDR": f"{HOST}:50054",
                "SFTP_ADDR": f"{HOST}:50055",
                "GATEWAY_DEMO_CREDENTIALS_FILE": str(demo_credentials_file(profile)),
            },
            (GATEWAY_HTTP_PORT, 50051),
        ),
        Service(
            "ingest",
            {
                "INGEST_GRPC_PORT": "50052",
                "INGEST_METRICS_PORT": str(METRICS_PORTS["ingest"]),
                "DIRECTORY_ADDR": f"{HOST}:50051",
            },
            (50052, METRICS_PORTS["ingest"]),
        ),
        Service(
            "transcription",
            {
                "TRANSCRIPTION_GRPC_PORT": "50053",
                "TRANSCRIPTION_METRICS_PORT": str(METRICS_PORTS["transcription"]),
                "DIRECTORY_ADDR": f"{HOST}:50051",
            },
            (50053, METRICS_PORTS["transcription"]),
        ),
        Service(
            "analysis",
            {
                "ANALYSIS_GRPC_PORT": "50054",
                "ANALYSIS_METRICS_PORT": str(METRICS_PORTS["analysis"]),
                "DIRECTORY_ADDR": f"{HOST}:50051",
                "TRANSCRIPTS_ADDR": f"{HOST}:50053",
            },
            (50054, METRICS_PORTS["analysis"]),
        ),
        Service(
            "sftp",
            {
                "SFTP_GRPC_PORT": "50055",
                "SFTP_METRICS_PORT": str(METRICS_PORTS["sftp"]),
                "DIRECTORY_ADDR": f"{HOST}:50051",
                "INGEST_ADDR": f"{HOST}:50052",
            },
            (50055, METRICS_PORTS["sftp"]),
        ),
    ]


def demo_credentials_file(profile: Profile) -> Path:
    """JSON the gateway writes on first start: email, password, api_key, campaign_id."""
    return profile.data_dir / "demo-credentials.json"


UPLOAD_EXAMPLE = (
    "curl -X POST http://{host}:{port}/api/v1/calls/upload \\\n"
    '    -H "X-API-Key: {api_key}" \\\n'
    '    -F "agent_code=JS001" -F "call_type=OUTBOUND" -F "call_date=2026-01-15" \\\n'
    '    -F "file=@recording.wav"'
)

START_TIMEOUT_S = 120.0  # a cold JVM on a busy 2-core runner can take a while
STOP_TIMEOUT_S = 20.0
SERVICE_START_TIMEOUT_S = 180.0  # the transcription service loads a Whisper model
LOG_TAIL_LINES = 40


def infra_env(profile: Profile, mongodb_url: str | None) -> dict[str, str]:
    """The connection variables every service and test reads (names fixed by InfraSettings)."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{profile.kafka_port}",
        "MONGODB_URL": mongodb_url or f"mongodb://{HOST}:{profile.mongo_port}/",
        "MONGODB_DATABASE": profile.database,
        "S3_ENDPOINT_URL": f"http://{HOST}:{profile.s3_port}",
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "S3_REGION": S3_REGION,
        "S3_BUCKET": S3_BUCKET,
        "CALLSCOPE_STACK_PROFILE": profile.name,
        "CALLSCOPE_DATA_DIR": str(profile.data_dir),
        **sftp_env(profile),
    }


def sftp_env(profile: Profile) -> dict[str, str]:
    """Where the sftp service (SftpSettings) and the tests find the SFTP server.

    Without root there is no server: CALLSCOPE_SFTP_UNAVAILABLE says why, and the SFTP
    tests fail with that message.
    """
    layout = profile.sftp
    env = {
        "SFTP_SERVER_HOST": HOST,
        "SFTP_SERVER_PORT": str(profile.sftp_port),
        "SFTP_SERVER_USER": sftpd.SWEEPER,
        "SFTP_SERVER_KEY_FILE": str(layout.sweeper_key),
        "SFTP_SERVER_HOST_KEY": sftpd.host_key_line(layout),
        "CALLSCOPE_SFTP_BASE": str(layout.base),
    }
    reason = sftpd.unavailable_reason()
    if reason:
        env["CALLSCOPE_SFTP_UNAVAILABLE"] = reason
    return env


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def say(message: str) -> None:
    """Progress and errors go to stderr so that a command's own stdout stays clean."""
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256 * 1024))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return f"    ({path} does not exist)"
    picked = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in picked) if picked else f"    ({path} is empty)"


# --------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when this script dies.

    Children are only ever spawned from the main thread: the signal fires when the spawning
    thread exits, not the process.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A server or service process with its log file and readiness probe."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str]
    ready: Callable[[], bool]
    extra_logs: tuple[Path, ...] = ()
    cwd: Path = REPO
    # Called with the pid just before SIGTERM: for processes that leave the process group.
    before_stop: Callable[[int], None] | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after_s: float | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Spawns the process in its own process group, output appended to its log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("ab")
        self._log_file.write(f"\n===== {dt.datetime.now().isoformat()} {self.argv}\n".encode())
        self._log_file.flush()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - spawned from the main thread only
        )

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        """Signals the child's whole process group."""
        if self.running():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signum)

    def close_log(self) -> None:
        """Closes our handle on the log file."""
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def report_failure(self, why: str) -> None:
        """Prints why the child failed and the end of its logs."""
        code = self.proc.returncode if self.proc is not None else None
        status = f" (exit status {code})" if code is not None else ""
        say(f"{self.name} {why}{status}; last lines of its log:")
        for path in (self.log, *self.extra_logs):
            print(f"  --- {path}", file=sys.stderr)
            print(tail(path), file=sys.stderr, flush=True)


def stop_all(children: list[Child], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to every running child, wait, SIGKILL whatever is left after the timeout."""
    live = [c for c in children if c.running()]
    if live:
        say("stopping " + ", ".join(c.name for c in live))
    for child in live:
        if child.before_stop is not None and child.proc is not None:
            child.before_stop(child.proc.pid)
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in live:
        assert child.proc is not None
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} ignored SIGTERM for {timeout_s:.0f}s; killing it")
            child.signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(5)
    for child in children:
        child.close_log()


def wait_ready(children: list[Child], timeout_s: float, what: str) -> None:
    """Polls every child's probe until all answer; fails fast when one exits."""
    deadline = time.monotonic() + timeout_s
    pending = list(children)
    while pending:
        for child in list(pending):
            if not child.running():
                child.report_failure("exited during start-up")
                raise StartError(f"{child.name} did not start")
            if child.ready():
                child.ready_after_s = time.monotonic() - child.started_at
                pending.remove(child)
        if not pending:
            break
        if time.monotonic() > deadline:
            for child in pending:
                child.report_failure(f"was not ready after {timeout_s:.0f}s")
            raise StartError(f"{what} did not become ready: {', '.join(c.name for c in pending)}")
        time.sleep(0.1)


class StartError(Exception):
    """A server or service could not be started; the logs have been printed."""


class StopRequestedError(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived while the stack was starting or serving."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --------------------------------------------------------------------------------------------
# Probes (the servers speak their own protocols; no client libraries needed)
# --------------------------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def kafka_ready(port: int) -> bool:
    """A Metadata (v4) request lists at least one broker and an active controller."""
    client_id = b"callscope-stack"
    # Request header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id.
    header = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id
    # Body v4: topics = [] (no topic metadata wanted), allow_auto_topic_creation = false.
    body = struct.pack(">ib", 0, 0)
    request = header + body
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            response = _recv_exact(sock, size)
    except OSError:
        return False
    correlation_id, _throttle_ms, broker_count = struct.unpack_from(">iii", response, 0)
    if correlation_id != 7 or broker_count < 1:
        return False
    offset = 12
    for _ in range(broker_count):
        offset += 4  # node_id
        (host_len,) = struct.unpack_from(">h", response, offset)
        offset += 2 + host_len + 4  # host, port
        (rack_len,) = struct.unpack_from(">h", response, offset)
        offset += 2 + max(rack_len, 0)
    (cluster_len,) = struct.unpack_from(">h", response, offset)
    offset += 2 + max(cluster_len, 0)
    (controller_id,) = struct.unpack_from(">i", response, offset)
    return bool(controller_id >= 0)


def _bson_ping() -> bytes:
    """BSON for {ping: 1, $db: "admin"}."""
    db = b"admin\x00"
    elements = (
        b"\x10ping\x00" + struct.pack("<i", 1) + b"\x02$db\x00" + struct.pack("<i", len(db)) + db
    )
    return struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"


def mongo_ready(port: int) -> bool:
    """An OP_MSG `ping` answers ok: 1."""
    body = struct.pack("<I", 0) + b"\x00" + _bson_ping()
    message = struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(message)
            (size,) = struct.unpack("<i", _recv_exact(sock, 4))
            reply = _recv_exact(sock, size - 4)
    except OSError:
        return False
    return b"\x01ok\x00" + struct.pack("<d", 1.0) in reply


def http_ok(url: str) -> bool:
    """GET answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def port_free(port: int) -> bool:
    """Nothing listens on the loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def s3_create_bucket(endpoint: str, bucket: str) -> None:
    """PUT Bucket with a SigV4 signature; an existing bucket of ours is fine."""
    host = endpoint.split("://", 1)[1]
    now = dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join(
        [
            "PUT",
            f"/{bucket}",
            "",
            f"host:{host}",
            f"x-amz-content-sha256:{payload_hash}",
            f"x-amz-date:{amz_date}",
            "",
            "host;x-amz-content-sha256;x-amz-date",
            payload_hash,
        ]
    )
    scope = f"{day}/{S3_REGION}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{S3_SECRET_KEY}".encode()
    for part in (day, S3_REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", data=b"")
    request.add_header("Host", host)
    request.add_header("x-amz-date", amz_date)
    request.add_header("x-amz-content-sha256", payload_hash)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential={S3_ACCESS_KEY}/{scope}, "
        f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}",
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as err:
        body = err.read().decode("utf-8", "replace")
        if "BucketAlreadyOwnedByYou" not in body:
            raise StartError(f"cannot create bucket {bucket}: HTTP {err.code} {body}") from err


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


def need(path: Path) -> Path:
    """Fails with a pointer to `make setup` when an installed piece is missing."""
    if not path.exists():
        raise StartError(f"{path.relative_to(REPO)} is missing; run `make setup` first")
    return path


def kafka_cluster_id() -> str:
    """A Kafka Uuid in its string form (URL-safe base64 of 16 random bytes, unpadded)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like a CLI option
            return text


def kafka_class_archive(java: str) -> Path:
    """The broker's class-data-sharing archive for this JDK build and this set of jars.

    Loading Kafka's classes from a CDS archive instead of 46 jars saves about two seconds
    per broker start. The archive is written by the first broker that runs without one
    (-XX:ArchiveClassesAtExit, when it stops); the name changes with the JDK or the jars, so a
    stale archive is never used (`make setup` deletes old ones when the jars change).
    """
    launcher = Path(os.path.realpath(java))
    libjvm = launcher.parent.parent / "lib" / "server" / "libjvm.so"
    jvm = libjvm if libjvm.exists() else launcher
    stat = jvm.stat()
    jars = sorted(p.name for p in KAFKA_LIBS.glob("*.jar"))
    key = f"{jvm}|{stat.st_size}|{stat.st_mtime_ns}|{jars}"
    return LOCAL / "kafka" / f"classes-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsa"


@dataclass
class KafkaStart:
    """The broker to start, the storage format still running, the CDS archive being written."""

    broker: Child
    format_proc: subprocess.Popen[bytes] | None
    archive_tmp: Path | None
    archive: Path
    data: Path
    formatted: Path

    def keep_formatted(self) -> None:
        """After a successful format: keep a copy, so that the next fresh start skips the JVM.

        A formatted log dir holds meta.properties (cluster and directory ids) and the bootstrap
        and voter checkpoints; its name is keyed on everything the format tool reads
        (configuration and jars), so a copy is exactly what a new format would write, apart
        from the random ids.
        """
        if self.formatted.exists():
            return
        tmp = self.formatted.with_name(f"{self.formatted.name}.{os.getpid()}.tmp")
        shutil.copytree(self.data, tmp)
        try:
            tmp.rename(self.formatted)
        except OSError:  # another stack published the same copy first
            shutil.rmtree(tmp, ignore_errors=True)

    def keep_archive(self) -> None:
        """After the broker stopped: publish the archive it wrote, if it exited cleanly."""
        tmp = self.archive_tmp
        if tmp is None or not tmp.exists():
            return
        proc = self.broker.proc
        clean = proc is not None and proc.returncode in (0, 143, -signal.SIGTERM)
        if clean and tmp.stat().st_size > 0:
            os.replace(tmp, self.archive)
        else:
            tmp.unlink(missing_ok=True)


def prepare_kafka(profile: Profile, env: dict[str, str]) -> KafkaStart:
    """Renders server.properties; starts formatting the storage when it is new."""
    need(KAFKA_LIBS)
    java = shutil.which("java") or "/usr/bin/java"
    archive = kafka_class_archive(java)
    archive_tmp = None
    if archive.exists():
        cds = [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
    else:
        archive_tmp = archive.with_name(f"{archive.stem}.{os.getpid()}.tmp")
        cds = [f"-XX:ArchiveClassesAtExit={archive_tmp}"]
    kafka_dir = profile.data_dir / "kafka"
    data = kafka_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    properties = kafka_dir / "server.properties"
    template = (HERE / "kafka" / "server.properties.template").read_text()
    rendered = (
        template.replace("{{port}}", str(profile.kafka_port))
        .replace("{{controller_port}}", str(profile.kafka_controller_port))
        .replace("{{log_dirs}}", str(data))
    )
    properties.write_text(rendered)
    jars = sorted(p.name for p in KAFKA_LIBS.glob("*.jar"))
    format_key = hashlib.sha256(f"{rendered.replace(str(data), '')}|{jars}".encode()).hexdigest()
    formatted = LOCAL / "kafka" / f"formatted-{format_key[:12]}"
    log_dir = profile.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    classpath = str(KAFKA_LIBS / "*")
    logging = [
        f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.xml'}",
        f"-Dkafka.logs.dir={log_dir}",
    ]
    format_proc = None
    if not (data / "meta.properties").exists() and (formatted / "meta.properties").exists():
        shutil.copytree(formatted, data, dirs_exist_ok=True)
    elif not (data / "meta.properties").exists():
        # A short-lived JVM: C1 only and the serial collector start fastest.
        argv = [
            java,
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            *(cds if archive_tmp is None else []),
            *logging,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            kafka_cluster_id(),
            "--config",
            str(properties),
            "--standalone",
        ]
        with (log_dir / "kafka.log").open("ab") as log:
            log.write(f"\n===== {dt.datetime.now().isoformat()} {argv}\n".encode())
            log.flush()
            format_proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - spawned from the main thread only
            )
    broker = Child(
        name="kafka",
        argv=[
            java,
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-Djava.awt.headless=true",
            *cds,
            *logging,
            "-cp",
            classpath,
            "kafka.Kafka",
            str(properties),
        ],
        log=log_dir / "kafka.log",
        extra_logs=(log_dir / "kafka-server.log",),
        env=env,
        ready=lambda: kafka_ready(profile.kafka_port),
    )
    return KafkaStart(broker, format_proc, archive_tmp, archive, data, formatted)


def ferretdb(profile: Profile, env: dict[str, str]) -> Child:
    """FerretDB with its SQLite databases under the profile's data dir."""
    data = profile.data_dir / "ferretdb"
    data.mkdir(parents=True, exist_ok=True)
    return Child(
        name="ferretdb",
        argv=[
            str(need(BIN / "ferretdb")),
            f"-listen-addr={HOST}:{profile.mongo_port}",
            f"-sqlite-url=file:{data}/",
            "-log-level=warn" if profile.name == "test" else "-log-level=info",
        ],
        log=profile.log_dir / "ferretdb.log",
        env=env,
        ready=lambda: mongo_ready(profile.mongo_port),
    )


def minio(profile: Profile, env: dict[str, str]) -> Child:
    """MinIO in single-drive mode with the development root credentials."""
    base = profile.data_dir / "minio"
    (base / "data").mkdir(parents=True, exist_ok=True)
    return Child(
        name="minio",
        argv=[
            str(need(BIN / "minio")),
            "server",
            str(base / "data"),
            "--address",
            f"{HOST}:{profile.s3_port}",
            "--console-address",
            f"{HOST}:{profile.s3_console_port}",
            "--certs-dir",
            str(base / "certs"),
            "--quiet",
        ],
        log=profile.log_dir / "minio.log",
        env={
            **env,
            "MINIO_ROOT_USER": S3_ACCESS_KEY,
            "MINIO_ROOT_PASSWORD": S3_SECRET_KEY,
            "MINIO_REGION": S3_REGION,
            "MINIO_UPDATE": "off",
            "MINIO_BROWSER_REDIRECT": "off",
        },
        ready=lambda: http_ok(f"http://{HOST}:{profile.s3_port}/minio/health/ready"),
    )


def sftp_server(profile: Profile, env: dict[str, str]) -> Child:
    """OpenSSH's sshd with the profile's rendered sshd_config (sftpd.prepare wrote it)."""
    return Child(
        name="sftpd",
        argv=sftpd.sshd_argv(profile.sftp),
        log=profile.log_dir / "sftpd.log",
        env=env,
        ready=lambda: sftpd.banner_ready(profile.sftp_port),
        # Each connection is an sshd of its own session: stopping the listener leaves it.
        before_stop=sftpd.end_sessions,
    )


def prepare_sftp(profile: Profile) -> bool:
    """Folders, keys, accounts and sshd_config; False (said why) when it cannot run here."""
    reason = sftpd.unavailable_reason()
    if reason:
        say(f"not starting the SFTP server: {reason}")
        return False
    try:
        removed = sftpd.prepare(profile.sftp, profile.sftp_port, wipe=profile.wipe_on_start)
    except (sftpd.SftpdError, OSError) as err:
        raise StartError(f"SFTP server: {err}") from err
    if removed:
        say(f"removed SFTP accounts and groups a previous run left: {', '.join(removed)}")
    return True


def check_ports_free(profile: Profile, *, with_mongo: bool, with_sftp: bool = True) -> None:
    """Refuses to start (or wipe data) while another stack holds the profile's ports."""
    ports = {
        "kafka": profile.kafka_port,
        "kafka controller": profile.kafka_controller_port,
        "minio": profile.s3_port,
        "minio console": profile.s3_console_port,
    }
    if with_mongo:
        ports["ferretdb"] = profile.mongo_port
    if with_sftp:
        ports["sftp"] = profile.sftp_port
    busy = [f"{name} port {port}" for name, port in ports.items() if not port_free(port)]
    if busy:
        raise StartError(
            f"{', '.join(busy)} already in use: is another `{profile.name}` stack running? "
            f"(`ss -ltnp` shows the owner)"
        )


def prepare_data(profile: Profile, *, with_mongo: bool) -> bool:
    """Checks the ports, wipes a test profile's data, prepares the SFTP server (False: none)."""
    check_ports_free(profile, with_mongo=with_mongo, with_sftp=sftpd.unavailable_reason() is None)
    if profile.wipe_on_start and profile.data_dir.exists():
        shutil.rmtree(profile.data_dir)
    profile.log_dir.mkdir(parents=True, exist_ok=True)
    return prepare_sftp(profile)


@contextlib.contextmanager
def infrastructure(profile: Profile) -> Iterator[tuple[dict[str, str], list[Child]]]:
    """Starts Kafka, FerretDB (unless MONGODB_URL is set), MinIO and sshd; always stops them."""
    external_mongo = os.environ.get("MONGODB_URL") or None
    with_sftp = prepare_data(profile, with_mongo=not external_mongo)
    env_vars = infra_env(profile, external_mongo)  # after prepare: it carries the host key
    base_env = {**os.environ, **env_vars}

    started = time.monotonic()
    children: list[Child] = []
    kafka: KafkaStart | None = None
    try:
        # The Go servers start while a new Kafka storage is formatted (a JVM of its own).
        kafka = prepare_kafka(profile, base_env)
        broker, format_proc = kafka.broker, kafka.format_proc
        others = [minio(profile, base_env)]
        if with_sftp:
            others.append(sftp_server(profile, base_env))
        if external_mongo:
            say("MONGODB_URL is set: using that database, not starting FerretDB")
        else:
            others.insert(0, ferretdb(profile, base_env))
        for child in others:
            child.start()
            children.append(child)
        if format_proc is not None:
            try:
                format_proc.wait(START_TIMEOUT_S)
            except subprocess.TimeoutExpired as err:
                raise StartError("formatting Kafka's storage timed out") from err
            if format_proc.returncode != 0:
                say(f"formatting Kafka's storage failed (exit status {format_proc.returncode}):")
                print(tail(broker.log), file=sys.stderr, flush=True)
                raise StartError("Kafka storage format failed")
            kafka.format_proc = None
            kafka.keep_formatted()
        broker.start()
        children.append(broker)
        wait_ready(children, START_TIMEOUT_S, "the infrastructure")
        s3_create_bucket(env_vars["S3_ENDPOINT_URL"], S3_BUCKET)
        timings = ", ".join(f"{c.name} {c.ready_after_s:.1f}s" for c in children)
        say(f"{profile.name} infrastructure ready in {time.monotonic() - started:.1f}s ({timings})")
        yield env_vars, children
    finally:
        if kafka is not None and kafka.format_proc is not None:
            kafka.format_proc.kill()
            kafka.format_proc.wait()
        stop_started = time.monotonic()
        stop_all(children)
        if kafka is not None:
            kafka.keep_archive()
        if children:
            say(f"infrastructure stopped in {time.monotonic() - stop_started:.1f}s")


# --------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def raise_on_signals() -> None:
    """While starting or serving, a stop signal unwinds through the `finally` blocks."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        for s in STOP_SIGNALS:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(s, signal.SIG_IGN)
        raise StopRequestedError(signum)

    for s in STOP_SIGNALS:
        signal.signal(s, handler)


def load_dotenv(path: Path) -> None:
    """KEY=VALUE lines of an optional .env into os.environ, without overriding the shell."""
    if not path.is_file():
        return
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_exec(profile: Profile, command: list[str]) -> int:
    """Runs a command against a started stack; returns the command's exit status."""
    if not command:
        raise StartError("exec needs a command after `--`")
    with infrastructure(profile) as (env_vars, _children):
        say(f"running: {' '.join(command)}")
        # The command stays in our process group so Ctrl-C reaches it directly (pytest then
        # finishes its teardown); SIGTERM/SIGHUP sent to this script only are passed on.
        try:
            child = subprocess.Popen(
                command,
                env={**os.environ, **env_vars},
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - spawned from the main thread only
            )
        except OSError as err:
            say(f"cannot run {command[0]}: {err}")
            return 127
        received: list[int] = []

        def forward(signum: int, _frame: FrameType | None) -> None:
            received.append(signum)
            if signum != signal.SIGINT:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signum)

        for s in STOP_SIGNALS:
            signal.signal(s, forward)
        code = child.wait()
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
    return 128 - code if code < 0 else code


def cmd_run(profile: Profile) -> int:
    """Starts the infrastructure and the services; serves until a stop signal."""
    load_dotenv(REPO / ".env")
    svc_list = services(profile)
    for svc in svc_list:
        need(svc.executable)
    busy = [f"{s.name} port {p}" for s in svc_list for p in s.ports if not port_free(p)]
    if busy:
        raise StartError(f"{', '.join(busy)} already in use: is `make run` already running?")

    with infrastructure(profile) as (env_vars, _infra):
        children: list[Child] = []

        def start(svc: Service) -> Child:
            child = Child(
                name=svc.name,
                argv=[str(svc.executable)],
                log=profile.log_dir / f"{svc.name}.log",
                env={**os.environ, **env_vars, **svc.env, "PYTHONUNBUFFERED": "1"},
                ready=lambda: True,
            )
            child.start()
            children.append(child)
            return child

        try:
            started = time.monotonic()
            # The sftp service starts once the demo organisation's SFTP folder and group exist:
            # its sweeper account reads its group memberships when it logs in.
            for svc in svc_list:
                if svc.name != "sftp":
                    start(svc)
            say(f"services starting; logs in {profile.log_dir.relative_to(REPO)}/<service>.log")
            gateway = children[0]
            gateway.ready = lambda: http_ok(f"http://{HOST}:{GATEWAY_HTTP_PORT}/healthz")
            wait_ready([gateway], SERVICE_START_TIMEOUT_S, "the gateway")
            creds, creds_problem = read_demo_credentials(profile)
            sftp_lines = provision_demo_sftp(profile, creds)
            for svc in svc_list:
                if svc.name == "sftp":
                    start(svc)
            wait_ready(children, SERVICE_START_TIMEOUT_S, "the services")
            say(f"services ready in {time.monotonic() - started:.1f}s")
            print_welcome(profile, creds, creds_problem, sftp_lines)
            while True:
                for child in children:
                    if not child.running():
                        child.report_failure("stopped unexpectedly")
                        raise StartError(f"{child.name} died")
                time.sleep(0.5)
        finally:
            stop_all(children)


def read_demo_credentials(profile: Profile) -> tuple[dict[str, object] | None, str]:
    """The JSON the gateway wrote (waiting briefly for it), or None and why not."""
    path = demo_credentials_file(profile)
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        creds = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return None, f"{path.relative_to(REPO)} unreadable: {err}"
    if not isinstance(creds, dict):
        return None, f"{path.relative_to(REPO)} does not hold a JSON object"
    return creds, ""


def provision_demo_sftp(profile: Profile, creds: dict[str, object] | None) -> list[str]:
    """The demo organisation's SFTP folder and a customer account for it; welcome lines.

    The key pair and a known_hosts file are kept in .local/data/run/sftp/, so the command
    printed keeps working from one `make run` to the next.
    """
    reason = sftpd.unavailable_reason()
    if reason:
        return [f"SFTP drop folder: not available ({reason})"]
    folder = creds.get("sftp_folder") if creds else None
    if not isinstance(folder, str) or not folder:
        return [
            "SFTP drop folder: no demo account, because demo-credentials.json has no "
            "`sftp_folder` (the gateway writes it with `org_id` when it seeds the demo)"
        ]
    # `sftp_folder` is the organisation's folder; tolerate "<org_folder>/<slug>" as well.
    org_folder, _, slug = folder.partition("/")
    slug = slug or DEMO_SFTP_SLUG
    layout = profile.sftp
    keys = profile.data_dir / "sftp"
    private_key = keys / "demo_id_ed25519"
    known_hosts = keys / "known_hosts"
    try:
        sftpd.provision_org(layout, org_folder)
        keys.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not private_key.exists():
            sftpd.keygen(private_key, f"{DEMO_SFTP_USER}@callscope-demo")
        public_key = private_key.with_name(private_key.name + ".pub").read_text()
        sftpd.ensure_customer(layout, org_folder, DEMO_SFTP_USER, public_key)
        known_hosts.write_text(
            sftpd.known_hosts_line(profile.sftp_port, sftpd.host_key_line(layout))
        )
    except (sftpd.SftpdError, OSError) as err:
        return [f"SFTP drop folder: could not provision the demo account: {err}"]
    org = creds.get("org_id", "?") if creds else "?"
    lines = [
        f"Drop a recording by SFTP (organisation {org}, folder /{org_folder}; the demo "
        f"campaign sweeps {slug}/):",
        f"  sftp -i {private_key.relative_to(REPO)} "
        f"-o UserKnownHostsFile={known_hosts.relative_to(REPO)} "
        f"-P {profile.sftp_port} {DEMO_SFTP_USER}@{HOST}",
        f"  sftp> put recording.wav {slug}/",
    ]
    if not (layout.org_dir(org_folder) / slug).is_dir():
        lines.append(f"  ({slug}/ appears when the sftp service first sweeps the demo campaign)")
    return lines


def print_welcome(
    profile: Profile, creds: dict[str, object] | None, problem: str, sftp_lines: list[str]
) -> None:
    """The summary `make run` prints once the services are up."""
    lines = ["", f"Web UI: http://{HOST}:{GATEWAY_HTTP_PORT}"]
    try:
        if creds is None:
            raise ValueError(problem)
        lines += [
            f"Login: {creds['email']} / {creds['password']}",
            f"API key: {creds['api_key']}",
            "Upload a recording:",
            "  "
            + UPLOAD_EXAMPLE.format(
                host=HOST,
                port=GATEWAY_HTTP_PORT,
                api_key=creds["api_key"],
            ),
        ]
    except (ValueError, KeyError) as err:
        lines.append(f"(no demo credentials: {err})")
    lines += sftp_lines
    lines += [
        f"Object store console: http://{HOST}:{profile.s3_console_port} "
        f"({S3_ACCESS_KEY} / {S3_SECRET_KEY})",
        f"Metrics: http://{HOST}:{GATEWAY_HTTP_PORT}/metrics, "
        + ", ".join(f"{name} :{port}/metrics" for name, port in METRICS_PORTS.items()),
        f"Logs: {profile.log_dir.relative_to(REPO)}/",
        "Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)


def cmd_env(profile: Profile) -> int:
    """Prints the connection variables of a profile as shell assignments."""
    for key, value in infra_env(profile, os.environ.get("MONGODB_URL") or None).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_exec = sub.add_parser("exec", help="start the servers, run a command, stop the servers")
    p_exec.add_argument("--profile", choices=PROFILES, default="test")
    p_exec.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command and its arguments")
    p_run = sub.add_parser("run", help="start the servers and the services until Ctrl-C")
    p_run.add_argument("--profile", choices=PROFILES, default="run")
    p_env = sub.add_parser("env", help="print a profile's connection variables")
    p_env.add_argument("--profile", choices=PROFILES, default="run")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]

    raise_on_signals()
    try:
        if args.command == "exec":
            command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            return cmd_exec(profile, command)
        if args.command == "run":
            return cmd_run(profile)
        return cmd_env(profile)
    except StartError as err:
        say(f"error: {err}")
        return 1
    except StopRequestedError as sig:
        say(f"stopped ({sig})")
        return 0 if args.command == "run" else 128 + sig.signum


if __name__ == "__main__":
    sys.exit(main())
