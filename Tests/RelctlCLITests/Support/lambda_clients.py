"""What the boto3 scripts of the CLI tests share (two_servers.py, shared_functions.py, invoke_two_servers.py,
policies_two_servers.py): a Lambda client without retries, a zip with one executable `bootstrap` (or with a
bootstrap that runs on the Runtime API), and the AWS error code and HTTP status of a failed call."""
import io
import zipfile

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/relctl"


def client(endpoint, region="us-east-1"):
    return boto3.client(
        "lambda", endpoint_url=endpoint, region_name=region, aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret", config=Config(retries={"max_attempts": 0}, read_timeout=120))


def bootstrap_package(bootstrap):
    """A zip whose executable `bootstrap` is `bootstrap` (a script's text)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, bootstrap)
    return buffer.getvalue()


def package(marker):
    """A package that differs from others by `marker` (its bootstrap only echoes it)."""
    return bootstrap_package("#!/bin/sh\necho %s\n" % marker)


# A provided-runtime bootstrap that answers every event with its marker and the event.
ECHO_BOOTSTRAP = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  H=$(mktemp); E=$(curl -sS -D "$H" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2); rm -f "$H"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"marker\\":\\"%s\\",\\"event\\":$E}" >/dev/null
done
"""


def echo_package(marker):
    """A package whose bootstrap runs on the Runtime API and answers {"marker": marker, "event": <the event>}."""
    return bootstrap_package(ECHO_BOOTSTRAP % marker)


def error_code(call):
    """(code, status) of the ClientError `call` raises, (None, 200) when it succeeds."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200
