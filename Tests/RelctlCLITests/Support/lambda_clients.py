"""What the boto3 scripts of the CLI tests share (two_servers.py, shared_functions.py, invoke_two_servers.py):
a Lambda client without retries, a zip with one executable `bootstrap`, and the AWS error code and HTTP status
of a failed call."""
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


def error_code(call):
    """(code, status) of the ClientError `call` raises, (None, 200) when it succeeds."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200
