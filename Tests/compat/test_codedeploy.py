"""CodeDeploy for Lambda (JSON 1.1, X-Amz-Target: CodeDeploy_20141006.*) through boto3, as a
SAM-style workflow drives it (/work/shared/reference/rollouts.md §1)."""

import http.server
import json
import os
import queue
import re
import threading
import time

import pytest

from conftest import (
    CODEDEPLOY_ROLE,
    echo_zip,
    expect_error,
    make_client,
    make_zip,
    unique_name,
    wait_for,
)

DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")


class EventReceiver:
    """A small HTTP server on 127.0.0.1 that queues the JSON bodies POSTed to it."""

    def __init__(self):
        received = self.received = queue.Queue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.put(json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout, what):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def event_receiver():
    receiver = EventReceiver()
    yield receiver
    receiver.close()
TERMINAL = {"Succeeded", "Failed", "Stopped"}
NO_CONFIGS = "moto does not implement deployment configurations"
NO_RUN = "moto records deployments but never runs them (no traffic shifting, hooks, stop)"

LAMBDA_CONFIGS = {
    "CodeDeployDefault.LambdaCanary10Percent5Minutes": ("TimeBasedCanary", 10, 5),
    "CodeDeployDefault.LambdaCanary10Percent10Minutes": ("TimeBasedCanary", 10, 10),
    "CodeDeployDefault.LambdaCanary10Percent15Minutes": ("TimeBasedCanary", 10, 15),
    "CodeDeployDefault.LambdaCanary10Percent30Minutes": ("TimeBasedCanary", 10, 30),
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute": ("TimeBasedLinear", 10, 1),
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes": ("TimeBasedLinear", 10, 2),
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes": ("TimeBasedLinear", 10, 3),
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes": ("TimeBasedLinear", 10, 10),
    "CodeDeployDefault.LambdaAllAtOnce": ("AllAtOnce", None, None),
}

# A BeforeAllowTraffic/AfterAllowTraffic hook exactly as one is written for AWS: no endpoint, no
# credentials, no region in the code. It must find the server through AWS_ENDPOINT_URL.
PYTHON_HOOK = '''\
import json
import os
import os

import boto3


def handler(event, context):
    status = "Succeeded"
    target = os.environ.get("TARGET_FUNCTION")
    if target:
        # Validate the version under test first, as SAM's examples do.
        response = boto3.client("lambda").invoke(FunctionName=target, Payload=json.dumps({"from": "hook"}))
        if response.get("FunctionError"):
            status = "Failed"
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=os.environ.get("FORCE_STATUS", status),
    )
    return {"reported": status}
'''


def appspec(function_name, hooks=None, alias="live", current="1", target="2"):
    spec = {
        "version": 0.0,
        "Resources": [{
            "orders": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Name": function_name, "Alias": alias, "CurrentVersion": current, "TargetVersion": target},
            },
        }],
    }
    if hooks:
        spec["Hooks"] = [{event: fn} for event, fn in hooks.items()]
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}}


def deployment(codedeploy, deployment_id):
    return codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]


def wait_for_status(codedeploy, deployment_id, expected, timeout=60.0):
    """Poll GetDeployment until it reaches a terminal status; fail unless it is `expected`."""
    def finished():
        info = deployment(codedeploy, deployment_id)
        return info if info["status"] in TERMINAL else None

    info = wait_for(finished, timeout, what=f"deployment {deployment_id} to finish")
    assert info["status"] == expected, info
    return info


def alias_state(lambda_client, name):
    alias = lambda_client.get_alias(FunctionName=name, Name="live")
    return alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights") or {}


@pytest.fixture
def target(lambda_client, functions):
    """A function with versions 1 and 2 and the alias live → 1: what a deployment moves."""
    created = functions.create(zip_bytes=echo_zip("v1"), Publish=True)
    name = created["FunctionName"]
    lambda_client.update_function_code(FunctionName=name, ZipFile=echo_zip("v2"), Publish=True)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name


@pytest.fixture
def python_hook(functions):
    def create(**environment):
        created = functions.create(
            unique_name("CodeDeployHook_compat"), make_zip({"hook.py": PYTHON_HOOK}, executable=()),
            runtime="python3.11", handler="hook.handler", Timeout=60,
            Environment={"Variables": environment} if environment else {"Variables": {}},
        )
        return created["FunctionName"]
    return create


