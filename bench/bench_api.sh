#!/bin/bash
# Requests per second and latency of esealsd's API under load, with wrk on loopback:
#   - an authenticated read: GET /api/v1/sessions/current (session lookup + user + roles);
#   - an audited write: POST /api/v1/users/{name}/disable and /enable in turn over 16 accounts
#     (an UPDATE, its audit record: SM2 signature + SM3 chain, in one durable transaction;
#     the signed checkpoints of docs/audit.md meanwhile);
#   - a business system's signed read: GET /api/v1/clients/me with an ESEAL-SM2 header (SM2
#     verify + the nonce stored durably), headers signed beforehand by bench_signed_headers,
#     each sent once (one wrk thread walks the list).
# On SQLite, and on PostgreSQL when a URL is given (or tests/pg.sh can start one); on
# PostgreSQL also with two daemons on the one database (same site keys, a copy of the site
# directory), wrk against both at once, their req/s added up.
#
# usage: bench/bench_api.sh [ESEALSD] [SECONDS] [CONNECTIONS]
#   defaults: build/esealsd, 10 s, 16 connections, 2 wrk threads. Needs wrk (Debian's wrk).
#   BENCH_ROWS=writes: only the baselines and the audited writes;
#   BENCH_BACKENDS="sqlite" (or "postgresql"): one backend only.
# The baseline printed first is wrk against /healthz (no store, no crypto) in the same run;
# every row gives its ratio to that baseline (the machine's load changes between runs, the
# ratio less).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
sd=${1:-$top/build/esealsd}
cli=$(dirname "$sd")/eseal
gen=$(dirname "$sd")/bench_signed_headers
secs=${2:-10}
conns=${3:-16}
command -v wrk >/dev/null || { echo "bench_api: wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$sd" ] || { echo "bench_api: $sd not found (make)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/eseal-bench-api.XXXXXX")
chmod 711 "$work" # the postgres user reaches its cluster directory below
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "${pgdir:-}" ] && "$top/tests/pg.sh" stop "$pgdir" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Runs esealsd on a free port for the site directory $1 with its esealsd.conf; sets port.
launch() { # var
	"$sd" --config "$1/esealsd.conf" --var "$1" --listen 127.0.0.1:0 > "$1/out.txt" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do grep -qs '^port ' "$1/out.txt" && break; sleep 0.1; done
	port=$(awk '/^port /{print $2}' "$1/out.txt")
}

