#!/usr/bin/env bash
# Seal delivery (issue 10, docs/delivery.md) end to end with the eseal binary:
#   - USBKey (libsoftskf.so): the key generated in the token at the counter, a CSR signed by
#     it, the certificate issued by an `eseal ca`, the seal made, `eseal token seal put`, read
#     back with `token seal get`, and `eseal ofd sign --key skf:...` with nothing else, whose
#     document `eseal ofd verify` passes; the refusals (a certificate of another key, a seal
#     for another certificate, no PIN, a token without a seal);
#   - server package (libsoftsdf.so): `eseal package request` from the device's encryption key
#     signed with the application system's key, `package make` (CA + seal + envelope),
#     `package show`, `package import` into index 2 (not into index 3: another key), and an
#     OFD signed with the imported key that verifies; a tampered package and a request from
#     an untrusted system are refused.
#
# usage: tests/cli/delivery.sh /path/to/eseal   (ESEAL_TESTDATA, ESEAL_SOFTSKF, ESEAL_SOFTSDF set,
#                                                as CTest does)
set -u

SKF=${ESEAL_SOFTSKF:?ESEAL_SOFTSKF is not set}
SDF=${ESEAL_SOFTSDF:?ESEAL_SOFTSDF is not set}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" delivery "$@"
unset ESEAL_PIN ESEAL_SO_PIN ESEAL_NEW_PIN ESEAL_CA_PIN ESEAL_ENC_PIN SOFTSKF_IMPORT
export SOFTSKF_DIR=$T/bus SOFTSDF_DIR=$T/sdf
mkdir -p bus/TOKEN1 sdf keys

USCC=91350100M000100Y43
UNIT='某某市人力资源和社会保障局'
CAPASS='ca-passphrase-1'
USER_PIN=12345678
SO_PIN=so-pin-87654321
SDFPASS=sdf-access-1
TOK="skf:$SKF#TOKEN1/SEAL/SIGNER"

# run ARGS... without a terminal (no PIN prompt can wait).
run() {
    if command -v setsid >/dev/null; then
        setsid -w "$ESEAL" "$@" >out 2>err </dev/null
    else
        "$ESEAL" "$@" >out 2>err </dev/null
    fi
    rc=$?
}

# has_example, where an example may set ESEAL_ variables first.
has_example() { grep -q '^example' "$1" && grep -Eq '^  +(ESEAL_[A-Z_]+=\S+ )*eseal ' "$1"; }

