"""The real `sam deploy` / `sam delete` (aws-sam-cli from PyPI, unchanged) against `relctl serve`.

With AWS_ENDPOINT_URL pointing at the server, sam-cli uploads its artifacts to relctl's S3 subset
and deploys through relctl's CloudFormation subset (CreateChangeSet with the untransformed SAM
template, DescribeChangeSet, ExecuteChangeSet, DescribeStackEvents, DescribeStacks, GetTemplate,
DeleteStack …), which runs the same stack engine as `relctl sam deploy`.

One template: two functions with AutoPublishAlias, a layer, a custom AWS::CodeDeploy::DeploymentConfig,
PreTraffic/PostTraffic hooks written for AWS (python, boto3's CodeDeploy client) and an Errors alarm
per function. Steps: first deploy, a code change (its canary runs, its hooks report through the
CodeDeploy API), a config-only change, a failing version rolled back by its alarm, `sam delete`.

Needs RELCTL_BIN (a server this suite starts, with its data directory) and `sam` on PATH."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client

SAM = shutil.which("sam")
DEADLINE = 300  # seconds for one sam command: it waits for the deployment it started

pytestmark = [
    pytest.mark.skipif(SAM is None, reason="aws-sam-cli is not installed (pip install aws-sam-cli)"),
    pytest.mark.slow,
]

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: relctl compat - the real sam deploy

Parameters:
  Greeting:
    Type: String
    Default: hello
  DeploymentType:
    Type: String
    Default: Canary10Percent2Seconds

Globals:
  Function:
    Runtime: python3.11
    Timeout: 10
    MemorySize: 128

Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python3.11]

  HalfThenAll:
    Type: AWS::CodeDeploy::DeploymentConfig
    Properties:
      ComputePlatform: Lambda
      DeploymentConfigName: !Sub '${AWS::StackName}-Canary50Percent1Minute'
      TrafficRoutingConfig:
        Type: TimeBasedCanary
        TimeBasedCanary: {CanaryPercentage: 50, CanaryInterval: 1}

  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      Layers: [!Ref SharedLayer]
      Environment:
        Variables:
          GREETING: !Ref Greeting
      AutoPublishAlias: live
      DeploymentPreference:
        Type: !Ref DeploymentType
        Alarms: [!Ref HelloErrors]
        Hooks:
          PreTraffic: !Ref PreTrafficHook
          PostTraffic: !Ref PostTrafficHook

  Orders:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: orders/
      Handler: app.handler
      Environment:
        Variables:
          GREETING: !Ref Greeting
      AutoPublishAlias: live
      DeploymentPreference:
        Type: !Ref HalfThenAll
        Alarms: [!Ref OrdersErrors]

  PreTrafficHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hooks/
      Handler: hook.handler
      FunctionName: !Sub 'CodeDeployHook_${AWS::StackName}_pre'
      DeploymentPreference:
        Enabled: false
      Environment:
        Variables:
          NewVersion: !Ref Hello.Version

  PostTrafficHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hooks/
      Handler: hook.handler
      FunctionName: !Sub 'CodeDeployHook_${AWS::StackName}_post'
      DeploymentPreference:
        Enabled: false

  HelloErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - {Name: Resource, Value: !Sub '${Hello}:live'}
        - {Name: FunctionName, Value: !Ref Hello}
        - {Name: ExecutedVersion, Value: !GetAtt Hello.Version.Version}
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold

  OrdersErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - {Name: FunctionName, Value: !Ref Orders}
        - {Name: ExecutedVersion, Value: !GetAtt Orders.Version.Version}
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
"""

APP = '''\
import os


def handler(event, context):
    return {"greeting": os.environ.get("GREETING"), "build": BUILD}


BUILD = "%s"
'''

# A traffic hook exactly as one is written for AWS: no endpoint, credentials or region in the code.
HOOK = '''\
import boto3


def handler(event, context):
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status="Succeeded",
    )
    return {"status": "Succeeded"}
'''


