"""Operations release tooling calls (issue 11 §4): resource policies, tags, provisioned concurrency,
and an explicit refusal for what relctl does not do.

Sources:
- AddPermission 201 {Statement: <JSON text>}, GetPolicy {Policy: <JSON text>, RevisionId}, RemovePermission
  204 (botocore's model: responseCode). The statement AWS builds — Sid, Effect "Allow", Principal
  {"Service": host} for a service, {"AWS": "arn:aws:iam::ACCOUNT:root"} for an account, Action, Resource
  (the function's ARN, qualified when a Qualifier is given), Condition {"ArnLike": {"AWS:SourceArn": …}}
  and {"StringEquals": {"AWS:SourceAccount": …}} — and the policy document {"Version": "2012-10-17",
  "Id": "default", "Statement": […]}: the add-permission / get-policy examples of awscli and AWS's
  resource-based policy page (docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html).
- Errors: a duplicate statement id is 409 "The statement id (ID) provided already exists. Please provide
  a new statement id, or remove the existing statement."; GetPolicy without a policy is 404 "The
  resource you requested does not exist." (issue 11 §4); RemovePermission without a policy is 404 "No
  policy is associated with the given resource." and with an unknown id "Statement ID is not found in
  resource policy." (moto's AWS-verified tests, LocalStack); `$LATEST` as the qualifier is 400 "We
  currently do not support adding policies for $LATEST." (the text terraform-aws-lambda's FAQ quotes
  from AWS); a RevisionId mismatch is 412 "… Call the GetPolicy API …" / "… Call the GetLayerPolicy
  API …" (lambda-api.md §3.3 [LS]).
- Tags live on the function: TagResource 204, UntagResource 204, ListTags {Tags} (botocore); a
  version or alias ARN is 400 "Tags on function aliases and versions are not supported. Please
  specify a function ARN." (LocalStack's AWS-validated provider); GetFunction returns Tags.
- Provisioned concurrency: Put 202 with Status IN_PROGRESS, then READY (awscli's
  put-provisioned-concurrency-config / get-provisioned-concurrency-config examples); `$LATEST` is
  400 "Provisioned Concurrency Configs cannot be applied to unpublished function versions."; a missing
  config is 404 ProvisionedConcurrencyConfigNotFoundException "No Provisioned Concurrency Config found
  for this function" (LocalStack's AWS-validated provider; the exception is botocore's, with `message`).
"""

import json

import pytest

from conftest import REGION, expect_error, make_zip, unique_name


def account_of(arn):
    return arn.split(":")[4]


# ============================================================================================
# Function policies


def test_add_get_and_remove_permissions_on_a_function(lambda_client, functions):
    created = functions.create()
    name, arn = created["FunctionName"], created["FunctionArn"]
    account = account_of(arn)
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message="The resource you requested does not exist."):
        lambda_client.get_policy(FunctionName=name)

    added = lambda_client.add_permission(
        FunctionName=name, StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket", SourceAccount=account)
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "s3-invoke", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": account}, "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}},
    }
    lambda_client.add_permission(FunctionName=name, StatementId="account", Action="lambda:GetFunction", Principal=account)

    policy = lambda_client.get_policy(FunctionName=name)
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17" and document["Id"] == "default"
    assert [s["Sid"] for s in document["Statement"]] == ["s3-invoke", "account"]
    assert document["Statement"][1]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert policy["RevisionId"]

    with expect_error(lambda_client, "ResourceConflictException", 409,
                      message="The statement id (s3-invoke) provided already exists. Please provide a new statement id, "
                              "or remove the existing statement."):
        lambda_client.add_permission(FunctionName=name, StatementId="s3-invoke", Action="lambda:InvokeFunction",
                                     Principal="sns.amazonaws.com")
    with expect_error(lambda_client, "PreconditionFailedException", 412,
                      message="The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to "
                              "retrieve the latest Revision Id"):
        lambda_client.remove_permission(FunctionName=name, StatementId="account", RevisionId="not-the-revision")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message="Statement nope is not found in resource policy."):
        lambda_client.remove_permission(FunctionName=name, StatementId="nope")

    assert lambda_client.remove_permission(FunctionName=name, StatementId="account")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lambda_client.get_policy(FunctionName=name)["RevisionId"] != policy["RevisionId"]
    lambda_client.remove_permission(FunctionName=name, StatementId="s3-invoke")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message="The resource you requested does not exist."):
        lambda_client.get_policy(FunctionName=name)
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message="No policy is associated with the given resource."):
        lambda_client.remove_permission(FunctionName=name, StatementId="s3-invoke")