# Starts esealsd on a free port with the given store; sets port, token.
start() { # name url
	local var=$work/$1
	mkdir -p "$var"
	# The second factor is off: the figures are of requests, made with sessions already open.
	printf '[store]\nurl = %s\n[accounts]\nsession_minutes = 600\n[factors]\nenforce = false\n[log]\nlevel = warn\n' "$2" \
		> "$var/esealsd.conf"
	launch "$var"
	local otp
	otp=$(sed -n 's/^one-time password for admin: //p' "$var/out.txt")
	local base=http://127.0.0.1:$port/api/v1
	token=$(curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"username\":\"admin\",\"password\":\"$otp\"}" "$base/sessions" | json "d['token']")
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d "{\"old_password\":\"$otp\",\"new_password\":\"Bench-Pass-2026!\"}" "$base/users/me/password"
	for i in $(seq 0 15); do
		curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
			-d "{\"name\":\"target$i\",\"display_name\":\"bench\",\"roles\":[\"operator\"]}" "$base/users"
	done
	# A business system: a business administrator registers it from its request.
	local botp btoken
	botp=$(curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"name":"biz","roles":["business_admin"]}' "$base/users" | json "d['one_time_password']")
	btoken=$(curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"username\":\"biz\",\"password\":\"$botp\"}" "$base/sessions" | json "d['token']")
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $btoken" -H 'Content-Type: application/json' \
		-d "{\"old_password\":\"$botp\",\"new_password\":\"Bench-Pass-2026!\"}" "$base/users/me/password"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$var/erp.key" 2>/dev/null
	"$cli" key csr "$var/erp.key" --subject '/C=CN/O=bench/CN=erp' -o "$var/erp.csr"
	python3 -c 'import json,sys;print(json.dumps({"name":"erp","roles":["operator"],"csr":open(sys.argv[1]).read()}))' \
		"$var/erp.csr" > "$var/reg.json"
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $btoken" -H 'Content-Type: application/json' \
		--data-binary @"$var/reg.json" "$base/clients"
}

base_rps=""
# CPU time (ms, user + system) used so far by the daemons and the PostgreSQL cluster (the
# postmaster and its children: the backends that serve the daemons). The figure per request
# (cpu/req) depends far less on what else the machine runs than req/s does.
cpu_ms() {
	local p list="$pids"
	if [ -n "${pgdir:-}" ] && [ -r "$pgdir/data/postmaster.pid" ]; then
		p=$(head -1 "$pgdir/data/postmaster.pid")
		list="$list $p $(pgrep -P "$p" | tr '\n' ' ')"
	fi
	local t=0 f
	for p in $list; do
		f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + $(awk '{print $12 + $13}' <<<"$f")))
	done
	echo $((t * 1000 / $(getconf CLK_TCK)))
}
cpu_before=0
# One line: label, req/s, p99, ratio to the backend's /healthz baseline (base_rps), CPU ms of
# the daemons and the server per request (since cpu_before, over req/s x secs requests).
row() { # label rps p99 non2xx
	local ratio="" per=""
	[ -n "$base_rps" ] && [ -n "$2" ] && ratio=$(awk -v a="$2" -v b="$base_rps" 'BEGIN{printf "%.3f", a/b}')
	[ -n "$2" ] && per=$(awk -v c="$(($(cpu_ms) - cpu_before))" -v r="$2" -v s="$secs" \
		'BEGIN{if (r > 0) printf "%.3f", c / (r * s)}')
	printf '%-50s %10s %10s %7s %8s %s\n' "$1" "$2" "$3" "$ratio" "$per" "${4:+(non-2xx: $4)}"
}

# The signed run: one wrk thread walks the pre-signed headers, each sent once.
run_signed() { # label url
	local out
	cpu_before=$(cpu_ms)
	out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/signed.lua" "$2" -- "$work/headers.txt" 2>&1)
	row "$1" "$(awk '/Requests\/sec/{print $2}' <<<"$out")" "$(awk '$1=="99%"{print $2}' <<<"$out")" \
		"$(awk '/Non-2xx/{print $NF}' <<<"$out")"
}

run() { # label url [lua]
	local out
	cpu_before=$(cpu_ms)
	out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency ${3:+-s "$3"} -H "Authorization: Bearer $token" "$2" 2>&1)
	last_rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
	row "$1" "$last_rps" "$(awk '$1=="99%"{print $2}' <<<"$out")" "$(awk '/Non-2xx/{print $NF}' <<<"$out")"
}

# wrk against two daemons at once, half the connections each; req/s added up, p99 the worse.
run2() { # label url1 url2 [lua]
	local c=$((conns / 2))
	cpu_before=$(cpu_ms)
	wrk -t1 -c"$c" -d"${secs}s" --latency ${4:+-s "$4"} -H "Authorization: Bearer $token" "$2" > "$work/w1.txt" 2>&1 &
	local w1=$!
	wrk -t1 -c"$c" -d"${secs}s" --latency ${4:+-s "$4"} -H "Authorization: Bearer $token" "$3" > "$work/w2.txt" 2>&1
	wait "$w1"
	last_rps=$(cat "$work/w1.txt" "$work/w2.txt" | awk '/Requests\/sec/{s += $2} END{printf "%.2f", s}')
	local p99 non2xx
	p99=$(cat "$work/w1.txt" "$work/w2.txt" | awk '$1=="99%"{print $2}' | sort -h | tail -1)
	non2xx=$(cat "$work/w1.txt" "$work/w2.txt" | awk '/Non-2xx/{s += $NF} END{if (s) print s}')
	row "$1" "$last_rps" "$p99" "$non2xx"
}

