"""Drives two `relctl serve --database <same PostgreSQL>` with boto3 (SharedDatabaseServerTests).

Usage: two_servers.py ENDPOINT_1 ENDPOINT_2. Exits non-zero on the first failed expectation."""
import sys
import threading

from lambda_clients import ROLE, client, error_code, package

one, two = client(sys.argv[1]), client(sys.argv[2])
role = ROLE

# Server 1: create and publish.
created = one.create_function(
    FunctionName="orders", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": package("v1")})
assert created["Version"] == "$LATEST", created
assert one.publish_version(FunctionName="orders")["Version"] == "1"
# Server 2 sees it at once, and publishes the next version (numbers are never reused across servers).
assert two.get_function_configuration(FunctionName="orders", Qualifier="1")["CodeSha256"] == created["CodeSha256"]
two.update_function_code(FunctionName="orders", ZipFile=package("v2"))
assert two.publish_version(FunctionName="orders")["Version"] == "2"
assert one.publish_version(FunctionName="orders")["Version"] == "2", "nothing changed since: the same version"

# Server 2: create and update an alias; server 1 reads it.
two.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
moved = two.update_alias(FunctionName="orders", Name="live", FunctionVersion="2")
assert one.get_alias(FunctionName="orders", Name="live")["RevisionId"] == moved["RevisionId"]
assert one.get_function_configuration(FunctionName="orders", Qualifier="live")["Version"] == "2"

# A RevisionId race between the servers: both send the same RevisionId at once; exactly one wins.
barrier = threading.Barrier(2)
outcomes = []


def race(lambda_client, version):
    barrier.wait()
    outcomes.append(error_code(lambda: lambda_client.update_alias(
        FunctionName="orders", Name="live", FunctionVersion=version, RevisionId=moved["RevisionId"]))[0])


threads = [threading.Thread(target=race, args=(one, "1")), threading.Thread(target=race, args=(two, "2"))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
assert sorted(outcomes, key=str) == sorted([None, "PreconditionFailedException"], key=str), outcomes

# Lists agree on either server, paged.
for lambda_client in (one, two):
    versions = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName="orders")["Versions"]]
    assert versions == ["$LATEST", "1", "2"], versions
    page = lambda_client.list_versions_by_function(FunctionName="orders", MaxItems=2)
    assert [v["Version"] for v in page["Versions"]] == ["$LATEST", "1"] and page["NextMarker"], page
    rest = lambda_client.list_versions_by_function(FunctionName="orders", Marker=page["NextMarker"])
    assert [v["Version"] for v in rest["Versions"]] == ["2"], rest
    assert [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]] == ["orders"]
one.create_alias(FunctionName="orders", Name="canary", FunctionVersion="2")
assert [a["Name"] for a in two.list_aliases(FunctionName="orders")["Aliases"]] == ["canary", "live"]
live_version = one.get_alias(FunctionName="orders", Name="live")["FunctionVersion"]
filtered = two.list_aliases(FunctionName="orders", FunctionVersion="2")["Aliases"]
assert sorted(a["Name"] for a in filtered) == sorted(["canary"] + (["live"] if live_version == "2" else [])), filtered

# Delete on one, gone on the other; AWS's errors, the same from both.
two.delete_alias(FunctionName="orders", Name="canary")
assert error_code(lambda: one.get_alias(FunctionName="orders", Name="canary"))[0] == "ResourceNotFoundException"
assert error_code(lambda: two.get_function_configuration(FunctionName="missing")) == ("ResourceNotFoundException", 404)
assert error_code(lambda: one.create_function(
    FunctionName="orders", Runtime="provided.al2023", Role=role, Handler="bootstrap",
    Code={"ZipFile": package("v1")}))[0] == "ResourceConflictException"
# Every version, published on either server, listed by the other (ListFunctions FunctionVersion=ALL).
listed = [f["Version"] for f in two.list_functions(FunctionVersion="ALL")["Functions"] if f["FunctionName"] == "orders"]
assert listed == ["$LATEST", "1", "2"], listed
print("two servers: ok")
