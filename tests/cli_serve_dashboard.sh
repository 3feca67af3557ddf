#!/usr/bin/env bash
# cli_serve_dashboard.sh: the service's dashboard (GET /) in a real headless
# browser, Debian's chromium (tests/serve_dashboard_check.py): an archive
# registered, damaged, the audit waited for, and the page as the browser
# built it must show the failure first; with and without tokens.
# No chromium: skipped (77), or a failure with SZARC_REQUIRE_BROWSER=1 (CI).
SZARC=${1:?usage: cli_serve_dashboard.sh SZARC}
. "$(dirname "$0")/testlib.sh"
command -v python3 > /dev/null || { echo "no python3: skipped"; exit 77; }
CHROMIUM=${SZARC_CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
if [ -z "$CHROMIUM" ]; then
  echo "no chromium: skipped (apt-get install chromium; make deps-browser)"
  [ "${SZARC_REQUIRE_BROWSER:-0}" = 1 ] && exit 1
  exit 77
fi
python3 "$SRC/tests/serve_dashboard_check.py" "$SZARC" "$T" "$SRC" "$CHROMIUM"
