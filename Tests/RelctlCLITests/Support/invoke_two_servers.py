"""Invoke through two `relctl serve --database <same PostgreSQL> --code-store s3://…` (SharedDatabaseServerTests).

Usage: invoke_two_servers.py ENDPOINT_1 ENDPOINT_2. A function created and published on server 1 runs on
server 2 (its package downloaded from the bucket by hash), through an alias with weighted routing; a missing
function and a wrong-region ARN are AWS's 404. Exits non-zero on the first failed expectation."""
import json
import sys

from lambda_clients import ROLE as role, client, error_code, package as bootstrap_package

# A provided-runtime bootstrap that answers every event with its marker and the event.
BOOTSTRAP = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  H=$(mktemp); E=$(curl -sS -D "$H" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2); rm -f "$H"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"marker\\":\\"%s\\",\\"event\\":$E}" >/dev/null
done
"""


def package(marker):
    return bootstrap_package(BOOTSTRAP % marker)


def invoke(lambda_client, **kwargs):
    answer = lambda_client.invoke(Payload=json.dumps({"n": 1}), **kwargs)
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer, answer
    return answer["ExecutedVersion"], json.loads(answer["Payload"].read())


one, two = client(sys.argv[1]), client(sys.argv[2])

one.create_function(
    FunctionName="echo", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": package("v1")})
assert one.publish_version(FunctionName="echo")["Version"] == "1"
one.update_function_code(FunctionName="echo", ZipFile=package("v2"))
assert one.publish_version(FunctionName="echo")["Version"] == "2"
one.create_alias(FunctionName="echo", Name="live", FunctionVersion="1")

# Server 2 never saw the packages: it resolves the alias in the database and downloads by hash.
version, payload = invoke(two, FunctionName="echo", Qualifier="live")
assert (version, payload) == ("1", {"marker": "v1", "event": {"n": 1}}), (version, payload)
version, payload = invoke(two, FunctionName="echo:2")
assert (version, payload["marker"]) == ("2", "v2"), (version, payload)
version, payload = invoke(one, FunctionName="echo")
assert (version, payload["marker"]) == ("$LATEST", "v2"), (version, payload)

# The alias moved on server 1 routes on server 2 at once: all of it to 2, then a 50/50 split.
one.update_alias(FunctionName="echo", Name="live", FunctionVersion="2")
assert invoke(two, FunctionName="echo", Qualifier="live")[0] == "2"
one.update_alias(FunctionName="echo", Name="live", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
seen = {invoke(two, FunctionName="echo", Qualifier="live")[0] for _ in range(40)}
assert seen == {"1", "2"}, seen

# AWS's errors: a missing function, a missing alias, and an ARN of another region (never runs this one).
assert error_code(lambda: two.invoke(FunctionName="missing")) == ("ResourceNotFoundException", 404)
assert error_code(lambda: two.invoke(FunctionName="echo", Qualifier="nowhere")) == ("ResourceNotFoundException", 404)
assert error_code(lambda: two.invoke(
    FunctionName="arn:aws:lambda:us-west-2:000000000000:function:echo")) == ("ResourceNotFoundException", 404)
print("invoke on two servers: ok")
