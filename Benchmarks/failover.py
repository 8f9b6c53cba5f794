#!/usr/bin/env python3
"""Failover time of the leading controller on PostgreSQL (issue 10 §5).

Starts a throw-away PostgreSQL cluster, three `relctl controller run --database …` processes and a
canary (Linear, a step every --step seconds) made with `relctl deploy --no-wait`. Then, --kills times:
waits for a step applied by the current leader, kills the leader with SIGKILL just before its next
step is due, and measures

  takeover   kill -> the new leader's epoch committed (leadership.acquired_at)
  first step kill -> the first alias move applied by the new leader (alias_moves.at)

The baseline, measured in the same run, is the gap between two consecutive steps of one leader
(the step interval plus a tick's latency); a failover's gap is the same measure across a kill, so
`gap ratio` = failover gap / steady gap. Every deployment is checked to apply each step exactly
once (its moves' weights strictly increase, no repeats). Usage:

    python3 Benchmarks/failover.py [--relctl .build/debug/relctl] [--kills 20] [--step 1]
"""
import argparse
import datetime
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def pg_binaries():
    majors = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit())
    return f"/usr/lib/postgresql/{majors[-1]}/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.bin = pg_binaries()
        self.root = tempfile.mkdtemp(prefix="relctl-failover-pg-")
        self.port = free_port()
        run_as = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            os.chown(self.root, 65534, 65534)
        data = os.path.join(self.root, "data")
        subprocess.run(run_as + [f"{self.bin}/initdb", "-D", data, "-U", "relctl", "--auth=trust", "--no-sync",
                                 "-E", "UTF8", "--locale=C"], check=True, capture_output=True, timeout=120)
        self.server = subprocess.Popen(
            run_as + [f"{self.bin}/postgres", "-D", data, "-p", str(self.port), "-k", self.root,
                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                      "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while subprocess.run([f"{self.bin}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            if time.time() > deadline or self.server.poll() is not None:
                raise SystemExit("postgres did not start")
            time.sleep(0.1)
        subprocess.run([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "relctl", "bench"],
                       check=True, timeout=60)
        self.url = f"postgres://relctl@127.0.0.1:{self.port}/bench?sslmode=disable"

    def sql(self, text):
        out = subprocess.run([f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "relctl", "-d",
                              "bench", "-v", "ON_ERROR_STOP=1", "-Atc", text],
                             check=True, capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    def stop(self):
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
        shutil.rmtree(self.root, ignore_errors=True)


SEED = """
INSERT INTO functions (name, created_at, highest_version, changed_since_publish) VALUES ('orders', 'x', 2, false);
INSERT INTO versions (function_name, version, code_sha256, code_size, unzipped_size, runtime, handler, role,
                      memory_size, timeout, last_modified, revision_id)
SELECT 'orders', v, repeat('a', 64), 1, 1, 'provided.al2023', 'bootstrap', 'arn:aws:iam::000000000000:role/bench',
       128, 3, 'x', 'r' || v FROM generate_series(0, 2) AS v;
INSERT INTO aliases (function_name, name, function_version, revision_id) VALUES ('orders', 'live', 1, 'r');
"""


def parse_at(text):
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def epoch_of(actor):
    match = re.search(r"\(leader epoch (\d+)\)", actor)
    return int(match.group(1)) if match else None


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--relctl", default=".build/debug/relctl")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--step", type=float, default=1.0, help="seconds between a canary's steps")
    parser.add_argument("--controllers", type=int, default=3)
    args = parser.parse_args()
    relctl = os.path.abspath(args.relctl)
    cluster = Cluster()
    home = tempfile.mkdtemp(prefix="relctl-failover-home-")
    os.makedirs(os.path.join(home, "policies"))
    with open(os.path.join(home, "policies", "fast.yaml"), "w") as f:
        f.write(f"name: Fast\ntype: Linear\npercentage: 5\ninterval: {args.step}s\n")
    env = dict(os.environ, RELCTL_HOME=home, RELCTL_DATABASE=cluster.url, RELCTL_ACTOR="bench")
    controllers = {}
    deadline = time.time() + 600  # the whole run; every child is killed at the end

    def start(index):
        log = open(os.path.join(home, f"controller-{index}.log"), "a")
        controllers[index] = subprocess.Popen([relctl, "controller", "run", "--interval", "0.2"], env=env,
                                              stdout=log, stderr=log, start_new_session=True)

    def leadership():
        epoch, holder, acquired = cluster.sql(
            "SELECT epoch, coalesce(holder, ''), coalesce(acquired_at, 0) FROM leadership").split("|")
        pid = int(holder.rsplit(":", 1)[1]) if ":" in holder else None
        return int(epoch), pid, float(acquired)

    def moves(deployment):
        rows = cluster.sql(f"SELECT id, at, actor, coalesce(to_additional_weight, -1) FROM alias_moves "
                           f"WHERE cause = 'Deployment {deployment}' ORDER BY id")
        return [(int(i), parse_at(at), actor, float(w)) for i, at, actor, w in
                (line.split("|") for line in rows.splitlines() if line)]

    def wait(what, condition, step=0.01):
        while True:
            value = condition()
            if value:
                return value
            if time.time() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            time.sleep(step)

    takeovers, first_steps, failover_gaps, steady_gaps, checked = [], [], [], [], 0
    try:
        for index in range(args.controllers):
            start(index)
        wait("the schema", lambda: "leadership" in cluster.sql("SELECT string_agg(tablename, ' ') FROM pg_tables"))
        cluster.sql(SEED)
        wait("a leader", lambda: leadership()[1] in [c.pid for c in controllers.values()])
        target = 2
        deployment = None
        while len(takeovers) < args.kills:
            if deployment is None or cluster.sql(f"SELECT status FROM deployments WHERE id = '{deployment}'") in (
                    "Succeeded", "Failed", "Stopped"):
                if deployment is not None:
                    weights = [m[3] for m in moves(deployment)]
                    assert weights[:-1] == sorted(set(weights[:-1])) and weights[-1] == -1, f"steps: {weights}"
                    checked += 1
                    target = 1 if target == 2 else 2
                out = subprocess.run([relctl, "deploy", "orders", "--alias", "live", "--version", str(target),
                                      "--policy", "Fast", "--no-wait", "--output", "json"], env=env,
                                     capture_output=True, text=True, timeout=120)
                if out.returncode != 0:
                    raise SystemExit(f"deploy failed: {out.stderr}")
                deployment = re.search(r'"deploymentId"\s*:\s*"([^"]+)"', out.stdout).group(1)
            epoch, pid, _ = leadership()
            seen = len(moves(deployment))
            # A step applied by this leader, then the kill just before its next step is due.
            latest = wait("a step by the leader", lambda: [m for m in moves(deployment)[seen:]
                                                           if epoch_of(m[2]) == epoch])
            if len(latest) >= 2:
                steady_gaps.append(latest[-1][1] - latest[-2][1])
            all_moves = moves(deployment)
            if len(all_moves) >= 2 and epoch_of(all_moves[-2][2]) == epoch:
                steady_gaps.append(all_moves[-1][1] - all_moves[-2][1])
            last = latest[-1]
            if all_moves[-1][3] == -1 or all_moves[-1][3] >= 0.9:
                continue  # too near the end of this deployment; the next one gets the kill
            time.sleep(max(0.0, last[1] + args.step - 0.1 - time.time()))
            if leadership()[0] != epoch:
                continue
            victim = next(i for i, c in controllers.items() if c.pid == pid)
            killed_at = time.time()
            os.kill(pid, signal.SIGKILL)
            controllers[victim].wait(timeout=30)
            new_epoch, _, acquired = wait("a takeover", lambda: (lambda l: l if l[0] > epoch else None)(leadership()))
            step = wait("the new leader's first step", lambda: [m for m in moves(deployment)
                                                                if (epoch_of(m[2]) or 0) > epoch])[0]
            stale = [m for m in moves(deployment) if m[0] > step[0] and (epoch_of(m[2]) or new_epoch) < new_epoch]
            assert not stale, f"a stale leader applied {stale}"
            takeovers.append(acquired - killed_at)
            first_steps.append(step[1] - killed_at)
            failover_gaps.append(step[1] - last[1])
            start(victim)  # the former leader returns as a follower
            print(f"kill {len(takeovers):2}: epoch {epoch} -> {new_epoch}, takeover {takeovers[-1]:.3f} s, "
                  f"first step {first_steps[-1]:.3f} s", flush=True)
    finally:
        for child in controllers.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)

    steady = percentile(steady_gaps, 50) if steady_gaps else float("nan")
    print(f"\n{len(takeovers)} kills of the leader among {args.controllers} controllers, a step every {args.step} s "
          f"({checked} deployments checked: every step once)")
    for name, values in [("takeover (kill -> new epoch)", takeovers), ("kill -> first step by the new leader",
                                                                        first_steps)]:
        print(f"  {name:38} p50 {percentile(values, 50):.3f} s  p99 {percentile(values, 99):.3f} s  "
              f"max {max(values):.3f} s")
    print(f"  baseline: steady step gap (one leader)  p50 {steady:.3f} s over {len(steady_gaps)} steps")
    print(f"  failover step gap                       p50 {percentile(failover_gaps, 50):.3f} s  "
          f"p99 {percentile(failover_gaps, 99):.3f} s  ratio to baseline p50 "
          f"{percentile(failover_gaps, 50) / steady:.2f}x  p99 {percentile(failover_gaps, 99) / steady:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