class SamProject:
    def __init__(self, folder: pathlib.Path, endpoint: str, stack: str, bucket: str):
        self.folder = folder
        self.stack = stack
        self.bucket = bucket
        self.env = dict(os.environ)
        for name in list(self.env):
            if name.startswith("AWS_") or name.startswith("SAM_"):
                del self.env[name]
        self.env.update({
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "SAM_CLI_TELEMETRY": "0",
            "SAM_CLI_POLL_DELAY": "0.5",
            "HOME": str(folder.parent),
        })
        (folder / "template.yaml").write_text(TEMPLATE)
        for name, build in (("hello", "h1"), ("orders", "o1")):
            self.write_app(name, build)
        (folder / "hooks").mkdir()
        (folder / "hooks" / "hook.py").write_text(HOOK)
        (folder / "layer" / "python").mkdir(parents=True)
        (folder / "layer" / "python" / "shared.py").write_text("VALUE = 1\n")

    def write_app(self, name: str, build: str):
        (self.folder / name).mkdir(exist_ok=True)
        (self.folder / name / "app.py").write_text(APP % build)

    def sam(self, *args):
        """Runs sam with a deadline; a sam still running then is killed (its process group)."""
        process = subprocess.Popen([SAM, *args], cwd=self.folder, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            output, _ = process.communicate()
            pytest.fail(f"sam {' '.join(args)} did not finish within {DEADLINE} s:\n{output}")
        return process.returncode, output

    def deploy(self, *extra):
        return self.sam("deploy", "--stack-name", self.stack, "--s3-bucket", self.bucket, "--no-confirm-changeset",
                        "--region", REGION, *extra)


def alias_version(lambda_client, function):
    return lambda_client.get_alias(FunctionName=function, Name="live")["FunctionVersion"]


def deployments(server, function):
    result = server.relctl("deployments", "list", "--function", function, "--output", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["deployments"]
    return [json.loads(server.relctl("deployments", "get", d["deploymentId"], "--output", "json").stdout) for d in listed]


@pytest.fixture
def project(server, tmp_path):
    if server.kind != "relctl":
        pytest.skip("needs RELCTL_BIN: the test reads the server's data directory")
    # A policy of short holds in the server's policies/ folder, so the canary takes seconds.
    policies = pathlib.Path(server.data_dir) / "policies"
    policies.mkdir(exist_ok=True)
    (policies / "short.yaml").write_text("name: Canary10Percent2Seconds\ntype: Canary\npercentage: 10\ninterval: 2s\n")
    suffix = uuid.uuid4().hex[:8]
    folder = tmp_path / "app"
    folder.mkdir()
    bucket = f"sam-artifacts-{suffix}"
    make_client("s3", server.endpoint).create_bucket(Bucket=bucket)
    return SamProject(folder, server.endpoint, f"samcli-{suffix}", bucket)


def test_sam_deploy_and_delete_unchanged(server, project, lambda_client):
    cloudformation = make_client("cloudformation", server.endpoint)
    s3 = make_client("s3", server.endpoint)
    stack = project.stack
    hello, orders = f"{stack}-Hello", f"{stack}-Orders"

    # 1. First deploy: everything created, both aliases on version 1, no deployment.
    status, output = project.deploy()
    assert status == 0, output
    assert "Successfully created/updated stack" in output, output
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert alias_version(lambda_client, hello) == "1"
    assert alias_version(lambda_client, orders) == "1"
    layers = lambda_client.get_function_configuration(FunctionName=hello, Qualifier="live")["Layers"]
    assert layers[0]["Arn"].endswith(f":layer:{stack}-SharedLayer:1")
    resources = {r["LogicalResourceId"]: r for r in cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    assert {"Hello", "Orders", "PreTrafficHook", "PostTrafficHook", "SharedLayer", "HalfThenAll", "HelloErrors", "OrdersErrors"} <= set(resources)
    assert resources["Hello"]["PhysicalResourceId"] == hello
    # The template sam-cli uploaded is what GetTemplate gives back, its code at s3:// in relctl's S3.
    template = cloudformation.get_template(StackName=stack)["TemplateBody"]
    assert "Transform: AWS::Serverless-2016-10-31" in template and f"s3://{project.bucket}/" in template
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=project.bucket).get("Contents", [])]
    assert any(k.endswith(".template") for k in keys) and len(keys) >= 4, keys
    assert deployments(server, hello) == [] and deployments(server, orders) == []

    # 2. A code change of Hello: version 2 rolls out on the short canary, its python hooks report
    #    through the CodeDeploy API (boto3, the endpoint the instance was given).
    project.write_app("hello", "h2")
    status, output = project.deploy()
    assert status == 0, output
    assert alias_version(lambda_client, hello) == "2"
    assert alias_version(lambda_client, orders) == "1"
    [rollout] = deployments(server, hello)
    assert rollout["status"] == "Succeeded"
    assert rollout["deploymentConfigName"] == "Canary10Percent2Seconds"
    assert (rollout["currentVersion"], rollout["targetVersion"]) == ("1", "2")
    hooks = {h["lifecycleEvent"]: h for h in rollout["hooks"]}
    assert hooks["BeforeAllowTraffic"]["hook"] == f"CodeDeployHook_{stack}_pre"
    assert hooks["BeforeAllowTraffic"]["status"] == "Succeeded"
    assert hooks["AfterAllowTraffic"]["status"] == "Succeeded"
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert lambda_client.invoke(FunctionName=hello, Qualifier="live")["StatusCode"] == 200

    # 3. A config-only change: $LATEST's environment changes, no version is published, no alias moves.
    status, output = project.deploy("--parameter-overrides", "Greeting=bonjour")
    assert status == 0, output
    assert lambda_client.get_function_configuration(FunctionName=hello)["Environment"]["Variables"]["GREETING"] == "bonjour"
    assert alias_version(lambda_client, hello) == "2" and alias_version(lambda_client, orders) == "1"
    assert len(deployments(server, hello)) == 1 and deployments(server, orders) == []
    # The same template and parameters again: an empty change set, as CloudFormation reports it.
    status, output = project.deploy("--parameter-overrides", "Greeting=bonjour")
    assert status != 0 and "No changes to deploy" in output, output

    # 4. A failing version of Orders: its alarm (Errors on version 2) fires, the deployment with the
    #    custom config fails and the alias goes back to version 1; sam deploy fails.
    seeded = server.relctl("metrics", "put", "--function", orders, "--version", "2", "--metric", "Errors", "--value", "3")
    assert seeded.returncode == 0, seeded.stderr
    project.write_app("orders", "o2-broken")
    status, output = project.deploy("--parameter-overrides", "Greeting=bonjour")
    assert status != 0, output
    assert "UPDATE_FAILED" in output, output
    [failed] = deployments(server, orders)
    assert failed["status"] in ("Failed", "Stopped")
    assert failed["deploymentConfigName"] == f"{stack}-Canary50Percent1Minute"
    assert alias_version(lambda_client, orders) == "1"
    assert alias_version(lambda_client, hello) == "2"
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "UPDATE_FAILED"
    assert orders in described["StackStatusReason"]

    # 5. sam delete: the stack's functions, layer versions, alarms and config go; so do the artifacts
    #    its last template names (earlier deploys' templates stay in the bucket, as on S3).
    last = cloudformation.get_template(StackName=stack)["TemplateBody"]
    named = set(re.findall(rf"s3://{project.bucket}/([0-9a-f]+)", last))
    assert named
    status, output = project.sam("delete", "--stack-name", stack, "--region", REGION, "--no-prompts")
    assert status == 0, output
    with pytest.raises(ClientError) as error:
        cloudformation.describe_stacks(StackName=stack)
    assert f"Stack with id {stack} does not exist" in str(error.value)
    names = {f["FunctionName"] for f in lambda_client.list_functions()["Functions"]}
    assert not {hello, orders, f"CodeDeployHook_{stack}_pre", f"CodeDeployHook_{stack}_post"} & names
    remaining = {o["Key"] for o in s3.list_objects_v2(Bucket=project.bucket).get("Contents", [])}
    assert not named & remaining, remaining
