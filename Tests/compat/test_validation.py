"""Validation as AWS does it, with AWS's words (issue 11 §2).

Sources: the functionName patterns are the ones AWS quotes in its ValidationException today
(issue 11 §2; botocore's `FunctionName` / `NamespacedFunctionName` shapes carry the same pattern
without the newer `(eusc-)?` region prefix); "1 validation error detected: Value '…' at '…' failed
to satisfy constraint: …" is AWS's ValidationException text (lambda-api.md §1 [LS]); the enum
constraint for ListFunctions' FunctionVersion is botocore's `FunctionVersion` enum `[ALL]`
(lambda-api.md §2 "only `ALL`"); the concurrency message is AWS's, quoted in issue 11 §2 (the
account keeps at least 100 unreserved executions: docs.aws.amazon.com/lambda/latest/dg/
configuration-concurrency.html).
"""

import pytest

from conftest import REGION, arn_base, expect_error, make_zip, unique_name

NAMESPACED_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)


@pytest.mark.parametrize("region", ["invalid-region", ""])
def test_arn_with_a_malformed_region_is_a_validation_error_not_not_found(lambda_client, functions, region):
    created = functions.create()
    account = created["FunctionArn"].split(":")[4]
    arn = f"arn:aws:lambda:{region}:{account}:function:{created['FunctionName']}"
    message = (f"1 validation error detected: Value '{arn}' at 'functionName' failed to satisfy constraint: "
               f"Member must satisfy regular expression pattern: {NAMESPACED_PATTERN}")
    with expect_error(lambda_client, "ValidationException", 400, message=message):
        lambda_client.get_function(FunctionName=arn)
    with expect_error(lambda_client, "ValidationException", 400, message=message):
        lambda_client.delete_function(FunctionName=arn)
    assert lambda_client.get_function(FunctionName=created["FunctionName"])["Configuration"]["FunctionName"] == created["FunctionName"]


def test_arn_without_a_function_name_names_the_function_called_function(lambda_client, functions):
    # The pattern reads `…:123456789012:function` as account + name "function" (issue 11 §2).
    base = arn_base(functions.create()["FunctionArn"])
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {base}:function:function"):
        lambda_client.get_function(FunctionName=f"{base}:function")


def test_list_functions_with_a_function_version_other_than_all_is_a_validation_error(raw_lambda_client):
    message = ("1 validation error detected: Value 'LATEST' at 'functionVersion' failed to satisfy constraint: "
               "Member must satisfy enum value set: [ALL]")
    with expect_error(raw_lambda_client, "ValidationException", 400, message=message):
        raw_lambda_client.list_functions(FunctionVersion="LATEST")


def test_more_than_one_architecture_is_a_validation_error(lambda_client, functions):
    with expect_error(lambda_client, "ValidationException", 400,
                      contains="at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"):
        functions.create(Architectures=["x86_64", "arm64"])
    created = functions.create()
    with expect_error(lambda_client, "ValidationException", 400,
                      contains="at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"):
        lambda_client.update_function_code(FunctionName=created["FunctionName"], ZipFile=b"PK", Architectures=["x86_64", "arm64"])


def test_reserved_concurrency_above_what_the_account_can_spare_is_refused(lambda_client, functions):
    name = functions.create()["FunctionName"]
    message = ("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
               "below its minimum value of [100].")
    with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
        lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=901)
    assert "Concurrency" not in lambda_client.get_function(FunctionName=name)


