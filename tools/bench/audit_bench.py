#!/usr/bin/env python3
"""audit_bench.py: the audit throughput the schedule of `szarc serve`
sustains (docs/benchmarks.md, "Scheduled audits"; tools/bench/bench_audit.sh).

A collection of archives (the text files of folders of this source tree, one
archive per folder, coded by MODEL) is registered twice, each time with a
policy that keeps the scheduler saturated with one kind of audit:
  quick  {"quick_every": 1, "full_every": 10 years}: quick audits back to back
  full   {"quick_every": 10 years, "full_every": 2}: every archive fully
         verified again 1 s after its last full audit ended (N = 1 slice)
After the other kind's one audit at registration has ended (a quick audit
at registration; slice 1 of 1000), for SECONDS each, it counts the members and bytes the audits that ended in
that window checked (from GET /v1/archives/ID/audits) and prints them per
hour, then the arithmetic for COLLECTION_TB fully verified every 90 days.
METHOD is create's --method for the collection: auto (what create chooses
by default: the model where it wins, else zstd or stored) or model (every
member through the model: the slowest full audits).
Usage: audit_bench.py SZARC MODEL SRC WORK JOBS SECONDS METHOD
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import time

SZARC, MODEL, SRC, WORK = sys.argv[1:5]
JOBS, SECONDS, METHOD = int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
FOLDERS = ["docs", "host/engine", "host/model", "host/coder", "archive", "verify",
           "tools/serve", "tools/cli"]
TEN_YEARS = 10 * 366 * 86400


def req(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None)
    r = c.getresponse()
    t = r.read().decode()
    c.close()
    return r.status, json.loads(t)


def collection(root):
    paths, n_files, n_bytes = [], 0, 0
    for i, folder in enumerate(FOLDERS):
        src = os.path.join(SRC, folder)
        files = sorted(f for f in os.listdir(src) if f.endswith((".c", ".h", ".md")) and
                       os.path.getsize(os.path.join(src, f)) < 200000)
        dst = os.path.join(root, "c%d" % i)
        os.makedirs(dst)
        for f in files:
            data = open(os.path.join(src, f), "rb").read()
            open(os.path.join(dst, f), "wb").write(data)
            n_files += 1
            n_bytes += len(data)
        out = os.path.join(root, "c%d.szarc" % i)
        subprocess.run([SZARC, "create", "-q", "-f", out, "--model", MODEL, "--device", "cpu",
                        "--method", METHOD, "c%d" % i], cwd=root, check=True)
        paths.append(out)
    return paths, n_files, n_bytes


def phase(port, paths, policy, kind, seconds):
    ids = []
    for p in paths:
        st, j = req(port, "POST", "/v1/archives", {"path": p, "policy": policy})
        assert st == 201, j
        ids.append(j["id"])
    # the other kind runs once at the start (the quick audit at registration;
    # slice 1 of 1000): the window opens when those have ended
    end = time.time() + 600
    while time.time() < end:
        st, j = req(port, "GET", "/v1/archives")
        if all(a["last_quick"] and a["last_full"] for a in j["archives"]):
            break
        time.sleep(0.5)
    t0 = time.time()
    iso0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0))
    time.sleep(seconds)
    t1 = time.time()
    iso1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t1))
    members = nbytes = audits = failed = 0
    for i in ids:
        st, j = req(port, "GET", "/v1/archives/%d/audits?limit=1000" % i)
        for a in j["audits"]:
            if a["kind"] == kind and a["finished"] and iso0 <= a["finished"] < iso1:
                audits += 1
                members += a["members"] or 0
                nbytes += a["bytes"] or 0
                failed += a["state"] == "failed"
    for i in ids:
        req(port, "DELETE", "/v1/archives/%d" % i)
    time.sleep(3)  # the last audits end
    secs = int(t1) - int(t0)  # whole seconds, as the audits' times are
    return {"kind": kind, "seconds": secs, "audits": audits, "failed": failed,
            "members": members, "bytes": nbytes,
            "members_per_hour": members * 3600.0 / secs, "mb_per_hour": nbytes * 3600.0 / secs / 1e6}


def main():
    root = os.path.join(WORK, "root")
    os.makedirs(root)
    t = time.time()
    paths, n_files, n_bytes = collection(root)
    print("collection: %d archives, %d members, %.2f MB, --method %s (created in %.0f s)" %
          (len(paths), n_files, n_bytes / 1e6, METHOD, time.time() - t))
    pf = os.path.join(WORK, "port")
    log = open(os.path.join(WORK, "serve.log"), "wb")
    proc = subprocess.Popen([SZARC, "serve", "--listen", "127.0.0.1:0", "--state",
                             os.path.join(WORK, "state"), "--root", root, "--model", MODEL,
                             "--device", "cpu", "--jobs", str(JOBS), "--port-file", pf],
                            stdout=log, stderr=log)
    while not os.path.exists(pf):
        time.sleep(0.05)
    port = int(open(pf).read())
    rows = [phase(port, paths, {"quick_every": 1, "full_every": TEN_YEARS}, "quick", SECONDS),
            phase(port, paths, {"quick_every": TEN_YEARS, "full_every": 2}, "full", SECONDS)]
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    print("| audits | window | audits ended | failed | members | MB | members per hour | MB per hour |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d s | %d | %d | %d | %.2f | %.0f | %.1f |" %
              (r["kind"], r["seconds"], r["audits"], r["failed"], r["members"], r["bytes"] / 1e6,
               r["members_per_hour"], r["mb_per_hour"]))
    full = rows[1]["mb_per_hour"]
    per_90 = full * 24 * 90 / 1e6  # TB one device verifies in 90 days
    print("full audits: %.4f TB per device per 90 days" % per_90)
    for tb in (1, 10, 100):
        print("%d TB every 90 days: %.0f devices at this rate" % (tb, -(-tb // per_90)
                                                                   if per_90 else 0))


main()
