#!/usr/bin/env python3
"""serve_audit_check.py: scheduled audits of `szarc serve` (tests/cli_serve_audit.sh).

The schedule's clock is made short by the policy itself (periods in whole
seconds): quick audits every 2-3 s, full rotations of 4 slices every 8-12 s.
Checks:
  migrate   a state database of the first service (schema version 0, jobs
            only) opens, its job is kept, and it gains the audit tables
  register  201 {id}; the --root rules (outside, "..", missing), bad policies,
            unknown fields, a read token and a second registration refused
  schedule  quick audits and every slice of the full audit run as jobs of the
            queue (origin "audit"), the slices staggered (not one burst); the
            slices' members add up to the archive's: every member verified
  failure   a damaged archive: the failed audit is recorded with its
            findings, the hook gets the finding as JSON on its stdin, the
            archive comes first in GET /v1/archives
  priority  at most --jobs - 1 audits are queued or running at once; a
            user's job starts at once while audits are due
  restart   stopped for longer than full_every: after the start, the missed
            audits are caught up (every slice again), never more than the cap
            queued or running at once (sampled every 50 ms)
  missing   an archive file gone: a failed audit with a "missing" finding;
            replaced by a link out of the roots: "forbidden-path", not read
  delete    DELETE unregisters; the history stays
  page      GET / is the dashboard with a Content-Security-Policy that loads
            nothing from elsewhere
Only the Python standard library. Usage: serve_audit_check.py SZARC WORKDIR SRC
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import serve_testlib
from serve_testlib import check, req, wait_for

SZARC, WORK, SRC = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
MODEL = os.environ["SZARC_MODEL"]



def is_error(st, j, status, code):
    return st == status and isinstance(j, dict) and j.get("error") == code


def archives(srv, tok):
    st, j = req(srv, "GET", "/v1/archives", tok)
    return j["archives"] if st == 200 else []


def history(srv, tok, aid):
    st, j = req(srv, "GET", "/v1/archives/%d/audits?limit=1000" % aid, tok)
    return j["audits"] if st == 200 else []


def make_archive(root, name, n):
    d = os.path.join(root, name)
    os.makedirs(d)
    for i in range(n):
        open(os.path.join(d, "f%02d.txt" % i), "w").write(
            "".join("%s line %d of file %d in %s\n" % ("audit" if k % 3 else "fixity", k, i,
                                                       name) for k in range(30 + 7 * i)))
    out = os.path.join(root, name + ".szarc")
    subprocess.run([SZARC, "create", "-q", "-f", out, "--model", MODEL, "--device", "cpu",
                    "--method", "model", name], cwd=root, check=True)
    return out


def old_database(state):
    """The state database as the first service (issue 15) made it."""
    os.makedirs(state)
    db = sqlite3.connect(os.path.join(state, "jobs.sqlite"))
    db.executescript(
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,"
        " state TEXT NOT NULL, request TEXT NOT NULL, result TEXT, error TEXT, progress TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, started INTEGER,"
        " finished INTEGER);"
        "CREATE INDEX jobs_state ON jobs(state, id);"
        "INSERT INTO jobs (type, state, request, result, created, finished) VALUES"
        " ('verify', 'done', '{\"type\":\"verify\",\"archive\":\"/x\"}', '{\"ok\":true}',"
        " 1700000000, 1700000001);")
    db.commit()
    db.close()


def main():
    root = os.path.join(WORK, "root")
    outside = os.path.join(WORK, "outside")
    state = os.path.join(WORK, "state")
    os.makedirs(root)
    os.makedirs(outside)
    a_path = make_archive(root, "a", 9)
    b_path = make_archive(root, "b", 6)
    c_path = make_archive(root, "c", 5)
    open(os.path.join(outside, "x.szarc"), "wb").write(open(c_path, "rb").read())
    tok = {}
    lines = []
    for role in ("read", "audit"):
        p = subprocess.run([SZARC, "serve", "token", role, "t-" + role], capture_output=True,
                           text=True, check=True)
        tok[role] = p.stdout.split("token: ")[1].split()[0]
        lines.append(p.stdout.split("line for --token-file: ")[1].strip())
    tokens = os.path.join(WORK, "tokens")
    open(tokens, "w").write("\n".join(lines) + "\n")
    hook_out = os.path.join(WORK, "hook.jsonl")
    hook = os.path.join(WORK, "hook.sh")
    open(hook, "w").write("#!/bin/sh\ncat >> '%s'\n" % hook_out)
    os.chmod(hook, 0o755)
    old_database(state)
    jobs = 3
    cap = jobs - 1
    srv = serve_testlib.Server(SZARC, WORK, MODEL, ["--state", state, "--root", root, "--token-file", tokens, "--jobs", str(jobs),
                  "--quick-every", "3", "--full-every", "12", "--audit-hook", hook])
    srv.start()
    R, A = tok["read"], tok["audit"]

    # --- the database of the first service
    st, j = req(srv, "GET", "/v1/jobs/1", R)
    check("migrate: the old job is kept", st == 200 and j["state"] == "done" and
          j["origin"] == "user", (st, j))
    st, j = req(srv, "GET", "/v1/archives", R)
    check("migrate: the registry is there, empty", st == 200 and j["archives"] == [], (st, j))
    v = sqlite3.connect(os.path.join(state, "jobs.sqlite")).execute(
        "PRAGMA user_version").fetchone()[0]
    check("migrate: the schema version is 2", v == 2, v)

    # --- registration: untrusted bodies and paths
    for name, body, status, code in [
        ("outside the roots", {"path": outside + "/x.szarc"}, 403, "forbidden-path"),
        ("through ..", {"path": root + "/../outside/x.szarc"}, 403, "forbidden-path"),
        ("missing", {"path": root + "/none.szarc"}, 400, "no-such-path"),
        ("relative", {"path": "a.szarc"}, 400, "bad-request"),
        ("a folder", {"path": root + "/a"}, 400, "bad-request"),
        ("unknown field", {"path": a_path, "hook": "rm -rf /"}, 400, "bad-request"),
        ("unknown policy field", {"path": a_path, "policy": {"every": 1}}, 400, "bad-request"),
        ("policy zero", {"path": a_path, "policy": {"quick_every": 0}}, 400, "bad-request"),
        ("policy a string", {"path": a_path, "policy": {"full_every": "90d"}}, 400,
         "bad-request"),
        ("policy negative", {"path": a_path, "policy": {"full_every": -5}}, 400, "bad-request"),
    ]:
        st, j = req(srv, "POST", "/v1/archives", A, body)
        check("register %s: %d %s" % (name, status, code), is_error(st, j, status, code),
              (st, j))
    st, j = req(srv, "POST", "/v1/archives", A, raw=b"{\"path\": ")
    check("register bad JSON: 400 bad-json", is_error(st, j, 400, "bad-json"), (st, j))
    st, j = req(srv, "POST", "/v1/archives", R, {"path": a_path})
    check("register with a read token: 403", is_error(st, j, 403, "forbidden"), (st, j))
    st, j = req(srv, "POST", "/v1/archives", None, {"path": a_path})
    check("register without a token: 401", is_error(st, j, 401, "unauthorized"), (st, j))
    check("nothing registered by the refused requests", archives(srv, R) == [])

    t0 = time.time()
    st, j = req(srv, "POST", "/v1/archives", A,
                {"path": a_path, "policy": {"quick_every": 2, "full_every": 8}})
    check("register a: 201 {id}", st == 201 and isinstance(j.get("id"), int), (st, j))
    ida = j["id"]
    st, j = req(srv, "POST", "/v1/archives", A, {"path": b_path})
    idb = j["id"]
    st, j = req(srv, "POST", "/v1/archives", A, {"path": c_path, "policy": None})
    idc = j["id"]
    st, j = req(srv, "POST", "/v1/archives", A, {"path": a_path})
    check("register a again: 409 exists", is_error(st, j, 409, "exists"), (st, j))
    lst = archives(srv, R)
    pol = {x["id"]: x["policy"] for x in lst}
    check("policies: a's own, b and c the defaults (--quick-every 3 --full-every 12)",
          pol == {ida: {"quick_every": 2, "full_every": 8},
                  idb: {"quick_every": 3, "full_every": 12},
                  idc: {"quick_every": 3, "full_every": 12}}, pol)
    check("slices: full_every / quick_every = 4 each",
          all(x["slices"] == 4 for x in lst), lst)

    # --- the schedule: quick audits and every slice, as jobs of the queue
    most = [0]

    def sample():
        st, j = req(srv, "GET", "/v1/jobs?limit=200", R)
        if st == 200:
            live = [x for x in j["jobs"] if x["origin"] == "audit" and
                    x["state"] in ("queued", "running")]
            most[0] = max(most[0], len(live))

    def covered():
        lst = archives(srv, R)
        return len(lst) == 3 and all(x["slices_verified_in_full_every"] == 4 and
                                     x["last_quick"] for x in lst) and lst
    lst = wait_for(covered, 60, sample=sample)
    check("schedule: every archive quick-audited and every slice fully verified",
          lst, archives(srv, R))
    check("schedule: all three ok", lst and all(x["status"] == "ok" for x in lst), lst)
    check("priority: at most --jobs - 1 audits queued or running at once (%d seen)" % most[0],
          0 < most[0] <= cap, most[0])
    ha = history(srv, R, ida)
    full = [x for x in ha if x["kind"] == "full" and x["state"] == "ok"]
    first4 = {}
    for x in sorted(full, key=lambda x: x["id"]):
        first4.setdefault(x["slice"], x)
    check("schedule: slices 1/4 to 4/4 of a verified",
          sorted(first4) == ["1/4", "2/4", "3/4", "4/4"], sorted(first4))
    members_a = [x for x in lst if x["id"] == ida][0]["members"] if lst else None
    check("schedule: the slices' members add up to a's 9 members (each verified once)",
          members_a == 9 and sum(x["members"] for x in first4.values()) == 9,
          (members_a, [(k, x["members"]) for k, x in first4.items()]))
    queued = sorted(x["queued"] for x in first4.values())
    check("schedule: the slices staggered, not one burst (%s .. %s)" %
          (queued[0] if queued else "", queued[-1] if queued else ""),
          len(queued) == 4 and queued[0] != queued[-1], queued)
    check("history: newest first", [x["id"] for x in ha] == sorted((x["id"] for x in ha),
                                                                 reverse=True))
    st, j = req(srv, "GET", "/v1/jobs?limit=200", R)
    aj = [x for x in j["jobs"] if x["origin"] == "audit"]
    check("audit jobs are jobs of the queue: verify jobs, origin audit",
          aj and all(x["type"] == "verify" for x in aj), j)
    st, job = req(srv, "GET", "/v1/jobs/%d" % full[0]["job"], R)
    check("an audit's job names its audit and its subset",
          st == 200 and job["request"].get("audit", {}).get("archive") == ida and
          job["request"].get("subset") == full[0]["slice"], job)
    quick = [x for x in ha if x["kind"] == "quick" and x["state"] == "ok"]
    check("quick audits repeat (%d of a so far)" % len(quick), len(quick) >= 2, ha)
    st, j = req(srv, "GET", "/v1/audits/daily?days=7", R)
    check("daily: today's members verified counted",
          st == 200 and j["daily"] and j["daily"][-1]["members_full"] >= 9 + 6 + 5, j)

    # --- priority: a user's job starts at once while audits are due
    st, j = req(srv, "POST", "/v1/jobs", A, {"type": "verify", "archive": b_path})
    uid = j["id"]
    u = wait_for(lambda: (lambda r: r[1] if r[1].get("state") == "done" else None)(
        req(srv, "GET", "/v1/jobs/%d" % uid, R)), 60)
    check("priority: the user's job ran, origin user", u and u["origin"] == "user", u)
    if u:
        wait = (time.mktime(time.strptime(u["started"], "%Y-%m-%dT%H:%M:%SZ")) -
                time.mktime(time.strptime(u["created"], "%Y-%m-%dT%H:%M:%SZ")))
        check("priority: it started within 2 s of its request (%.0f s)" % wait, wait <= 2, u)

    # --- failure: damage a, wait for the audit
    data = bytearray(open(a_path, "rb").read())
    at = data.find(b"data/00000000.szg")
    data[at + 512 + 100] ^= 0x10
    open(a_path, "wb").write(bytes(data))
    t_damage = time.time()

    def failed():
        lst = archives(srv, R)
        return lst and lst[0]["status"] == "failed" and lst
    lst = wait_for(failed, 30)
    check("failure: the damaged archive comes first, status failed",
          lst and lst[0]["id"] == ida, archives(srv, R))
    ha = history(srv, R, ida)
    bad = [x for x in ha if x["state"] == "failed"]
    check("failure: the audit recorded, with failures and every finding",
          bad and bad[0]["failures"] >= 1 and bad[0]["findings"], ha[:3])
    hooked = wait_for(lambda: os.path.exists(hook_out) and open(hook_out).read().strip(), 10)
    got = [json.loads(l) for l in (hooked or "").splitlines()]
    check("failure: the hook got the finding as JSON on its stdin",
          got and got[0]["event"] == "audit-failed" and got[0]["archive"]["id"] == ida and
          got[0]["archive"]["path"] == a_path and got[0]["audit"]["findings"], hooked)
    st, met = req(srv, "GET", "/metrics", R)
    check("failure: /metrics counts the failed archive and its failed audits",
          st == 200 and 'szarc_archives{status="failed"} 1\n' in met and
          'szarc_archives{status="ok"} 2\n' in met and
          'szarc_audits{kind="quick",state="ok"}' in met and "szarc_audit_slices_overdue 0\n" in met,
          met)
    check("failure: seen within %.0f s of the damage" % (time.time() - t_damage),
          time.time() - t_damage < 30)

    # --- restart: down longer than full_every, then a catch-up without a herd
    check("SIGTERM: exit 0", srv.term() == 0)
    time.sleep(9)  # every quick audit and every slice of a (full_every 8) overdue
    t_start = time.time()
    srv.start()
    most[0] = 0
    restart_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start - 1))

    def caught_up():
        ha = history(srv, R, ida)
        after = [x for x in ha if x["queued"] >= restart_iso and x["kind"] == "full" and
                 x["state"] in ("ok", "failed")]
        return len({x["slice"] for x in after}) == 4 and after
    after = wait_for(caught_up, 60, poll=0.05, sample=sample)
    check("restart: every slice of a verified again after the start", after,
          history(srv, R, ida)[:10])
    check("restart: never more than %d audits queued or running (%d seen)" % (cap, most[0]),
          0 < most[0] <= cap, most[0])
    allq = [x for aid in (ida, idb, idc) for x in history(srv, R, aid)
            if x["queued"] >= restart_iso]
    check("restart: the catch-up was more audits (%d) than run at once (%d)" % (len(allq), cap),
          len(allq) > 2 * cap, allq)
    lst = archives(srv, R)
    check("restart: a still failed and first", lst and lst[0]["id"] == ida and
          lst[0]["status"] == "failed", lst)
    def none_overdue():
        st, met = req(srv, "GET", "/metrics", R)
        return "szarc_audit_slices_overdue 0\n" in met
    check("restart: the catch-up ends with no slice of any archive overdue",
          wait_for(none_overdue, 40, sample=sample), req(srv, "GET", "/metrics", R))
    check("restart: still never more than %d audits queued or running (%d seen)" %
          (cap, most[0]), most[0] <= cap, most[0])

    # --- a file gone: the audit fails without a job, with a "missing" finding
    os.rename(b_path, b_path + ".moved")

    def b_missing():
        for x in history(srv, R, idb):
            if x["state"] == "failed":
                return x
    m = wait_for(b_missing, 20)
    check("missing: the audit of a vanished archive fails, check missing, no job",
          m and m["job"] is None and m["findings"] and m["findings"][0]["check"] == "missing",
          m)
    os.rename(b_path + ".moved", b_path)

    # --- replaced by a symbolic link out of the roots: failed, not read
    os.rename(b_path, b_path + ".orig")
    os.symlink(outside + "/x.szarc", b_path)
    seen = {x["id"] for x in history(srv, R, idb)}

    def b_out():
        for x in history(srv, R, idb):
            if x["id"] not in seen and x["state"] == "failed":
                return x
    m = wait_for(b_out, 20)
    check("link out: the audit fails, check forbidden-path, no job reads it",
          m and m["job"] is None and m["findings"][0]["check"] == "forbidden-path", m)
    os.unlink(b_path)
    os.rename(b_path + ".orig", b_path)

    # --- delete: unregistered, the history stays
    n_hist = len(history(srv, R, idc))
    st, j = req(srv, "DELETE", "/v1/archives/%d" % idc, R)
    check("delete with a read token: 403", is_error(st, j, 403, "forbidden"), (st, j))
    st, j = req(srv, "DELETE", "/v1/archives/%d" % idc, A)
    check("delete: 200", st == 200 and j.get("unregistered") is True, (st, j))
    check("delete: gone from the list", idc not in [x["id"] for x in archives(srv, R)])
    check("delete: the history stays", len(history(srv, R, idc)) >= n_hist > 0)
    st, j = req(srv, "DELETE", "/v1/archives/%d" % idc, A)
    check("delete again: 404", is_error(st, j, 404, "not-found"), (st, j))
    st, j = req(srv, "GET", "/v1/archives/999/audits", R)
    check("history of no archive: 404", is_error(st, j, 404, "not-found"), (st, j))
    st, j = req(srv, "POST", "/v1/archives", A, {"path": c_path})
    check("register c again after delete: 201", st == 201, (st, j))

    # --- the page
    st, page, hs = req(srv, "GET", "/", headers=True)
    csp = hs.get("Content-Security-Policy", "")
    check("page: 200 text/html without a token",
          st == 200 and hs.get("Content-Type", "").startswith("text/html"), (st, hs))
    check("page: the CSP forbids loads from elsewhere",
          "default-src 'none'" in csp and "connect-src 'self'" in csp and "http" not in csp, csp)
    import base64, hashlib
    def sha(tag):
        body = page.split("<%s>" % tag, 1)[1].split("</%s>" % tag, 1)[0]
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    check("page: the CSP lets run only the page's own script and style, by their sha256",
          isinstance(page, str) and "script-src %s;" % sha("script") in csp and
          "style-src %s;" % sha("style") in csp and "unsafe" not in csp, csp)
    check("page: no external src or href",
          isinstance(page, str) and "src=\"http" not in page and "href=\"http" not in page and
          "<link" not in page and "@import" not in page)
    check("SIGTERM: exit 0 again", srv.term() == 0)
    log = open(os.path.join(WORK, "serve.log")).read()
    check("no sanitizer report in the log", "Sanitizer" not in log and "runtime error" not in log,
          log[-3000:])
    print("%d failure(s); %.0f s" % (serve_testlib.failures, time.time() - t0))
    sys.exit(1 if serve_testlib.failures else 0)


main()
