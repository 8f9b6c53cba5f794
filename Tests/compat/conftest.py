"""Fixtures for the AWS compatibility suite: a server under test, real boto3 clients, the real
awscli, and zips holding custom-runtime (`provided.al2023`) functions.

Which server is tested (first match wins):
  RELCTL_ENDPOINT=http://127.0.0.1:9000   a server that is already running, used as is;
  RELCTL_BIN=.build/debug/relctl           `$RELCTL_BIN serve --port P --data-dir TMP`, started here;
  COMPAT_AGAINST_MOTO=1                    `moto_server -p P`, to debug the tests themselves.
With RELCTL_BIN, COMPAT_DATABASE=postgres://… starts the server with `--database` (the registry on
PostgreSQL, code in its data directory); `Server.relctl` commands then name that database too.

Assertions follow real AWS (Tests/compat/README.md). Tests marked `moto_gap("why")` are skipped
only when the server is moto, where moto is known to differ from AWS or lacks the operation; tests
marked `pg_gap("why")` are skipped only when the server answers from PostgreSQL, for an operation
that engine does not have yet (what is missing is the reason).
"""

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

# aws-sam-cli installs awscrt, with which botocore signs SigV4 in the CRT (its own clock): the
# suite's tests that move botocore's clock need botocore's Python signer.
os.environ.setdefault("BOTO_DISABLE_CRT", "true")

import boto3  # noqa: E402
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "secret"
ROLE = "arn:aws:iam::123456789012:role/relctl-compat"
CODEDEPLOY_ROLE = "arn:aws:iam::123456789012:role/relctl-compat-codedeploy"

RELCTL_ENDPOINT = os.environ.get("RELCTL_ENDPOINT", "").strip()
RELCTL_BIN = os.environ.get("RELCTL_BIN", "").strip()
# moto is the server when we start it, or when an external endpoint is declared to be moto.
AGAINST_MOTO = os.environ.get("COMPAT_AGAINST_MOTO") == "1" and not (RELCTL_BIN and not RELCTL_ENDPOINT)
# The registry on PostgreSQL (only for a server started here from RELCTL_BIN).
COMPAT_DATABASE = os.environ.get("COMPAT_DATABASE", "").strip() if RELCTL_BIN and not RELCTL_ENDPOINT else ""
ON_POSTGRES = bool(COMPAT_DATABASE)

STARTUP_TIMEOUT = 60.0


# --------------------------------------------------------------------------------------------
# markers


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "moto_gap(reason): moto differs from AWS here (or lacks the operation); skipped only against moto",
    )
    config.addinivalue_line(
        "markers",
        "pg_gap(reason): the PostgreSQL engine lacks what the test needs; skipped only with COMPAT_DATABASE",
    )
    config.addinivalue_line("markers", "slow: takes tens of seconds (real canary timing)")


