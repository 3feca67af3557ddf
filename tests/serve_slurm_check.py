#!/usr/bin/env python3
"""serve_slurm_check.py: `szarc serve --executor slurm` against the local
executor (tests/cli_serve_slurm.sh, which starts the Slurm cluster).

The same requests go to a service with the local executor and to one with
--executor slurm --tasks 2 (SOURCE_DATE_EPOCH set for both: archives of the
same creation time), and:
  create   the archive written through one Slurm task is the local one, byte
           for byte, signed; the job's result is the local one
  verify   of the good archive (with its key) and of a copy with one packet
           byte flipped: the result (findings, summary) is the local one and
           what `szarc verify --json` prints, timings aside; the job's
           progress names its Slurm job, 2 tasks done
  audit    an archive registered with a policy of seconds: its quick audit
           and the 2 slices of its full audit run through Slurm (each slice
           as 2 tasks), recorded ok, the slices' members adding up; a damaged
           archive's quick audit is recorded failed with the findings of a
           local quick verify
  resubmit a task scancel'ed while it runs is submitted again (a warning event
           says so) and the result is still the local one
  cancel   DELETE of a running job: cancelled, and its Slurm job is gone
           from squeue (scancel)
Only the Python standard library. Usage: serve_slurm_check.py SZARC WORKDIR SRC
"""
import http.client
import json
import os
import subprocess
import sys
import threading

import serve_testlib
from serve_testlib import Server, check, req, wait, wait_for

SZARC, WORK, SRC = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
MODEL = os.environ["SZARC_MODEL"]
os.environ["SOURCE_DATE_EPOCH"] = "1700000000"


def server(root, state, keys, *extra):
    return Server(SZARC, WORK, MODEL, ["--state", state, "--root", root, "--keys", keys,
                                       "--jobs", "3"] + list(extra))


def run(srv, body, timeout=120):
    st, j = req(srv, "POST", "/v1/jobs", None, body)
    if st != 201:
        return {"state": "refused", "answer": (st, j)}
    return wait(srv, j["id"], None, timeout)


TIMING = ("seconds", "members_per_second", "mb_per_second")


def untimed(result):
    """A verify result without the summary's timings."""
    r = dict(result or {})
    if isinstance(r.get("summary"), dict):
        r["summary"] = {k: v for k, v in r["summary"].items() if k not in TIMING}
    return r


def damage(src, dst):
    data = bytearray(open(src, "rb").read())
    at = data.find(b"data/00000000.szg")
    data[at + 512 + 100] ^= 0x10
    open(dst, "wb").write(bytes(data))


def slow_server(root, keys, delay):
    """The Slurm executor with tasks that wait `delay` seconds first (the
    tasks' environment is the service's)."""
    os.environ["SZARC_SLURM_TASK_DELAY"] = str(delay)
    srv = server(root, os.path.join(WORK, "state-slurm"), keys, "--executor", "slurm",
                 "--tasks", "2")
    srv.start()
    del os.environ["SZARC_SLURM_TASK_DELAY"]
    return srv


