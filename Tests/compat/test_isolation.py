"""Region and account isolation (issue 11 §1): a request acts only on its own region and account,
whatever ARN it names. Before this, a function ARN's region was ignored, so
`delete_function(FunctionName="arn:aws:lambda:eu-central-1:…:function:f")` signed for us-east-1
deleted us-east-1's `f`.

Sources for the expected answers:
- "Functions from 'R1' are not reachable in this region ('R2')", 404 ResourceNotFoundException:
  quoted from real AWS answers (an AWS SDK for Go error, `ResourceNotFoundException: Functions from
  'us-east-1' are not reachable in this region ('ap-southeast-2')`, and CDK users' CloudFormation
  errors), and LocalStack's AWS-validated `get_name_and_qualifier`, which raises it for every
  operation that takes a FunctionName.
- Another account's ARN, 403 AccessDeniedException: LocalStack's AWS-validated
  `get_name_and_qualifier` raises AccessDeniedException when the ARN's account differs; AWS's text
  is IAM's "User: … is not authorized to perform: lambda:ACTION on resource: ARN because no
  resource-based policy allows the lambda:ACTION action" (docs.aws.amazon.com/lambda/latest/dg/
  security_iam_troubleshoot.html, permissions-function-cross-account.html).
- A malformed or empty region is a pattern failure, ValidationException on 'functionName' with the
  pattern AWS quotes today (issue 11 §2; lambda-api.md §3.1).
- Layers from another region: 400 InvalidParameterValueException "Layers are not in the same region
  as the function. Layers are expected to be in region R." (lambda-api.md §3.8 [LS]).
"""

import boto3
import pytest

from conftest import REGION, ROLE, client_config, echo_zip, expect_error, unique_name

OTHER_REGION = "eu-central-1"
OTHER_ACCOUNT = "111111111111"
CREATE_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


def not_reachable(arn_region: str, request_region: str = REGION) -> str:
    return f"Functions from '{arn_region}' are not reachable in this region ('{request_region}')"


def in_region(arn: str, region: str) -> str:
    parts = arn.split(":")
    parts[3] = region
    return ":".join(parts)


def in_account(arn: str, account: str) -> str:
    parts = arn.split(":")
    parts[4] = account
    return ":".join(parts)


def every_operation_naming(client, name: str):
    """One call of every Lambda operation that takes a FunctionName (other than CreateFunction)."""
    return {
        "GetFunction": lambda: client.get_function(FunctionName=name),
        "GetFunctionConfiguration": lambda: client.get_function_configuration(FunctionName=name),
        "DeleteFunction": lambda: client.delete_function(FunctionName=name),
        "DeleteFunction(Qualifier)": lambda: client.delete_function(FunctionName=name, Qualifier="1"),
        "Invoke": lambda: client.invoke(FunctionName=name, Payload=b"{}"),
        "GetFunctionConcurrency": lambda: client.get_function_concurrency(FunctionName=name),
        "PutFunctionConcurrency": lambda: client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1),
        "DeleteFunctionConcurrency": lambda: client.delete_function_concurrency(FunctionName=name),
        "UpdateFunctionCode": lambda: client.update_function_code(FunctionName=name, ZipFile=echo_zip("other")),
        "UpdateFunctionConfiguration": lambda: client.update_function_configuration(FunctionName=name, Description="hijacked"),
        "PublishVersion": lambda: client.publish_version(FunctionName=name),
        "ListVersionsByFunction": lambda: client.list_versions_by_function(FunctionName=name),
        "CreateAlias": lambda: client.create_alias(FunctionName=name, Name="hijack", FunctionVersion="1"),
        "ListAliases": lambda: client.list_aliases(FunctionName=name),
        "GetAlias": lambda: client.get_alias(FunctionName=name, Name="live"),
        "UpdateAlias": lambda: client.update_alias(FunctionName=name, Name="live", Description="hijacked"),
        "DeleteAlias": lambda: client.delete_alias(FunctionName=name, Name="live"),
    }


def assert_untouched(client, name: str, before: dict):
    """The function of the signed region is exactly as it was: nothing acted on it."""
    after = client.get_function(FunctionName=name)
    assert after["Configuration"]["RevisionId"] == before["Configuration"]["RevisionId"]
    assert after["Configuration"]["Description"] == before["Configuration"]["Description"]
    assert "Concurrency" not in after
    assert [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
    assert [a["Name"] for a in client.list_aliases(FunctionName=name)["Aliases"]] == ["live"]


@pytest.fixture
def published(lambda_client, functions):
    """A function in the signed region with version 1 and alias `live` (so deletes would show)."""
    created = functions.create(Publish=True)
    lambda_client.create_alias(FunctionName=created["FunctionName"], Name="live", FunctionVersion="1")
    return created, lambda_client.get_function(FunctionName=created["FunctionName"])


@pytest.fixture
def other_region_client(server):
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name=OTHER_REGION)
    return session.client("lambda", endpoint_url=server.endpoint, config=client_config())


