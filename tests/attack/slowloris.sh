#!/usr/bin/env bash
# Issue 13, item 2: slow connections must not lock everyone out. 600 connections from
# 127.0.0.1 and 20 from each of 127.0.0.2..41 send their request heads one byte every 2 s
# (closed ones are reopened) for 25 s; a probe from 127.0.0.250 asks GET /healthz every 0.25 s
# and every answer must be a 200 within 2 s (tests/attack/attack.py).
#
# usage: tests/attack/slowloris.sh /path/to/esealsd
. "$(dirname "$0")/lib.sh" slowloris "$@"
start_daemon
rc=0
python3 "$ATTACK/attack.py" slowloris --port "$PORT" --pid "$SD_PID" --seconds 25 --bound 2 || rc=1
[ $rc -eq 0 ] && echo "ok   /healthz answered within 2 s throughout" || echo "FAIL /healthz did not answer within 2 s throughout"
stop_daemon || rc=1
exit $rc
