"""Provisioned concurrency honoured by the runtime (issue 11 §4): a setting keeps that many instances
of the versions its qualifier routes to initialised ahead of any invocation, invocations take them
first, a moved alias moves them, a deleted setting releases them.

Sources (AWS):
- PutProvisionedConcurrencyConfig answers 202 with Status IN_PROGRESS; GetProvisionedConcurrencyConfig
  then reports IN_PROGRESS, READY or FAILED (with StatusReason), and Allocated/Available count the
  initialised instances (botocore's model; the API reference's ProvisionedConcurrencyConfigListItem:
  "When a weighted alias is used during linear and canary deployments, this value fluctuates").
- A provisioned instance sees AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency (AWS's list of
  reserved environment variables); an on-demand one `on-demand`.
- With a setting on an alias, invoking the alias *and* its version directly both run on provisioned
  instances, `$LATEST` does not, and after the alias moves the old version runs on-demand again
  (LocalStack's AWS-validated test_lambda_provisioned_concurrency_moves_with_alias /
  _doesnt_apply_to_latest).
- ListProvisionedConcurrencyConfigs: MaxItems 1–50, Marker / NextMarker (botocore's model and its
  paginator ListProvisionedConcurrencyConfigs: input_token Marker, output_token NextMarker,
  limit_key MaxItems).
- The settings of a function together count against its reserved concurrency; above it AWS answers
  400 InvalidParameterValueException (LocalStack's AWS-validated provider text).
"""

import base64
import json
import threading

from conftest import expect_error, make_zip, wait_for

# Each instance names itself once, at init, and counts the invocations it runs.
PROVISIONED_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
INSTANCE="$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "compat-init instance=$INSTANCE type=${AWS_LAMBDA_INITIALIZATION_TYPE}"
COUNT=0
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  COUNT=$((COUNT + 1))
  if [ -n "${HOLD:-}" ]; then sleep "$HOLD"; fi
  curl -sS -X POST "$API/invocation/$REQUEST_ID/response" \
    -d "{\"tag\":\"__TAG__\",\"instance\":\"$INSTANCE\",\"type\":\"${AWS_LAMBDA_INITIALIZATION_TYPE}\",\"count\":$COUNT,\"version\":\"${AWS_LAMBDA_FUNCTION_VERSION}\"}" >/dev/null
done
"""

INIT_FAILING_BOOTSTRAP = r"""#!/bin/sh
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
curl -sS -X POST "$API/init/error" -H "Lambda-Runtime-Function-Error-Type: Compat.InitBroken" \
  -d '{"errorMessage":"the init is broken on purpose","errorType":"Compat.InitBroken"}' >/dev/null