# An unknown runtime: InvalidParameterValueException, AWS's text as CloudFormation quotes it
# ("Value nodejs12.xa at 'runtime' failed to satisfy constraint: Member must satisfy enum value set:
# [nodejs12.x, …] or be a valid ARN"); the enum is case-sensitive. A deprecated runtime past its
# "block function update" date (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): the
# message quoted in issue 11 §2 and re:Post ("The runtime parameter of nodejs14.x is no longer
# supported for creating or updating AWS Lambda functions…").
@pytest.mark.parametrize("runtime", ["python3.99", "Python3.12", "PROVIDED.AL2023"])
def test_unknown_or_upper_case_runtime_is_an_invalid_parameter_value(lambda_client, functions, runtime):
    with expect_error(lambda_client, "InvalidParameterValueException", 400,
                      contains=f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [") as caught:
        functions.create(runtime=runtime)
    assert caught.value.response["Error"]["Message"].endswith("] or be a valid ARN")
    created = functions.create()
    with expect_error(lambda_client, "InvalidParameterValueException", 400,
                      contains=f"Value {runtime} at 'runtime' failed to satisfy constraint"):
        lambda_client.update_function_configuration(FunctionName=created["FunctionName"], Runtime=runtime)


def test_deprecated_runtime_is_refused_for_creating_and_updating(lambda_client, functions):
    message = ("The runtime parameter of go1.x is no longer supported for creating or updating AWS Lambda functions. "
               "We recommend you use a supported runtime while creating or updating functions.")
    with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
        functions.create(runtime="go1.x")
    created = functions.create()
    with expect_error(lambda_client, "InvalidParameterValueException", 400, message=message):
        lambda_client.update_function_configuration(FunctionName=created["FunctionName"], Runtime="go1.x")


CREATE_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


def test_every_failed_constraint_of_a_function_name_is_reported_joined(raw_lambda_client):
    # AWS joins several failures as "2 validation errors detected: A; B" (issue 11 §2; the same
    # joining in AWS's Cognito and HealthLake answers). Which of the two comes first is not recorded
    # for Lambda, so only the count and both parts are pinned.
    name = "a" * 141 + ".x"
    length = f"Value '{name}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140"
    pattern = f"Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {CREATE_PATTERN}"
    with expect_error(raw_lambda_client, "ValidationException", 400) as caught:
        raw_lambda_client.update_function_configuration(FunctionName=name, Description="x")
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: "), message
    assert sorted(message.removeprefix("2 validation errors detected: ").split("; ")) == sorted([length, pattern]), message


# ListLayers / ListLayerVersions filters are enums in AWS's model (botocore: CompatibleRuntime is
# `Runtime`, CompatibleArchitecture is `Architecture`): an unknown value is a ValidationException,
# not an empty list (issue 11 §2; "Member must satisfy enum value set" as lambda-api.md §1 [LS]).
def test_list_layers_with_an_unknown_runtime_or_architecture_filter_is_a_validation_error(raw_lambda_client):
    for call in (raw_lambda_client.list_layers,
                 lambda **kw: raw_lambda_client.list_layer_versions(LayerName=unique_name("layer"), **kw)):
        with expect_error(raw_lambda_client, "ValidationException", 400,
                          contains="Value 'python3.99' at 'compatibleRuntime' failed to satisfy constraint: "
                                   "Member must satisfy enum value set: ["):
            call(CompatibleRuntime="python3.99")
        with expect_error(raw_lambda_client, "ValidationException", 400,
                          message="1 validation error detected: Value 'sparc' at 'compatibleArchitecture' failed to "
                                  "satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]"):
            call(CompatibleArchitecture="sparc")


def test_invoking_a_missing_function_names_its_latest_arn(lambda_client, functions):
    # AWS adds $LATEST to an unqualified Invoke's "Function not found" (issue 11 §2; LocalStack's
    # AWS-validated invoke appends ":$LATEST" when no qualifier was given).
    base = arn_base(functions.create()["FunctionArn"])
    missing = unique_name("missing")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {base}:function:{missing}:$LATEST"):
        lambda_client.invoke(FunctionName=missing, Payload=b"{}")
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {base}:function:{missing}:1"):
        lambda_client.invoke(FunctionName=missing, Qualifier="1", Payload=b"{}")


# PublishLayerVersion's CompatibleRuntimes / CompatibleArchitectures are lists of botocore's enums
# (`CompatibleRuntimes` max 15, `CompatibleArchitectures` max 2): a wrong member is a
# ValidationException naming the list, in AWS's words for a list member ("Member must satisfy
# constraint: [Member must satisfy enum value set: …]", the same form as AWS's 'layers' answer in
# lambda-api.md §3.8).
def test_publish_layer_version_with_an_unknown_runtime_or_architecture_is_a_validation_error(raw_lambda_client):
    name = unique_name("layer")
    content = {"ZipFile": make_zip({"a.txt": "a"})}
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      contains="Value '[python3.99]' at 'compatibleRuntimes' failed to satisfy constraint: "
                               "Member must satisfy constraint: [Member must satisfy enum value set: [") as caught:
        raw_lambda_client.publish_layer_version(LayerName=name, Content=content, CompatibleRuntimes=["python3.99"])
    assert caught.value.response["Error"]["Message"].startswith("1 validation error detected: ")
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      message="1 validation error detected: Value '[sparc]' at 'compatibleArchitectures' failed to satisfy "
                              "constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"):
        raw_lambda_client.publish_layer_version(LayerName=name, Content=content, CompatibleArchitectures=["sparc"])
    assert raw_lambda_client.list_layer_versions(LayerName=name)["LayerVersions"] == []


# Error bodies carry the member botocore's model gives each error shape: `Message` for
# ResourceNotFoundException, `message` for InvalidParameterValueException, ResourceConflictException,
# PreconditionFailedException and ProvisionedConcurrencyConfigNotFoundException, and `Type: User`
# (lambda-api.md §1 [LS snapshot; BC shapes]).
def test_error_bodies_carry_the_keys_aws_sends(server, functions):
    import json
    import urllib.error
    import urllib.request

    def body_of(method, path):
        request = urllib.request.Request(server.endpoint + path, method=method)
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("x-amzn-ErrorType"), json.loads(error.read())
        raise AssertionError(f"{method} {path} succeeded")

    name = functions.create(Publish=True)["FunctionName"]
    status, kind, body = body_of("GET", f"/2015-03-31/functions/{unique_name('missing')}")
    assert (status, kind, set(body), body["Type"]) == (404, "ResourceNotFoundException", {"Type", "Message"}, "User")
    status, kind, body = body_of("DELETE", f"/2015-03-31/functions/{name}?Qualifier=%24LATEST")
    assert (status, kind, set(body)) == (400, "InvalidParameterValueException", {"Type", "message"})
    status, kind, body = body_of("GET", f"/2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=1")
    assert (status, kind, set(body)) == (404, "ProvisionedConcurrencyConfigNotFoundException", {"Type", "message"})


