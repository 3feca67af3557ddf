"""serve_testlib.py: what the service's tests (serve_check.py,
serve_audit_check.py, serve_dashboard_check.py, serve_slurm_check.py)
share: the ok/FAIL lines and their count, a `szarc serve` started on a free
loopback port (--port-file) and stopped, requests, waiting for a job, and a
verify result compared with `szarc verify --json`. Only the Python
standard library."""
import http.client
import json
import os
import signal
import subprocess
import time

failures = 0


def check(name, cond, detail=""):
    """Prints "ok   NAME" or "FAIL NAME: DETAIL"; a failure is counted."""
    global failures
    if cond:
        print("ok   " + name)
    else:
        failures += 1
        print("FAIL " + name + (": " + str(detail)[:3000] if detail else ""))


class Server:
    """szarc serve on 127.0.0.1, C reference, the test model, plus args;
    its log is WORK/serve.log, its port read from WORK/port."""

    def __init__(self, szarc, work, model, args):
        self.work = work
        self.args = [szarc, "serve", "--listen", "127.0.0.1:0", "--model", model, "--device",
                     "cpu", "--port-file", os.path.join(work, "port")] + args
        self.proc = None
        self.port = None

    def start(self):
        pf = os.path.join(self.work, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        log = open(os.path.join(self.work, "serve.log"), "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=log)
        for _ in range(400):
            if os.path.exists(pf):
                self.port = int(open(pf).read())
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("FAIL the service did not start: " +
                         open(os.path.join(self.work, "serve.log")).read())

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def req(srv, method, path, token=None, body=None, raw=None, headers=False):
    """(status, JSON or text[, headers]) of one request to the service."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    h = {}
    if token:
        h["Authorization"] = "Bearer " + token
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode()
    hs = dict(r.getheaders())
    c.close()
    try:
        out = json.loads(text)
    except ValueError:
        out = text
    return (r.status, out, hs) if headers else (r.status, out)


def wait(srv, jid, token, timeout=120):
    """The job once it ended (done, failed, cancelled), or {state: timeout}."""
    end = time.time() + timeout
    while time.time() < end:
        st, j = req(srv, "GET", "/v1/jobs/%d" % jid, token)
        if st == 200 and j["state"] in ("done", "failed", "cancelled"):
            return j
        time.sleep(0.1)
    return {"state": "timeout", "id": jid}


def wait_for(what, timeout, poll=0.25, sample=None):
    """what()'s first true value within timeout seconds, or None."""
    end = time.time() + timeout
    while time.time() < end:
        if sample:
            sample()
        v = what()
        if v:
            return v
        time.sleep(poll)
    return None


def cli_verify(szarc, archive, *extra):
    """What `szarc verify --json` prints: the objects a service result holds
    (archive findings, members that failed or have findings) and the summary."""
    p = subprocess.run([szarc, "verify", "--json", "-f", archive, "--device", "cpu"] +
                       list(extra), capture_output=True, text=True)
    objs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    findings = [o for o in objs if o["type"] == "archive" or
                (o["type"] == "member" and (o["status"] != "ok" or o["findings"]))]
    summary = [o for o in objs if o["type"] == "summary"]
    return findings, summary[0] if summary else None


TIMING = ("seconds", "members_per_second", "mb_per_second")


def same_verify(szarc, name, result, archive, *extra):
    """Checks a verify job's result against `szarc verify --json`, timings aside."""
    findings, summary = cli_verify(szarc, archive, *extra)
    check(name + ": findings identical to szarc verify --json",
          result and result["findings"] == findings,
          "service %s\ncli %s" % (result and result["findings"], findings))
    s1 = {k: v for k, v in (result or {}).get("summary", {}).items() if k not in TIMING}
    s2 = {k: v for k, v in (summary or {}).items() if k not in TIMING}
    check(name + ": summary identical (timings aside)", s1 == s2, "%s\n%s" % (s1, s2))