def test_versions_and_aliases_have_policies_of_their_own(lambda_client, functions):
    created = functions.create(Publish=True)
    name, arn = created["FunctionName"], created["FunctionArn"]
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    on_alias = json.loads(lambda_client.add_permission(
        FunctionName=name, Qualifier="live", StatementId="apigw", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com")["Statement"])
    assert on_alias["Resource"] == f"{arn}:live"
    on_version = json.loads(lambda_client.add_permission(
        FunctionName=f"{name}:1", StatementId="apigw", Action="lambda:InvokeFunction", Principal="*")["Statement"])
    assert on_version["Resource"] == f"{arn}:1" and on_version["Principal"] == "*"
    assert [s["Resource"] for s in json.loads(lambda_client.get_policy(FunctionName=f"{arn}:live")["Policy"])["Statement"]] == [f"{arn}:live"]
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message="The resource you requested does not exist."):
        lambda_client.get_policy(FunctionName=name)
    with expect_error(lambda_client, "InvalidParameterValueException", 400,
                      message="We currently do not support adding policies for $LATEST."):
        lambda_client.add_permission(FunctionName=name, Qualifier="$LATEST", StatementId="x", Action="lambda:InvokeFunction",
                                     Principal="*")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {arn}:7"):
        lambda_client.add_permission(FunctionName=name, Qualifier="7", StatementId="x", Action="lambda:InvokeFunction",
                                     Principal="*")
    # The alias's policy goes with the alias.
    lambda_client.delete_alias(FunctionName=name, Name="live")
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message="The resource you requested does not exist."):
        lambda_client.get_policy(FunctionName=name, Qualifier="live")


def test_permission_input_is_validated(raw_lambda_client, functions):
    name = functions.create()["FunctionName"]
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      message="1 validation error detected: Value 'invoke' at 'action' failed to satisfy constraint: "
                              "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"):
        raw_lambda_client.add_permission(FunctionName=name, StatementId="x", Action="invoke", Principal="*")
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      message="1 validation error detected: Value 'a b' at 'statementId' failed to satisfy constraint: "
                              "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"):
        raw_lambda_client.add_permission(FunctionName=name, StatementId="a b", Action="lambda:*", Principal="*")


def test_layer_version_permissions(lambda_client):
    name = unique_name("layer")
    layer = lambda_client.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip({"a.txt": "a"})})
    try:
        account = account_of(layer["LayerVersionArn"])
        with expect_error(lambda_client, "ResourceNotFoundException", 404, message="No policy is associated with the given resource."):
            lambda_client.get_layer_version_policy(LayerName=name, VersionNumber=1)
        added = lambda_client.add_layer_version_permission(
            LayerName=name, VersionNumber=1, StatementId="everyone", Action="lambda:GetLayerVersion", Principal="*")
        assert added["ResponseMetadata"]["HTTPStatusCode"] == 201 and added["RevisionId"]
        assert json.loads(added["Statement"]) == {"Sid": "everyone", "Effect": "Allow", "Principal": "*",
                                                  "Action": "lambda:GetLayerVersion", "Resource": layer["LayerVersionArn"]}
        lambda_client.add_layer_version_permission(
            LayerName=name, VersionNumber=1, StatementId="one", Action="lambda:GetLayerVersion", Principal=account)
        policy = lambda_client.get_layer_version_policy(LayerName=name, VersionNumber=1)
        statements = json.loads(policy["Policy"])["Statement"]
        assert [s["Sid"] for s in statements] == ["everyone", "one"]
        assert statements[1]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
        with expect_error(lambda_client, "ResourceConflictException", 409,
                          message="The statement id (one) provided already exists. Please provide a new statement id, "
                                  "or remove the existing statement."):
            lambda_client.add_layer_version_permission(
                LayerName=name, VersionNumber=1, StatementId="one", Action="lambda:GetLayerVersion", Principal="*")
        with expect_error(lambda_client, "PreconditionFailedException", 412,
                          message="The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy "
                                  "API to retrieve the latest Revision Id"):
            lambda_client.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="one", RevisionId="x")
        lambda_client.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="one")
        lambda_client.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="everyone")
        with expect_error(lambda_client, "ResourceNotFoundException", 404, message="No policy is associated with the given resource."):
            lambda_client.get_layer_version_policy(LayerName=name, VersionNumber=1)
        with expect_error(lambda_client, "ResourceNotFoundException", 404, message="The resource you requested does not exist."):
            lambda_client.add_layer_version_permission(
                LayerName=name, VersionNumber=9, StatementId="x", Action="lambda:GetLayerVersion", Principal="*")
    finally:
        lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)


