"""The core flow through the real awscli (`aws lambda …`, `aws deploy …` with --endpoint-url)."""

import base64
import json

import pytest

from conftest import CODEDEPLOY_ROLE, ROLE, echo_zip, unique_name, wait_for


@pytest.fixture
def cli_function(aws):
    """A function name that is deleted at the end of the test if it still exists."""
    name = unique_name("cli")
    yield name
    aws("lambda", "delete-function", "--function-name", name)


def ok(result):
    returncode, out, err = result
    assert returncode == 0, f"exit {returncode}\nstdout: {out}\nstderr: {err}"
    return out


def test_core_flow_through_awscli(aws, cli_function, tmp_path):
    name = cli_function
    v1, v2 = tmp_path / "v1.zip", tmp_path / "v2.zip"
    v1.write_bytes(echo_zip("cli-v1"))
    v2.write_bytes(echo_zip("cli-v2"))

    created = ok(aws("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023",
                     "--role", ROLE, "--handler", "bootstrap", "--zip-file", f"fileb://{v1}",
                     "--description", "from the cli"))
    assert created["FunctionName"] == name
    assert created["Version"] == "$LATEST"
    assert created["CodeSize"] == v1.stat().st_size
    arn = created["FunctionArn"]

    got = ok(aws("lambda", "get-function", "--function-name", name))
    assert got["Configuration"]["FunctionArn"] == arn

    assert ok(aws("lambda", "publish-version", "--function-name", name))["Version"] == "1"
    updated = ok(aws("lambda", "update-function-code", "--function-name", name, "--zip-file", f"fileb://{v2}",
                     "--publish"))
    assert updated["Version"] == "2"

    alias = ok(aws("lambda", "create-alias", "--function-name", name, "--name", "live", "--function-version", "1",
                   "--routing-config", "AdditionalVersionWeights={2=0.1}"))
    assert alias["AliasArn"] == f"{arn}:live"
    assert alias["FunctionVersion"] == "1"
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}

    shifted = ok(aws("lambda", "update-alias", "--function-name", name, "--name", "live",
                     "--routing-config", "AdditionalVersionWeights={2=0.5}", "--revision-id", alias["RevisionId"]))
    assert shifted["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    promoted = ok(aws("lambda", "update-alias", "--function-name", name, "--name", "live", "--function-version", "2",
                      "--routing-config", json.dumps({"AdditionalVersionWeights": {}})))
    assert promoted["FunctionVersion"] == "2"

    got_alias = ok(aws("lambda", "get-alias", "--function-name", name, "--name", "live"))
    assert got_alias["FunctionVersion"] == "2"
    assert not got_alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")

    versions = ok(aws("lambda", "list-versions-by-function", "--function-name", name))
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1", "2"]
    listed = ok(aws("lambda", "list-aliases", "--function-name", name))
    assert [a["Name"] for a in listed["Aliases"]] == ["live"]
    functions = ok(aws("lambda", "list-functions", "--function-version", "ALL"))
    assert {f["FunctionArn"] for f in functions["Functions"] if f["FunctionName"] == name} == \
        {f"{arn}:$LATEST", f"{arn}:1", f"{arn}:2"}

    ok(aws("lambda", "delete-function", "--function-name", name))
    returncode, _, err = aws("lambda", "get-function", "--function-name", name)
    assert returncode != 0
    assert "An error occurred (ResourceNotFoundException) when calling the GetFunction operation" in err


@pytest.mark.moto_gap("moto ignores MaxItems, so the CLI sees a single page")
def test_awscli_paginates_versions(aws, cli_function, tmp_path):
    name = cli_function
    code = tmp_path / "f.zip"
    code.write_bytes(echo_zip("pages"))
    ok(aws("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023", "--role", ROLE,
           "--handler", "bootstrap", "--zip-file", f"fileb://{code}", "--publish"))
    for n in (2, 3):
        ok(aws("lambda", "update-function-configuration", "--function-name", name, "--description", f"v{n}"))
        ok(aws("lambda", "publish-version", "--function-name", name))

    # --page-size makes the CLI walk NextMarker itself; the result is the whole list
    everything = ok(aws("lambda", "list-versions-by-function", "--function-name", name, "--page-size", "1"))
    assert [v["Version"] for v in everything["Versions"]] == ["$LATEST", "1", "2", "3"]
    first = ok(aws("lambda", "list-versions-by-function", "--function-name", name, "--max-items", "2"))
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    rest = ok(aws("lambda", "list-versions-by-function", "--function-name", name, "--max-items", "2",
                  "--starting-token", first["NextToken"]))
    assert [v["Version"] for v in rest["Versions"]] == ["2", "3"]
    raw = ok(aws("lambda", "list-versions-by-function", "--function-name", name, "--max-items", "2",
                 "--no-paginate"))
    assert [v["Version"] for v in raw["Versions"]] == ["$LATEST", "1"]
    assert raw["NextMarker"]


