"""Invoke through two `relctl serve --database <same PostgreSQL> --code-store s3://…` (SharedDatabaseServerTests).

Usage: invoke_two_servers.py ENDPOINT_1 ENDPOINT_2. A function created and published on server 1
runs on server 2 (its package downloaded from the bucket by hash), through an alias with weighted routing; a
missing function and a wrong-region ARN are AWS's 404; reserved concurrency of 1 is one invocation in flight
across both servers. Exits non-zero on the first failed expectation."""
import http.server
import json
import sys
import threading
import time

from lambda_clients import ROLE as role, bootstrap_package, client, echo_package as package, error_code


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

# Reserved concurrency counts invocations on every server. The function below tells this script when it
# started and then waits until the script lets it go, so "one in flight" is a fact, not a timing guess.
events = {"started": threading.Event(), "go": threading.Event()}


class Gate(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/started":
            events["started"].set()
        ready = self.path != "/go" or events["go"].is_set()
        self.send_response(200 if ready else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


gate = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gate)
threading.Thread(target=gate.serve_forever, daemon=True).start()
GATED = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  H=$(mktemp); E=$(curl -sS -D "$H" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2); rm -f "$H"
  case "$E" in *wait*) curl -s http://127.0.0.1:%d/started >/dev/null
    until curl -sf http://127.0.0.1:%d/go >/dev/null; do sleep 0.05; done;; esac
  curl -sS -X POST "$API/invocation/$ID/response" -d '{"done":true}' >/dev/null
done
""" % (gate.server_port, gate.server_port)
one.create_function(
    FunctionName="gated", Runtime="provided.al2023", Role=role, Handler="bootstrap", Timeout=300,
    Code={"ZipFile": bootstrap_package(GATED)})
# The reservation is set through one server and read through the other.
assert two.put_function_concurrency(FunctionName="gated", ReservedConcurrentExecutions=1)[
    "ReservedConcurrentExecutions"] == 1
assert one.get_function_concurrency(FunctionName="gated")["ReservedConcurrentExecutions"] == 1
assert error_code(lambda: one.put_function_concurrency(FunctionName="gated", ReservedConcurrentExecutions=999)) == (
    "InvalidParameterValueException", 400)
held = {}
holder = threading.Thread(target=lambda: held.update(answer=one.invoke(FunctionName="gated", Payload=b'"wait"')))
holder.start()
assert events["started"].wait(120), "the first invocation did not start within 120 s"
assert error_code(lambda: two.invoke(FunctionName="gated", Payload=b'"now"')) == ("TooManyRequestsException", 429)
assert error_code(lambda: one.invoke(FunctionName="gated", Payload=b'"now"')) == ("TooManyRequestsException", 429)
events["go"].set()
holder.join(120)
assert json.loads(held["answer"]["Payload"].read()) == {"done": True}, held
# The slot is free again, on either server.
assert json.loads(two.invoke(FunctionName="gated", Payload=b'"now"')["Payload"].read()) == {"done": True}
one.delete_function_concurrency(FunctionName="gated")
assert "ReservedConcurrentExecutions" not in two.get_function_concurrency(FunctionName="gated")
gate.shutdown()
print("invoke on two servers: ok")
