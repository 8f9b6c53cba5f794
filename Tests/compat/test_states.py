"""AWS's asynchronous function states, as a deployment script meets them (issue 11 §3).

Sources: CreateFunction answers `State: Pending`, `StateReason: "The function is being created."`,
`StateReasonCode: Creating`, and no LastUpdateStatus (lambda-api.md §3.2 [LS]); an update answers
`LastUpdateStatus: InProgress` with `LastUpdateStatusReason: "The function is being created."` and
`LastUpdateStatusReasonCode: Creating` (an update-function-configuration answer recorded against AWS);
the RevisionId changes at the Pending→Active transition (lambda-api.md §3.3 [LS TestLambdaRevisions]);
a call during Pending is 409 ResourceConflictException "The operation cannot be performed at this
time. The function is currently in the following state: Pending", and during an update "… An update
is in progress for resource: <function ARN>" (LocalStack's AWS-validated test_lambda_api, and the
texts clients match on, e.g. Laravel Vapor's retry). The `function_active_v2` / `function_updated_v2`
waiters poll exactly these fields (botocore's waiters-2.json).

These tests run against a server of their own started with `--settle 2s`, so that the states are
observable between two calls; the shared server of the suite runs with `--settle 0` (answers are
final at once), so that the other tests need no waiters.
"""

import json
import os
import subprocess

import pytest

from conftest import RELCTL_BIN, ROLE, echo_zip, expect_error, extra_relctl_server, make_client, unique_name

CREATING = "The function is being created."


@pytest.fixture(scope="module")
def settling(tmp_path_factory):
    """A `relctl serve --settle 2s` of its own (stopped at the end): its binary, data directory and a client."""
    with extra_relctl_server(tmp_path_factory, "--settle", "2s", what="relctl serve --settle 2s") as (endpoint, data_dir):
        yield os.path.abspath(RELCTL_BIN), data_dir, make_client("lambda", endpoint)


def wait(client, waiter, name):
    client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def create(client, name):
    return client.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="bootstrap",
                                  Code={"ZipFile": echo_zip()})


def test_create_is_pending_then_active_with_a_new_revision(settling):
    _, _, client = settling
    name = unique_name("pending")
    created = create(client, name)
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == ("Pending", CREATING, "Creating")
    assert "LastUpdateStatus" not in created
    read = client.get_function_configuration(FunctionName=name)
    assert read["State"] == "Pending" and read["RevisionId"] == created["RevisionId"]
    pending = ("The operation cannot be performed at this time. The function is currently in the following state: Pending")
    with expect_error(client, "ResourceConflictException", 409, message=pending):
        client.update_function_configuration(FunctionName=name, Description="too early")
    with expect_error(client, "ResourceConflictException", 409, message=pending):
        client.invoke(FunctionName=name, Payload=b"{}")
    wait(client, "function_active_v2", name)
    active = client.get_function_configuration(FunctionName=name)
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in active and "StateReasonCode" not in active
    assert active["RevisionId"] != created["RevisionId"]
    client.delete_function(FunctionName=name)


def test_update_is_in_progress_and_conflicts_until_it_settles(settling):
    _, _, client = settling
    name = unique_name("updating")
    create(client, name)
    wait(client, "function_active_v2", name)
    updated = client.update_function_code(FunctionName=name, ZipFile=echo_zip("v2"))
    assert updated["State"] == "Active"
    assert (updated["LastUpdateStatus"], updated["LastUpdateStatusReason"], updated["LastUpdateStatusReasonCode"]) == (
        "InProgress", CREATING, "Creating")
    arn = updated["FunctionArn"]
    in_progress = f"The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    with expect_error(client, "ResourceConflictException", 409, message=in_progress):
        client.update_function_configuration(FunctionName=name, Description="second")
    with expect_error(client, "ResourceConflictException", 409, message=in_progress):
        client.publish_version(FunctionName=name)
    wait(client, "function_updated_v2", name)
    settled = client.get_function_configuration(FunctionName=name)
    assert settled["LastUpdateStatus"] == "Successful" and "LastUpdateStatusReason" not in settled
    assert settled["RevisionId"] != updated["RevisionId"]
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    client.delete_function(FunctionName=name)


# PublishVersion answers the new version `State: Pending`, `StateReasonCode: Creating`, "The function is
# being created." and no LastUpdateStatus; the version turns Active a moment later (LocalStack's
# AWS-validated provider, `_publish_version_with_changes`: "versions never have a last update status";
# botocore's `published_version_active` waiter polls GetFunctionConfiguration(Qualifier) until Active).
# A publish that changed nothing returns the existing version as it is; relctl's CLI sees Active.
def test_publish_answers_pending_then_the_version_turns_active(settling):
    binary, data_dir, client = settling
    name = unique_name("publishing")
    create(client, name)
    wait(client, "function_active_v2", name)
    published = client.publish_version(FunctionName=name)
    assert (published["Version"], published["State"], published["StateReason"], published["StateReasonCode"]) == (
        "1", "Pending", CREATING, "Creating")
    assert "LastUpdateStatus" not in published
    assert client.get_function_configuration(FunctionName=name, Qualifier="1")["State"] == "Pending"
    assert client.get_function(FunctionName=name, Qualifier="1")["Configuration"]["State"] == "Pending"
    assert client.get_function_configuration(FunctionName=name)["State"] == "Active"
    client.get_waiter("published_version_active").wait(FunctionName=name, Qualifier="1",
                                                       WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    active = client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert active["State"] == "Active" and "StateReason" not in active
    again = client.publish_version(FunctionName=name)
    assert (again["Version"], again["State"]) == ("1", "Active")

    client.update_function_configuration(FunctionName=name, Description="v2")
    wait(client, "function_updated_v2", name)
    done = subprocess.run([binary, "publish", name, "--data-dir", data_dir, "--output", "json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    assert (cli["Version"], cli["State"]) == ("2", "Active")
    client.delete_function(FunctionName=name)


def test_relctl_cli_is_not_held_up_by_a_transition(settling):
    # The CLI works on the data directory itself and finishes the transition it finds.
    binary, data_dir, client = settling
    name = unique_name("cli")
    assert create(client, name)["State"] == "Pending"
    done = subprocess.run([binary, "function", "update-config", name, "--description", "from the cli",
                           "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["State"] == "Active" and configuration["Description"] == "from the cli"
    client.delete_function(FunctionName=name)


def test_settle_is_a_documented_serve_option():
    if not RELCTL_BIN:
        pytest.skip("needs RELCTL_BIN")
    shown = subprocess.run([RELCTL_BIN, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert "--settle" in shown.stdout, shown.stdout
    refused = subprocess.run([RELCTL_BIN, "serve", "--settle", "soon"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "--settle" in refused.stderr, refused.stderr
