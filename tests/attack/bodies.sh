#!/usr/bin/env bash
# Issue 13, item 1: anonymous memory exhaustion. 100 connections announce a 16 MiB body (the
# default [limits] max_body), a third each to a path no route takes, to GET /api/v1/users
# without a session (401), and signed as a business system that is not registered (401),
# send all of it but the last byte and hold on. esealsd's VmRSS must grow by less than 128 MiB
# (the body budget is 64 MiB, and an anonymous request holds no body at all; before the fix it
# buffered every body and grew by about 900 MiB), and a probe from another address must get
# /healthz within 2 s throughout.
#
# usage: tests/attack/bodies.sh /path/to/esealsd
. "$(dirname "$0")/lib.sh" bodies "$@"
start_daemon
rc=0
python3 "$ATTACK/attack.py" bodies --port "$PORT" --pid "$SD_PID" --conns 100 \
    --size $((16 << 20)) --rss-mib 128 --seconds 40 --bound 2 || rc=1
[ $rc -eq 0 ] && echo "ok   RSS growth under 128 MiB and /healthz answered" || echo "FAIL RSS growth over 128 MiB or /healthz not answered"
stop_daemon || rc=1
exit $rc
