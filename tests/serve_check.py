#!/usr/bin/env python3
"""serve_check.py: drives `szarc serve` for real over HTTP (tests/cli_serve.sh).

Starts the service on a free loopback port (--listen 127.0.0.1:0, the port
read from --port-file) with tokens, keys and one --root, and checks:
  auth     401 without or with a wrong token, 403 for a role that may not,
           /healthz open; errors are JSON {error, message}
  create   a signed archive of model-coded files; it lists with tar
  verify   of the good archive and of a copy with one packet byte flipped:
           "ok" and the findings are exactly what `szarc verify --json`
           prints for the same archive (timings aside)
  extract  the files come back byte for byte
  limits   paths outside the root (absolute elsewhere, "..", a symbolic link
           out) get 403 and create nothing; bad JSON, unknown fields and a
           body over the limit get 400, 400 and 413
  cancel   DELETE of a running job: state cancelled
  events   the event stream of a job ends with its final state
  list     GET /v1/jobs, newest first, with paging; /metrics names
  restart  kill -9 while jobs run (verify and create), start again: every
           job ends done, none lost, no temporary archive left behind
  drain    SIGTERM: exit 0, and the jobs it stopped are queued again
Only the Python standard library. Usage: serve_check.py SZARC WORKDIR SRC
"""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import http.client

import serve_testlib
from serve_testlib import Server, check, req, wait

SZARC, WORK, SRC = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
MODEL = os.environ["SZARC_MODEL"]



def server(root, state, tokens, keys, jobs=4):
    return Server(SZARC, WORK, MODEL, ["--state", state, "--root", root, "--token-file", tokens,
                                       "--keys", keys, "--jobs", str(jobs)])


def is_error(st, j, status, code):
    return st == status and isinstance(j, dict) and j.get("error") == code and "message" in j


def words_text(seed, lines):
    r = random.Random(seed)
    w = ("archive promise stranger decades machine design picture plain text outlives "
         "readers audit fixity model coder range signature manifest member packet group "
         "stream token device forward pass batch").split()
    return "\n".join(" ".join(r.choice(w) for _ in range(r.randint(5, 14))) +
                     " %d." % r.randint(0, 99999) for _ in range(lines)) + "\n"


