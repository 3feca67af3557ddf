#!/usr/bin/env bash
# cli_serve_audit.sh: the service's scheduled audits run for real
# (tests/serve_audit_check.py): registry, schedule with periods of seconds,
# a damaged archive found and the hook called, the failure first, a
# restart's missed audits caught up without a herd, an old state database
# migrated. The tiny model of $SZARC_MODEL on the C reference.
SZARC=${1:?usage: cli_serve_audit.sh SZARC}
. "$(dirname "$0")/testlib.sh"
command -v python3 > /dev/null || { echo "no python3: skipped"; exit 77; }
python3 "$SRC/tests/serve_audit_check.py" "$SZARC" "$T" "$SRC"
