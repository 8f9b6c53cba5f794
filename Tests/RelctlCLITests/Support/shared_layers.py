"""Layers through two `relctl serve --database <same PostgreSQL> --code-store s3://…` (SharedDatabaseFunctionTests).

Usage: shared_layers.py ENDPOINT_1 ENDPOINT_2. A layer published on server 1 is read, listed and numbered on
server 2; a function created on server 1 with the layer runs on server 2 (the layer's files under /opt, its
object downloaded from the bucket by hash); a published version keeps its layer after the layer version is
deleted; the layer-version permissions with their RevisionId checks; AWS's errors for bad Layers. Exits
non-zero on the first failed expectation."""
import io
import json
import sys
import urllib.request
import zipfile

from lambda_clients import ROLE as role, bootstrap_package, client, error_code

# A provided-runtime bootstrap that answers every event with the text of /opt/greeting.txt (from the layer).
BOOTSTRAP = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  H=$(mktemp); E=$(curl -sS -D "$H" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2); rm -f "$H"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"greeting\\":\\"$(cat /opt/greeting.txt)\\"}" >/dev/null
done
"""


def layer_zip(greeting):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("greeting.txt", greeting)
    return buffer.getvalue()


def greeting(lambda_client, **kwargs):
    answer = lambda_client.invoke(Payload=b"{}", **kwargs)
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer, answer
    return answer["ExecutedVersion"], json.loads(answer["Payload"].read())["greeting"]


def strip(layer):
    return {key: value for key, value in layer.items() if key not in ("ResponseMetadata", "Content")}


one, two = client(sys.argv[1]), client(sys.argv[2])

# Published on server 1, read and listed on server 2; numbers follow across servers.
content = layer_zip("hello from the layer")
first = one.publish_layer_version(
    LayerName="tools", Content={"ZipFile": content}, Description="first",
    CompatibleRuntimes=["provided.al2023"], CompatibleArchitectures=["x86_64"], LicenseInfo="MIT")
assert first["Version"] == 1, first
fetched = two.get_layer_version(LayerName="tools", VersionNumber=1)
assert strip(fetched) == strip(first), (fetched, first)
assert fetched["Content"]["CodeSha256"] == first["Content"]["CodeSha256"], fetched
# Content.Location: server 2's presigned URL serves the zip from the shared bucket.
assert urllib.request.urlopen(fetched["Content"]["Location"], timeout=60).read() == content
assert two.get_layer_version_by_arn(Arn=first["LayerVersionArn"])["Version"] == 1
second = two.publish_layer_version(LayerName="tools", Content={"ZipFile": layer_zip("second greeting")})
assert second["Version"] == 2, second
assert [v["Version"] for v in one.list_layer_versions(LayerName="tools")["LayerVersions"]] == [2, 1]
matching = one.list_layer_versions(LayerName="tools", CompatibleRuntime="provided.al2023")["LayerVersions"]
assert [v["Version"] for v in matching] == [1], matching
layers = two.list_layers()["Layers"]
assert [(entry["LayerName"], entry["LatestMatchingVersion"]["Version"]) for entry in layers] == [("tools", 2)], layers

# A function with the layer, created on server 1, runs on server 2 with the layer's files under /opt.
created = one.create_function(
    FunctionName="reader", Runtime="provided.al2023", Role=role, Handler="bootstrap",
    Code={"ZipFile": bootstrap_package(BOOTSTRAP)}, Layers=[first["LayerVersionArn"]])
assert created["Layers"] == [{"Arn": first["LayerVersionArn"], "CodeSize": first["Content"]["CodeSize"]}], created
assert greeting(two, FunctionName="reader") == ("$LATEST", "hello from the layer")

# The layer moves to version 2 on server 2; a published version takes it and keeps it.
updated = two.update_function_configuration(FunctionName="reader", Layers=[second["LayerVersionArn"]])
assert [layer["Arn"] for layer in updated["Layers"]] == [second["LayerVersionArn"]], updated
published = one.publish_version(FunctionName="reader")
assert published["Version"] == "1" and published["Layers"] == updated["Layers"], published
assert two.get_function(FunctionName="reader:1")["Configuration"]["Layers"] == updated["Layers"]
assert greeting(one, FunctionName="reader", Qualifier="1") == ("1", "second greeting")

# Deleted: gone for new users, kept for the version that uses it.
one.delete_layer_version(LayerName="tools", VersionNumber=2)
assert error_code(lambda: two.get_layer_version(LayerName="tools", VersionNumber=2)) == (
    "ResourceNotFoundException", 404)
assert error_code(lambda: two.update_function_configuration(
    FunctionName="reader", Layers=[second["LayerVersionArn"]])) == ("InvalidParameterValueException", 400)
assert greeting(two, FunctionName="reader", Qualifier="1") == ("1", "second greeting")
assert [v["Version"] for v in two.list_layer_versions(LayerName="tools")["LayerVersions"]] == [1]
third = one.publish_layer_version(LayerName="tools", Content={"ZipFile": layer_zip("third")})
assert third["Version"] == 3, "a deleted version's number is never reused"

# AWS's errors for Layers: another region, two versions of one layer, more than five.
elsewhere = first["LayerVersionArn"].replace(":us-east-1:", ":eu-west-1:")
assert error_code(lambda: one.update_function_configuration(FunctionName="reader", Layers=[elsewhere])) == (
    "InvalidParameterValueException", 400)
assert error_code(lambda: one.update_function_configuration(
    FunctionName="reader", Layers=[first["LayerVersionArn"], third["LayerVersionArn"]])) == (
    "InvalidParameterValueException", 400)
assert error_code(lambda: one.update_function_configuration(
    FunctionName="reader", Layers=[first["LayerVersionArn"]] * 6)) == ("InvalidParameterValueException", 400)

# Permissions: added on one server, read and removed on the other, RevisionId checked across them.
assert error_code(lambda: two.get_layer_version_policy(LayerName="tools", VersionNumber=1)) == (
    "ResourceNotFoundException", 404)
added = one.add_layer_version_permission(
    LayerName="tools", VersionNumber=1, StatementId="everyone", Action="lambda:GetLayerVersion", Principal="*")
assert json.loads(added["Statement"])["Principal"] == "*", added
policy = two.get_layer_version_policy(LayerName="tools", VersionNumber=1)
assert policy["RevisionId"] == added["RevisionId"], (policy, added)
assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["everyone"], policy
again = two.add_layer_version_permission(
    LayerName="tools", VersionNumber=1, StatementId="account", Action="lambda:GetLayerVersion",
    Principal="123456789012", RevisionId=policy["RevisionId"])
assert error_code(lambda: one.remove_layer_version_permission(
    LayerName="tools", VersionNumber=1, StatementId="everyone", RevisionId=policy["RevisionId"])) == (
    "PreconditionFailedException", 412)
one.remove_layer_version_permission(
    LayerName="tools", VersionNumber=1, StatementId="everyone", RevisionId=again["RevisionId"])
left = json.loads(two.get_layer_version_policy(LayerName="tools", VersionNumber=1)["Policy"])
assert [s["Sid"] for s in left["Statement"]] == ["account"], left
print("shared layers: ok")