# ============================================================================================
# Tags


def test_tags_live_on_the_function(lambda_client, functions):
    created = functions.create(Tags={"team": "release"}, Publish=True)
    name, arn = created["FunctionName"], created["FunctionArn"]
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"team": "release"}
    assert lambda_client.tag_resource(Resource=arn, Tags={"stage": "prod", "team": "core"})["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"team": "core", "stage": "prod"}
    assert lambda_client.get_function(FunctionName=name)["Tags"] == {"team": "core", "stage": "prod"}
    assert lambda_client.untag_resource(Resource=arn, TagKeys=["team", "absent"])["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"stage": "prod"}
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    message = "Tags on function aliases and versions are not supported. Please specify a function ARN."
    for qualified in (f"{arn}:1", f"{arn}:live"):
        with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
            lambda_client.tag_resource(Resource=qualified, Tags={"a": "b"})
        with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
            lambda_client.list_tags(Resource=qualified)
    missing = arn.rsplit(":", 1)[0] + ":" + unique_name("missing")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {missing}"):
        lambda_client.list_tags(Resource=missing)
    # A function without tags: an empty map, and GetFunction leaves Tags out.
    plain = functions.create()
    assert lambda_client.list_tags(Resource=plain["FunctionArn"])["Tags"] == {}
    assert "Tags" not in lambda_client.get_function(FunctionName=plain["FunctionName"])


# ============================================================================================
# Provisioned concurrency


def test_provisioned_concurrency_is_recorded_and_ready(lambda_client, functions):
    created = functions.create(Publish=True)
    name, arn = created["FunctionName"], created["FunctionArn"]
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    put = lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                                           ProvisionedConcurrentExecutions=2)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 2 and put["Status"] == "IN_PROGRESS"
    got = lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert (got["RequestedProvisionedConcurrentExecutions"], got["AvailableProvisionedConcurrentExecutions"],
            got["AllocatedProvisionedConcurrentExecutions"], got["Status"]) == (2, 2, 2, "READY")
    assert got["LastModified"]
    listed = lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [(c["FunctionArn"], c["Status"]) for c in listed] == [(f"{arn}:live", "READY")]

    with expect_error(lambda_client, "InvalidParameterValueException", 400,
                      message="Provisioned Concurrency Configs cannot be applied to unpublished function versions."):
        lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST",
                                                         ProvisionedConcurrentExecutions=1)
    with expect_error(lambda_client, "ProvisionedConcurrencyConfigNotFoundException", 404,
                      message="No Provisioned Concurrency Config found for this function"):
        lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {arn}:5"):
        lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="5", ProvisionedConcurrentExecutions=1)

    assert lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")[
        "ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []
    with expect_error(lambda_client, "ProvisionedConcurrencyConfigNotFoundException", 404):
        lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")


# ============================================================================================
# What relctl does not do: an explicit 501, never a "not found"


@pytest.mark.parametrize("call", [
    lambda c, n: c.put_function_event_invoke_config(FunctionName=n, MaximumRetryAttempts=0),
    lambda c, n: c.get_function_event_invoke_config(FunctionName=n),
    lambda c, n: c.list_function_event_invoke_configs(FunctionName=n),
    lambda c, n: c.delete_function_event_invoke_config(FunctionName=n),
    lambda c, n: c.create_function_url_config(FunctionName=n, AuthType="NONE"),
    lambda c, n: c.get_function_url_config(FunctionName=n),
    lambda c, n: c.list_function_url_configs(FunctionName=n),
    lambda c, n: c.delete_function_url_config(FunctionName=n),
], ids=["put-event-invoke", "get-event-invoke", "list-event-invoke", "delete-event-invoke",
        "create-url", "get-url", "list-url", "delete-url"])
def test_unsupported_operations_are_an_explicit_501(lambda_client, functions, call):
    name = functions.create()["FunctionName"]
    with expect_error(lambda_client, "UnsupportedOperationException", 501, contains="is not supported by relctl") as caught:
        call(lambda_client, name)
    assert "No operation" not in caught.value.response["Error"]["Message"]