exit 1
"""


def provisioned_zip(tag="v1"):
    return make_zip({"bootstrap": PROVISIONED_BOOTSTRAP.replace("__TAG__", tag)})


def invoke(client, name, qualifier=None):
    params = {"FunctionName": name, "Payload": b"{}", "LogType": "Tail"}
    if qualifier:
        params["Qualifier"] = qualifier
    answer = client.invoke(**params)
    assert "FunctionError" not in answer, answer
    log = base64.b64decode(answer.get("LogResult", "")).decode()
    return json.loads(answer["Payload"].read()), answer["ExecutedVersion"], log


def report_line(log):
    return next((line for line in log.splitlines() if line.startswith("REPORT")), "")


def status_of(client, name, qualifier):
    got = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
    return got["Status"], got["AllocatedProvisionedConcurrentExecutions"], got.get("StatusReason")


def test_invocations_run_on_instances_initialised_before_them(lambda_client, functions):
    name = functions.create(zip_bytes=provisioned_zip(), Publish=True, Environment={"Variables": {"HOLD": "1"}})["FunctionName"]
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    put = lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert (put["Status"], put["ResponseMetadata"]["HTTPStatusCode"]) == ("IN_PROGRESS", 202)
    assert status_of(lambda_client, name, "live") == ("READY", 2, None)

    # Two at once (each holds its instance a moment): two different instances, both provisioned,
    # each on its first invocation, and neither invocation's log holds an init: it ran before.
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(invoke(lambda_client, name, "live"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 2
    assert {(a[0]["type"], a[0]["count"], a[1]) for a in answers} == {("provisioned-concurrency", 1, "1")}
    assert len({a[0]["instance"] for a in answers}) == 2
    assert all("compat-init" not in a[2] for a in answers)
    # No init in the REPORT line (relctl's `Init: cold start`, AWS's `Init Duration`): no cold start.
    assert all("REPORT" in a[2] and "Init" not in report_line(a[2]) for a in answers)

    # The version itself runs on them too; `$LATEST` does not (AWS).
    body, version, _ = invoke(lambda_client, name, "1")
    assert (body["type"], body["count"], version) == ("provisioned-concurrency", 2, "1")
    assert body["instance"] in {a[0]["instance"] for a in answers}
    body, version, _ = invoke(lambda_client, name)
    assert (body["type"], version) == ("on-demand", "$LATEST")


def test_moving_the_alias_warms_the_new_version_and_releases_the_old(lambda_client, functions):
    name = functions.create(zip_bytes=provisioned_zip("v1"), Publish=True)["FunctionName"]
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert status_of(lambda_client, name, "live") == ("READY", 1, None)
    lambda_client.update_function_code(FunctionName=name, ZipFile=provisioned_zip("v2"))
    lambda_client.get_waiter("function_updated").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "2"

    lambda_client.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    wait_for(lambda: status_of(lambda_client, name, "live") == ("READY", 1, None), timeout=60, what="version 2 warmed")
    body, version, log = invoke(lambda_client, name, "live")
    assert (body["tag"], body["type"], body["count"], version) == ("v2", "provisioned-concurrency", 1, "2")
    assert "compat-init" not in log and "Init" not in report_line(log)
    # Version 1 lost its instance: it starts on demand now.
    body, version, _ = invoke(lambda_client, name, "1")
    assert (body["tag"], body["type"], version) == ("v1", "on-demand", "1")


def test_a_weighted_alias_provisions_both_versions_by_weight(lambda_client, functions):
    name = functions.create(zip_bytes=provisioned_zip("v1"), Publish=True)["FunctionName"]
    lambda_client.update_function_code(FunctionName=name, ZipFile=provisioned_zip("v2"))
    lambda_client.get_waiter("function_updated").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                               RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert status_of(lambda_client, name, "live") == ("READY", 2, None)
    for version in ("1", "2"):
        body, executed, _ = invoke(lambda_client, name, version)
        assert (body["type"], body["count"], executed) == ("provisioned-concurrency", 1, version)


def test_deleting_the_setting_releases_its_instances(lambda_client, functions):
    name = functions.create(zip_bytes=provisioned_zip(), Publish=True)["FunctionName"]
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert status_of(lambda_client, name, "1") == ("READY", 1, None)
    lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    body, _, _ = invoke(lambda_client, name, "1")
    assert (body["type"], body["count"]) == ("on-demand", 1)


def test_an_init_that_fails_reports_failed_with_its_reason(lambda_client, functions):
    name = functions.create(zip_bytes=make_zip({"bootstrap": INIT_FAILING_BOOTSTRAP}), Publish=True)["FunctionName"]
    put = lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert put["Status"] == "IN_PROGRESS"
    status, allocated, reason = status_of(lambda_client, name, "1")
    assert (status, allocated) == ("FAILED", 0)
    assert "Compat.InitBroken: the init is broken on purpose" in reason
    listed = lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [(c["Status"], "the init is broken on purpose" in c["StatusReason"]) for c in listed] == [("FAILED", True)]


def test_list_paginates_with_marker_and_max_items(lambda_client, functions):
    name = functions.create(zip_bytes=provisioned_zip(), Publish=True)["FunctionName"]
    for tag in ("v2", "v3"):
        lambda_client.update_function_code(FunctionName=name, ZipFile=provisioned_zip(tag))
        lambda_client.get_waiter("function_updated").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        lambda_client.publish_version(FunctionName=name)
    for version in ("1", "2", "3"):
        lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1)

    first = lambda_client.list_provisioned_concurrency_configs(FunctionName=name, MaxItems=2)
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in first["ProvisionedConcurrencyConfigs"]] == ["1", "2"]
    second = lambda_client.list_provisioned_concurrency_configs(FunctionName=name, MaxItems=2, Marker=first["NextMarker"])
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in second["ProvisionedConcurrencyConfigs"]] == ["3"]
    assert "NextMarker" not in second

    pages = lambda_client.get_paginator("list_provisioned_concurrency_configs").paginate(
        FunctionName=name, PaginationConfig={"PageSize": 1})
    assert [c["FunctionArn"].rsplit(":", 1)[1] for page in pages for c in page["ProvisionedConcurrencyConfigs"]] == ["1", "2", "3"]
    with expect_error(lambda_client, "ValidationException", 400,
                      contains="at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 50"):
        lambda_client.list_provisioned_concurrency_configs(FunctionName=name, MaxItems=51)


def test_settings_together_must_fit_in_the_reserved_concurrency(lambda_client, functions):
    name = functions.create(zip_bytes=provisioned_zip(), Publish=True)["FunctionName"]
    lambda_client.update_function_code(FunctionName=name, ZipFile=provisioned_zip("v2"))
    lambda_client.get_waiter("function_updated").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    lambda_client.publish_version(FunctionName=name)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    with expect_error(lambda_client, "InvalidParameterValueException", 400,
                      message="Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function"):
        lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="2", ProvisionedConcurrentExecutions=2)
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="2", ProvisionedConcurrentExecutions=1)