# Code size (lambda-api.md §3.8–3.9, AWS Lambda quotas page): the 50 MB (52,428,800 bytes) limit
# is for a zip uploaded directly (ZipFile); code from S3 may be larger as long as the unzipped total is
# at most 262,144,000 bytes, beyond which AWS answers 400 InvalidParameterValueException "Unzipped size
# must be smaller than 262144000 bytes" [LS test_oversized_unzipped_lambda].
def test_zipped_limit_applies_to_direct_uploads_only_and_unzipped_limit_to_both(tmp_path_factory, raw_lambda_client):
    import http.server
    import os
    import threading
    import zipfile
    import io

    from conftest import ROLE, extra_relctl_server, make_client

    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("bootstrap", b"#!/bin/sh\n")
        archive.writestr("blob.bin", os.urandom(52_428_800 + 1024))
    huge = io.BytesIO()
    with zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bootstrap", b"#!/bin/sh\n")
        archive.writestr("zeros.bin", bytes(262_144_000))
    objects = {"/code/big.zip": big.getvalue(), "/code/huge.zip": huge.getvalue()}

    class Objects(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = objects.get(self.path.split("?")[0])
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args):
            pass

    s3 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Objects)
    thread = threading.Thread(target=s3.serve_forever, daemon=True)
    thread.start()
    try:
        with extra_relctl_server(tmp_path_factory, "--settle", "0", "--s3-endpoint",
                                 f"http://127.0.0.1:{s3.server_address[1]}") as (endpoint, _):
            client = make_client("lambda", endpoint, read_timeout=300)
            common = dict(Runtime="provided.al2023", Role=ROLE, Handler="bootstrap")
            created = client.create_function(FunctionName="from-s3", Code={"S3Bucket": "code", "S3Key": "big.zip"}, **common)
            assert created["CodeSize"] == len(objects["/code/big.zip"])
            with expect_error(client, "RequestEntityTooLargeException", 413,
                              message="Zipped size must be smaller than 52428800 bytes"):
                client.update_function_code(FunctionName="from-s3", ZipFile=objects["/code/big.zip"])
            with expect_error(client, "InvalidParameterValueException", 400,
                              message="Unzipped size must be smaller than 262144000 bytes"):
                client.update_function_code(FunctionName="from-s3", S3Bucket="code", S3Key="huge.zip")
            with expect_error(client, "InvalidParameterValueException", 400,
                              message="Unzipped size must be smaller than 262144000 bytes"):
                client.create_function(FunctionName="direct-huge", Code={"ZipFile": objects["/code/huge.zip"]}, **common)
    finally:
        s3.shutdown()
        thread.join(timeout=10)


# DeleteFunction with a qualifier that is almost `$LATEST` (issue 11 §2). `$LATEST` is case-sensitive:
# `$latest` names no version or alias, so AWS answers 404 "Function not found: …:NAME:$latest", the
# qualifier as given (lambda-api.md §3.1 [LS]); `$LATES` as a Qualifier is the same (it fits the
# qualifier pattern `[a-zA-Z0-9-_$]+` but names nothing). Inside FunctionName (`NAME:$LATES`) it fails
# the NamespacedFunctionName pattern: ValidationException with the pattern (lambda-api.md §3.1, issue
# 11 §2). Neither deletes anything.
@pytest.mark.parametrize("qualifier", ["$latest", "$LATES"])
def test_delete_function_with_a_near_latest_qualifier_is_not_found_and_deletes_nothing(lambda_client, functions, qualifier):
    created = functions.create(Publish=True)
    name, arn = created["FunctionName"], created["FunctionArn"]
    with expect_error(lambda_client, "ResourceNotFoundException", 404, message=f"Function not found: {arn}:{qualifier}"):
        lambda_client.delete_function(FunctionName=name, Qualifier=qualifier)
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


def test_delete_function_named_with_a_near_latest_qualifier_is_a_validation_error(lambda_client, functions):
    name = functions.create(Publish=True)["FunctionName"]
    message = (f"1 validation error detected: Value '{name}:$LATES' at 'functionName' failed to satisfy constraint: "
               f"Member must satisfy regular expression pattern: {NAMESPACED_PATTERN}")
    with expect_error(lambda_client, "ValidationException", 400, message=message):
        lambda_client.delete_function(FunctionName=f"{name}:$LATES")
    assert [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