@pytest.mark.moto_gap("moto cannot run functions without Docker")
def test_awscli_invoke_to_an_outfile(aws, cli_function, tmp_path):
    name = cli_function
    code = tmp_path / "f.zip"
    code.write_bytes(echo_zip("cli-invoke"))
    ok(aws("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023", "--role", ROLE,
           "--handler", "bootstrap", "--zip-file", f"fileb://{code}", "--publish"))
    ok(aws("lambda", "create-alias", "--function-name", name, "--name", "live", "--function-version", "1"))

    outfile = tmp_path / "out.json"
    result = ok(aws("lambda", "invoke", "--function-name", name, "--qualifier", "live",
                    "--payload", json.dumps({"hello": "cli"}), "--log-type", "Tail", str(outfile)))
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "1"
    assert "FunctionError" not in result
    assert "compat-log: tag=cli-invoke" in base64.b64decode(result["LogResult"]).decode("utf-8", "replace")
    assert json.loads(outfile.read_text()) == {"tag": "cli-invoke", "version": "1", "event": {"hello": "cli"}}

    event_out = tmp_path / "event.out"
    result = ok(aws("lambda", "invoke", "--function-name", name, "--invocation-type", "Event",
                    "--payload", "{}", str(event_out)))
    assert result["StatusCode"] == 202


def test_awscli_error_for_a_missing_function(aws):
    missing = unique_name("missing")
    returncode, out, err = aws("lambda", "get-function", "--function-name", missing)
    assert returncode != 0
    assert "An error occurred (ResourceNotFoundException) when calling the GetFunction operation" in err
    assert missing in err
    returncode, _, err = aws("lambda", "delete-function", "--function-name", missing)
    assert returncode != 0
    assert "An error occurred (ResourceNotFoundException) when calling the DeleteFunction operation" in err


@pytest.mark.moto_gap("moto does not validate routing configurations")
def test_awscli_error_for_a_bad_routing_config(aws, cli_function, tmp_path):
    name = cli_function
    code = tmp_path / "f.zip"
    code.write_bytes(echo_zip("bad-routing"))
    ok(aws("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023", "--role", ROLE,
           "--handler", "bootstrap", "--zip-file", f"fileb://{code}", "--publish"))
    returncode, _, err = aws("lambda", "create-alias", "--function-name", name, "--name", "live",
                             "--function-version", "1", "--routing-config", "AdditionalVersionWeights={1=0.5}")
    assert returncode != 0
    assert "An error occurred (InvalidParameterValueException) when calling the CreateAlias operation: " \
           "Invalid function version 1. Function version 1 is already included in routing configuration." in err


@pytest.mark.moto_gap("moto implements neither deployment configurations nor running deployments")
def test_aws_deploy_flow(aws, lambda_client, functions, tmp_path):
    created = functions.create(zip_bytes=echo_zip("v1"), Publish=True)
    name = created["FunctionName"]
    lambda_client.update_function_code(FunctionName=name, ZipFile=echo_zip("v2"), Publish=True)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")

    app, group, config = unique_name("cli-app"), unique_name("cli-group"), unique_name("CliCanary25Percent45Minutes")
    assert ok(aws("deploy", "create-application", "--application-name", app, "--compute-platform", "Lambda"))["applicationId"]
    ok(aws("deploy", "create-deployment-config", "--deployment-config-name", config, "--compute-platform", "Lambda",
           "--traffic-routing-config", "type=TimeBasedCanary,timeBasedCanary={canaryPercentage=25,canaryInterval=45}"))
    info = ok(aws("deploy", "get-deployment-config", "--deployment-config-name", config))["deploymentConfigInfo"]
    assert info["trafficRoutingConfig"] == {"type": "TimeBasedCanary",
                                            "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 45}}
    names = ok(aws("deploy", "list-deployment-configs"))["deploymentConfigsList"]
    assert config in names and "CodeDeployDefault.LambdaAllAtOnce" in names

    ok(aws("deploy", "create-deployment-group", "--application-name", app, "--deployment-group-name", group,
           "--deployment-config-name", "CodeDeployDefault.LambdaAllAtOnce", "--service-role-arn", CODEDEPLOY_ROLE,
           "--deployment-style", "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
           "--auto-rollback-configuration", "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST"))

    spec = {"version": 0.0, "Resources": [{"fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": name, "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}]}
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}}
    deployment_id = ok(aws("deploy", "create-deployment", "--application-name", app, "--deployment-group-name", group,
                           "--revision", json.dumps(revision)))["deploymentId"]

    def finished():
        status = ok(aws("deploy", "get-deployment", "--deployment-id", deployment_id))["deploymentInfo"]["status"]
        return status if status in ("Succeeded", "Failed", "Stopped") else None

    assert wait_for(finished, 60, interval=1, what="the CLI deployment to finish") == "Succeeded"
    listed = ok(aws("deploy", "list-deployments", "--application-name", app, "--deployment-group-name", group))
    assert deployment_id in listed["deployments"]
    assert lambda_client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"

    returncode, _, err = aws("deploy", "get-deployment", "--deployment-id", "d-ABCDEFGH1")
    assert returncode != 0
    assert "An error occurred (DeploymentDoesNotExistException) when calling the GetDeployment operation" in err
