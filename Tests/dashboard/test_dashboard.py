"""The dashboard (`relctl serve` at `/`) in a real browser: Debian's chromium, headless, driven over
the Chrome DevTools Protocol (its remote-debugging port, websocket-client from PyPI).

Needs RELCTL_BIN (the servers are started here, each with its own data directory), chromium on
PATH and `pip install websocket-client boto3 pytest` (scripts/setup test installs them). Screenshots
go to $DASHBOARD_ARTIFACTS (default .build/test-artifacts/dashboard). The latencies measured (an
API call → the page showing it) are printed and written to latency.json there, never asserted.
"""

import base64
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compat"))
from conftest import CODEDEPLOY_ROLE, _stop, _wait_until_up, echo_zip, free_port, make_client  # noqa: E402

websocket = pytest.importorskip("websocket", reason="pip install websocket-client (scripts/setup test installs it)")

RELCTL_BIN = os.environ.get("RELCTL_BIN", "").strip()
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DASHBOARD_ARTIFACTS") or REPO / ".build" / "test-artifacts" / "dashboard")
# A deadline, not a speed claim: on 2 loaded cores (the whole suite in parallel) chromium once took > 30 s to
# open its DevTools port.
BROWSER_START_TIMEOUT = 120.0
# A deadline that only turns a hang into a failure: in a full suite run on 2 loaded cores a step (a click, the
# server's answer, the next event on the page) once took more than 20 s, with the whole test 12x slower than alone.
STEP_TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(not RELCTL_BIN, reason="set RELCTL_BIN=.build/debug/relctl: the dashboard tests start their own servers")


# --------------------------------------------------------------------------------------------
# the server and the browser


class Relctl:
    """`relctl serve` on a free loopback port with a data directory of its own."""

    def __init__(self, tmp: Path, auth: bool = False):
        self.binary = os.path.abspath(RELCTL_BIN)
        self.data_dir = tmp / "data"
        self.data_dir.mkdir()
        self.log_path = str(tmp / "serve.log")
        self.env = {k: v for k, v in os.environ.items() if k != "RELCTL_HOME"}
        self.keys = {}
        if auth:
            for name, flags in (("operator", []), ("viewer", ["--read-only"])):
                self.keys[name] = json.loads(self.cli("credentials", "create", "--name", name, *flags, "--output", "json"))
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir), *(["--auth", "on"] if auth else [])],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        try:
            _wait_until_up(self.process, f"{self.endpoint}/healthz", self.log_path, "relctl serve")
        except BaseException:
            _stop(self.process)
            raise

    def cli(self, *args) -> str:
        completed = subprocess.run([self.binary, *args, "--data-dir", str(self.data_dir)], capture_output=True, text=True,
                                   env=self.env, timeout=60)
        assert completed.returncode == 0, completed.stderr
        return completed.stdout

    def client(self, service, key=None):
        if key is None:
            return make_client(service, self.endpoint)
        return make_client(service, self.endpoint, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])

    def stop(self):
        _stop(self.process)


