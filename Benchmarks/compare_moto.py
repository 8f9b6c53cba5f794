#!/usr/bin/env python3
"""relctl serve vs moto_server, same clients, same machine, same run.

    python3 Benchmarks/compare_moto.py --relctl .build/release/relctl [--calls 300] [--seconds 5] [--connections 8]

Per operation through boto3: p50/p99 latency and calls/s for both servers, and the ratio (moto /
relctl: above 1 means relctl is faster). Then raw HTTP (no boto3: one keep-alive connection, the
request bytes prepared once) for GetAlias and UpdateAlias, the servers' own cost; then sustained
GetAlias requests/s from one keep-alive client and from `--connections` concurrent keep-alive
connections (wrk when installed, else one Python process per connection).
moto runs Lambda invocations in Docker; where Docker is missing its Invoke is reported as n/a.
"""
import argparse, http.client, io, json, multiprocessing, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time, uuid, zipfile

import boto3
from botocore.config import Config

BOOTSTRAP = b"""#!/bin/sh
while true; do
  H=$(mktemp); E=$(curl -sS -D "$H" "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2); rm -f "$H"
  curl -sS -X POST "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/$ID/response" -d "$E" >/dev/null
done
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def package(marker):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, BOOTSTRAP + b"# " + marker.encode() + b"\n")
    return buffer.getvalue()


def wait(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            host, port = url.split("//")[1].split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=1)
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


def client(endpoint):
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                        aws_secret_access_key="secret", config=Config(retries={"max_attempts": 0}))


def measure(call, calls):
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {"p50": samples[len(samples) // 2], "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
            "rate": len(samples) / sum(samples)}


def scenario(endpoint, calls, can_invoke, needs_iam_role=False):
    lam = client(endpoint)
    name = "bench-" + uuid.uuid4().hex[:8]
    role = "arn:aws:iam::123456789012:role/bench"
    if needs_iam_role:  # moto checks the role exists in its IAM
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
        role = iam.create_role(RoleName="bench-" + uuid.uuid4().hex[:6], AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=role,
                        Code={"ZipFile": package("0")}, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=package("1"), Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    results = {}
    results["GetAlias"] = measure(lambda: lam.get_alias(FunctionName=name, Name="live"), calls)
    flip = {"n": 0}

    def update_alias():
        flip["n"] += 1
        lam.update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {"2": (flip["n"] % 10) / 10}})
    results["UpdateAlias"] = measure(update_alias, calls)
    counter = {"n": 1}

    def publish():
        counter["n"] += 1
        lam.update_function_code(FunctionName=name, ZipFile=package(str(counter["n"])))
        lam.publish_version(FunctionName=name)
    results["PublishVersion (after a code change)"] = measure(publish, max(20, calls // 5))
    if can_invoke:
        lam.invoke(FunctionName=name, Qualifier="live", Payload=b"{}")  # warm up
        results["Invoke (warm)"] = measure(lambda: lam.invoke(FunctionName=name, Qualifier="live", Payload=b'{"n":1}'), calls)
    return name, results


# Neither server checks this signature with auth off (relctl's loopback default; moto never does).
FAKE_AUTHORIZATION = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0"


def raw(endpoint, name, calls):
    """GetAlias and UpdateAlias as raw HTTP on one keep-alive connection: what the server costs, not boto3."""
    host, port = endpoint.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port))
    path = f"/2015-03-31/functions/{name}/aliases/live"
    headers = {"Authorization": FAKE_AUTHORIZATION, "Content-Type": "application/json"}

    def call(method, body=None):
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert 200 <= response.status < 300, (method, response.status)

    flip = {"n": 0}

    def update():
        flip["n"] += 1
        call("PUT", json.dumps({"RoutingConfig": {"AdditionalVersionWeights": {"2": (flip["n"] % 10) / 10}}}).encode())
    return {"GetAlias": measure(lambda: call("GET"), calls), "UpdateAlias": measure(update, calls)}


def _hammer(endpoint, path, seconds, counter):
    host, port = endpoint.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port))
    count, end = 0, time.time() + seconds
    while time.time() < end:
        connection.request("GET", path, headers={"Authorization": FAKE_AUTHORIZATION})
        response = connection.getresponse()
        response.read()
        count += 1
    with counter.get_lock():
        counter.value += count


def concurrent(endpoint, name, seconds, connections):
    """Sustained GetAlias requests/s over `connections` keep-alive connections."""
    path = f"/2015-03-31/functions/{name}/aliases/live"
    if shutil.which("wrk"):
        result = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:.0f}s",
                                 "-H", f"Authorization: {FAKE_AUTHORIZATION}", endpoint + path], capture_output=True, text=True, timeout=seconds + 60)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        assert non_2xx is None, result.stdout
        return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1)), "wrk"
    counter = multiprocessing.Value("l", 0)
    workers = [multiprocessing.Process(target=_hammer, args=(endpoint, path, seconds, counter)) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 60)
    return counter.value / seconds, "python"


UPDATE_SCRIPT = """
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"RoutingConfig":{"AdditionalVersionWeights":{"2":%.1f}}}', (n % 10) / 10)
  return wrk.format("PUT", nil, nil, body)