def pytest_collection_modifyitems(config, items):
    # COMPAT_PG_RUN_GAPS=1 runs them anyway, to see what the PostgreSQL engine still lacks.
    if ON_POSTGRES and os.environ.get("COMPAT_PG_RUN_GAPS") != "1":
        for item in items:
            marker = item.get_closest_marker("pg_gap")
            if marker is not None:
                reason = marker.args[0] if marker.args else "not on the PostgreSQL engine yet"
                item.add_marker(pytest.mark.skip(reason=f"PostgreSQL: {reason}"))
    # COMPAT_MOTO_RUN_GAPS=1 runs them anyway, to see how moto fails them (debugging the tests).
    if not AGAINST_MOTO or os.environ.get("COMPAT_MOTO_RUN_GAPS") == "1":
        return
    for item in items:
        marker = item.get_closest_marker("moto_gap")
        if marker is not None:
            reason = marker.args[0] if marker.args else "moto differs from AWS here"
            item.add_marker(pytest.mark.skip(reason=f"moto: {reason}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        server = item.funcargs.get("server") if hasattr(item, "funcargs") else None
        server = server or _STARTED.get("server")
        if server is not None and server.log_tail():
            report.sections.append(("server log (tail)", server.log_tail(3000)))


_STARTED = {}


# --------------------------------------------------------------------------------------------
# the server under test


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Server:
    """The server under test. `kind` is "endpoint" (given), "relctl" (started from RELCTL_BIN) or "moto"."""

    def __init__(self, endpoint, kind, data_dir=None, binary=None, process=None, log_path=None):
        self.endpoint = endpoint.rstrip("/")
        self.kind = kind
        self.data_dir = data_dir
        self.binary = binary
        self.process = process
        self.log_path = log_path

    @property
    def is_moto(self) -> bool:
        return AGAINST_MOTO

    @property
    def is_postgres(self) -> bool:
        return ON_POSTGRES

    def relctl(self, *args, timeout=60):
        """Run `$RELCTL_BIN ARGS --data-dir DIR` against the data directory the server uses."""
        if not (self.binary and self.data_dir):
            pytest.skip("needs RELCTL_BIN (a server started by this suite, with its data directory)")
        database = ["--database", COMPAT_DATABASE] if ON_POSTGRES else []
        return subprocess.run(
            [self.binary, *args, "--data-dir", self.data_dir, *database],
            capture_output=True, text=True, timeout=timeout,
        )

    def log_tail(self, size=4000) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            data = f.read()
        return data[-size:].decode("utf-8", "replace")


def _wait_until_up(process, url, log_path, what):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, "rb") as f:
                log = f.read()[-4000:].decode("utf-8", "replace")
            raise RuntimeError(f"{what} exited with status {process.returncode} before answering {url}:\n{log}")
        if http_status(url) == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer 200 on {url} within {STARTUP_TIMEOUT:.0f} s")


def _stop(process):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def extra_relctl_server(tmp_path_factory, *options, what="relctl serve"):
    """Another `$RELCTL_BIN serve` with its own data directory and OPTIONS, stopped on exit:
    yields (endpoint, data_dir). Skips the test without RELCTL_BIN."""
    if not RELCTL_BIN:
        pytest.skip(f"needs RELCTL_BIN ({what} started by the test)")
    binary = os.path.abspath(RELCTL_BIN)
    data_dir = str(tmp_path_factory.mktemp("relctl-extra-data"))
    log_path = os.path.join(str(tmp_path_factory.mktemp("relctl-extra-log")), "serve.log")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RELCTL_HOME"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "serve", "--port", str(port), "--data-dir", data_dir, *options],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, f"{endpoint}/healthz", log_path, what)
        yield endpoint, data_dir
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if RELCTL_ENDPOINT:
        yield Server(RELCTL_ENDPOINT, "endpoint")
        return

    if RELCTL_BIN:
        binary = os.path.abspath(RELCTL_BIN)
        data_dir = str(tmp_path_factory.mktemp("relctl-data"))
        log_path = os.path.join(str(tmp_path_factory.mktemp("relctl-log")), "serve.log")
        port = free_port()
        env = dict(os.environ)
        env.pop("RELCTL_HOME", None)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                # --settle 0: answers are final at once, so tests need no waiters; test_states.py
                # starts a server of its own to see the Pending/InProgress states.
                [binary, "serve", "--port", str(port), "--data-dir", data_dir, "--settle", "0",
                 *(["--database", COMPAT_DATABASE] if ON_POSTGRES else [])],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(process, f"{endpoint}/healthz", log_path, "relctl serve")
            _STARTED["server"] = Server(endpoint, "relctl", data_dir=data_dir, binary=binary, process=process,
                                        log_path=log_path)
            yield _STARTED["server"]
        finally:
            _stop(process)
        return

    if os.environ.get("COMPAT_AGAINST_MOTO") == "1":
        moto = shutil.which("moto_server")
        if moto is None:
            pytest.fail("COMPAT_AGAINST_MOTO=1 but moto_server is not installed (pip install 'moto[server]')")
        log_path = os.path.join(str(tmp_path_factory.mktemp("moto-log")), "moto.log")
        port = free_port()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [moto, "-H", "127.0.0.1", "-p", str(port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(process, f"{endpoint}/moto-api/data.json", log_path, "moto_server")
            # No Docker here: moto's Invoke then answers a canned payload instead of hanging on it.
            request = urllib.request.Request(
                f"{endpoint}/moto-api/config", method="POST",
                data=json.dumps({"lambda": {"use_docker": False}}).encode(),
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=10).close()
            # moto (unlike a registry without IAM) insists that the role exists.
            iam = make_client("iam", endpoint)
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": ["lambda.amazonaws.com", "codedeploy.amazonaws.com"]}}]}
            for role in (ROLE, CODEDEPLOY_ROLE):
                iam.create_role(RoleName=role.split("/")[-1], AssumeRolePolicyDocument=json.dumps(trust))
            _STARTED["server"] = Server(endpoint, "moto", process=process, log_path=log_path)
            yield _STARTED["server"]
        finally:
            _stop(process)
        return

    pytest.skip(
        "no server to test: set RELCTL_BIN=.build/debug/relctl (started here), "
        "RELCTL_ENDPOINT=http://127.0.0.1:PORT (already running), or COMPAT_AGAINST_MOTO=1"
    )


# --------------------------------------------------------------------------------------------
# clients


def client_config(**overrides) -> Config:
    # No retries: a compatibility suite must see the first answer, not a retried one.
    settings = dict(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=120)
    settings.update(overrides)
    return Config(**settings)


def make_client(service, endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, **config):
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION,
    )
    return session.client(service, endpoint_url=endpoint, config=client_config(**config))


@pytest.fixture(scope="session")
def lambda_client(server):
    return make_client("lambda", server.endpoint)


@pytest.fixture(scope="session")
def raw_lambda_client(server):
    """Lambda client without botocore's client-side parameter validation, to send what AWS must reject."""
    return make_client("lambda", server.endpoint, parameter_validation=False)


@pytest.fixture(scope="session")
def codedeploy_client(server):
    return make_client("codedeploy", server.endpoint)


def aws_cli_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_PAGER="",
    )
    return env


def aws_cli_command() -> list:
    try:
        import awscli  # noqa: F401

        return [sys.executable, "-m", "awscli"]
    except ImportError:
        found = shutil.which("aws")
        if found is None:
            pytest.skip("awscli is not installed (pip install awscli)")
        return [found]


@pytest.fixture(scope="session")
def aws(server):
    """Run the awscli: aws("lambda", "get-function", "--function-name", "f") → (returncode, json|stdout, stderr)."""
    command = aws_cli_command()
    env = aws_cli_env()

    def run(*args, timeout=120, cwd=None):
        completed = subprocess.run(
            [*command, *map(str, args), "--endpoint-url", server.endpoint, "--region", REGION, "--output", "json"],
            capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd,
        )
        out = completed.stdout
        if out.strip():
            try:
                out = json.loads(out)
            except json.JSONDecodeError:
                pass
        return completed.returncode, out, completed.stderr

    return run


# --------------------------------------------------------------------------------------------
# zips and functions

# AWS's custom-runtime tutorial bootstrap, answering with the event it got (and who answered).
ECHO_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  echo "compat-log: tag=__TAG__ version=${AWS_LAMBDA_FUNCTION_VERSION} request=$REQUEST_ID"
  if [ -n "${EVENT_URL:-}" ]; then curl -sS -m 10 -X POST "$EVENT_URL" --data-binary "$EVENT_DATA" >/dev/null || true; fi
  curl -sS -X POST "$API/invocation/$REQUEST_ID/response" \
    -d "{\"tag\":\"__TAG__\",\"version\":\"${AWS_LAMBDA_FUNCTION_VERSION}\",\"event\":$EVENT_DATA}" >/dev/null
done
"""

# The same loop, reporting every invocation as a function error through the Runtime API.
FAILING_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  echo "compat-log: failing request $REQUEST_ID" >&2
  curl -sS -X POST "$API/invocation/$REQUEST_ID/error" -H "Lambda-Runtime-Function-Error-Type: __ERROR_TYPE__" \
    -d "{\"errorMessage\":\"__MESSAGE__\",\"errorType\":\"__ERROR_TYPE__\"}" >/dev/null
done
"""

FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def make_zip(files: dict, executable=("bootstrap",)) -> bytes:
    """An in-memory zip. Same files → same bytes (fixed timestamps). Names in `executable` get mode 0755."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            content = files[name]
            if isinstance(content, str):
                content = content.encode()
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.create_system = 3  # Unix, so the mode bits below are honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if name in executable else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def echo_zip(tag: str = "v1", extra: dict | None = None) -> bytes:
    """A provided.al2023 function answering {"tag": TAG, "version": <executed version>, "event": <event>}."""
    files = {"bootstrap": ECHO_BOOTSTRAP.replace("__TAG__", tag)}
    files.update(extra or {})
    return make_zip(files)


def failing_zip(message: str = "asked to fail", error_type: str = "Compat.Failure") -> bytes:
    """A provided.al2023 function whose every invocation ends in a function error."""
    return make_zip({
        "bootstrap": FAILING_BOOTSTRAP.replace("__MESSAGE__", message).replace("__ERROR_TYPE__", error_type),
    })


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def unique_name(prefix: str = "compat") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def arn_base(function_arn: str) -> str:
    """`arn:aws:lambda:REGION:ACCOUNT` from any function ARN."""
    return function_arn.split(":function:")[0]


@contextlib.contextmanager
def expect_error(client, code: str, status, message: str | None = None, contains: str | None = None):
    """Expect botocore to raise `client.exceptions.<code>` (ClientError for codes the model does not
    define, such as ValidationException), with this HTTP status (or one of a tuple) and message."""
    exception_class = getattr(client.exceptions, code, ClientError)
    with pytest.raises(exception_class) as caught:
        yield caught
    error = caught.value.response
    assert error["Error"]["Code"] == code, error
    allowed = status if isinstance(status, tuple) else (status,)
    assert error["ResponseMetadata"]["HTTPStatusCode"] in allowed, error
    if message is not None:
        assert error["Error"].get("Message") == message, error
    if contains is not None:
        assert contains in (error["Error"].get("Message") or ""), error


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; return it, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


class Functions:
    """Creates functions with unique names and deletes them at the end of the test."""

    def __init__(self, client):
        self.client = client
        self.created = []

    def create(self, name=None, zip_bytes=None, runtime="provided.al2023", handler="bootstrap", **kwargs):
        name = name or unique_name()
        params = dict(
            FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
            Code={"ZipFile": zip_bytes if zip_bytes is not None else echo_zip()},
        )
        params.update(kwargs)
        configuration = self.client.create_function(**params)
        self.created.append(name)
        return configuration

    def cleanup(self):
        for name in self.created:
            try:
                self.client.delete_function(FunctionName=name)
            except ClientError:
                pass


@pytest.fixture
def functions(lambda_client):
    registry = Functions(lambda_client)
    yield registry
    registry.cleanup()


@pytest.fixture(name="make_zip")
def make_zip_fixture():
    return make_zip


@pytest.fixture(name="unique_name")
def unique_name_fixture():
    return unique_name