def die_with_parent():
    """In the child before exec: SIGKILL when the parent (this test) dies (Linux's PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is not installed: `scripts/setup test` installs it (Debian: apt-get install -y chromium)")


class Browser:
    """Headless chromium and one page, driven over the DevTools Protocol."""

    def __init__(self, profile: Path):
        # Port 0: chromium picks a free port itself and writes it to DevToolsActivePort in the profile
        # (a port chosen here could be taken by one of the suite's many servers before chromium binds it).
        self.profile = profile
        self.port = None
        self.log = open(profile.parent / "chromium.log", "wb")
        self.process = subprocess.Popen(
            [find_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync", "--hide-scrollbars", "--mute-audio",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
             "--window-size=1280,1000", "about:blank"],
            # In this process's group (a deadline that kills the test's group kills the browser too),
            # and killed by the kernel should this process die first.
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.next_id = 0
        self.dialogs = []
        try:
            self.ws = websocket.create_connection(self._page_target(), timeout=STEP_TIMEOUT, suppress_origin=True)
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.call("Network.enable")
        except BaseException:
            self.close()
            raise

    def _page_target(self) -> str:
        deadline = time.monotonic() + BROWSER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.process.returncode}")
            try:
                if self.port is None:
                    lines = (self.profile / "DevToolsActivePort").read_text().split()
                    if not lines:
                        raise OSError("DevToolsActivePort is still empty")
                    self.port = int(lines[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as response:
                    pages = [t for t in json.load(response) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"chromium did not open its DevTools port within {BROWSER_START_TIMEOUT:.0f} s")

    def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if message.get("method") == "Runtime.exceptionThrown":
                self.dialogs.append(message["params"]["exceptionDetails"].get("text", "exception"))
        raise TimeoutError(f"{method} got no answer within {STEP_TIMEOUT:.0f} s")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout=STEP_TIMEOUT):
        """Polls `expression` in the page every 20 ms until it is truthy; returns (value, seconds waited)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            value = self.evaluate(expression)
            if value:
                return value, time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({expression}); page text:\n"
                             + str(self.evaluate("document.body.innerText"))[:3000])

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && window.relctl && window.relctl.updates > 0 || !!document.getElementById('login')",
                      f"{url} to load")

    def click(self, selector, timeout=5.0):
        """A real mouse click at the middle of the element (it must be visible and on top).

        A live page re-renders while the test looks at it (an event arrives, a row moves), so the element is
        measured and hit-tested together, retried for up to `timeout` seconds; an element that stays covered
        fails with what covers it."""
        # The middle of the element first, then other points of each of its boxes (an inline link's bounding
        # box can have its middle over its cell rather than its text): the first point where the element is on top.
        probe = f"""(() => {{ const sel = {json.dumps(selector)}; const e = document.querySelector(sel); if (!e) return null;
            e.scrollIntoView({{block: 'center'}}); let first = null;
            for (const r of [e.getBoundingClientRect(), ...e.getClientRects()]) {{
              for (const [fx, fy] of [[0.5, 0.5], [0.25, 0.5], [0.75, 0.5], [0.5, 0.3], [0.5, 0.7]]) {{
                const x = r.left + r.width * fx, y = r.top + r.height * fy, top = document.elementFromPoint(x, y);
                const probe = {{x, y, disabled: !!e.disabled, hit: !!top && top.closest(sel) !== null,
                               ancestor: !!top && top !== e && top.contains(e),
                               cover: top ? top.outerHTML.slice(0, 200) : 'nothing'}};
                if (probe.hit) return probe;
                first = first || probe;
              }}
            }}
            return first; }})()"""
        started = time.monotonic()
        while True:
            rect = self.evaluate(probe)
            if rect is not None and rect["hit"] and not rect["disabled"]:
                break
            if time.monotonic() - started > timeout:
                assert rect is not None, f"no {selector} on the page"
                assert not rect["disabled"], f"{selector} is disabled"
                # Hit-testing answered the element's own container (its cell) at every point: nothing covers it,
                # so click its middle as a user would; the caller's next wait proves the click took effect.
                if rect["ancestor"]:
                    break
                raise AssertionError(f"{selector} is covered by another element: {rect['cover']}")
            time.sleep(0.05)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=rect["x"], y=rect["y"], button="left", clickCount=1)

    def type(self, selector, text):
        self.click(selector)
        self.call("Input.insertText", text=text)

    def press_enter(self):
        """Enter in the focused field: the browser submits its form."""
        self.call("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13, text="\r")
        self.call("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)

    def text(self, selector):
        return self.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent ?? null")

    def screenshot(self, name, width=None):
        if width:
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=2, mobile=True)
            time.sleep(0.3)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        if width:
            self.call("Emulation.clearDeviceMetricsOverride")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            self.log.close()


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    opened = Browser(profile)
    try:
        yield opened
    finally:
        opened.close()


def http(method, url, body=None, cookie=None, content_type="application/json"):
    """A plain request: (status, headers, json-or-text)."""
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if body is not None and content_type:
        request.add_header("Content-Type", content_type)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode("utf-8", "replace")


def two_versions(server, key=None, name="orders"):
    """A function with versions 1 and 2 and the alias live → 1, made through the Lambda API."""
    lam = server.client("lambda", key)
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role="arn:aws:iam::123456789012:role/dash",
                        Code={"ZipFile": echo_zip("v1")}, Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=echo_zip("v2"), Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return lam


def start_canary(server, key=None, name="orders", config="CodeDeployDefault.LambdaCanary10Percent5Minutes"):
    """CreateDeployment through the CodeDeploy API: live 1 → 2 with a canary. Returns its id and the
    monotonic time just before the CreateDeployment call."""
    codedeploy = server.client("codedeploy", key)
    codedeploy.create_application(applicationName="dash", computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName="dash", deploymentGroupName="dash-live", deploymentConfigName=config, serviceRoleArn=CODEDEPLOY_ROLE,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"})
    spec = {"version": 0.0, "Resources": [{"orders": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": name, "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}]}
    began = time.monotonic()
    created = codedeploy.create_deployment(applicationName="dash", deploymentGroupName="dash-live",
                                           revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}})
    return created["deploymentId"], began


