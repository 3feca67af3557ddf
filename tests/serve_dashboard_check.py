#!/usr/bin/env python3
"""serve_dashboard_check.py: the dashboard (GET /) in a real headless browser
(tests/cli_serve_dashboard.sh): Debian's chromium, its own --headless mode,
--dump-dom after the page has fetched its data (--virtual-time-budget lets
its timers and fetches run first).

An archive is registered with a policy of seconds, damaged, and the audit
waited for through the API; then the page, as the browser built it, must
show the archive failed and first, its finding, the audit jobs, and the
failure in the chart. Then again with --token-file: without a token the page
says one is needed and shows no archive; with the token (given as #token=,
which the page moves into sessionStorage) it shows the failure.
With SZARC_DASHBOARD_PNG set, a screenshot is written there (docs/).
Usage: serve_dashboard_check.py SZARC WORKDIR SRC CHROMIUM
"""
import html.parser
import http.client
import json
import os
import signal
import subprocess
import sys
import time

import serve_testlib
from serve_testlib import check

SZARC, WORK, SRC, CHROMIUM = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3], sys.argv[4]
MODEL = os.environ["SZARC_MODEL"]



def req(srv, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    h = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
              headers=h)
    r = c.getresponse()
    t = r.read().decode()
    c.close()
    return r.status, json.loads(t)


class Dom(html.parser.HTMLParser):
    """What the checks need of the dumped DOM: attributes by element, the text
    of each archive row."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.rows = []      # (attrs, text) of tbody rows of #archives
        self.jobs = []      # attrs of the job rows
        self.marks = 0      # failure marks in the chart
        self.error = ""
        self._table = None
        self._row = None
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "table":
            self._table = a.get("id")
        if tag == "tr" and self._table == "archives" and "data-status" in a:
            self._row = [a, ""]
        if tag == "tr" and self._table == "jobs" and "data-state" in a:
            self.jobs.append(a)
        if tag == "circle" and "failure-mark" in a.get("class", ""):
            self.marks += 1
        if a.get("id") == "error":
            self._in_error = True

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.rows.append(tuple(self._row))
            self._row = None
        if tag == "table":
            self._table = None
        if tag == "div":
            self._in_error = False

    def handle_data(self, data):
        if self._row:
            self._row[1] += data + " "
        if self._in_error:
            self.error += data


def browse(url, name, png=None):
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", "--user-data-dir=" +
            os.path.join(WORK, "chrome-" + name), "--virtual-time-budget=6000",
            "--window-size=1280,900"]
    if png:
        args += ["--screenshot=" + png, "--hide-scrollbars"]
    else:
        args += ["--dump-dom"]
    p = subprocess.run(args + [url], capture_output=True, text=True, timeout=90)
    open(os.path.join(WORK, name + ".html"), "w").write(p.stdout)
    d = Dom()
    d.feed(p.stdout)
    return d, p


def main():
    t0 = time.time()
    root = os.path.join(WORK, "root")
    state = os.path.join(WORK, "state")
    os.makedirs(os.path.join(root, "good"))
    os.makedirs(os.path.join(root, "bad"))
    for d in ("good", "bad"):
        for i in range(4):
            open(os.path.join(root, d, "f%d.txt" % i), "w").write(
                "".join("line %d of %s file %d: the audit keeps it\n" % (k, d, i)
                        for k in range(40)))
        subprocess.run([SZARC, "create", "-q", "-f", d + ".szarc", "--model", MODEL,
                        "--device", "cpu", "--method", "model", d], cwd=root, check=True)
    good, bad = os.path.join(root, "good.szarc"), os.path.join(root, "bad.szarc")
    srv = serve_testlib.Server(SZARC, WORK, MODEL, ["--state", state, "--root", root, "--jobs", "2",
                  "--quick-every", "2", "--full-every", "6"])
    srv.start()
    st, j = req(srv, "POST", "/v1/archives", {"path": good})
    check("register the good archive", st == 201, (st, j))
    st, j = req(srv, "POST", "/v1/archives", {"path": bad})
    check("register the other archive", st == 201, (st, j))
    idb = j["id"]
    # let it be verified once, then damage it
    end = time.time() + 30
    while time.time() < end:
        st, j = req(srv, "GET", "/v1/archives")
        if all(a["last_quick"] for a in j["archives"]):
            break
        time.sleep(0.2)
    data = bytearray(open(bad, "rb").read())
    at = data.find(b"data/00000000.szg")
    data[at + 512 + 100] ^= 0x10
    open(bad, "wb").write(bytes(data))
    end = time.time() + 30
    while time.time() < end:
        st, j = req(srv, "GET", "/v1/archives")
        if j["archives"][0]["status"] == "failed":
            break
        time.sleep(0.2)
    check("the API shows the failure", j["archives"][0]["id"] == idb and
          j["archives"][0]["status"] == "failed", j)

    url = "http://127.0.0.1:%d/" % srv.port
    d, p = browse(url, "open")
    check("browser: the page loaded its data", d.body.get("data-loaded") == "1",
          (d.body, d.error, p.stderr[-2000:]))
    check("browser: two archives shown", len(d.rows) == 2, d.rows)
    first = d.rows[0] if d.rows else ({}, "")
    check("browser: the damaged archive first, marked failed",
          first[0].get("data-status") == "failed" and first[0].get("data-id") == str(idb) and
          bad in first[1], d.rows)
    check("browser: its finding shown", "failed" in first[1] and "failures" in first[1],
          first[1])
    check("browser: the good archive ok", len(d.rows) == 2 and
          d.rows[1][0].get("data-status") == "ok", d.rows)
    check("browser: the chart marks the failures", d.marks >= 1, d.marks)
    png = os.environ.get("SZARC_DASHBOARD_PNG")
    if png:
        browse(url, "shot", png)
        check("browser: screenshot written", os.path.getsize(png) > 10000, png)
    check("SIGTERM: exit 0", srv.term() == 0)

    # with tokens
    p = subprocess.run([SZARC, "serve", "token", "read", "dash"], capture_output=True, text=True,
                       check=True)
    token = p.stdout.split("token: ")[1].split()[0]
    tokens = os.path.join(WORK, "tokens")
    open(tokens, "w").write(p.stdout.split("line for --token-file: ")[1].strip() + "\n")
    srv = serve_testlib.Server(SZARC, WORK, MODEL, ["--state", state, "--root", root, "--jobs", "2", "--token-file", tokens,
                  "--quick-every", "2", "--full-every", "6"])
    srv.start()
    url = "http://127.0.0.1:%d/" % srv.port
    d, p = browse(url, "notoken")
    check("tokens: without one the page asks for it and shows nothing",
          d.body.get("data-loaded") == "error" and "token is needed" in d.error and
          not d.rows, (d.body, d.error, d.rows))
    d, p = browse(url + "#token=" + token, "token")
    check("tokens: with the token the page shows the failure first",
          d.body.get("data-loaded") == "1" and d.rows and
          d.rows[0][0].get("data-status") == "failed", (d.body, d.error, d.rows))
    check("SIGTERM: exit 0 again", srv.term() == 0)
    print("%d failure(s); %.0f s" % (serve_testlib.failures, time.time() - t0))
    sys.exit(1 if serve_testlib.failures else 0)


main()
