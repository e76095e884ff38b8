#!/bin/bash
# Requests per second and latency of esealsd's API under load, with wrk on loopback:
#   - an authenticated read: GET /api/v1/sessions/current (session lookup + user + roles);
#   - an audited write: POST /api/v1/users/{name}/disable and /enable in turn (an UPDATE, its
#     audit record: SM3 chain + SM2 signature, in one durable transaction);
#   - a business system's signed read: GET /api/v1/clients/me with an ESEAL-SM2 header (SM2
#     verify + the nonce stored durably), headers signed beforehand by bench_signed_headers,
#     each sent once (one wrk thread walks the list).
# On SQLite, and on PostgreSQL when a URL is given (or tests/pg.sh can start one).
#
# usage: bench/bench_api.sh [ESEALSD] [SECONDS] [CONNECTIONS]
#   defaults: build/esealsd, 10 s, 16 connections, 2 wrk threads. Needs wrk (Debian's wrk).
# The baseline printed first is wrk against /healthz (no store, no crypto) in the same run.
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

# Starts esealsd on a free port with the given store; sets port, token.
start() { # name url
	local var=$work/$1
	mkdir -p "$var"
	printf '[store]\nurl = %s\n[accounts]\nsession_minutes = 600\n[log]\nlevel = warn\n' "$2" \
		> "$var/esealsd.conf"
	"$sd" --config "$var/esealsd.conf" --var "$var" --listen 127.0.0.1:0 > "$var/out.txt" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do grep -q '^port ' "$var/out.txt" && break; sleep 0.1; done
	port=$(awk '/^port /{print $2}' "$var/out.txt")
	local otp
	otp=$(sed -n 's/^one-time password for admin: //p' "$var/out.txt")
	local base=http://127.0.0.1:$port/api/v1
	token=$(curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"username\":\"admin\",\"password\":\"$otp\"}" "$base/sessions" | json "d['token']")
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d "{\"old_password\":\"$otp\",\"new_password\":\"Bench-Pass-2026!\"}" "$base/users/me/password"
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"name":"target","display_name":"bench","roles":["operator"]}' "$base/users"
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

# The signed run: one wrk thread walks the pre-signed headers, each sent once.
run_signed() { # label url
	local out
	out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/signed.lua" "$2" -- "$work/headers.txt" 2>&1)
	local rps p99 non2xx
	rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
	p99=$(awk '$1=="99%"{print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
	printf '%-44s %10s %10s %s\n' "$1" "$rps" "$p99" "${non2xx:+(non-2xx: $non2xx)}"
}

run() { # label url [lua]
	local out
	out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency ${3:+-s "$3"} -H "Authorization: Bearer $token" "$2" 2>&1)
	local rps p99 non2xx
	rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
	p99=$(awk '$1=="99%"{print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
	printf '%-44s %10s %10s %s\n' "$1" "$rps" "$p99" "${non2xx:+(non-2xx: $non2xx)}"
}

cat > "$work/toggle.lua" <<'EOF'
-- Alternates disable and enable of one account: each request is an audited write.
local n = 0
request = function()
	n = n + 1
	local op = (n % 2 == 0) and "enable" or "disable"
	-- wrk.format with a header table of its own would drop the -H Authorization header
	local h = {}
	for k, v in pairs(wrk.headers) do h[k] = v end
	h["Content-Type"] = "application/json"
	return wrk.format("POST", "/api/v1/users/target/" .. op, h, "")
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
	if "$top/tests/pg.sh" start "$pgdir" > "$work/pg.txt" 2>&1; then
		pg_url="postgresql:///postgres?host=$pgdir&user=postgres"
	else
		echo "bench_api: PostgreSQL not started: $(tail -1 "$work/pg.txt")"
	fi
fi

printf 'esealsd under wrk: %s s per row, %s connections, 2 wrk threads, loopback; %s cores\n' \
	"$secs" "$conns" "$(nproc)"
printf '%-44s %10s %10s\n' "request" "req/s" "p99"
for backend in sqlite postgresql; do
	case $backend in
	sqlite) start sqlite "sqlite:$work/sqlite/eseal.db" ;;
	postgresql) [ -n "$pg_url" ] || continue; start postgresql "$pg_url" ;;
	esac
	base=http://127.0.0.1:$port
	run "$backend: GET /healthz (baseline)" "$base/healthz"
	run "$backend: GET /sessions/current (auth read)" "$base/api/v1/sessions/current"
	run "$backend: POST disable/enable (audited write)" "$base" "$work/toggle.lua"
	if [ -x "$gen" ]; then
		# Enough headers for a few thousand requests a second; any beyond would be replays.
		"$gen" erp "$work/$backend/erp.key" GET /api/v1/clients/me $((secs * 3000)) \
			> "$work/headers.txt" 2>> "$work/gen.txt"
		run_signed "$backend: GET /clients/me (signed request)" "$base"
	fi
done
[ -s "$work/gen.txt" ] && sed 's/^/  /' "$work/gen.txt"