def test_function_arn_of_another_region_is_not_reachable_by_any_operation(lambda_client, published):
    created, before = published
    foreign = in_region(created["FunctionArn"], OTHER_REGION)
    for operation, call in every_operation_naming(lambda_client, foreign).items():
        with expect_error(lambda_client, "ResourceNotFoundException", 404, message=not_reachable(OTHER_REGION)):
            call()
        assert_untouched(lambda_client, created["FunctionName"], before), operation
    # A qualified ARN is no different.
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=not_reachable(OTHER_REGION)):
        lambda_client.get_function(FunctionName=f"{foreign}:live")


def test_a_client_of_another_region_cannot_reach_this_regions_arn(other_region_client, published):
    created, _ = published
    with expect_error(other_region_client, "ResourceNotFoundException", 404, message=not_reachable(REGION, OTHER_REGION)):
        other_region_client.delete_function(FunctionName=created["FunctionArn"])
    with expect_error(other_region_client, "ResourceNotFoundException", 404, message=not_reachable(REGION, OTHER_REGION)):
        other_region_client.invoke(FunctionName=created["FunctionArn"], Payload=b"{}")


def test_function_arn_of_another_account_is_access_denied_for_every_operation(lambda_client, published):
    # relctl has no resource-based policies, so nothing can grant another account access: AWS's
    # answer for a cross-account call that no resource policy allows is AccessDeniedException.
    created, before = published
    foreign = in_account(created["FunctionArn"], OTHER_ACCOUNT)
    for operation, call in every_operation_naming(lambda_client, foreign).items():
        with expect_error(lambda_client, "AccessDeniedException", 403, contains=f"on resource: {foreign}") as caught:
            call()
        assert "is not authorized to perform: lambda:" in caught.value.response["Error"]["Message"], operation
        assert_untouched(lambda_client, created["FunctionName"], before), operation


def own_account(functions) -> str:
    return functions.create()["FunctionArn"].split(":")[4]


def test_create_function_with_an_arn_of_another_region_is_not_reachable(lambda_client, functions):
    name = unique_name()
    arn = f"arn:aws:lambda:{OTHER_REGION}:{own_account(functions)}:function:{name}"
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=not_reachable(OTHER_REGION)):
        functions.create(name=arn)
    with expect_error(lambda_client, "ResourceNotFoundException", 404):
        lambda_client.get_function(FunctionName=name)


def test_create_function_with_an_arn_of_another_account_is_access_denied(lambda_client, functions):
    name = unique_name()
    arn = f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:{name}"
    with expect_error(lambda_client, "AccessDeniedException", 403,
                      contains=f"is not authorized to perform: lambda:CreateFunction on resource: {arn} because no "
                               "resource-based policy allows the lambda:CreateFunction action"):
        functions.create(name=arn)
    with expect_error(lambda_client, "ResourceNotFoundException", 404):
        lambda_client.get_function(FunctionName=name)


@pytest.mark.parametrize("region", ["invalid-region", ""])
def test_create_function_with_a_malformed_region_is_a_validation_error(lambda_client, functions, region):
    name = unique_name()
    arn = f"arn:aws:lambda:{region}:{own_account(functions)}:function:{name}"
    message = (f"1 validation error detected: Value '{arn}' at 'functionName' failed to satisfy constraint: "
               f"Member must satisfy regular expression pattern: {CREATE_PATTERN}")
    with expect_error(lambda_client, "ValidationException", 400, message=message):
        functions.create(name=arn)
    with expect_error(lambda_client, "ResourceNotFoundException", 404):
        lambda_client.get_function(FunctionName=name)


def test_layers_of_another_region_are_refused_before_the_function_exists_conflict(lambda_client, functions):
    created = functions.create()
    layer = f"arn:aws:lambda:{OTHER_REGION}:{created['FunctionArn'].split(':')[4]}:layer:shared:1"
    message = f"Layers are not in the same region as the function. Layers are expected to be in region {REGION}."
    with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
        functions.create(name=created["FunctionName"], Layers=[layer])
    with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
        functions.create(Layers=[layer])
    with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
        lambda_client.update_function_configuration(FunctionName=created["FunctionName"], Layers=[layer])
