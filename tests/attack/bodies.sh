#!/usr/bin/env bash
# Issue 13, item 1: anonymous memory exhaustion. 100 connections announce a 16 MiB body (the
# default [limits] max_body), a third each to a path no route takes, to GET /api/v1/users
# without a session (401), and signed as a business system that is not registered (401),
# send all of it but the last byte and hold on. esealsd's VmRSS must
# stay under 200 MiB (it starts near 20 MiB; before the fix it buffered every body and went
# past 1.6 GiB), and a probe from another address must get /healthz within 2 s throughout.
#
# usage: tests/attack/bodies.sh /path/to/esealsd
. "$(dirname "$0")/lib.sh" bodies "$@"
start_daemon
rc=0
python3 "$ATTACK/attack.py" bodies --port "$PORT" --pid "$SD_PID" --conns 100 \
    --size $((16 << 20)) --rss-mib 200 --seconds 40 --bound 2 || rc=1
[ $rc -eq 0 ] && echo "ok   RSS under 200 MiB and /healthz answered" || echo "FAIL RSS over 200 MiB or /healthz not answered"
stop_daemon || rc=1
exit $rc