cat >plain.py <<'EOF'
import sys, zipfile
ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>delivery</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    z.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>99</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="10" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')
    z.writestr("Doc_0/Pages/Page_0/Content.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="50"/></ofd:Content></ofd:Page>')
EOF
python3 plain.py plain.ofd

# --- help ---
for args in "package --help" "package request --help" "package make --help" \
    "package import --help" "package show --help" "token seal --help"; do
    # shellcheck disable=SC2086 # split on purpose
    expect 0 "$args" $args
    check "$args has an example" has_example out
done
expect 3 "package without a subcommand" package
expect 3 "token seal without put or get" token seal
expect 3 "token seal frob" token seal frob "$TOK"
expect 3 "token seal put without --seal" token seal put "$TOK" --cert x.crt

# --- a CA (the site's, on a soft key) and the maker of tests/data ---
ESEAL_PIN=$CAPASS expect 0 "ca init" ca init --dir ca --key soft:keys#ca --generate-key \
    --subject '/C=CN/O=人力资源和社会保障部/CN=delivery test root' --days 3650
cat ca/ca.crt "$D/root.crt" >trust.pem
MAKE=(--maker-key "$D/maker.key" --maker-cert "$D/maker.crt" --name "${UNIT}公章" --type 1
    --image "$D/seal.png" --width 40 --height 40 --valid-from 2026-01-01 --valid-to 2027-12-31)

# --- USBKey: the key in the token, a CSR from it, certificate and seal delivered ---
ESEAL_SO_PIN=$SO_PIN ESEAL_PIN=$USER_PIN expect 0 "token init" token init "skf:$SKF#TOKEN1/SEAL"
ESEAL_PIN=$USER_PIN expect 0 "key gen in the token (the counter)" key gen "$TOK" -o tok.pub
ESEAL_PIN=$USER_PIN expect 0 "a CSR signed by the token's key" key csr "$TOK" \
    --subject "/C=CN/O=${USCC}${UNIT}/CN=RS35010000000101" -o tok.csr
check "the CSR verifies (openssl)" sh -c \
    'openssl req -in tok.csr -noout -verify -vfyopt distid:1234567812345678 2>&1 | grep -qi ok'
ESEAL_PIN=$CAPASS expect 0 "the seal certificate from the CSR" ca issue --dir ca --profile seal \
    --csr tok.csr -o tok.crt
expect 0 "the seal naming it" seal make "${MAKE[@]}" --signer-cert tok.crt \
    --es-id RS35010000000101 -o tok.esl
ESEAL_PIN=$USER_PIN expect 0 "another container's key" key gen "skf:$SKF#TOKEN1/SEAL/OTHER" \
    -o other.pub
ESEAL_PIN=$CAPASS expect 0 "and its certificate" ca issue --dir ca --profile seal \
    --pubkey other.pub --subject "/C=CN/O=${USCC}${UNIT}/CN=RS35010000000102" -o other.crt
expect 0 "a seal for that one" seal make "${MAKE[@]}" --signer-cert other.crt \
    --es-id RS35010000000102 -o other.esl

expect 1 "ofd sign from a token without a seal" ofd sign plain.ofd --key "$TOK" --page 1 --x 20 \
    --y 20 -o nothing.ofd
check "no seal: said in Chinese too" has "没有印章" err
check "no output" test ! -e nothing.ofd
ESEAL_PIN=$USER_PIN expect 1 "seal put: a certificate of another key" token seal put "$TOK" \
    --seal other.esl --cert other.crt
check "another key: said" has "does not certify" err
ESEAL_PIN=$USER_PIN expect 1 "seal put: a seal for another certificate" token seal put "$TOK" \
    --seal other.esl --cert tok.crt
check "another certificate: said" has "does not name" err
expect 3 "seal put without a PIN" token seal put "$TOK" --seal tok.esl --cert tok.crt
expect 1 "nothing was stored by the refusals" token seal get "$TOK" -o got.esl
ESEAL_PIN=$USER_PIN expect 0 "seal put" token seal put "$TOK" --seal tok.esl --cert tok.crt
check "put: says where" has "ESEAL" out
check "the token holds the file ESEAL" test -s bus/TOKEN1/SEAL/.files/ESEAL
expect 0 "seal get (no PIN)" token seal get "$TOK" -o got.esl --cert-out got.crt
check "seal get: the seal byte for byte" cmp -s got.esl tok.esl
check "seal get: the certificate" sh -c 'openssl x509 -in tok.crt -outform DER | cmp -s - got.crt'
expect 0 "token cert reads the delivered certificate" token cert "$TOK" -o cert.der
check "the same certificate" cmp -s cert.der got.crt

ESEAL_PIN=$USER_PIN expect 0 "ofd sign --key skf:... and nothing else" ofd sign plain.ofd \
    --key "$TOK" --page 1 --x 20 --y 20 -o tok.ofd
expect 0 "the token-signed OFD verifies" ofd verify tok.ofd --trust trust.pem
check "the report names the seal code" has "RS35010000000101" out
ESEAL_PIN=$USER_PIN expect 3 "--seal without --cert still needs --cert" ofd sign plain.ofd \
    --key "$TOK" --seal tok.esl --page 1 --x 20 --y 20 -o x.ofd

# --- server package into softsdf ---
# The application system: its system key (soft) and certificate; its card's encryption keys
# at index 2 (the request's) and 3 (another), both under the access password.
ESEAL_PIN=$SDFPASS expect 0 "the system key" key gen soft:keys#system -o system.pub
ESEAL_PIN=$CAPASS expect 0 "the system certificate" ca issue --dir ca --profile user \
    --pubkey system.pub --subject '/C=CN/O=某市社保业务系统/CN=app-system' -o system.crt
ESEAL_PIN=$SDFPASS expect 0 "an outsider's key" key gen soft:keys#outsider -o outsider.pub
for i in 2 3; do
    openssl genpkey -algorithm SM2 -out "enc$i.pem" 2>/dev/null
    openssl pkcs8 -topk8 -in "enc$i.pem" -passout "pass:$SDFPASS" -v2 aes-256-cbc \
        -out "sdf/enc$i.key" 2>/dev/null
    openssl pkey -in "enc$i.pem" -pubout -out "sdf/enc$i.pub" 2>/dev/null
done
check "softsdf: the encryption keys in place" test -s sdf/enc2.key -a -s sdf/enc3.key

ESEAL_PIN=$SDFPASS expect 0 "package request" package request --enc "sdf:$SDF#2" \
    --key soft:keys#system --cert system.crt --id REQ-CLI-1 -o req.der
expect 0 "package show of the request" package show req.der --trust trust.pem
check "show: the request id" has "REQ-CLI-1" out
ESEAL_PIN=$SDFPASS expect 1 "a request signed with a key not the certificate's" package request \
    --enc "sdf:$SDF#2" --key soft:keys#outsider --cert system.crt -o bad.der
ESEAL_PIN=$SDFPASS expect 3 "a request id that is not one" package request --enc "sdf:$SDF#2" \
    --key soft:keys#system --cert system.crt --id 'a b' -o bad.der
check "the field is named" has "request_id" err
expect 3 "--days over 30" package request --enc "sdf:$SDF#2" --key soft:keys#system \
    --cert system.crt --days 31 -o bad.der

SUBJ="/C=CN/O=${USCC}${UNIT}/CN=RS35010000000201"
ESEAL_CA_PIN=$CAPASS expect 1 "package make refuses a request from an untrusted system" \
    package make --request req.der --trust "$D/otherroot.crt" --ca ca --subject "$SUBJ" \
    "${MAKE[@]}" --es-id RS35010000000201 -o no.pkg
check "untrusted: no package" test ! -e no.pkg
ESEAL_CA_PIN=$CAPASS expect 0 "package make" package make --request req.der --trust trust.pem \
    --ca ca --subject "$SUBJ" "${MAKE[@]}" --es-id RS35010000000201 -o seal.pkg
check "make: the key is wiped, said" has "wiped" err
expect 0 "package show of the package" package show seal.pkg --trust trust.pem
check "show: the certificate" has "RS35010000000201" out

python3 - <<'EOF'
b = bytearray(open("seal.pkg", "rb").read())
b[len(b) // 2] ^= 1
open("tampered.pkg", "wb").write(bytes(b))
EOF
ESEAL_PIN=$SDFPASS expect 1 "a tampered package is refused" package import tampered.pkg \
    --key "sdf:$SDF#2" --trust trust.pem
check "tampered: no key imported" test ! -e sdf/sign2.key
ESEAL_PIN=$SDFPASS expect 1 "the package does not import into index 3 (another key)" \
    package import seal.pkg --key "sdf:$SDF#3" --trust trust.pem
check "index 3: said" has "another encryption key" err
check "index 3: no key" test ! -e sdf/sign3.key
ESEAL_PIN=wrong-pass expect 3 "a wrong access password" package import seal.pkg \
    --key "sdf:$SDF#2" --trust trust.pem
ESEAL_PIN=$SDFPASS expect 0 "package import into index 2" package import seal.pkg \
    --key "sdf:$SDF#2" --trust trust.pem --cert-out pkg.crt --seal-out pkg.esl
check "index 2 holds a signing key now" test -s sdf/sign2.key
check "the key file is encrypted" grep -q "ENCRYPTED PRIVATE KEY" sdf/sign2.key
check "no key in the clear in the devices" sh -c '! grep -rq "BEGIN PRIVATE KEY" sdf bus'
ESEAL_PIN=$SDFPASS expect 1 "a second import is refused" package import seal.pkg \
    --key "sdf:$SDF#2"
ESEAL_PIN=$SDFPASS expect 0 "the application system signs an OFD with the imported key" \
    ofd sign plain.ofd --seal pkg.esl --cert pkg.crt --key "sdf:$SDF#2" --page 1 --x 30 --y 30 \
    -o sdf.ofd
expect 0 "and it verifies" ofd verify sdf.ofd --trust trust.pem

finish
