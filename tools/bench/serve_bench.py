#!/usr/bin/env python3
"""serve_bench.py: measures `szarc serve` (docs/benchmarks.md, "The service").

  serve_bench.py batch SZARC MODEL [N...]   (default N: 1 4 16)
      N verify jobs of a model-coded archive: in a row (the service with
      --jobs 1: one job at a time on the resident engine), and at once (the
      service with --jobs N: every job a seat, their forward passes joined).
      Also N `szarc verify` commands in a row. Every job's findings and
      summary must be those of `szarc verify --json` (timings aside).
  serve_bench.py load SZARC MODEL [CLIENTS] [JOBS] [SECONDS]   (default 200 8 60)
      CLIENTS threads poll job status (and /healthz) on keep-alive
      connections while JOBS verify jobs run; stops when the jobs are done
      or after SECONDS, and after at most 1000 requests per client. Prints
      the latency p50 and p99 and the failed requests.

Runs on loopback, --device cpu, in a temporary folder it removes. Only the
Python standard library.
"""
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TIMING = ("seconds", "members_per_second", "mb_per_second")


def text(seed, size):
    """Prose-like text: runs of words of the README, shuffled by seed."""
    src = open(os.path.join(os.path.dirname(__file__), "../../README.md")).read().split()
    r = random.Random(seed)
    out, n = [], 0
    while n < size:
        k = r.randrange(len(src) - 12)
        line = " ".join(src[k:k + 12])
        out.append(line)
        n += len(line) + 1
    return "\n".join(out) + "\n"


