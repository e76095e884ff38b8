#!/usr/bin/env bash
# Business systems (API clients, docs/api-clients.md) against a real esealsd on 127.0.0.1 with
# curl and the OpenSSL command line: a key made by openssl, its request by `eseal key csr`,
# registration by a business administrator, the issued certificate verified by openssl, and
# requests signed by `eseal api sign` and by openssl alone (printf + openssl dgst -sm3 -sign),
# both accepted; replays, other bodies and bad headers refused.
#
# usage: tests/cli/api.sh /path/to/eseal /path/to/esealsd
. "$(dirname "$0")/lib.sh" api "$@"
SD=${2:?usage: api.sh /path/to/eseal /path/to/esealsd}
case $SD in /*) ;; *) SD=$OLDPWD/$SD ;; esac
ID=1234567812345678

SD_PID=
SD_RC=
# stop_daemon: SIGTERM, then its exit status in SD_RC (a sanitizer report at exit makes it
# non-zero: ASan's exitcode, UBSan's halt_on_error).
stop_daemon() {
    if [ -n "$SD_PID" ]; then
        kill "$SD_PID" 2>/dev/null
        wait "$SD_PID" 2>/dev/null
        SD_RC=$?
        SD_PID=
    fi
}
trap 'stop_daemon; rm -rf "$T"' EXIT

# Business systems, not the staff's second factor (tests/test_otp.c, tests/cli/factor.sh).
printf '[factors]\nenforce = false\n' >sd.conf
env -u ESEAL_PIN "$SD" --config sd.conf --var "$T/var" --listen 127.0.0.1:0 >sd.out 2>sd.err &
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
# The one-time password is printed once, on the operator's terminal (stdout), and is in no
# log line (stderr) and nowhere under var (the store, its audit trail, any file).
check "the first start prints a one-time password" [ "${#OTP}" -ge 12 ]

jget() { python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v=v[k]
print(v if isinstance(v,str) else json.dumps(v))' "$@"; }
# post PATH TOKEN JSON: the body in ./resp, the status printed
post() { curl -s -o resp -w '%{http_code}' -X POST "$U$1" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' --data-binary "$3"; }
# refused STATUS WORD: a 401 whose message (./resp) has WORD
refused() { [ "$1" = 401 ] && grep -q "$2" resp; }
signin() { curl -s -o resp -w '%{http_code}' -X POST "$U/api/v1/sessions" \
    -H 'Content-Type: application/json' --data-binary "{\"username\":\"$1\",\"password\":\"$2\"}"; }

# The site: the system certificate from the root, naming the port; OpenSSL agrees.
curl -s -o system.json "$U/api/v1/system"
jget system.json root_certificate >root.pem
jget system.json system_certificate >system.pem
check "openssl verifies the system certificate against the site's root" \
    openssl verify -vfyopt "distid:$ID" -CAfile root.pem system.pem
openssl x509 -in system.pem -noout -ext subjectAltName >san 2>err
check "its subjectAltName is the daemon's address and port" has "URI:$U/" san

# A business administrator.
signin admin "$OTP" >/dev/null
A=$(jget resp token)
post /api/v1/users/me/password "$A" "{\"old_password\":\"$OTP\",\"new_password\":\"Strong-Pass-2026!\"}" >/dev/null
st=$(post /api/v1/users "$A" '{"name":"biz","roles":["business_admin"]}')
BOTP=$(jget resp one_time_password)
check "a business administrator is created ($st)" [ "$st" = 201 ]
signin biz "$BOTP" >/dev/null
B=$(jget resp token)
post /api/v1/users/me/password "$B" "{\"old_password\":\"$BOTP\",\"new_password\":\"Business-2026-Pass\"}" >/dev/null

# The business system's key (openssl) and request (eseal key csr).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out erp.key 2>err
expect 0 "eseal key csr with an openssl key" key csr erp.key --subject '/C=CN/O=某市人力资源和社会保障局/CN=erp' -o erp.csr
check "openssl verifies the request's signature" \
    openssl req -in erp.csr -noout -verify -vfyopt "distid:$ID"
expect 3 "eseal key csr without --subject" key csr erp.key
expect 3 "eseal key csr with a bad --san" key csr erp.key --subject /CN=x --san nonsense
check "it names the bad --san" has "nonsense" err
expect 3 "eseal key csr with a bad --subject" key csr erp.key --subject 'CN=x'
expect 3 "--subject without csr" key pub erp.key --subject /CN=x
check "it says --subject goes with csr" has "go with csr" err
check "it says what is missing" has "subject" err
python3 -c 'import json;print(json.dumps({"name":"erp","roles":["operator"],"csr":open("erp.csr").read()}))' >reg.json
st=$(post /api/v1/clients "$B" "$(cat reg.json)")
check "the client is registered from its request ($st)" [ "$st" = 201 ]
jget resp certificate >erp.crt
check "openssl verifies the client certificate against the root" \
    openssl verify -vfyopt "distid:$ID" -CAfile root.pem erp.crt

# A request signed by eseal api sign, sent by curl.
run api sign --client erp --key erp.key GET /api/v1/clients/me
check "eseal api sign prints the header (exit $rc)" [ "$rc" -eq 0 ]
check "in the ESEAL-SM2 scheme" grep -q '^Authorization: ESEAL-SM2 client="erp", timestamp="' out
st=$(curl -s -o resp -w '%{http_code}' "$U/api/v1/clients/me" -H "$(cat out)")
check "the daemon accepts it ($st)" [ "$st" = 200 ]
check "and knows the client" [ "$(jget resp client name)" = erp ]
st=$(curl -s -o resp -w '%{http_code}' "$U/api/v1/clients/me" -H "$(cat out)")
check "the same header again is a replay ($st)" refused "$st" replayed

# The same, with openssl alone: the string to sign by printf, SM2 by openssl dgst.
osign() { # METHOD TARGET BODYFILE: prints the header
    local ts nonce bh
    ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    nonce=$(openssl rand -hex 16)
    bh=$(openssl dgst -sm3 -r "$3" | cut -d' ' -f1)
    printf 'ESEAL-SM2\nerp\n%s\n%s\n%s\n%s\n%s' "$1" "$2" "$ts" "$nonce" "$bh" >sts
    printf 'Authorization: ESEAL-SM2 client="erp", timestamp="%s", nonce="%s", signature="%s"' \
        "$ts" "$nonce" "$(openssl dgst -sm3 -sign erp.key -sigopt "distid:$ID" sts | base64 -w0)"
}
: >empty
st=$(curl -s -o resp -w '%{http_code}' "$U/api/v1/clients/me?view=full" -H "$(osign GET '/api/v1/clients/me?view=full' empty)")
check "a request signed by openssl alone is accepted ($st)" [ "$st" = 200 ]
printf '{}' >body.json
st=$(curl -s -o resp -w '%{http_code}' -X POST "$U/api/v1/clients/erp/disable" -H 'Content-Type: application/json' \
    -H "$(osign POST /api/v1/clients/erp/disable body.json)" --data-binary @body.json)
check "with a body: authenticated, then refused by role, 403 not 401 ($st)" [ "$st" = 403 ]
st=$(curl -s -o resp -w '%{http_code}' -X POST "$U/api/v1/clients/erp/disable" -H 'Content-Type: application/json' \
    -H "$(osign POST /api/v1/clients/erp/disable body.json)" --data-binary '{ }')
check "another body than the signed one: 401 ($st)" refused "$st" signature
run api sign --client erp --key erp.key --timestamp 2026-01-01T00:00:00Z --nonce 0123456789abcdef0123 --show GET /x
check "--show prints the string to sign" [ "$(cat err)" = "$(printf 'ESEAL-SM2\nerp\nGET\n/x\n2026-01-01T00:00:00Z\n0123456789abcdef0123\n1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b')" ]
st=$(curl -s -o resp -w '%{http_code}' "$U/api/v1/clients/me" -H "$(sed 's/timestamp="[^"]*"/timestamp="2026-01-01T00:00:00Z"/' out)")
check "an old timestamp is stale ($st)" refused "$st" stale

# The command's own errors.
expect 3 "api sign without --client" api sign --key erp.key GET /x
expect 3 "a lower-case method" api sign --client erp --key erp.key get /x
expect 3 "a target that is not a path" api sign --client erp --key erp.key GET x
expect 3 "a bad timestamp" api sign --client erp --key erp.key --timestamp yesterday GET /x
expect 3 "a missing key file" api sign --client erp --key nokey.pem GET /x
expect 0 "api --help" api --help
check "with an example" has_example out
expect 3 "an unknown subcommand" api call

# Revocation: the client is refused, and its certificate is on the root's CRL, which openssl reads.
st=$(post /api/v1/clients/erp/revoke "$B" '{"reason":"keyCompromise"}')
check "the business administrator revokes the client ($st)" [ "$st" = 200 ]
serial=$(jget resp client serial)
# An empty serial would make the CRL grep below match any entry.
check "the revocation names the serial ($serial)" grep -Eq '^[0-9A-Fa-f]{8,}$' <<<"$serial"
st=$(curl -s -o resp -w '%{http_code}' "$U/api/v1/clients/me" -H "$(osign GET /api/v1/clients/me empty)")
check "a revoked client is refused ($st)" refused "$st" revoked
curl -s -o crl.der "$U/api/v1/ca/crl"
openssl crl -inform DER -in crl.der -noout -text >crl.txt 2>err
check "openssl reads the root's CRL" [ -s crl.txt ]
check "it lists the client's certificate" grep -qiE "Serial Number: ${serial:-NONE}\$" crl.txt
check "as keyCompromise" grep -q "Key Compromise" crl.txt
curl -s -o root.der "$U/api/v1/ca/root"
check "GET /api/v1/ca/root is the root of /api/v1/system" \
    cmp -s root.der <(openssl x509 -in root.pem -outform DER)

stop_daemon
check "the one-time passwords are in no log line" \
    sh -c '! grep -aqF -e "$1" -e "$2" sd.err' sh "${OTP:-NONE}" "${BOTP:-NONE}"
check "the one-time passwords are nowhere under var (store, audit trail)" \
    sh -c '! grep -raqF -e "$1" -e "$2" var' sh "${OTP:-NONE}" "${BOTP:-NONE}"
check "the log is not empty (so that the grep above looked at something)" [ -s sd.err ]
check "esealsd exits 0 on SIGTERM (exit $SD_RC)" [ "$SD_RC" = 0 ]
check "and wrote no sanitizer report" sh -c '! grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: " sd.err'
finish