cat > "$work/toggle.lua" <<'EOF'
-- Disables and enables 16 accounts in turn: each request is an audited write.
local n = 0
request = function()
	n = n + 1
	local op = (math.floor(n / 16) % 2 == 0) and "disable" or "enable"
	local who = "target" .. (n % 16)
	-- wrk.format with a header table of its own would drop the -H Authorization header
	local h = {}
	for k, v in pairs(wrk.headers) do h[k] = v end
	h["Content-Type"] = "application/json"
	return wrk.format("POST", "/api/v1/users/" .. who .. "/" .. op, h, "")
end
EOF

cat > "$work/signed.lua" <<'EOF'
-- Sends the pre-signed headers of the file given after --, each once (a replay is a 401).
local headers, n = {}, 0
init = function(args)
	for line in io.lines(args[1]) do headers[#headers + 1] = line end
end
request = function()
	n = n + 1
	return wrk.format("GET", "/api/v1/clients/me", {["Authorization"] = headers[n] or headers[#headers]}, "")
end
EOF

pg_url=${ESEAL_BENCH_PG_URL:-}
if [ -z "$pg_url" ] && [ -x "$top/tests/pg.sh" ]; then
	pgdir=$work/pg
	# fsync on: a commit the figures count is on the disk, as on a production server.
	if ESEAL_PG_FSYNC=on "$top/tests/pg.sh" start "$pgdir" > "$work/pg.txt" 2>&1; then
		pg_url="postgresql:///postgres?host=$pgdir&user=postgres"
	else
		echo "bench_api: PostgreSQL not started: $(tail -1 "$work/pg.txt")"
	fi
fi

printf 'esealsd under wrk: %s s per row, %s connections, 2 wrk threads, loopback; %s cores\n' \
	"$secs" "$conns" "$(nproc)"
printf '%-50s %10s %10s %7s %8s\n' "request" "req/s" "p99" "/healthz" "cpu/req"
for backend in ${BENCH_BACKENDS:-sqlite postgresql}; do
	case $backend in
	sqlite) start sqlite "sqlite:$work/sqlite/eseal.db" ;;
	postgresql) [ -n "$pg_url" ] || continue; start postgresql "$pg_url" ;;
	esac
	base=http://127.0.0.1:$port
	base_rps=""
	run "$backend: GET /healthz (baseline)" "$base/healthz"
	base_rps=$last_rps
	[ "${BENCH_ROWS:-}" = writes ] || run "$backend: GET /sessions/current (auth read)" "$base/api/v1/sessions/current"
	run "$backend: POST disable/enable (audited write)" "$base" "$work/toggle.lua"
	if [ "$backend" = postgresql ]; then
		# A second daemon of the same site on the same database.
		cp -a "$work/postgresql" "$work/postgresql2"
		rm -f "$work/postgresql2/out.txt"
		launch "$work/postgresql2"
		base2=http://127.0.0.1:$port
		base_rps=""
		run2 "$backend x2: GET /healthz (baseline)" "$base/healthz" "$base2/healthz"
		base_rps=$last_rps
		run2 "$backend x2: POST disable/enable (audited write)" "$base" "$base2" "$work/toggle.lua"
		base_rps=""
	fi
	if [ -x "$gen" ] && [ "${BENCH_ROWS:-}" != writes ]; then
		# Enough headers for a few thousand requests a second; any beyond would be replays.
		"$gen" erp "$work/$backend/erp.key" GET /api/v1/clients/me $((secs * 3000)) \
			> "$work/headers.txt" 2>> "$work/gen.txt"
		run_signed "$backend: GET /clients/me (signed request)" "$base"
	fi
done
[ -s "$work/gen.txt" ] && sed 's/^/  /' "$work/gen.txt"
# The trails the load left must verify (the daemons stopped first: their last checkpoint).
for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=""
for backend in ${BENCH_BACKENDS:-sqlite postgresql}; do
	case $backend in
	sqlite) url="sqlite:$work/sqlite/eseal.db" ;;
	postgresql) [ -n "$pg_url" ] || continue; url=$pg_url ;;
	esac
	out=$("$cli" audit verify --db "$url" --pub "$work/$backend/keys/audit.pub" 2>&1)
	printf '%s: audit verify: %s\n' "$backend" "$(grep -E '^(INTACT|FAILED)|records, seq|checkpoints:' <<<"$out" | tr '\n' ' ')"
done
