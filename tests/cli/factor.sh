#!/usr/bin/env bash
# The staff second factor end to end (issue 13, item 10; docs/accounts.md "Second factor"):
# `eseal factor otp` against the openssl command line (SM3 / SM4), then a real esealsd with its
# defaults ([factors] enforce): the administrator's first sign-in may only enrol; a GM/T 0021
# token enrolled with its seed and `eseal factor otp`; sign-in with the code, not without it,
# not twice with it; a business administrator enrols the SM2 key of a USBKey (libsoftskf.so,
# loaded by dlopen as a vendor's library) with `eseal factor sign --key skf:...` and signs in
# with a signed challenge, once.
#
# usage: tests/cli/factor.sh /path/to/eseal /path/to/esealsd   (ESEAL_TESTDATA, ESEAL_SOFTSKF)
set -u
LIB=${ESEAL_SOFTSKF:?ESEAL_SOFTSKF is not set}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" factor "$@"
SD=${2:?usage: factor.sh /path/to/eseal /path/to/esealsd}
case $SD in /*) ;; *) SD=$OLDPWD/$SD ;; esac
unset ESEAL_PIN ESEAL_SO_PIN ESEAL_NEW_PIN
export SOFTSKF_DIR=$T/bus
mkdir bus

# --- help and usage ---
expect 0 "factor --help" factor --help
for sub in otp sign; do
    expect 0 "factor $sub --help" factor "$sub" --help
    check "factor $sub --help has an example" has_example out
done
expect 3 "otp without a seed" factor otp
expect 3 "otp with a seed too short" factor otp --seed 0011
expect 3 "sm4 needs a 16-byte seed" factor otp --alg sm4 --seed "$(printf '%064d' 0)"
expect 3 "sign needs a key" factor sign --challenge x

# --- codes against the openssl command line ---
# indep ALG SEEDHEX TIME: the code by openssl (SM3 of seed || T || zeros, or SM4-ECB of T ||
# zeros under the seed) and python's fold of the 32-bit words.
indep() {
    local tt id
    tt=$(printf '%016x' $(($3 / 60)))
    id="${tt}0000000000000000"
    if [ "$1" = sm3 ]; then
        printf '%s%s' "$2" "$id" | xxd -r -p | openssl dgst -sm3 -binary | xxd -p -c 64
    else
        printf '%s' "$id" | xxd -r -p | openssl enc -sm4-ecb -nopad -K "$2" | xxd -p -c 64
    fi | python3 -c 'import sys
h = bytes.fromhex(sys.stdin.read().strip())
od = sum(int.from_bytes(h[i:i + 4], "big") for i in range(0, len(h), 4)) % 2**32
print("%06d" % (od % 10**6))'
}
agree=0
for alg in sm3 sm4; do
    for seed in 00112233445566778899aabbccddeeff 0f1e2d3c4b5a69788796a5b4c3d2e1f0; do
        for t in 0 59 60 1700000000 4102444800; do
            run factor otp --alg "$alg" --seed "$seed" --time "$t"
            [ "$rc" -eq 0 ] && [ "$(cat out)" = "$(indep "$alg" "$seed" "$t")" ] && agree=$((agree + 1))
        done
    done
done
check "20 codes equal openssl's SM3 / SM4 and the fold ($agree)" [ "$agree" -eq 20 ]
printf '00112233445566778899aabbccddeeff\n' >seed.hex
run factor otp --seed-file seed.hex --time 1700000000
check "--seed-file reads the hex seed" [ "$rc:$(cat out)" = "0:$(indep sm3 00112233445566778899aabbccddeeff 1700000000)" ]
run factor sign --key "soft:$T#nokey" --challenge "not a challenge"
check "sign refuses what is not a sign-in challenge" [ "$rc" -eq 3 ]

# --- a daemon with the defaults ---
SD_PID=
stop_daemon() {
    if [ -n "$SD_PID" ]; then
        kill "$SD_PID" 2>/dev/null
        wait "$SD_PID"
        sd_rc=$?
        SD_PID=
    fi
}
trap 'stop_daemon; rm -rf "$T"' EXIT
env -u ESEAL_PIN "$SD" --var "$T/var" --listen 127.0.0.1:0 >sd.out 2>sd.err &
SD_PID=$!
PORT=
for _ in $(seq 1 1200); do
    PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' sd.out 2>/dev/null)
    [ -n "$PORT" ] && break
    kill -0 "$SD_PID" 2>/dev/null || break
    sleep 0.1
done
check "esealsd starts" [ -n "$PORT" ]
[ -n "$PORT" ] || { cat sd.out sd.err; finish; exit 1; }
U=http://127.0.0.1:$PORT
OTP=$(sed -n 's/^one-time password for admin: //p' sd.out)
jget() { python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v=v[k]
print(v if isinstance(v,str) else json.dumps(v))' "$@"; }
# req METHOD PATH TOKEN [JSON]: the body in ./resp, the status printed
req() { curl -s -o resp -w '%{http_code}' -X "$1" "$U$2" ${3:+-H "Authorization: Bearer $3"} \
    -H 'Content-Type: application/json' ${4:+--data-binary "$4"}; }

st=$(req POST /api/v1/sessions "" "{\"username\":\"admin\",\"password\":\"$OTP\"}")
A=$(jget resp token 2>/dev/null)
check "the administrator's first sign-in: a session ($st)" [ "$st" = 201 ]
check "which must enrol a second factor" [ "$(jget resp user factor_enrolment_required)" = true ]
req POST /api/v1/users/me/password "$A" "{\"old_password\":\"$OTP\",\"new_password\":\"Strong-Pass-2026!\"}" >/dev/null
st=$(req GET /api/v1/users "$A")
check "anything but enrolment is refused: 403 factor_enrolment_required ($st)" \
    [ "$st:$(jget resp error)" = 403:factor_enrolment_required ]
st=$(req POST /api/v1/users/me/factors/otp "$A" '{"algorithm":"sm3"}')
check "enrolment shows the seed ($st)" [ "$st" = 201 ]
jget resp seed_hex >admin.seed
run factor otp --seed-file admin.seed
st=$(req POST /api/v1/users/me/factors/otp/confirm "$A" "{\"code\":\"$(cat out)\"}")
check "the first code from eseal factor otp activates it ($st)" [ "$st" = 200 ]
st=$(req GET /api/v1/users "$A")
check "the session may work now ($st)" [ "$st" = 200 ]
st=$(req POST /api/v1/sessions "" '{"username":"admin","password":"Strong-Pass-2026!"}')
check "the password alone: 401 ($st)" [ "$st" = 401 ]
# The next step's code (the current one was spent on the confirmation).
run factor otp --seed-file admin.seed --time $(($(date +%s) + 60))
CODE=$(cat out)
st=$(req POST /api/v1/sessions "" "{\"username\":\"admin\",\"password\":\"Strong-Pass-2026!\",\"otp\":\"$CODE\"}")
A=$(jget resp token 2>/dev/null)
check "password and dynamic password: signed in ($st)" [ "$st" = 201 ]
st=$(req POST /api/v1/sessions "" "{\"username\":\"admin\",\"password\":\"Strong-Pass-2026!\",\"otp\":\"$CODE\"}")
check "the same code again: 401 ($st)" [ "$st" = 401 ]

# --- a business administrator with a USBKey ---
st=$(req POST /api/v1/users "$A" '{"name":"bizadmin","roles":["business_admin"]}')
BOTP=$(jget resp one_time_password 2>/dev/null)
check "a business administrator created ($st)" [ "$st:${#BOTP}" = 201:24 ]
export ESEAL_SO_PIN=so-pin-87654321 ESEAL_PIN=12345678
KEY="skf:$LIB#TOKEN1/STAFF/BIZ"
run token init "skf:$LIB#TOKEN1/STAFF" --create-device
check "a USBKey (libsoftskf.so) initialised (exit $rc)" [ "$rc" -eq 0 ]
run token gen "$KEY" -o biz.pub
check "its key made on the token (exit $rc)" [ "$rc:$(head -c 26 biz.pub)" = "0:-----BEGIN PUBLIC KEY-----" ]
st=$(req POST /api/v1/sessions "" "{\"username\":\"bizadmin\",\"password\":\"$BOTP\"}")
B=$(jget resp token 2>/dev/null)
req POST /api/v1/users/me/password "$B" "{\"old_password\":\"$BOTP\",\"new_password\":\"Business-2026-Pass\"}" >/dev/null
req POST /api/v1/sessions/challenge "" '{"username":"bizadmin"}' >/dev/null
jget resp challenge >ch.txt
NONCE=$(jget resp nonce)
run factor sign --key "$KEY" --in ch.txt
SIG=$(cat out)
signed() { [ "$rc" -eq 0 ] && [ "${#SIG}" -gt 60 ]; }
check "eseal factor sign signs the challenge with the USBKey (exit $rc)" signed
PUB=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' biz.pub)
st=$(req POST /api/v1/users/me/factors/sm2 "$B" "{\"public_key\":$PUB,\"challenge\":\"$NONCE\",\"signature\":\"$SIG\"}")
check "the USBKey's key enrolled with its proof of possession ($st)" [ "$st" = 201 ]
st=$(req POST /api/v1/sessions "" "{\"username\":\"bizadmin\",\"password\":\"Business-2026-Pass\",\"challenge\":\"$NONCE\",\"signature\":\"$SIG\"}")
check "the enrolment's challenge does not sign in (single use) ($st)" [ "$st" = 401 ]
req POST /api/v1/sessions/challenge "" '{"username":"bizadmin"}' >/dev/null
jget resp challenge >ch2.txt
NONCE=$(jget resp nonce)
run factor sign --key "$KEY" --in ch2.txt
SIG=$(cat out)
st=$(req POST /api/v1/sessions "" "{\"username\":\"bizadmin\",\"password\":\"Business-2026-Pass\",\"challenge\":\"$NONCE\",\"signature\":\"$SIG\"}")
check "password and a challenge signed by the USBKey: signed in ($st)" [ "$st" = 201 ]
st=$(req POST /api/v1/sessions "" "{\"username\":\"bizadmin\",\"password\":\"Business-2026-Pass\",\"challenge\":\"$NONCE\",\"signature\":\"$SIG\"}")
check "the same signed challenge again: 401 ($st)" [ "$st" = 401 ]
# Recovery: the business administrator lost the token; another administrator resets it.
st=$(req DELETE /api/v1/users/bizadmin/factors "$A")
check "an account administrator resets the factor ($st)" [ "$st" = 204 ]
st=$(req POST /api/v1/sessions "" '{"username":"bizadmin","password":"Business-2026-Pass"}')
check "then the password signs in to enrol again ($st)" [ "$st:$(jget resp user factor_enrolment_required)" = 201:true ]
no_seed() { [ -s admin.seed ] && ! grep -q "$(cat admin.seed)" sd.err sd.out; }
check "the seed is not in the daemon's log" no_seed
stop_daemon
check "esealsd stops cleanly (exit $sd_rc)" [ "$sd_rc" -eq 0 ]
finish
