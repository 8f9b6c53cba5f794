#!/usr/bin/env python3
"""GetAlias and UpdateAlias throughput with 1, 2 and 3 `relctl serve` on one PostgreSQL (issue 10).

    python3 Benchmarks/scale_pg.py --relctl .build/debug/relctl [--seconds 5] [--connections 4] [--servers 1,2,3]

Starts its own PostgreSQL 15 cluster (initdb in a temporary folder, durable defaults: fsync and
synchronous_commit on), then for each server count N: a fresh database, N servers (each with its own
data directory) on it, one function with alias `live`, and `wrk` driving `--connections` keep-alive
connections per server at all N at once (raw HTTP, no boto3) — GetAlias, then UpdateAlias (a PUT that
writes a new RevisionId, one write transaction under the store's write lock). The baseline, measured
in the same run: one server on the data directory's SQLite. Ratios are against one server on
PostgreSQL. Everything (servers, PostgreSQL, wrk) shares this machine's cores, so a second server adds
processes, not hardware: where the figures stop growing is where the cores (or the write lock) are
the limit, and the output says which it looks like.
"""
import argparse, http.client, json, os, re, shutil, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_moto import FAKE_AUTHORIZATION, client, free_port, package, wait  # noqa: E402

BINARIES = "/usr/lib/postgresql/15/bin"


class Cluster:
    def __init__(self, root):
        self.root, self.port = root, free_port()
        self.socket = os.path.join(root, "socket")
        os.makedirs(self.socket)
        self.run_as = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            for path in (root, self.socket):
                os.chown(path, 65534, 65534)
        subprocess.run(self.run_as + [f"{BINARIES}/initdb", "-D", f"{root}/data", "-U", "relctl", "--auth=trust",
                                      "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
        self.server = subprocess.Popen(
            self.run_as + [f"{BINARIES}/postgres", "-D", f"{root}/data", "-p", str(self.port), "-k", self.socket,
                           "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while subprocess.run([f"{BINARIES}/pg_isready", "-h", self.socket, "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            if time.time() > deadline or self.server.poll() is not None:
                raise SystemExit("PostgreSQL did not start")
            time.sleep(0.2)

    def database(self, name):
        subprocess.run([f"{BINARIES}/createdb", "-h", self.socket, "-p", str(self.port), "-U", "relctl", name],
                       check=True, capture_output=True)
        return f"postgres://relctl@localhost/{name}?host={self.socket}&port={self.port}"

    def stop(self):
        self.server.terminate()
        self.server.wait(timeout=30)


def start_servers(relctl, count, database, root):
    servers = []
    for index in range(count):
        port, data = free_port(), tempfile.mkdtemp(prefix=f"relctl-scale-{index}-", dir=root)
        arguments = [relctl, "serve", "--port", str(port), "--data-dir", data, "--settle", "0"]
        if database:
            arguments += ["--database", database]
        process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.append((process, f"http://127.0.0.1:{port}"))
        wait(servers[-1][1])
    return servers


def prepare(endpoint):
    lam = client(endpoint)
    lam.create_function(FunctionName="bench", Runtime="provided.al2023", Handler="bootstrap",
                        Role="arn:aws:iam::123456789012:role/bench", Code={"ZipFile": package("0")})
    lam.publish_version(FunctionName="bench")
    lam.create_alias(FunctionName="bench", Name="live", FunctionVersion="1")


def wrk_all(endpoints, method, seconds, connections, root):
    """`wrk` against every endpoint at once; the summed requests/s (every answer must be 2xx)."""
    script = os.path.join(root, f"{method}.lua")
    with open(script, "w") as handle:
        handle.write(f'wrk.method = "{method}"\n')
        handle.write(f'wrk.headers["Authorization"] = "{FAKE_AUTHORIZATION}"\n')
        if method == "PUT":
            handle.write('wrk.headers["Content-Type"] = "application/json"\n')
            handle.write('wrk.body = \'{"Description": "moved"}\'\n')
    path = "/2015-03-31/functions/bench/aliases/live"
    runs = [subprocess.Popen(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:.0f}s", "-s", script,
                              endpoint + path], stdout=subprocess.PIPE, text=True) for endpoint in endpoints]
    total = 0.0
    for run in runs:
        output, _ = run.communicate(timeout=seconds + 120)
        assert "Non-2xx" not in output, output
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--relctl", required=True)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=4, help="keep-alive connections per server")
    parser.add_argument("--servers", default="1,2,3")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (Debian's wrk package)")
    root = tempfile.mkdtemp(prefix="relctl-scale-pg-")
    os.chmod(root, 0o755)  # PostgreSQL runs as nobody when this runs as root: it must reach its folder
    cluster = Cluster(os.path.join(root, "pg"))
    figures = {}
    try:
        configurations = [("SQLite", 1, None)] + [
            ("PostgreSQL", count, cluster.database(f"bench{count}")) for count in map(int, args.servers.split(","))]
        for engine, count, database in configurations:
            servers = start_servers(args.relctl, count, database, root)
            try:
                prepare(servers[0][1])
                endpoints = [endpoint for _, endpoint in servers]
                get = wrk_all(endpoints, "GET", args.seconds, args.connections, root)
                put = wrk_all(endpoints, "PUT", args.seconds, args.connections, root)
                figures[(engine, count)] = (get, put)
            finally:
                for process, _ in servers:
                    process.terminate()
                    process.wait(timeout=30)
        print(f"GetAlias / UpdateAlias throughput, raw HTTP through wrk, {args.connections} keep-alive connections per "
              f"server, {args.seconds:.0f} s each, {os.cpu_count()} cores shared by servers, PostgreSQL and wrk\n")
        base = figures.get(("PostgreSQL", 1))
        print(f"{'engine':12} {'servers':>7} {'GetAlias req/s':>15} {'× 1 server':>10} {'UpdateAlias req/s':>18} {'× 1 server':>10}")
        for (engine, count), (get, put) in figures.items():
            ratio = lambda value, index: f"{value / base[index]:9.2f}×" if base else "      n/a"
            print(f"{engine:12} {count:7d} {get:15.0f} {ratio(get, 0)} {put:18.0f} {ratio(put, 1)}")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