def stream(srv, jid):
    """The job's events, read until the stream ends."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    c.request("GET", "/v1/jobs/%d/events" % jid)
    text = c.getresponse().read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def slurm_job(srv, jid):
    st, j = req(srv, "GET", "/v1/jobs/%d" % jid)
    return ((j.get("progress") or {}).get("slurm") or {}).get("job") if st == 200 else None


def running_task(sid):
    """The index of a running task of Slurm job sid, or None."""
    p = subprocess.run(["squeue", "-h", "-r", "-j", str(sid), "-t", "RUNNING", "-o", "%K"],
                       capture_output=True, text=True)
    ks = sorted(p.stdout.split(), key=int)
    return ks[0] if ks else None


def jobs_in_squeue():
    p = subprocess.run(["squeue", "-h", "-o", "%F"], capture_output=True, text=True)
    return set(p.stdout.split())


def main():
    root = os.path.join(WORK, "root")
    keys = os.path.join(WORK, "keys")
    for d in (root, keys, os.path.join(root, "in", "sub"), os.path.join(root, "out")):
        os.makedirs(d, exist_ok=True)
    sample = open(os.path.join(SRC, "tests/data/text/sample.txt")).read()
    open(os.path.join(root, "in/sample.txt"), "w").write(sample)
    open(os.path.join(root, "in/words.txt"), "w").write(sample[::-1][:3000])
    open(os.path.join(root, "in/sub/three.txt"), "w").write("third file 1\nthird file 2\n")
    for i in range(4):
        open(os.path.join(root, "in/sub/s%d.txt" % i), "w").write(sample[i * 500:i * 500 + 700])
    subprocess.run([SZARC, "keygen", "-q", "-o", os.path.join(keys, "k1")], check=True)
    create = {"type": "create", "inputs": [root + "/in"], "sign": "k1", "method": "model"}

    # --- the local executor: the reference
    loc = server(root, os.path.join(WORK, "state-local"), keys)
    loc.start()
    lc = run(loc, dict(create, output=root + "/out/local.szarc"))
    check("local create: done", lc["state"] == "done", lc)
    out = root + "/out/local.szarc"
    bad = root + "/out/bad.szarc"
    damage(out, bad)
    lv = run(loc, {"type": "verify", "archive": out, "pubkey": "k1"})
    lb = run(loc, {"type": "verify", "archive": bad})
    lq = run(loc, {"type": "verify", "archive": bad, "quick": True})
    check("local verify: good ok, damaged not", lv["state"] == "done" and lv["result"]["ok"] and
          lb["state"] == "done" and lb["result"]["ok"] is False, (lv, lb))
    check("local: SIGTERM, exit 0", loc.term() == 0)

    # --- the Slurm executor
    srv = server(root, os.path.join(WORK, "state-slurm"), keys, "--executor", "slurm",
                 "--tasks", "2", "--time", "5")
    srv.start()
    sc = run(srv, dict(create, output=root + "/out/slurm.szarc"))
    check("slurm create: done", sc["state"] == "done", sc)
    check("slurm create: the archive is the local one, byte for byte",
          os.path.exists(root + "/out/slurm.szarc") and
          open(root + "/out/slurm.szarc", "rb").read() == open(out, "rb").read())
    r1 = dict(lc.get("result") or {}, output=None)
    r2 = dict(sc.get("result") or {}, output=None)
    check("slurm create: the result is the local one (7 members)",
          r1 == r2 and r2.get("members") == 7, (r1, r2))
    check("slurm create: the progress names the Slurm job, 1 task done",
          (sc.get("progress") or {}).get("slurm", {}).get("tasks_done") == 1, sc.get("progress"))
    check("slurm create: no temporary file left",
          not [f for f in os.listdir(root + "/out") if "szarc-serve" in f],
          os.listdir(root + "/out"))

    sv = run(srv, {"type": "verify", "archive": out, "pubkey": "k1"})
    check("slurm verify good: done, ok", sv["state"] == "done" and sv["result"]["ok"] is True, sv)
    check("slurm verify good: the local result, timings aside",
          untimed(sv.get("result")) == untimed(lv.get("result")), (sv, lv))
    serve_testlib.same_verify(SZARC, "slurm verify good", sv.get("result"), out, "--pubkey",
                              keys + "/k1.pub")
    prog = sv.get("progress") or {}
    check("slurm verify: the progress names the Slurm job, 2 of 2 tasks done",
          prog.get("slurm", {}).get("tasks") == 2 and prog["slurm"].get("tasks_done") == 2 and
          prog["slurm"].get("job", 0) > 0 and prog.get("members") == 7, prog)
    sb = run(srv, {"type": "verify", "archive": bad})
    check("slurm verify damaged: done, not ok, a failed finding",
          sb["state"] == "done" and sb["result"]["ok"] is False and
          any(f.get("status") == "failed" for f in sb["result"]["findings"]), sb)
    check("slurm verify damaged: the local result, timings aside",
          untimed(sb.get("result")) == untimed(lb.get("result")), (sb, lb))
    serve_testlib.same_verify(SZARC, "slurm verify damaged", sb.get("result"), bad)
    # --- scheduled audits through Slurm: quick, then 2 slices of 2 tasks each
    st, j = req(srv, "POST", "/v1/archives", None,
                {"path": out, "policy": {"quick_every": 3, "full_every": 6}})
    check("audit: registered", st == 201, (st, j))
    aid = j.get("id", 0)
    st, j = req(srv, "POST", "/v1/archives", None,
                {"path": bad, "policy": {"quick_every": 600, "full_every": 600}})
    bid = j.get("id", 0)

    def full_slices():
        st, j = req(srv, "GET", "/v1/archives/%d/audits?limit=100" % aid)
        full = {}
        for x in sorted(j.get("audits", []), key=lambda x: x["id"]):
            if x["kind"] == "full" and x["state"] in ("ok", "failed"):
                full.setdefault(x["slice"], x)
        return full if len(full) == 2 else None
    full = wait_for(full_slices, 40) or {}
    check("audit: slices 1/2 and 2/2 recorded ok", sorted(full) == ["1/2", "2/2"] and
          all(x["state"] == "ok" for x in full.values()), full)
    for k, x in sorted(full.items()):
        p = subprocess.run([SZARC, "verify", "--json", "-f", out, "--device", "cpu", "--subset",
                            k], capture_output=True, text=True)
        s = [json.loads(line) for line in p.stdout.splitlines()][-1]
        check("audit: slice %s's members and bytes are verify --subset %s's" % (k, k),
              x["members"] == s["selected"] and x["bytes"] == s["bytes"], (x, s))
        st, job = req(srv, "GET", "/v1/jobs/%d" % x["job"])
        check("audit: slice %s ran through Slurm, 2 tasks" % k,
              (job.get("progress") or {}).get("slurm", {}).get("tasks") == 2, job)
    check("audit: the slices' members add up to 7", sum(x["members"] for x in full.values()) == 7,
          full)

    def failed_audit():
        st, j = req(srv, "GET", "/v1/archives/%d/audits?limit=100" % bid)
        done = [x for x in j.get("audits", []) if x["state"] in ("ok", "failed") and
                x["kind"] == "quick"]
        return done[0] if done else None
    fa = wait_for(failed_audit, 30) or {}
    check("audit of the damaged archive: recorded failed, with its findings",
          fa.get("state") == "failed" and fa.get("failures", 0) >= 1 and fa.get("findings"), fa)
    check("audit of the damaged archive: the findings of a local quick verify",
          fa.get("findings") == (lq.get("result") or {}).get("findings"), (fa, lq))
    req(srv, "DELETE", "/v1/archives/%d" % aid)
    req(srv, "DELETE", "/v1/archives/%d" % bid)
    check("slurm: SIGTERM, exit 0", srv.term() == 0)

    # --- a task killed while it runs is submitted again; the result is whole
    srv = slow_server(root, keys, 3)
    st, j = req(srv, "POST", "/v1/jobs", None, {"type": "verify", "archive": out, "pubkey": "k1"})
    rid = j["id"]
    events = []
    reader = threading.Thread(target=lambda: events.extend(stream(srv, rid)))
    reader.start()
    sid = wait_for(lambda: slurm_job(srv, rid), 20, 0.1)
    task = wait_for(lambda: running_task(sid), 20, 0.1)
    check("resubmit: a task of the Slurm job runs", task is not None, (sid, task))
    subprocess.run(["scancel", "%s_%s" % (sid, task)])
    job = wait(srv, rid, None, 60)
    reader.join(30)
    check("resubmit: the job is done, its result the local one",
          job["state"] == "done" and untimed(job.get("result")) == untimed(lv.get("result")),
          (job, lv))
    check("resubmit: a warning event says the task was submitted again",
          any(e.get("type") == "warning" and "task %d ended without finishing" % (int(task) + 1)
              in e.get("message", "") for e in events), events)
    check("resubmit: SIGTERM, exit 0", srv.term() == 0)

    # --- cancel: the running job's Slurm job is scancel'ed
    srv = slow_server(root, keys, 60)
    st, j = req(srv, "POST", "/v1/jobs", None, {"type": "verify", "archive": out})
    cid = j["id"]
    sid = wait_for(lambda: slurm_job(srv, cid), 20, 0.1)
    check("cancel: the job runs as a Slurm job", sid and str(sid) in jobs_in_squeue(),
          (sid, jobs_in_squeue()))
    st, j = req(srv, "DELETE", "/v1/jobs/%d" % cid)
    job = wait(srv, cid, None, 30)
    check("cancel: state cancelled", job["state"] == "cancelled", job)
    gone = wait_for(lambda: str(sid) not in jobs_in_squeue(), 15, 0.2)
    check("cancel: its Slurm job is gone from squeue", gone, jobs_in_squeue())
    check("cancel: SIGTERM, exit 0", srv.term() == 0)
    print(open(os.path.join(WORK, "serve.log")).read())
    return 1 if serve_testlib.failures else 0


if __name__ == "__main__":
    sys.exit(main())
