"""Resource policies and provisioned concurrency through two `relctl serve --database <same PostgreSQL>
--code-store s3://…` (SharedDatabaseServerTests, issue 10 §1/§5): a permission added on server 1 is read on
server 2 with the same RevisionId, a RevisionId made stale by the other server is refused, and a provisioned
concurrency setting put on server 1 is listed on server 2, whose runtime keeps its instances warm too.

Usage: policies_two_servers.py ENDPOINT_1 ENDPOINT_2. Exits non-zero on the first failed expectation."""
import json
import sys
import time

from lambda_clients import ROLE, client, echo_package, error_code

one, two = client(sys.argv[1]), client(sys.argv[2])
created = one.create_function(
    FunctionName="orders", Runtime="provided.al2023", Role=ROLE, Handler="bootstrap",
    Code={"ZipFile": echo_package("v1")})
arn = created["FunctionArn"]
assert one.publish_version(FunctionName="orders")["Version"] == "1"
one.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")


def statement_ids(policy):
    return [statement["Sid"] for statement in json.loads(policy["Policy"])["Statement"]]


# AddPermission on server 1; server 2 reads the same policy with the same RevisionId.
added = one.add_permission(
    FunctionName="orders", StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
    SourceArn="arn:aws:s3:::my-bucket", SourceAccount="000000000000")
assert added["ResponseMetadata"]["HTTPStatusCode"] == 201, added
assert json.loads(added["Statement"])["Condition"] == {
    "StringEquals": {"AWS:SourceAccount": "000000000000"}, "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}}
first, seen = one.get_policy(FunctionName="orders"), two.get_policy(FunctionName="orders")
assert (seen["Policy"], seen["RevisionId"]) == (first["Policy"], first["RevisionId"]), (first, seen)
assert statement_ids(seen) == ["s3-invoke"], seen

# Server 2 adds with that RevisionId; server 1's copy of it is then stale, for add and remove alike.
two.add_permission(
    FunctionName="orders", StatementId="account", Action="lambda:GetFunction", Principal="123456789012",
    RevisionId=first["RevisionId"])
second = one.get_policy(FunctionName="orders")
assert statement_ids(second) == ["s3-invoke", "account"] and second["RevisionId"] != first["RevisionId"], second
assert two.get_policy(FunctionName="orders")["RevisionId"] == second["RevisionId"]
assert error_code(lambda: one.add_permission(
    FunctionName="orders", StatementId="late", Action="lambda:InvokeFunction", Principal="*",
    RevisionId=first["RevisionId"])) == ("PreconditionFailedException", 412)
assert error_code(lambda: one.remove_permission(
    FunctionName="orders", StatementId="account", RevisionId=first["RevisionId"])) == ("PreconditionFailedException", 412)
assert error_code(lambda: one.add_permission(
    FunctionName="orders", StatementId="account", Action="lambda:InvokeFunction", Principal="*")) == (
    "ResourceConflictException", 409)
assert error_code(lambda: two.add_permission(
    FunctionName="orders", Qualifier="$LATEST", StatementId="x", Action="lambda:InvokeFunction", Principal="*")) == (
    "InvalidParameterValueException", 400)

# The alias has a policy of its own, which goes with the alias.
one.add_permission(
    FunctionName="orders", Qualifier="live", StatementId="apigw", Action="lambda:InvokeFunction",
    Principal="apigateway.amazonaws.com")
on_alias = json.loads(two.get_policy(FunctionName="orders", Qualifier="live")["Policy"])["Statement"]
assert [statement["Resource"] for statement in on_alias] == [arn + ":live"], on_alias
two.delete_alias(FunctionName="orders", Name="live")
one.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
assert error_code(lambda: one.get_policy(FunctionName="orders", Qualifier="live")) == ("ResourceNotFoundException", 404)

# RemovePermission on server 2 with the current RevisionId; the policy goes with its last statement.
two.remove_permission(FunctionName="orders", StatementId="account", RevisionId=second["RevisionId"])
assert statement_ids(one.get_policy(FunctionName="orders")) == ["s3-invoke"]
one.remove_permission(FunctionName="orders", StatementId="s3-invoke")
assert error_code(lambda: two.get_policy(FunctionName="orders")) == ("ResourceNotFoundException", 404)
assert error_code(lambda: two.remove_permission(FunctionName="orders", StatementId="s3-invoke")) == (
    "ResourceNotFoundException", 404)

# Provisioned concurrency put on server 1 (its runtime has initialised the instance when it answers) is
# listed on server 2, whose runtime provisions from the shared setting too: READY there within a deadline
# that only turns a hang into a failure.
put = one.put_provisioned_concurrency_config(FunctionName="orders", Qualifier="live", ProvisionedConcurrentExecutions=1)
assert put["ResponseMetadata"]["HTTPStatusCode"] == 202 and put["Status"] == "IN_PROGRESS", put
listed = two.list_provisioned_concurrency_configs(FunctionName="orders")["ProvisionedConcurrencyConfigs"]
assert [(item["FunctionArn"], item["RequestedProvisionedConcurrentExecutions"]) for item in listed] == [
    (arn + ":live", 1)], listed
assert one.get_provisioned_concurrency_config(FunctionName="orders", Qualifier="live")["Status"] == "READY"
deadline = time.monotonic() + 180
while True:
    got = two.get_provisioned_concurrency_config(FunctionName="orders", Qualifier="live")
    if got["Status"] != "IN_PROGRESS" or time.monotonic() > deadline:
        break
    time.sleep(0.2)
assert (got["Status"], got["AllocatedProvisionedConcurrentExecutions"]) == ("READY", 1), got
assert got["LastModified"] == put["LastModified"], (got, put)
assert error_code(lambda: two.put_provisioned_concurrency_config(
    FunctionName="orders", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)) == (
    "InvalidParameterValueException", 400)
assert error_code(lambda: two.get_provisioned_concurrency_config(FunctionName="orders", Qualifier="1")) == (
    "ProvisionedConcurrencyConfigNotFoundException", 404)
assert error_code(lambda: one.put_provisioned_concurrency_config(
    FunctionName="orders", Qualifier="9", ProvisionedConcurrentExecutions=1)) == ("ResourceNotFoundException", 404)
assert two.delete_provisioned_concurrency_config(FunctionName="orders", Qualifier="live")[
    "ResponseMetadata"]["HTTPStatusCode"] == 204
assert one.list_provisioned_concurrency_configs(FunctionName="orders")["ProvisionedConcurrencyConfigs"] == []
print("policies on two servers: ok")