end
"""


def one_connection(endpoint, name, seconds, update, path=None):
    """Requests/s of GetAlias (or durable UpdateAlias, or `path`) over one keep-alive connection driven by wrk: the
    server's own rate, where the Python client of `raw` spends about as long per call as relctl does (None without
    wrk)."""
    if not shutil.which("wrk"):
        return None
    path = path or f"/2015-03-31/functions/{name}/aliases/live"
    command = ["wrk", "-t", "1", "-c", "1", "-d", f"{seconds:.0f}s", "-H", f"Authorization: {FAKE_AUTHORIZATION}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(UPDATE_SCRIPT)
    try:
        if update:
            command += ["-s", script.name]
        result = subprocess.run(command + [endpoint + path], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    assert non_2xx is None, result.stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def sustained(endpoint, name, seconds):
    host, port = endpoint.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port))
    path = f"/2015-03-31/functions/{name}/aliases/live"
    count, end = 0, time.time() + seconds
    while time.time() < end:
        connection.request("GET", path, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0"})
        response = connection.getresponse()
        response.read()
        assert 200 <= response.status < 300, response.status
        count += 1
    return count / seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--relctl", required=True)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="relctl-vs-moto-")
    relctl_port, moto_port = free_port(), free_port()
    # --settle 0: moto answers Active/Successful at once, so relctl does too (by default it settles like AWS and
    # a PublishVersion right after an update is a ResourceConflictException until the update settles).
    relctl = subprocess.Popen([args.relctl, "serve", "--port", str(relctl_port), "--data-dir", data, "--settle", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    moto = subprocess.Popen(["moto_server", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        relctl_url, moto_url = f"http://127.0.0.1:{relctl_port}", f"http://127.0.0.1:{moto_port}"
        wait(relctl_url)
        wait(moto_url)
        docker = shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
        relctl_name, relctl_results = scenario(relctl_url, args.calls, True)
        moto_name, moto_results = scenario(moto_url, args.calls, docker, needs_iam_role=True)
        print(f"relctl serve vs moto_server {subprocess.run(['moto_server', '--version'], capture_output=True, text=True).stdout.strip() or ''} — boto3 {boto3.__version__}, {args.calls} calls each, {os.cpu_count()} cores\n")
        print(f"{'operation':38} {'relctl p50':>11} {'p99':>9} {'calls/s':>8}   {'moto p50':>9} {'p99':>9} {'calls/s':>8}   {'ratio':>6}")
        for operation, ours in relctl_results.items():
            theirs = moto_results.get(operation)
            line = f"{operation:38} {ours['p50']*1000:9.2f}ms {ours['p99']*1000:7.2f}ms {ours['rate']:8.0f}"
            if theirs:
                line += f"   {theirs['p50']*1000:7.2f}ms {theirs['p99']*1000:7.2f}ms {theirs['rate']:8.0f}   {theirs['p50']/ours['p50']:5.2f}×"
            else:
                line += "   n/a (moto invokes in Docker, which is not available here)"
            print(line)
        relctl_raw, moto_raw = raw(relctl_url, relctl_name, args.calls), raw(moto_url, moto_name, args.calls)
        print(f"\nraw HTTP, one keep-alive connection, {args.calls} calls each (ratio: relctl calls/s over moto's)")
        for operation, ours in relctl_raw.items():
            theirs = moto_raw[operation]
            print(f"{operation:38} {ours['p50']*1000:9.2f}ms {ours['p99']*1000:7.2f}ms {ours['rate']:8.0f}   "
                  f"{theirs['p50']*1000:7.2f}ms {theirs['p99']*1000:7.2f}ms {theirs['rate']:8.0f}   {ours['rate']/theirs['rate']:5.2f}×")
        for operation, update in (("GetAlias", False), ("UpdateAlias", True)):
            ours = one_connection(relctl_url, relctl_name, args.seconds, update)
            theirs = one_connection(moto_url, moto_name, args.seconds, update)
            if ours and theirs:
                print(f"{operation + ', wrk, one connection, ' + f'{args.seconds:.0f} s':38} relctl {ours:.0f} req/s, moto {theirs:.0f} req/s ({ours/theirs:.2f}×)")
                if operation == "GetAlias":
                    # The same connection and server answering a route that reads nothing: the ceiling of any route.
                    ceiling = one_connection(relctl_url, relctl_name, args.seconds, False, path="/healthz")
                    print(f"{'  relctl /healthz (no registry read)':38} relctl {ceiling:.0f} req/s "
                          f"({ceiling/theirs:.2f}× moto's GetAlias: the ceiling of any route here)")
        ours, theirs = sustained(relctl_url, relctl_name, args.seconds), sustained(moto_url, moto_name, args.seconds)
        print(f"\nsustained GetAlias, one keep-alive client, {args.seconds:.0f} s: relctl {ours:.0f} req/s, moto {theirs:.0f} req/s ({ours/theirs:.2f}×)")
        (ours, tool), (theirs, _) = concurrent(relctl_url, relctl_name, args.seconds, args.connections), concurrent(moto_url, moto_name, args.seconds, args.connections)
        print(f"sustained GetAlias, {args.connections} keep-alive connections ({tool}), {args.seconds:.0f} s: relctl {ours:.0f} req/s, moto {theirs:.0f} req/s ({ours/theirs:.2f}×)")
    finally:
        for process in (relctl, moto):
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
