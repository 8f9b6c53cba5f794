"""Cross-check of `relctl sam deploy` against AWS's own reading of the templates: aws-sam-translator
(the library CloudFormation's SAM transform runs) turns each test template into CloudFormation
resources; what relctl created must match them — which functions get a published version and an
alias, each deployment group's config name, its alarms, and its BeforeAllowTraffic /
AfterAllowTraffic hooks.

Runs the `relctl` binary named by RELCTL_BIN (no server needed)."""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

samtranslator = pytest.importorskip("samtranslator")
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

RELCTL_BIN = os.environ.get("RELCTL_BIN", "").strip()
REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sam"
DEADLINE = 180

pytestmark = pytest.mark.skipif(not RELCTL_BIN, reason="RELCTL_BIN names the relctl binary to test")

CUSTOM_CONFIG_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Memory: {Type: Number, Default: 128}
Resources:
  Quick:
    Type: AWS::CodeDeploy::DeploymentConfig
    Properties:
      ComputePlatform: Lambda
      DeploymentConfigName: Canary50Percent1Minute
      TrafficRoutingConfig:
        Type: TimeBasedCanary
        TimeBasedCanary: {CanaryPercentage: 50, CanaryInterval: 1}
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: bootstrap
      Runtime: provided.al2023
      MemorySize: !Ref Memory
      AutoPublishAlias: live
      AutoPublishAliasAllProperties: true
      DeploymentPreference:
        Type: !Ref Quick
        Alarms: [!Ref Throttled]
  Quiet:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: bootstrap
      Runtime: provided.al2023
      AutoPublishAlias: current
      DeploymentPreference:
        Type: Linear10PercentEvery1Minute
        Enabled: false
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: bootstrap
      Runtime: provided.al2023
  Throttled:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Throttles
      Dimensions: [{Name: FunctionName, Value: !Ref Orders}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
"""


class _NoManagedPolicies:
    def load(self):
        return {}


def translate(text, parameters):
    """The CloudFormation resources SAM generates (CodeUri/ContentUri pointed at S3, as `sam package` does)."""
    template = yaml_parse(text)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://bucket/{key}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, dict(parameters), _NoManagedPolicies())["Resources"]


def expected_from_sam(resources, parameters):
    """Per function logical id: its alias name, and per deployment group: config name, alarms, hooks (logical ids)."""
    functions = {}
    for logical, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Alias":
            function = resource["Properties"]["FunctionName"]["Ref"]
            version = resource["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
            assert resources[version]["Type"] == "AWS::Lambda::Version"
            entry = functions.setdefault(function, {})
            entry["alias"] = resource["Properties"]["Name"]
            hooks = resource.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
            if hooks:
                group = resources[hooks["DeploymentGroupName"]["Ref"]]["Properties"]
                name = group["DeploymentConfigName"]
                if isinstance(name, dict) and "Fn::Sub" in name:
                    pattern, variables = name["Fn::Sub"]
                    value = variables["ConfigName"]
                    if isinstance(value, dict):
                        value = parameters[value["Ref"]]
                    name = pattern.replace("${ConfigName}", value)
                elif isinstance(name, dict) and "Ref" in name:
                    name = resources[name["Ref"]]["Properties"]["DeploymentConfigName"]
                entry["config"] = name
                entry["alarms"] = [a["Name"]["Ref"] for a in group.get("AlarmConfiguration", {}).get("Alarms", [])]
                entry["pre"] = hooks.get("BeforeAllowTrafficHook", {}).get("Ref")
                entry["post"] = hooks.get("AfterAllowTrafficHook", {}).get("Ref")
    versions = {r["Properties"]["FunctionName"]["Ref"] for r in resources.values() if r["Type"] == "AWS::Lambda::Version"}
    return functions, versions


class Relctl:
    def __init__(self, home):
        self.env = dict(os.environ, RELCTL_HOME=str(home), RELCTL_ACTOR="compat")

    def run(self, *args, check=True):
        result = subprocess.run([RELCTL_BIN, *args], env=self.env, capture_output=True, text=True, timeout=DEADLINE)
        if check:
            assert result.returncode == 0, f"relctl {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result

    def json(self, *args):
        return json.loads(self.run(*args, "--output", "json").stdout)


def policy_name(relctl, name):
    return relctl.json("policy", "show", name)["name"]


def check_against_sam(tmp_path, text, parameters, foreground):
    folder = tmp_path / "app"
    shutil.copytree(EXAMPLE, folder)
    (folder / "template.yaml").write_text(text)
    relctl = Relctl(tmp_path / "data")
    overrides = [f"{k}={v}" for k, v in parameters.items()]
    deploy = ["sam", "deploy", "-t", str(folder / "template.yaml"), "--stack-name", "x"] + (["--parameter-overrides", *overrides] if overrides else [])
    relctl.run(*deploy)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in relctl.json("stack", "get", "x")["Resources"]}
    functions, versions = expected_from_sam(translate(text, parameters), parameters)

    # Versions and aliases: exactly the functions SAM gives an AWS::Lambda::Version get version 1 and their alias on it.
    lambdas = [l for l, r in translate(text, parameters).items() if r["Type"] == "AWS::Lambda::Function"]
    for logical in lambdas:
        listed = [v["Version"] for v in relctl.json("versions", physical[logical])["Versions"]]
        if logical in versions:
            assert listed == ["$LATEST", "1"], logical
            alias = relctl.json("alias", "get", physical[logical], functions[logical]["alias"])
            assert alias["FunctionVersion"] == "1"
        else:
            assert listed == ["$LATEST"], logical

    # A code change: one deployment per deployment group SAM generates, with its config, alarms and hooks.
    bootstrap = folder / "hello" / "bootstrap"
    bootstrap.write_text(bootstrap.read_text() + "# changed\n")
    relctl.run(*(deploy + ([] if foreground else ["--detach"])))
    deployments = relctl.json("deployments", "list")["deployments"]
    groups = {l: f for l, f in functions.items() if "config" in f}
    assert sorted(d["functionName"] for d in deployments) == sorted(physical[l] for l in groups)
    for deployment in deployments:
        logical = next(l for l in groups if physical[l] == deployment["functionName"])
        expected = groups[logical]
        assert deployment["alias"] == expected["alias"]
        assert deployment["deploymentConfigName"] == policy_name(relctl, expected["config"])
        assert [a["name"] for a in deployment["alarms"]] == [physical[a] for a in expected["alarms"]]
        if foreground:
            full = relctl.json("deployments", "get", deployment["deploymentId"])
            hooks = {h["lifecycleEvent"]: h["hook"] for h in full["hooks"]}
            assert hooks.get("BeforeAllowTraffic") == (physical[expected["pre"]] if expected["pre"] else None)
            assert hooks.get("AfterAllowTraffic") == (physical[expected["post"]] if expected["post"] else None)
            assert full["status"] == "Succeeded"
        else:
            relctl.run("deployments", "stop", deployment["deploymentId"])
    # Functions SAM deploys without a group (Enabled: false) moved their alias at once.
    for logical, entry in functions.items():
        if "config" not in entry:
            assert relctl.json("alias", "get", physical[logical], entry["alias"])["FunctionVersion"] == "2"


def test_safe_deployments_example_matches_sam(tmp_path):
    check_against_sam(tmp_path, (EXAMPLE / "template.yaml").read_text(), {"DeploymentType": "AllAtOnce"}, foreground=True)


def test_custom_config_all_properties_and_disabled_preference_match_sam(tmp_path):
    check_against_sam(tmp_path, CUSTOM_CONFIG_TEMPLATE, {}, foreground=False)
