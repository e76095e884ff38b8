#!/usr/bin/env bash
# `eseal decision sign | verify` against the openssl command line, with no daemon (docs/decisions.md):
# a Decision written here byte by byte (python) and signed by openssl verifies with eseal against
# the test root; eseal's signature of it verifies with openssl; a tampered decision, signature or
# stated serial fails (exit 1); what is not a canonical Decision is never signed (exit 3).
#
# usage: tests/cli/decision.sh /path/to/eseal   (ESEAL_TESTDATA set, as CTest does)
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" decision "$@"
ID=1234567812345678

expect 0 "decision --help" decision --help
check "decision --help has an example" has_example out
for sub in sign verify; do
    expect 0 "decision $sub --help" decision "$sub" --help
    check "decision $sub --help has an example" has_example out
done
expect 3 "verify without --trust" decision verify x.json
expect 3 "sign without --key" decision sign x.tbs

# decision.py VERDICT ACTOR: a canonical Decision (docs/decisions.md) on stdout.
cat >decision.py <<'PY'
import sys
def tlv(tag, b):
    n = len(b)
    l = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + l + b
u = lambda s: tlv(0x0C, s.encode())
body = (tlv(0x02, b"\x01") + u("application.review") + u("application:42") + u(sys.argv[1])
        + u("材料齐全，同意制作") + tlv(0x04, bytes(range(32))) + tlv(0x18, b"20261207101500Z")
        + u(sys.argv[2]))
sys.stdout.buffer.write(tlv(0x30, body))
PY
# bundle.py TBS SIG CERT: a DER DecisionBundle.
cat >bundle.py <<'PY'
import sys
def tlv(tag, b):
    n = len(b)
    l = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + l + b
t, s, c = (open(f, "rb").read() for f in sys.argv[1:4])
sys.stdout.buffer.write(tlv(0x30, tlv(0x02, b"\x01") + t + tlv(0x04, s) + tlv(0x30, c)))
PY
python3 decision.py approve alice >d.tbs
openssl x509 -in "$D/signer.crt" -outform DER -out signer.der
openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:$ID -inkey "$D/signer.key" -in d.tbs \
    -out ossl.sig
python3 bundle.py d.tbs ossl.sig signer.der >ossl.bundle
expect 0 "openssl's signature of a python-made Decision verifies with eseal" \
    decision verify ossl.bundle --trust "$D/root.crt"
check "the fields are printed" has "opinion  材料齐全，同意制作" out
expect 0 "--json" decision verify ossl.bundle --trust "$D/root.crt" --json
check "--json is JSON saying valid" sh -c 'python3 -c "import json,sys; sys.exit(0 if json.load(open(\"out\"))[\"valid\"] else 1)"'
expect 1 "another root: fails" decision verify ossl.bundle --trust "$D/otherroot.crt"
python3 decision.py reject alice >r.tbs
python3 bundle.py r.tbs ossl.sig signer.der >tampered.bundle
expect 1 "another verdict under the same signature: fails" \
    decision verify tampered.bundle --trust "$D/root.crt"

# eseal signs; openssl verifies.
expect 0 "eseal decision sign with a key file" decision sign --key "$D/signer.key" d.tbs -o e.sig
check "what is signed is shown first" has "verdict  approve" err
openssl x509 -in "$D/signer.crt" -pubkey -noout >pub.pem
check "openssl verifies eseal's signature" sh -c "openssl pkeyutl -verify -pubin -inkey pub.pem \
    -rawin -digest sm3 -pkeyopt distid:$ID -in d.tbs -sigfile e.sig | grep -q 'Verified Successfully'"
expect 0 "base64 out" decision sign --key "$D/signer.key" d.tbs
check "the base64 is the DER signature" sh -c 'base64 -d out >b.sig && test -s b.sig'
base64 -w0 d.tbs >d.b64
expect 0 "a base64 TBSFILE" decision sign --key "$D/signer.key" d.b64 -o e2.sig
expect 3 "something else is never signed" decision sign --key "$D/signer.key" "$D/signer.crt"
printf '\060\003\002\001\001' >short.tbs
expect 3 "a truncated Decision is never signed" decision sign --key "$D/signer.key" short.tbs
expect 3 "an unreadable bundle" decision verify short.tbs --trust "$D/root.crt"
finish