def record_latency(name, seconds):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "latency.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = round(seconds, 3)
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"dashboard latency {name}: {seconds * 1000:.0f} ms")


# --------------------------------------------------------------------------------------------
# tests


def test_canary_shows_live_and_stop_restores_the_alias(tmp_path, browser):
    server = Relctl(tmp_path)
    try:
        lam = two_versions(server)
        browser.open(server.endpoint + "/#/deployments")
        assert browser.evaluate("document.querySelector('#live').textContent") in ("live", "offline", "reconnecting…")
        browser.wait_for("document.querySelector('#live').textContent === 'live'", "the event stream to open")

        # A canary started through the CodeDeploy API appears in the open page without a reload.
        deployment_id, began = start_canary(server)
        browser.wait_for(f"document.querySelector('#deployments a[href=\"#/deployments/{deployment_id}\"]') !== null",
                         "the new deployment in the list")
        record_latency("deployment_listed_after_create", time.monotonic() - began)
        browser.wait_for("document.querySelector('#deployments')?.textContent.includes('10%')", "the canary's 10% in the list")
        record_latency("canary_weight_listed_after_create", time.monotonic() - began)

        browser.click(f"#deployments a[href=\"#/deployments/{deployment_id}\"]")
        browser.wait_for("document.querySelector('#weight')?.textContent === '10%'", "the deployment page at 10%")
        assert browser.evaluate("document.querySelector('#weight-line').getAttribute('data-points') >= 2")
        assert "InProgress" in browser.text("h1")
        layout = browser.evaluate("document.querySelectorAll('#charts figure').length")
        assert layout == 4, "invocations, errors, p50 and p99"

        # Traffic through the alias: the charts fill in while the page stays open.
        before = browser.evaluate("Number(document.querySelector('#chart-Invocations').dataset.points)")
        for index in range(12):
            response = lam.invoke(FunctionName="orders", Qualifier="live", Payload=json.dumps({"n": index}).encode())
            assert response["StatusCode"] == 200
        browser.wait_for(f"Number(document.querySelector('#chart-Invocations').dataset.points) > {before}", "invocations on the chart")
        browser.wait_for("Number(document.querySelector('#chart-p99').dataset.points) > 0", "p99 on the chart")
        updates = browser.evaluate("window.relctl.updates")
        assert updates >= 3, "the page re-rendered itself (no navigation happened)"
        browser.screenshot("deployment-canary")
        browser.screenshot("deployment-canary-phone", width=390)

        # Stop with rollback, from the page.
        browser.click("#stop")
        browser.wait_for("document.querySelector('#stop-confirm') !== null", "the stop confirmation")
        assert browser.evaluate("document.querySelector('#stop-rollback').checked") is True
        began = time.monotonic()
        browser.click("#stop-confirm")
        browser.wait_for("document.querySelector('#summary')?.dataset.status === 'Stopped'", "the page to show Stopped")
        record_latency("stopped_shown_after_click", time.monotonic() - began)
        assert browser.text("#weight") == "0%"
        assert "restored to version 1" in browser.text("#rollback-info")
        alias = lam.get_alias(FunctionName="orders", Name="live")
        assert alias["FunctionVersion"] == "1"
        assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
        assert browser.evaluate("document.querySelector('#stop') === null"), "no actions on a finished deployment"
        browser.screenshot("deployment-stopped")

        # The functions page: the gauge and the alias back on version 1 alone.
        browser.click("a[data-page='functions']")
        browser.wait_for("document.querySelector('#quota-gauge') !== null", "the functions page")
        assert "75" in browser.text("#quota-text")
        assert "live → 1" in browser.text("#functions")
        browser.screenshot("functions")
        assert browser.dialogs == [], f"script errors in the page: {browser.dialogs}"
    finally:
        server.stop()


