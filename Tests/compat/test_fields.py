"""Fields AWS returns today, and what list items leave out (issue 11 §3).

Sources: the FunctionConfiguration key set AWS records for CreateFunction (lambda-api.md §3.2 [LS
test_publish_version_on_create]: LoggingConfig {LogFormat: "Text", LogGroup: "/aws/lambda/<fn>"},
RuntimeVersionConfig, SnapStart {ApplyOn: "None", OptimizationStatus: "Off"}, EphemeralStorage
{Size: 512}, TracingConfig {Mode: "PassThrough"}, PackageType "Zip"); ListFunctions items omit State,
StateReason(Code), LastUpdateStatus(…) and RuntimeVersionConfig (lambda-api.md §3.2 [BC doc; MOTO
AWS-verified test_list_functions]); LoggingConfig's JSON format defaults both log levels to INFO
(docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html, "Log-level
filtering": "By default, Lambda … INFO"); the RuntimeVersionArn shape
`arn:aws:lambda:REGION::runtime:<64 hex>` (API_RuntimeVersionConfig.html, "Pattern"); layer list
items as awscli's list-layer-versions example prints them (no Description/CompatibleArchitectures
when empty); layer Content {Location, CodeSha256, CodeSize} (lambda-api.md §2 PublishLayerVersion).
"""

import re
import urllib.request

import pytest

from conftest import REGION, echo_zip, code_sha256, make_zip, unique_name

RUNTIME_VERSION_ARN = re.compile(rf"^arn:aws:lambda:{REGION}::runtime:[0-9a-f]{{64}}$")
LIST_OMITS = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
              "LastUpdateStatusReasonCode", "RuntimeVersionConfig")


def test_configuration_carries_the_fields_aws_returns(lambda_client, functions):
    created = functions.create()
    name = created["FunctionName"]
    for configuration in (created, lambda_client.get_function_configuration(FunctionName=name),
                          lambda_client.get_function(FunctionName=name)["Configuration"],
                          lambda_client.publish_version(FunctionName=name)):
        assert configuration["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}, configuration
        assert RUNTIME_VERSION_ARN.match(configuration["RuntimeVersionConfig"]["RuntimeVersionArn"]), configuration
        assert configuration["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
        assert configuration["EphemeralStorage"] == {"Size": 512}
        assert configuration["TracingConfig"] == {"Mode": "PassThrough"}
        assert configuration["PackageType"] == "Zip"


def test_logging_tracing_and_ephemeral_storage_are_settable(lambda_client, functions):
    created = functions.create(LoggingConfig={"LogFormat": "JSON"}, TracingConfig={"Mode": "Active"},
                               EphemeralStorage={"Size": 1024})
    name = created["FunctionName"]
    assert created["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                                        "LogGroup": f"/aws/lambda/{name}"}
    assert created["TracingConfig"] == {"Mode": "Active"}
    assert created["EphemeralStorage"] == {"Size": 1024}
    updated = lambda_client.update_function_configuration(
        FunctionName=name, LoggingConfig={"ApplicationLogLevel": "DEBUG", "LogGroup": "/custom/group"})
    assert updated["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO",
                                        "LogGroup": "/custom/group"}
    # A published version keeps what $LATEST had.
    published = lambda_client.publish_version(FunctionName=name)
    assert published["LoggingConfig"]["LogGroup"] == "/custom/group"
    assert published["EphemeralStorage"] == {"Size": 1024}
    back = lambda_client.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "Text"})
    assert back["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/custom/group"}


def test_bad_logging_and_storage_values_are_validation_errors(raw_lambda_client, functions):
    # Enums and ranges of botocore's model (LogFormat [JSON, Text]; EphemeralStorageSize 512–10240).
    from conftest import expect_error
    name = functions.create()["FunctionName"]
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      message="1 validation error detected: Value 'XML' at 'loggingConfig.logFormat' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [JSON, Text]"):
        raw_lambda_client.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "XML"})
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      message="1 validation error detected: Value '100' at 'ephemeralStorage.size' failed to satisfy "
                              "constraint: Member must have value greater than or equal to 512"):
        raw_lambda_client.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": 100})
    with expect_error(raw_lambda_client, "ValidationException", 400,
                      message="1 validation error detected: Value 'On' at 'tracingConfig.mode' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [Active, PassThrough]"):
        raw_lambda_client.update_function_configuration(FunctionName=name, TracingConfig={"Mode": "On"})