@pytest.fixture
def application(codedeploy_client):
    name = unique_name("app")
    created = codedeploy_client.create_application(applicationName=name, computePlatform="Lambda")
    assert created["applicationId"]
    return name


@pytest.fixture
def group(codedeploy_client, application):
    def create(config="CodeDeployDefault.LambdaAllAtOnce", **kwargs):
        name = unique_name("group")
        params = dict(
            applicationName=application, deploymentGroupName=name, deploymentConfigName=config,
            serviceRoleArn=CODEDEPLOY_ROLE,
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            autoRollbackConfiguration={"enabled": True, "events": [
                "DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]},
        )
        params.update(kwargs)
        assert codedeploy_client.create_deployment_group(**params)["deploymentGroupId"]
        return name
    return create


def deploy(codedeploy, application, group_name, function_name, hooks=None, **kwargs):
    created = codedeploy.create_deployment(applicationName=application, deploymentGroupName=group_name,
                                           revision=appspec(function_name, hooks), **kwargs)
    assert created["deploymentId"]
    return created["deploymentId"]


# ============================================================================================
# applications, deployment configurations, deployment groups


def test_create_application_for_lambda(codedeploy_client):
    name = unique_name("app")
    created = codedeploy_client.create_application(applicationName=name, computePlatform="Lambda")
    assert created["applicationId"]
    with expect_error(codedeploy_client, "ApplicationAlreadyExistsException", 400):
        codedeploy_client.create_application(applicationName=name, computePlatform="Lambda")


@pytest.mark.moto_gap(NO_CONFIGS)
def test_predefined_lambda_deployment_configs(codedeploy_client):
    listed = [name for page in codedeploy_client.get_paginator("list_deployment_configs").paginate()
              for name in page["deploymentConfigsList"]]
    assert set(LAMBDA_CONFIGS) <= set(listed), sorted(set(LAMBDA_CONFIGS) - set(listed))
    for name, (kind, percentage, interval) in LAMBDA_CONFIGS.items():
        info = codedeploy_client.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        assert info["deploymentConfigName"] == name
        assert info["computePlatform"] == "Lambda"
        routing = info["trafficRoutingConfig"]
        assert routing["type"] == kind, info
        if kind == "TimeBasedCanary":
            assert routing["timeBasedCanary"] == {"canaryPercentage": percentage, "canaryInterval": interval}
        elif kind == "TimeBasedLinear":
            assert routing["timeBasedLinear"] == {"linearPercentage": percentage, "linearInterval": interval}


@pytest.mark.moto_gap(NO_CONFIGS)
def test_yaml_policies_and_api_configs_are_one_catalogue(codedeploy_client, server):
    if not server.data_dir:
        pytest.skip("needs RELCTL_BIN: the policy file is written into the server's data directory")
    name = unique_name("Yaml20Percent2Minutes")
    policies = os.path.join(server.data_dir, "policies")
    os.makedirs(policies, exist_ok=True)
    path = os.path.join(policies, f"{name}.yaml")
    with open(path, "w") as policy:
        policy.write(f"name: {name}\ntype: Canary\npercentage: 20\ninterval: 2m\n")
    try:
        listed = [config for page in codedeploy_client.get_paginator("list_deployment_configs").paginate()
                  for config in page["deploymentConfigsList"]]
        assert name in listed
        info = codedeploy_client.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        assert info["trafficRoutingConfig"] == {
            "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 2}}
        # One name, one policy: an API config cannot take a YAML policy's name.
        with expect_error(codedeploy_client, "DeploymentConfigAlreadyExistsException", 400):
            codedeploy_client.create_deployment_config(
                deploymentConfigName=name, computePlatform="Lambda", trafficRoutingConfig={"type": "AllAtOnce"})
    finally:
        os.remove(path)


@pytest.mark.moto_gap(NO_CONFIGS)
def test_custom_deployment_configs(codedeploy_client):
    canary, linear = unique_name("Canary25Percent45Minutes"), unique_name("Linear20PercentEvery2Minutes")
    created = codedeploy_client.create_deployment_config(
        deploymentConfigName=canary, computePlatform="Lambda",
        trafficRoutingConfig={"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 45}},
    )
    assert created["deploymentConfigId"]
    codedeploy_client.create_deployment_config(
        deploymentConfigName=linear, computePlatform="Lambda",
        trafficRoutingConfig={"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 2}},
    )

    info = codedeploy_client.get_deployment_config(deploymentConfigName=canary)["deploymentConfigInfo"]
    assert info["deploymentConfigId"] == created["deploymentConfigId"]
    assert info["deploymentConfigName"] == canary
    assert info["computePlatform"] == "Lambda"
    assert info["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 45}}
    assert "createTime" in info
    info = codedeploy_client.get_deployment_config(deploymentConfigName=linear)["deploymentConfigInfo"]
    assert info["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 2}}

    listed = [name for page in codedeploy_client.get_paginator("list_deployment_configs").paginate()
              for name in page["deploymentConfigsList"]]
    assert {canary, linear} <= set(listed)

    with expect_error(codedeploy_client, "DeploymentConfigAlreadyExistsException", 400):
        codedeploy_client.create_deployment_config(
            deploymentConfigName=canary, computePlatform="Lambda",
            trafficRoutingConfig={"type": "AllAtOnce"},
        )
    with expect_error(codedeploy_client, "DeploymentConfigDoesNotExistException", 400):
        codedeploy_client.get_deployment_config(deploymentConfigName=unique_name("NoSuchConfig"))


@pytest.fixture(scope="session")
def raw_codedeploy_client(server):
    """Without botocore's client-side validation, to send the non-integers AWS must refuse itself."""
    return make_client("codedeploy", server.endpoint, parameter_validation=False)


@pytest.mark.moto_gap(NO_CONFIGS)
@pytest.mark.parametrize("routing", [
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 0, "linearInterval": 1}},
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 1e-300, "linearInterval": 1}},
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 100, "linearInterval": 1}},
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 2.5, "linearInterval": 1}},
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 0.5}},
    {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 0}},
    {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 0.0001, "canaryInterval": 5}},
    {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 100, "canaryInterval": 5}},
    {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10}},
], ids=["linear-0", "linear-1e-300", "linear-100", "linear-2.5", "linear-half-minute", "linear-0-minutes",
        "canary-0.0001", "canary-100", "canary-no-interval"])