def main():
    root = os.path.join(WORK, "root")
    outside = os.path.join(WORK, "outside")
    keys = os.path.join(WORK, "keys")
    state = os.path.join(WORK, "state")
    for d in (root, outside, keys, os.path.join(root, "in"), os.path.join(root, "out"),
              os.path.join(root, "slow")):
        os.makedirs(d, exist_ok=True)
    files = {"in/sample.txt": open(os.path.join(SRC, "tests/data/text/sample.txt")).read(),
             "in/words.txt": words_text(1, 60),
             "in/sub/three.txt": "third file 1\nthird file 2\n"}
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        open(os.path.join(root, rel), "w").write(text)
    open(os.path.join(outside, "secret.txt"), "w").write("not yours\n")
    os.symlink(outside, os.path.join(root, "escape"))
    subprocess.run([SZARC, "keygen", "-q", "-o", os.path.join(keys, "k1")], check=True)
    # a slower archive (about a second of verify on the C reference)
    open(os.path.join(root, "slow/words.txt"), "w").write(words_text(2, 500))
    slow = os.path.join(root, "slow.szarc")
    subprocess.run([SZARC, "create", "-q", "-f", slow, "--model", MODEL, "--device", "cpu",
                    "--method", "model", "--format", "2",
                    "slow/words.txt"], cwd=root, check=True)

    tok = {}
    lines = []
    for role in ("read", "audit", "admin"):
        p = subprocess.run([SZARC, "serve", "token", role, "t-" + role], capture_output=True,
                           text=True, check=True)
        tok[role] = p.stdout.split("token: ")[1].split()[0]
        lines.append(p.stdout.split("line for --token-file: ")[1].strip())
    check("serve token: the line holds the token's sha256",
          hashlib.sha256(tok["read"].encode()).hexdigest() in lines[0])
    tokens = os.path.join(WORK, "tokens")
    open(tokens, "w").write("# ROLE SHA256 NAME\n" + "\n".join(lines) + "\n")

    srv = server(root, state, tokens, keys)
    srv.start()

    # --- auth
    st, j = req(srv, "GET", "/healthz")
    check("healthz without a token: 200", st == 200 and j["status"] == "ok", (st, j))
    st, j = req(srv, "GET", "/v1/jobs")
    check("no token: 401 unauthorized", is_error(st, j, 401, "unauthorized"), (st, j))
    st, j = req(srv, "GET", "/v1/jobs", "0" * 64)
    check("a wrong token: 401", is_error(st, j, 401, "unauthorized"), (st, j))
    st, j = req(srv, "POST", "/v1/jobs", tok["read"], {"type": "verify", "archive": slow})
    check("read may not verify: 403", is_error(st, j, 403, "forbidden"), (st, j))
    st, j = req(srv, "POST", "/v1/jobs", tok["audit"],
                {"type": "create", "inputs": [root + "/in"], "output": root + "/x.szarc"})
    check("audit may not create: 403", is_error(st, j, 403, "forbidden"), (st, j))
    st, j = req(srv, "GET", "/v1/nothing", tok["read"])
    check("unknown route: 404 not-found", is_error(st, j, 404, "not-found"), (st, j))
    st, j = req(srv, "PUT", "/v1/jobs", tok["admin"])
    check("wrong method: 405", is_error(st, j, 405, "method-not-allowed"), (st, j))

    # --- create, signed, model-coded
    out = root + "/out/docs.szarc"
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"],
                {"type": "create", "inputs": [root + "/in"], "output": out, "sign": "k1",
                 "method": "model"})
    check("create: 201 and an id", st == 201 and isinstance(j.get("id"), int), (st, j))
    job = wait(srv, j["id"], tok["read"])
    check("create: done", job["state"] == "done", job)
    check("create: 3 members", job.get("result", {}).get("members") == 3, job)
    tl = subprocess.run(["tar", "-tf", out], capture_output=True, text=True)
    check("create: the archive lists with tar", tl.returncode == 0 and "szarc/signature" in
          tl.stdout, tl.stdout + tl.stderr)
    check("create: no temporary file left",
          not [f for f in os.listdir(root + "/out") if "szarc-serve" in f], os.listdir(root + "/out"))

    # --- verify, good and damaged, against the command line
    st, j = req(srv, "POST", "/v1/jobs", tok["audit"],
                {"type": "verify", "archive": out, "pubkey": "k1"})
    job = wait(srv, j["id"], tok["read"])
    check("verify good: done, ok", job["state"] == "done" and job["result"]["ok"] is True, job)
    check("verify good: the model ran", job["result"]["summary"]["device"] is not None, job)
    serve_testlib.same_verify(SZARC, "verify good", job.get("result"), out, "--pubkey",
                              keys + "/k1.pub")
    data = bytearray(open(out, "rb").read())
    at = data.find(b"data/00000000.szg")
    data[at + 512 + 100] ^= 0x10
    bad = root + "/out/bad.szarc"
    open(bad, "wb").write(bytes(data))
    st, j = req(srv, "POST", "/v1/jobs", tok["audit"], {"type": "verify", "archive": bad})
    job = wait(srv, j["id"], tok["read"])
    check("verify damaged: done, not ok", job["state"] == "done" and job["result"]["ok"] is False,
          job)
    check("verify damaged: a failed finding",
          any(f.get("status") == "failed" for f in job["result"]["findings"]), job)
    serve_testlib.same_verify(SZARC, "verify damaged", job.get("result"), bad)

    # --- extract
    dest = root + "/x"
    os.makedirs(dest)
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"],
                {"type": "extract", "archive": out, "destination": dest})
    job = wait(srv, j["id"], tok["read"])
    check("extract: done, 3 written", job["state"] == "done" and job["result"]["written"] == 3,
          job)
    same = all(open(dest + root + "/" + rel).read() == text for rel, text in files.items())
    check("extract: every file byte for byte", same)

    # --- paths and limits
    before = sorted(os.listdir(outside))
    for name, body in [
        ("verify /etc/passwd", {"type": "verify", "archive": "/etc/passwd"}),
        ("verify through ..", {"type": "verify", "archive": root + "/../outside/secret.txt"}),
        ("verify through a symlink out", {"type": "verify",
                                         "archive": root + "/escape/secret.txt"}),
        ("create output outside", {"type": "create", "inputs": [root + "/in"],
                                   "output": outside + "/new.szarc"}),
        ("create input outside", {"type": "create", "inputs": [outside + "/secret.txt"],
                                  "output": root + "/out/new.szarc"}),
        ("create output through a symlink", {"type": "create", "inputs": [root + "/in"],
                                            "output": root + "/escape/new.szarc"}),
        ("extract into a folder outside", {"type": "extract", "archive": out,
                                           "destination": outside}),
    ]:
        st, j = req(srv, "POST", "/v1/jobs", tok["admin"], body)
        check("outside the roots: %s: 403" % name, is_error(st, j, 403, "forbidden-path"), (st, j))
    check("outside the roots: nothing written", sorted(os.listdir(outside)) == before and
          not os.path.exists(root + "/out/new.szarc"))
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"], raw=b"{not json")
    check("bad JSON: 400 bad-json", is_error(st, j, 400, "bad-json"), (st, j))
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"], {"type": "verify", "archive": out,
                                                         "rm": "-rf"})
    check("unknown field: 400", is_error(st, j, 400, "bad-request"), (st, j))
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"], {"type": "verify", "archive": "rel.szarc"})
    check("relative path: 400", is_error(st, j, 400, "bad-request"), (st, j))
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"], raw=b" " * (70 << 10) + b"{}")
    check("body over 64 KiB: 413", is_error(st, j, 413, "too-large"), (st, j))
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"], {"type": "verify", "archive": out,
                                                         "pubkey": "../k1"})
    check("a key name with a path: 400", st == 400, (st, j))

    # --- cancel a running job; its events end with the state
    st, j = req(srv, "POST", "/v1/jobs", tok["audit"], {"type": "verify", "archive": slow})
    cid = j["id"]
    for _ in range(100):
        st, jj = req(srv, "GET", "/v1/jobs/%d" % cid, tok["read"])
        if jj["state"] == "running":
            break
        time.sleep(0.02)
    st, j = req(srv, "DELETE", "/v1/jobs/%d" % cid, tok["audit"])
    check("cancel: 202", st == 202, (st, j))
    job = wait(srv, cid, tok["read"])
    check("cancel: state cancelled", job["state"] == "cancelled", job)
    st, j = req(srv, "DELETE", "/v1/jobs/%d" % cid, tok["audit"])
    check("cancel an ended job: 409", is_error(st, j, 409, "finished"), (st, j))
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    c.request("GET", "/v1/jobs/%d/events" % cid, headers={"Authorization": "Bearer " + tok["read"]})
    r = c.getresponse()
    ev = [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
    check("events of an ended job: its state", ev and ev[-1] == {"type": "state",
                                                                  "state": "cancelled"}, ev)
    # a live stream: progress and members, then the final state
    st, j = req(srv, "POST", "/v1/jobs", tok["audit"], {"type": "verify", "archive": out})
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    c.request("GET", "/v1/jobs/%d/events" % j["id"],
              headers={"Authorization": "Bearer " + tok["read"]})
    r = c.getresponse()
    ev = [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
    check("events of a live job: members, then done",
          ev and ev[-1] == {"type": "state", "state": "done"} and
          sum(1 for e in ev if e["type"] == "member") in (0, 3), ev)

    # --- list, paging, metrics
    st, j = req(srv, "GET", "/v1/jobs?limit=2", tok["read"])
    ids = [x["id"] for x in j["jobs"]]
    check("list: newest first, 2 a page", st == 200 and len(ids) == 2 and ids[0] > ids[1] and
          j["next"], (st, j))
    st, j2 = req(srv, "GET", "/v1/jobs?limit=2&before=%d" % j["next"], tok["read"])
    check("list: the next page follows", st == 200 and j2["jobs"] and
          j2["jobs"][0]["id"] < ids[1], (st, j2))
    st, m = req(srv, "GET", "/metrics", tok["read"])
    names = ["szarc_jobs{state=\"done\"}", "szarc_queue_depth", "szarc_forward_passes_total",
             "szarc_rows_per_pass", "szarc_tokens_per_second", "szarc_bytes_processed_total",
             "szarc_members_processed_total", "szarc_failures_found_total"]
    check("metrics: the names", st == 200 and all(n in m for n in names), m)
    passes = [l for l in m.splitlines() if l.startswith("szarc_forward_passes_total ")]
    check("metrics: forward passes counted", passes and int(passes[0].split()[1]) > 0, passes)

    # --- kill -9 while jobs run, then start again
    ids = []
    for i in range(6):
        st, j = req(srv, "POST", "/v1/jobs", tok["audit"], {"type": "verify", "archive": slow})
        ids.append(j["id"])
    cout = root + "/out/again.szarc"
    st, j = req(srv, "POST", "/v1/jobs", tok["admin"],
                {"type": "create", "inputs": [root + "/slow"], "output": cout,
                 "method": "model"})
    ids.append(j["id"])
    time.sleep(0.6)
    st, j = req(srv, "GET", "/v1/jobs?limit=50", tok["read"])
    running = [x["id"] for x in j["jobs"] if x["state"] == "running"]
    check("kill -9: jobs were running", running, j)
    srv.kill9()
    srv.start()
    jobs = [wait(srv, i, tok["read"], 300) for i in ids]
    check("restart: every job done", all(x["state"] == "done" for x in jobs),
          [(x["id"], x["state"]) for x in jobs])
    # (one that ended in the instant between the list and the kill ran once)
    check("restart: the jobs that were running were run again",
          any(x.get("attempts", 0) >= 2 for x in jobs if x["id"] in running),
          [(x["id"], x.get("attempts")) for x in jobs])
    check("restart: the verify jobs found the archive good",
          all(x["result"]["ok"] for x in jobs if x["type"] == "verify"))
    check("restart: the archive created verifies",
          subprocess.run([SZARC, "verify", "-q", "-f", cout, "--device", "cpu"]).returncode == 0)
    check("restart: no temporary archive left",
          not [f for f in os.listdir(root + "/out") if "szarc-serve" in f], os.listdir(root + "/out"))

    # --- headers over the limit
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    c.request("GET", "/healthz", headers={"X-Big": "x" * (40 << 10)})
    r = c.getresponse()
    r.read()
    check("headers over 32 KiB: refused (4xx)", 400 <= r.status < 500, r.status)

    # --- SIGTERM drains: running jobs queued again, exit 0
    st, j = req(srv, "POST", "/v1/jobs", tok["audit"], {"type": "verify", "archive": slow})
    did = j["id"]
    for _ in range(100):
        st, jj = req(srv, "GET", "/v1/jobs/%d" % did, tok["read"])
        if jj["state"] == "running":
            break
        time.sleep(0.02)
    rc = srv.term()
    check("SIGTERM: exit 0", rc == 0, rc)
    srv.start()
    job = wait(srv, did, tok["read"], 300)
    check("SIGTERM: the drained job was queued again and done", job["state"] == "done" and
          job["attempts"] >= 2, job)
    st, m = req(srv, "GET", "/v1/jobs?limit=200", tok["read"])
    check("no job lost: every job ended done but the cancelled one",
          all(x["state"] == "done" for x in m["jobs"] if x["id"] != cid) and
          len(m["jobs"]) == did, m)
    check("SIGTERM again: exit 0", srv.term() == 0)

    # --- no --token-file: loopback only
    p = subprocess.run([SZARC, "serve", "--listen", "0.0.0.0:0", "--state", state, "--root", root,
                        "--model", MODEL, "--device", "cpu"], capture_output=True, text=True,
                       timeout=60)
    check("no --token-file: a public address is refused (exit 2)",
          p.returncode == 2 and "loopback" in p.stderr, (p.returncode, p.stderr))

    # --- TLS (when openssl can make a certificate)
    cert, key = os.path.join(WORK, "cert.pem"), os.path.join(WORK, "key.pem")
    mk = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                         "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                        capture_output=True)
    if mk.returncode == 0:
        import ssl
        tls = server(root, state, tokens, keys)
        tls.args += ["--tls-cert", cert, "--tls-key", key]
        tls.start()
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", tls.port, timeout=60, context=ctx)
        c.request("GET", "/v1/jobs?limit=1", headers={"Authorization": "Bearer " + tok["read"]})
        r = c.getresponse()
        body = json.loads(r.read())
        check("TLS: a request over HTTPS", r.status == 200 and body["jobs"], (r.status, body))
        check("TLS: SIGTERM, exit 0", tls.term() == 0)
    else:
        print("no openssl to make a certificate: TLS not checked")
    print(open(os.path.join(WORK, "serve.log")).read())
    return 1 if serve_testlib.failures else 0


if __name__ == "__main__":
    sys.exit(main())
