"""Drives two `relctl serve --database <same PostgreSQL>` with boto3 through the operations moved onto
the shared database in issue 10 §1 (SharedDatabaseFunctionTests): UpdateFunctionConfiguration and
GetFunctionConfiguration with RevisionId checks, TagResource / UntagResource / ListTags, GetAccountSettings,
DeleteFunction of one version (refused while an alias points at it) and of the whole function.

Usage: shared_functions.py ENDPOINT_1 ENDPOINT_2. Exits non-zero on the first failed expectation."""
import sys

from lambda_clients import ROLE, client, error_code, package


def usage(lambda_client):
    return lambda_client.get_account_settings()["AccountUsage"]


one, two = client(sys.argv[1]), client(sys.argv[2])
role = ROLE

# Create with an environment on server 1; the account's usage is its code size on either server.
created = one.create_function(
    FunctionName="orders", Runtime="provided.al2023", Role=role, Handler="bootstrap", MemorySize=256,
    Environment={"Variables": {"STAGE": "dev"}}, Code={"ZipFile": package("v1")})
assert created["Environment"] == {"Variables": {"STAGE": "dev"}}, created
assert usage(two) == {"TotalCodeSize": created["CodeSize"], "FunctionCount": 1}, usage(two)
limit = two.get_account_settings()["AccountLimit"]
assert limit["TotalCodeSize"] == 80530636800 and limit["UnreservedConcurrentExecutions"] == 1000, limit

# UpdateFunctionConfiguration on server 2 with the RevisionId server 1 answered; server 1 reads the change.
updated = two.update_function_configuration(
    FunctionName="orders", MemorySize=512, Description="orders API", Environment={"Variables": {"STAGE": "prod"}},
    TracingConfig={"Mode": "Active"}, RevisionId=created["RevisionId"])
assert (updated["MemorySize"], updated["Description"], updated["Handler"]) == (512, "orders API", "bootstrap"), updated
assert updated["Environment"] == {"Variables": {"STAGE": "prod"}} and updated["TracingConfig"] == {"Mode": "Active"}
assert updated["RevisionId"] != created["RevisionId"]
read = one.get_function_configuration(FunctionName="orders")
assert (read["RevisionId"], read["MemorySize"], read["Environment"]) == (
    updated["RevisionId"], 512, {"Variables": {"STAGE": "prod"}}), read
# A stale RevisionId, an out-of-range timeout and a qualified name are refused as on SQLite.
assert error_code(lambda: one.update_function_configuration(
    FunctionName="orders", Timeout=10, RevisionId=created["RevisionId"])) == ("PreconditionFailedException", 412)
assert error_code(lambda: one.update_function_configuration(FunctionName="orders", Timeout=901))[1] == 400
assert error_code(lambda: two.update_function_configuration(
    FunctionName="missing", Timeout=10)) == ("ResourceNotFoundException", 404)
assert one.publish_version(FunctionName="orders")["Version"] == "1"
first = two.get_function_configuration(FunctionName="orders", Qualifier="1")
assert (first["MemorySize"], first["Environment"]) == (512, {"Variables": {"STAGE": "prod"}}), first

# Tags: set on one server, listed and removed on the other, shown by GetFunction.
arn = created["FunctionArn"]
two.tag_resource(Resource=arn, Tags={"team": "payments", "tier": "1"})
assert one.list_tags(Resource=arn)["Tags"] == {"team": "payments", "tier": "1"}
one.untag_resource(Resource=arn, TagKeys=["tier", "absent"])
assert two.list_tags(Resource=arn)["Tags"] == {"team": "payments"}
assert one.get_function(FunctionName="orders")["Tags"] == {"team": "payments"}
too_many = {"k%d" % index: "v" for index in range(50)}
assert error_code(lambda: two.tag_resource(Resource=arn, Tags=too_many)) == ("InvalidParameterValueException", 400)
assert error_code(lambda: one.list_tags(Resource=arn + "x")) == ("ResourceNotFoundException", 404)

# DeleteFunction of one version: refused while an alias points at it; usage drops by its code size.
two.update_function_code(FunctionName="orders", ZipFile=package("v2-longer"))
second = two.publish_version(FunctionName="orders")
assert second["Version"] == "2", second
one.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
assert error_code(lambda: two.delete_function(FunctionName="orders", Qualifier="1")) == (
    "ResourceConflictException", 409)
before = usage(one)["TotalCodeSize"]
two.delete_function(FunctionName="orders", Qualifier="2")
assert usage(one)["TotalCodeSize"] == before - second["CodeSize"], (before, usage(one))
assert error_code(lambda: one.get_function_configuration(
    FunctionName="orders", Qualifier="2")) == ("ResourceNotFoundException", 404)
assert [v["Version"] for v in one.list_versions_by_function(FunctionName="orders")["Versions"]] == ["$LATEST", "1"]
assert error_code(lambda: one.delete_function(FunctionName="orders", Qualifier="$LATEST"))[0] == (
    "InvalidParameterValueException")

# DeleteFunction of the whole function: gone on both servers, usage back to nothing.
one.delete_function(FunctionName="orders")
assert error_code(lambda: two.get_function(FunctionName="orders")) == ("ResourceNotFoundException", 404)
assert error_code(lambda: two.delete_function(FunctionName="orders")) == ("ResourceNotFoundException", 404)
assert usage(two) == {"TotalCodeSize": 0, "FunctionCount": 0}, usage(two)
assert two.list_functions()["Functions"] == []

# Created on one server with Publish and tags in one call; the other sees both.
one.create_function(
    FunctionName="other", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": package("o")},
    Publish=True, Tags={"team": "payments"})
assert two.get_function(FunctionName="other")["Tags"] == {"team": "payments"}
listed = [f["Version"] for f in two.list_functions(FunctionVersion="ALL")["Functions"] if f["FunctionName"] == "other"]
assert listed == ["$LATEST", "1"], listed
print("shared functions: ok")