def test_a_change_made_elsewhere_shows_within_the_stream(tmp_path, browser):
    """A second canary stopped through the API (not the page) shows in the open deployment page at once."""
    server = Relctl(tmp_path)
    try:
        two_versions(server)
        deployment_id, _ = start_canary(server)
        browser.open(server.endpoint + f"/#/deployments/{deployment_id}")
        browser.wait_for("document.querySelector('#weight')?.textContent === '10%'", "the deployment page at 10%")
        browser.wait_for("document.querySelector('#live').textContent === 'live'", "the event stream to open")
        began = time.monotonic()
        server.client("codedeploy").stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
        browser.wait_for("document.querySelector('#summary')?.dataset.status === 'Stopped'", "the stop to show")
        record_latency("stopped_shown_after_api_stop", time.monotonic() - began)
        in_page = browser.evaluate("window.relctl.lastEvent && (window.relctl.lastEvent.renderedAt - window.relctl.lastEvent.committedAt)")
        if isinstance(in_page, (int, float)):
            record_latency("event_commit_to_render", in_page / 1000)
        assert browser.text("#weight") == "0%"
    finally:
        server.stop()


def test_sign_in_read_only_and_audited_actions(tmp_path, browser):
    server = Relctl(tmp_path, auth=True)
    try:
        operator, viewer = server.keys["operator"], server.keys["viewer"]
        two_versions(server, operator)
        deployment_id, _ = start_canary(server, operator)

        # Without a session the API answers 403 and the page shows the login form.
        status, headers, body = http("GET", server.endpoint + "/dashboard/api/overview")
        assert status == 403 and headers["x-amzn-ErrorType"] == "UnrecognizedClientException", body
        browser.open(server.endpoint + f"/#/deployments/{deployment_id}")
        browser.wait_for("document.getElementById('login') !== null", "the login form")
        browser.screenshot("login")

        # A wrong secret is refused with a message; the key id alone is not enough.
        browser.type("#key", viewer["AccessKeyId"])
        browser.type("#secret", "not-the-secret")
        browser.press_enter()
        browser.wait_for("document.getElementById('login-error')?.textContent.includes('not right')", "the refusal")

        # The read-only key sees the deployment and cannot act.
        browser.evaluate("document.getElementById('secret').value = ''")
        browser.type("#secret", viewer["SecretAccessKey"])
        browser.press_enter()
        browser.wait_for("document.querySelector('#weight')?.textContent === '10%'", "the deployment page for the viewer")
        assert "read-only" in browser.text("#who")
        assert browser.evaluate("document.getElementById('stop').disabled") is True
        cookies = browser.call("Network.getCookies", urls=[server.endpoint])["cookies"]
        session = next(c for c in cookies if c["name"] == "relctl_session")
        assert session["httpOnly"] is True and session["sameSite"] == "Strict"
        assert browser.evaluate("document.cookie") == "", "scripts cannot read the session"
        cookie = f"relctl_session={session['value']}"
        status, headers, body = http("POST", server.endpoint + f"/dashboard/api/deployments/{deployment_id}/stop", {"rollback": True}, cookie)
        assert status == 403 and headers["x-amzn-ErrorType"] == "AccessDeniedException", body
        assert "read-only" in body["message"]
        # Actions only come from the page itself: no JSON type, or another origin, is refused.
        status, _, body = http("POST", server.endpoint + f"/dashboard/api/deployments/{deployment_id}/pause", {}, cookie, content_type="text/plain")
        assert status == 400, body

        # The read-write key acts, and the decision log and the alias history name it.
        browser.click("#who button")
        browser.wait_for("document.getElementById('login') !== null", "the login form after signing out")
        status, _, _ = http("GET", server.endpoint + "/dashboard/api/overview", cookie=cookie)
        assert status == 403, "signing out ends the session on the server"
        browser.type("#key", operator["AccessKeyId"])
        browser.type("#secret", operator["SecretAccessKey"])
        browser.press_enter()
        browser.wait_for("document.querySelector('#pause') !== null && !document.querySelector('#pause').disabled", "the operator's actions")
        browser.click("#pause")
        browser.wait_for("document.querySelector('#summary')?.dataset.status === 'Paused'", "Paused")
        browser.click("#resume")
        browser.wait_for("document.querySelector('#summary')?.dataset.status === 'InProgress'", "resumed")
        browser.click("#stop")
        browser.wait_for("document.querySelector('#stop-confirm') !== null", "the stop confirmation")
        browser.click("#stop-confirm")
        browser.wait_for("document.querySelector('#summary')?.dataset.status === 'Stopped'", "Stopped")
        actor = f"key:{operator['AccessKeyId']} (operator)"
        decisions = browser.text("#decisions")
        assert f"Paused by {actor}" in decisions and f"Stopped by {actor}" in decisions, decisions
        history = json.loads(server.cli("history", "orders", "live", "--output", "json"))["History"]
        assert any(entry["Actor"] == actor for entry in history), history
        alias = server.client("lambda", operator).get_alias(FunctionName="orders", Name="live")
        assert alias["FunctionVersion"] == "1" and not alias.get("RoutingConfig")
        browser.screenshot("operator-stopped")
        # A key deleted while signed in loses its session at once.
        server.cli("credentials", "delete", "operator")
        operator_cookie = next(c for c in browser.call("Network.getCookies", urls=[server.endpoint])["cookies"] if c["name"] == "relctl_session")
        status, _, _ = http("GET", server.endpoint + "/dashboard/api/overview", cookie=f"relctl_session={operator_cookie['value']}")
        assert status == 403
    finally:
        server.stop()


def test_page_is_self_contained_and_locked_down(tmp_path):
    """One HTML, one CSS, one JS, all from this server, with a strict content security policy."""
    server = Relctl(tmp_path)
    try:
        weight = 0
        for path, kind in (("/", "text/html"), ("/dashboard/dashboard.css", "text/css"), ("/dashboard/dashboard.js", "text/javascript")):
            with urllib.request.urlopen(server.endpoint + path, timeout=10) as response:
                body = response.read()
                assert response.headers["Content-Type"].startswith(kind)
                assert "default-src 'none'" in response.headers["Content-Security-Policy"]
                weight += len(body)
                assert b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"") and b"https://" not in body, f"{path} loads nothing from elsewhere"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "page-weight.txt").write_text(f"{weight}\n")
        print(f"dashboard page weight: {weight} bytes (HTML + CSS + JS, uncompressed)")
        # Without auth, only a loopback Host is answered (DNS rebinding).
        request = urllib.request.Request(server.endpoint + "/dashboard/api/overview", headers={"Host": f"evil.example:{server.port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
    finally:
        server.stop()
