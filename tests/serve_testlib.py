"""serve_testlib.py: what the service's tests (serve_check.py,
serve_audit_check.py, serve_dashboard_check.py) share: the ok/FAIL lines
and their count, and a `szarc serve` started on a free loopback port
(--port-file) and stopped. Only the Python standard library."""
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