def test_empty_environment_is_kept(lambda_client, functions):
    created = functions.create(Environment={"Variables": {}})
    assert created["Environment"] == {"Variables": {}}
    assert lambda_client.get_function_configuration(FunctionName=created["FunctionName"])["Environment"] == {"Variables": {}}
    plain = functions.create()
    assert "Environment" not in plain


def test_list_items_omit_what_aws_omits(lambda_client, functions):
    created = functions.create(Publish=True)
    name = created["FunctionName"]
    listed = [f for page in lambda_client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
              for f in page["Functions"] if f["FunctionName"] == name]
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert len(listed) == 2 and len(versions) == 2
    for item in listed + versions:
        for key in LIST_OMITS:
            assert key not in item, (key, item)
        assert item["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{name}"
        assert item["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    # A single read still carries them.
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    assert configuration["State"] == "Active" and configuration["LastUpdateStatus"] == "Successful"


def test_layer_content_location_downloads_the_zip_and_list_items_omit_empty_fields(lambda_client):
    name = unique_name("layer")
    zip_bytes = make_zip({"lib/x.txt": "layer"})
    published = lambda_client.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes})
    try:
        for layer in (published, lambda_client.get_layer_version(LayerName=name, VersionNumber=published["Version"]),
                      lambda_client.get_layer_version_by_arn(Arn=published["LayerVersionArn"])):
            assert layer["Content"]["CodeSha256"] == code_sha256(zip_bytes)
            assert layer["Content"]["CodeSize"] == len(zip_bytes)
            with urllib.request.urlopen(layer["Content"]["Location"], timeout=30) as response:
                assert response.read() == zip_bytes
        # The publish answer shows the empty lists and description (lambda-api.md §3.8) ...
        assert published["Description"] == "" and published["CompatibleArchitectures"] == []
        # ... list items leave them out.
        item = lambda_client.list_layer_versions(LayerName=name)["LayerVersions"][0]
        assert "Description" not in item and "CompatibleArchitectures" not in item, item
        latest = [l for l in lambda_client.list_layers()["Layers"] if l["LayerName"] == name][0]["LatestMatchingVersion"]
        assert "Description" not in latest and "CompatibleArchitectures" not in latest, latest
        described = lambda_client.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes}, Description="d",
                                                        CompatibleArchitectures=["arm64"])
        item = lambda_client.list_layer_versions(LayerName=name)["LayerVersions"][0]
        assert item["Version"] == described["Version"]
        assert item["Description"] == "d" and item["CompatibleArchitectures"] == ["arm64"]
        # The architecture filter selects what declares it (the runtime filter already did).
        assert [v["Version"] for v in lambda_client.list_layer_versions(LayerName=name, CompatibleArchitecture="arm64")["LayerVersions"]] == [2]
        assert lambda_client.list_layer_versions(LayerName=name, CompatibleArchitecture="x86_64")["LayerVersions"] == []
        assert name not in [l["LayerName"] for l in lambda_client.list_layers(CompatibleArchitecture="x86_64")["Layers"]]
    finally:
        for version in (1, 2):
            lambda_client.delete_layer_version(LayerName=name, VersionNumber=version)


def test_alias_operations_accept_the_function_named_by_its_alias_arn(lambda_client, functions):
    created = functions.create(Publish=True)
    name, arn = created["FunctionName"], created["FunctionArn"]
    alias_arn = lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")["AliasArn"]
    assert alias_arn == f"{arn}:live"
    assert lambda_client.get_alias(FunctionName=alias_arn, Name="live")["AliasArn"] == alias_arn
    assert lambda_client.update_alias(FunctionName=alias_arn, Name="live", Description="d")["Description"] == "d"
    assert [a["Name"] for a in lambda_client.list_aliases(FunctionName=alias_arn)["Aliases"]] == ["live"]
    lambda_client.delete_alias(FunctionName=alias_arn, Name="live")
    assert lambda_client.list_aliases(FunctionName=name)["Aliases"] == []