def test_deployment_config_refuses_what_aws_refuses(raw_codedeploy_client, routing):
    # Lambda configs take whole percentages from 1 to 99 and whole minutes; a tiny Linear
    # percentage once made the server build 1e302 stages.
    name = unique_name("Bad")
    with expect_error(raw_codedeploy_client, "InvalidTrafficRoutingConfigurationException", 400):
        raw_codedeploy_client.create_deployment_config(
            deploymentConfigName=name, computePlatform="Lambda", trafficRoutingConfig=routing)
    with expect_error(raw_codedeploy_client, "DeploymentConfigDoesNotExistException", 400):
        raw_codedeploy_client.get_deployment_config(deploymentConfigName=name)
    assert raw_codedeploy_client.create_deployment_config(
        deploymentConfigName=unique_name("Linear1PercentEvery1Minute"), computePlatform="Lambda",
        trafficRoutingConfig={"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 1, "linearInterval": 1}},
    )["deploymentConfigId"], "the smallest whole percentage stays allowed"


def test_create_deployment_group_with_alarms_and_auto_rollback(codedeploy_client, application, group):
    name = group(
        alarmConfiguration={"enabled": True, "ignorePollAlarmFailure": False,
                            "alarms": [{"name": "orders-new-version-errors"}, {"name": "orders-alias-errors"}]},
    )
    assert name
    with expect_error(codedeploy_client, "DeploymentGroupAlreadyExistsException", 400):
        group_params = dict(applicationName=application, deploymentGroupName=name,
                            deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", serviceRoleArn=CODEDEPLOY_ROLE)
        codedeploy_client.create_deployment_group(**group_params)
    with expect_error(codedeploy_client, "ApplicationDoesNotExistException", 400):
        codedeploy_client.create_deployment_group(
            applicationName=unique_name("noapp"), deploymentGroupName=unique_name("group"),
            deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", serviceRoleArn=CODEDEPLOY_ROLE)


@pytest.mark.moto_gap(NO_CONFIGS)
def test_deployment_group_with_a_custom_config(codedeploy_client, group):
    config = unique_name("Linear50PercentEvery1Minute")
    codedeploy_client.create_deployment_config(
        deploymentConfigName=config, computePlatform="Lambda",
        trafficRoutingConfig={"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 50, "linearInterval": 1}},
    )
    assert group(config)
    with expect_error(codedeploy_client, "DeploymentConfigDoesNotExistException", 400):
        group(unique_name("NoSuchConfig"))


# ============================================================================================
# deployments


@pytest.mark.moto_gap(NO_RUN)
def test_all_at_once_deployment_with_a_python_hook_succeeds(codedeploy_client, lambda_client, application, group,
                                                            target, python_hook):
    group_name = group("CodeDeployDefault.LambdaAllAtOnce")
    hook = python_hook()
    deployment_id = deploy(codedeploy_client, application, group_name, target, {"BeforeAllowTraffic": hook},
                           description="compat all-at-once")

    assert DEPLOYMENT_ID.match(deployment_id), deployment_id
    info = deployment(codedeploy_client, deployment_id)
    assert info["deploymentId"] == deployment_id
    assert info["applicationName"] == application
    assert info["deploymentGroupName"] == group_name
    assert info["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    assert info["computePlatform"] == "Lambda"
    assert info["status"] in ("Created", "Queued", "InProgress", "Succeeded")

    info = wait_for_status(codedeploy_client, deployment_id, "Succeeded", timeout=60)
    assert "completeTime" in info
    assert alias_state(lambda_client, target) == ("2", {})

    listed = codedeploy_client.list_deployments(applicationName=application, deploymentGroupName=group_name)
    assert deployment_id in listed["deployments"]
    succeeded = codedeploy_client.list_deployments(applicationName=application, deploymentGroupName=group_name,
                                                   includeOnlyStatuses=["Succeeded"])
    assert deployment_id in succeeded["deployments"]
    failed = codedeploy_client.list_deployments(applicationName=application, deploymentGroupName=group_name,
                                                includeOnlyStatuses=["Failed", "Stopped"])
    assert deployment_id not in failed["deployments"]
    everywhere = [d for page in codedeploy_client.get_paginator("list_deployments").paginate() for d in page["deployments"]]
    assert deployment_id in everywhere

    with expect_error(codedeploy_client, "DeploymentAlreadyCompletedException", 400):
        codedeploy_client.stop_deployment(deploymentId=deployment_id)


@pytest.mark.moto_gap(NO_RUN)
def test_get_deployment_describes_the_revision(codedeploy_client, application, group, target):
    deployment_id = deploy(codedeploy_client, application, group("CodeDeployDefault.LambdaAllAtOnce"), target)
    wait_for_status(codedeploy_client, deployment_id, "Succeeded", timeout=60)
    # AWS reports the AppSpec content's sha256; whether it also echoes the content is not pinned here.
    revision = deployment(codedeploy_client, deployment_id).get("revision")
    assert revision and revision["revisionType"] == "AppSpecContent", revision
    assert "appSpecContent" in revision


def test_create_deployment_is_recorded(codedeploy_client, application, group, target):
    group_name = group("CodeDeployDefault.LambdaAllAtOnce")
    deployment_id = deploy(codedeploy_client, application, group_name, target)
    info = deployment(codedeploy_client, deployment_id)
    assert info["deploymentId"] == deployment_id
    assert info["applicationName"] == application
    assert info["deploymentGroupName"] == group_name
    listed = codedeploy_client.list_deployments(applicationName=application, deploymentGroupName=group_name)
    assert deployment_id in listed["deployments"]


@pytest.mark.moto_gap(NO_RUN)
def test_hook_status_reported_by_the_caller(codedeploy_client, lambda_client, functions, application, group, target,
                                            event_receiver):
    # A hook that only forwards its event (to this test, over HTTP: a function cannot write the test's
    # files from its sandbox), so that this test reports for it, as an external validator would.
    hook = functions.create(unique_name("CodeDeployHook_record"), echo_zip("hook"),
                            Environment={"Variables": {"EVENT_URL": event_receiver.url}})["FunctionName"]
    deployment_id = deploy(codedeploy_client, application, group("CodeDeployDefault.LambdaAllAtOnce"), target,
                           {"BeforeAllowTraffic": hook})

    event = event_receiver.next(timeout=30, what="the hook to be invoked")
    assert event["DeploymentId"] == deployment_id
    execution_id = event["LifecycleEventHookExecutionId"]
    assert execution_id

    # The deployment waits for the report; traffic has not moved.
    time.sleep(1)
    assert deployment(codedeploy_client, deployment_id)["status"] == "InProgress"
    assert alias_state(lambda_client, target) == ("1", {})

    with expect_error(codedeploy_client, "InvalidLifecycleEventHookExecutionStatusException", 400):
        codedeploy_client.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status="InProgress")

    reported = codedeploy_client.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status="Failed")
    assert reported["lifecycleEventHookExecutionId"] == execution_id

    info = wait_for_status(codedeploy_client, deployment_id, "Failed", timeout=60)
    assert info.get("errorInformation", {}).get("message")
    # A failed BeforeAllowTraffic hook leaves the alias where it was.
    assert alias_state(lambda_client, target) == ("1", {})

    with expect_error(codedeploy_client, "LifecycleEventAlreadyCompletedException", 400):
        codedeploy_client.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status="Succeeded")


@pytest.mark.moto_gap(NO_RUN)
def test_stop_deployment_with_rollback_restores_the_alias(codedeploy_client, lambda_client, application, group, target):
    group_name = group("CodeDeployDefault.LambdaCanary10Percent30Minutes")
    deployment_id = deploy(codedeploy_client, application, group_name, target)

    # the canary step: 10% of the alias's traffic on version 2
    wait_for(lambda: alias_state(lambda_client, target) == ("1", {"2": 0.1}), 30,
             what="the alias to send 10% to version 2")
    assert deployment(codedeploy_client, deployment_id)["status"] == "InProgress"

    stopped = codedeploy_client.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert stopped["status"] in ("Pending", "Succeeded")

    wait_for_status(codedeploy_client, deployment_id, "Stopped", timeout=30)
    wait_for(lambda: alias_state(lambda_client, target) == ("1", {}), 30, what="the alias to be restored")
    stopped_list = codedeploy_client.list_deployments(applicationName=application, deploymentGroupName=group_name,
                                                      includeOnlyStatuses=["Stopped"])
    assert deployment_id in stopped_list["deployments"]
    with expect_error(codedeploy_client, "DeploymentAlreadyCompletedException", 400):
        codedeploy_client.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)


@pytest.mark.slow
@pytest.mark.moto_gap(NO_RUN)
def test_canary_with_python_hooks_through_codedeploy(codedeploy_client, lambda_client, application, group, target,
                                                      python_hook):
    config = unique_name("Canary10Percent1Minute")
    codedeploy_client.create_deployment_config(
        deploymentConfigName=config, computePlatform="Lambda",
        trafficRoutingConfig={"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 1}},
    )
    group_name = group(config)
    pre = python_hook(TARGET_FUNCTION=f"{target}:2")   # validates version 2 before any traffic moves
    post = python_hook(TARGET_FUNCTION=f"{target}:live")
    started = time.monotonic()
    deployment_id = deploy(codedeploy_client, application, group_name, target,
                           {"BeforeAllowTraffic": pre, "AfterAllowTraffic": post})

    wait_for(lambda: alias_state(lambda_client, target) == ("1", {"2": 0.1}), 45,
             what="the canary step (10% on version 2)")
    assert deployment(codedeploy_client, deployment_id)["status"] == "InProgress"
    assert deployment(codedeploy_client, deployment_id)["deploymentConfigName"] == config

    info = wait_for_status(codedeploy_client, deployment_id, "Succeeded", timeout=120)
    # the canary interval is one minute: full traffic can't come earlier
    assert time.monotonic() - started >= 55
    assert info["deploymentConfigName"] == config
    assert alias_state(lambda_client, target) == ("2", {})


@pytest.mark.moto_gap(NO_RUN)
def test_failing_python_hook_fails_the_deployment(codedeploy_client, lambda_client, application, group, target,
                                                   python_hook):
    hook = python_hook(FORCE_STATUS="Failed")
    deployment_id = deploy(codedeploy_client, application, group("CodeDeployDefault.LambdaAllAtOnce"), target,
                           {"BeforeAllowTraffic": hook})
    wait_for_status(codedeploy_client, deployment_id, "Failed", timeout=60)
    assert alias_state(lambda_client, target) == ("1", {})


@pytest.mark.moto_gap("moto's errors for unknown deployments differ")
def test_unknown_deployment(codedeploy_client):
    with expect_error(codedeploy_client, "DeploymentDoesNotExistException", 400):
        codedeploy_client.get_deployment(deploymentId="d-ABCDEFGH1")
    with expect_error(codedeploy_client, "DeploymentDoesNotExistException", 400):
        codedeploy_client.stop_deployment(deploymentId="d-ABCDEFGH1")