class Service:
    def __init__(self, szarc, model, work, jobs):
        self.work = work
        state = os.path.join(work, "state-%d-%f" % (jobs, time.time()))
        pf = os.path.join(work, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.log = open(os.path.join(work, "serve.log"), "ab")
        self.p = subprocess.Popen([szarc, "serve", "--listen", "127.0.0.1:0", "--state", state,
                                   "--root", work, "--model", model, "--device", "cpu",
                                   "--jobs", str(jobs), "--port-file", pf],
                                  stdout=self.log, stderr=self.log)
        for _ in range(600):
            if os.path.exists(pf):
                self.port = int(open(pf).read())
                return
            time.sleep(0.05)
        raise SystemExit("the service did not start: " + open(os.path.join(work, "serve.log")).read())

    def req(self, method, path, body=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"} if body is not None else {})
        r = c.getresponse()
        data = r.read()
        if not conn:
            c.close()
        return r.status, json.loads(data) if data.startswith(b"{") else data.decode()

    def wait(self, ids, timeout=3600):
        end = time.time() + timeout
        jobs = {}
        while len(jobs) < len(ids) and time.time() < end:
            for i in ids:
                if i in jobs:
                    continue
                st, j = self.req("GET", "/v1/jobs/%d" % i)
                if j["state"] in ("done", "failed", "cancelled"):
                    jobs[i] = j
            time.sleep(0.05)
        return [jobs.get(i) for i in ids]

    def metrics(self):
        st, m = self.req("GET", "/metrics")
        out = {}
        for line in m.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                k, v = line.split()
                out[k] = float(v)
        return out

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=120)


def cli_verify(szarc, archive):
    p = subprocess.run([szarc, "verify", "--json", "-f", archive, "--device", "cpu"],
                       capture_output=True, text=True)
    objs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    findings = [o for o in objs if o["type"] == "archive" or
                (o["type"] == "member" and (o["status"] != "ok" or o["findings"]))]
    summary = [o for o in objs if o["type"] == "summary"][0]
    return findings, {k: v for k, v in summary.items() if k not in TIMING}


def batch(szarc, model, ns):
    work = tempfile.mkdtemp(prefix="szarc-serve-bench-")
    os.environ["SZARC_MODEL"] = model
    try:
        os.makedirs(os.path.join(work, "in"))
        open(os.path.join(work, "in/text.txt"), "w").write(text(1, 12000))
        arc = os.path.join(work, "a.szarc")
        subprocess.run([szarc, "create", "-q", "-f", arc, "--model", model, "--device", "cpu",
                        "--method", "model", "in/text.txt"], cwd=work, check=True)
        want = cli_verify(szarc, arc)
        nmax = max(ns)
        for i in range(nmax):
            shutil.copy(arc, os.path.join(work, "a%d.szarc" % i))
        print("| N | `szarc verify` in a row | service, one job at a time | service, N at once | "
              "speed-up | rows per pass | jobs per pass | identical to the CLI |")
        print("|---|---|---|---|---|---|---|---|")
        for n in ns:
            t0 = time.time()
            for i in range(n):
                subprocess.run([szarc, "verify", "-q", "-f", os.path.join(work, "a%d.szarc" % i),
                                "--device", "cpu"], check=True, capture_output=True)
            t_cli = time.time() - t0
            res = {}
            for jobs in (1, n):
                s = Service(szarc, model, work, jobs)
                t0 = time.time()
                ids = [s.req("POST", "/v1/jobs", {"type": "verify", "archive":
                                                   os.path.join(work, "a%d.szarc" % i)})[1]["id"]
                       for i in range(n)]
                done = s.wait(ids)
                res[jobs] = (time.time() - t0, s.metrics(), done)
                s.stop()
            same = True
            for j in res[1][2] + res[n][2]:
                r = j and j.get("result")
                summ = {k: v for k, v in (r or {}).get("summary", {}).items() if k not in TIMING}
                summ.pop("archive", None)
                w = dict(want[1])
                w.pop("archive", None)
                same &= bool(r) and r["findings"] == want[0] and summ == w
            m = res[n][1]
            passes = m.get("szarc_forward_passes_total", 0)
            print("| %d | %.2f s | %.2f s | %.2f s | %.2fx | %.1f | %.2f | %s |" % (
                n, t_cli, res[1][0], res[n][0], res[1][0] / res[n][0],
                m.get("szarc_forward_rows_total", 0) / passes if passes else 0,
                m.get("szarc_forward_calls_total", 0) / passes if passes else 0,
                "yes" if same else "NO"))
            sys.stdout.flush()
            if not same:
                return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load(szarc, model, clients, njobs, seconds):
    work = tempfile.mkdtemp(prefix="szarc-serve-load-")
    os.environ["SZARC_MODEL"] = model
    try:
        os.makedirs(os.path.join(work, "in"))
        open(os.path.join(work, "in/text.txt"), "w").write(text(2, 12000))
        arc = os.path.join(work, "a.szarc")
        subprocess.run([szarc, "create", "-q", "-f", arc, "--model", model, "--device", "cpu",
                        "--method", "model", "in/text.txt"], cwd=work, check=True)
        s = Service(szarc, model, work, njobs)
        ids = [s.req("POST", "/v1/jobs", {"type": "verify", "archive": arc})[1]["id"]
               for _ in range(njobs)]
        lat, failed, lock = [], [0], threading.Lock()
        stop = threading.Event()

        def client(k):
            r = random.Random(k)
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            mine = []
            for q in range(1000):
                if stop.is_set():
                    break
                path = "/healthz" if q % 10 == 0 else "/v1/jobs/%d" % r.choice(ids)
                t0 = time.perf_counter()
                try:
                    c.request("GET", path)
                    resp = c.getresponse()
                    resp.read()
                    ok = resp.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                mine.append(time.perf_counter() - t0)
                if not ok:
                    with lock:
                        failed[0] += 1
                time.sleep(r.uniform(0.05, 0.15))
            c.close()
            with lock:
                lat.extend(mine)

        t0 = time.time()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        done = None
        while time.time() - t0 < seconds:
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            states = [s.req("GET", "/v1/jobs/%d" % i, conn=c)[1]["state"] for i in ids]
            c.close()
            if all(x == "done" for x in states):
                done = time.time() - t0
                break
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join()
        s.stop()
        lat.sort()
        n = len(lat)
        print("| clients | verify jobs | requests | failed | p50 | p99 | max | jobs done in |")
        print("|---|---|---|---|---|---|---|---|")
        print("| %d | %d | %d | %d | %.1f ms | %.1f ms | %.1f ms | %s |" % (
            clients, njobs, n, failed[0], 1000 * lat[n // 2], 1000 * lat[min(n - 1, n * 99 // 100)],
            1000 * lat[-1], "%.1f s" % done if done else "not within %d s" % seconds))
        return 1 if failed[0] else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("batch", "load"):
        print(__doc__)
        return 2
    szarc, model = os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    if sys.argv[1] == "batch":
        return batch(szarc, model, [int(x) for x in sys.argv[4:]] or [1, 4, 16])
    a = [int(x) for x in sys.argv[4:]] + [200, 8, 60][len(sys.argv) - 4:]
    return load(szarc, model, a[0], a[1], a[2])


if __name__ == "__main__":
    sys.exit(main())
