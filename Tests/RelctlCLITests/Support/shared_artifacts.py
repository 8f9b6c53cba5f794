"""sam deploy's S3 subset and CloudFormation through two `relctl serve --database <same PostgreSQL> --code-store s3://…`
(SharedDatabaseServerTests).

Usage: shared_artifacts.py ENDPOINT_1 ENDPOINT_2. A bucket and objects put through server 1 are listed and read
through server 2 (their bytes from the shared code store); a change set made on server 2 from a TemplateURL and a
CodeUri in that bucket is described and executed on server 1; the stack, its template and its function answer on
both; deleting the stack on server 1 removes the function everywhere. Exits non-zero on the first failed expectation."""
import sys

import boto3
from botocore.config import Config

from lambda_clients import error_code, package


def make(service, endpoint):
    # Path-style addressing and checksums only when required: relctl's S3 takes a plain body.
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 0}, read_timeout=120, s3={"addressing_style": "path"},
                      request_checksum_calculation="when_required", response_checksum_validation="when_required"))


one, two = sys.argv[1], sys.argv[2]
s3_one, s3_two = make("s3", one), make("s3", two)
cfn_one, cfn_two = make("cloudformation", one), make("cloudformation", two)
lambda_one, lambda_two = make("lambda", one), make("lambda", two)

# Buckets and objects: made through one server, seen through the other.
s3_one.create_bucket(Bucket="artifacts")
s3_two.head_bucket(Bucket="artifacts")
assert error_code(lambda: s3_two.create_bucket(Bucket="artifacts")) == ("BucketAlreadyOwnedByYou", 409)
code = package("shared-artifact")
s3_one.put_object(Bucket="artifacts", Key="app/fn.zip", Body=code)
TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: one function from the shared bucket
Resources:
  Web:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: shared-web
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: s3://artifacts/app/fn.zip
      AutoPublishAlias: live
"""
s3_one.put_object(Bucket="artifacts", Key="app/template.yaml", Body=TEMPLATE.encode())
listed = s3_two.list_objects_v2(Bucket="artifacts", Prefix="app/")
assert [o["Key"] for o in listed["Contents"]] == ["app/fn.zip", "app/template.yaml"], listed
assert s3_two.get_object(Bucket="artifacts", Key="app/fn.zip")["Body"].read() == code

# A change set made on server 2 from what server 1 holds, described and executed on server 1.
made = cfn_two.create_change_set(
    StackName="shared", ChangeSetName="first", ChangeSetType="CREATE",
    TemplateURL=f"{one}/artifacts/app/template.yaml", Capabilities=["CAPABILITY_IAM"])
described = cfn_one.describe_change_set(ChangeSetName=made["Id"])
assert described["Status"] == "CREATE_COMPLETE", described
assert described["StackId"] == made["StackId"], described
assert [c["ResourceChange"]["LogicalResourceId"] for c in described["Changes"]] == ["Web"], described
assert cfn_one.describe_stacks(StackName="shared")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
cfn_one.execute_change_set(ChangeSetName="first", StackName="shared")
stack = cfn_two.describe_stacks(StackName="shared")["Stacks"][0]
assert stack["StackStatus"] == "CREATE_COMPLETE", stack
assert stack["StackId"] == made["StackId"], stack
assert cfn_two.get_template(StackName=made["StackId"])["TemplateBody"] == TEMPLATE
resources = cfn_one.list_stack_resources(StackName="shared")["StackResourceSummaries"]
assert {r["PhysicalResourceId"] for r in resources} >= {"shared-web"}, resources
assert lambda_two.get_alias(FunctionName="shared-web", Name="live")["FunctionVersion"] == "1"
assert lambda_one.get_function_configuration(FunctionName="shared-web")["CodeSha256"]
events = cfn_two.describe_stack_events(StackName="shared")["StackEvents"]
assert events[0]["ResourceStatus"] == "CREATE_COMPLETE" and events[-1]["ResourceStatus"] == "REVIEW_IN_PROGRESS", events

# Deleting the stack on server 1 removes its function for both; the bucket empties and goes through server 2.
cfn_one.delete_stack(StackName="shared")
assert error_code(lambda: cfn_two.describe_stacks(StackName="shared")) == ("ValidationError", 400)
assert error_code(lambda: lambda_two.get_function(FunctionName="shared-web")) == ("ResourceNotFoundException", 404)
s3_two.delete_objects(Bucket="artifacts", Delete={"Objects": [{"Key": "app/fn.zip"}, {"Key": "app/template.yaml"}]})
s3_two.delete_bucket(Bucket="artifacts")
assert error_code(lambda: s3_one.head_bucket(Bucket="artifacts"))[1] == 404
print("shared artifacts: ok")
