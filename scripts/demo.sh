#!/bin/sh
# The walk-through of the seal core: a seal root, a maker and a signer certificate, a seal,
# a signed file, and its verification (good, then tampered). Until eseal has its own CA
# (the key devices and CA issue), the certificates come from the OpenSSL command line.
# Usage: scripts/demo.sh [path/to/eseal]   (make run)
set -eu
ESEAL=$(realpath "${1:-build/eseal}")
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT="$TOP/out/demo"
ID=distid:1234567812345678
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"
step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A seal root (SM2, self-signed, SM3 with the GB/T 35276 default ID)"
run openssl genpkey -algorithm SM2 -out root.key
run openssl req -new -x509 -utf8 -key root.key -sm3 -sigopt "$ID" -days 3650 \
    -subj "/C=CN/O=eseal demo/CN=eseal demo seal root" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out root.crt

cert() { # name subject
    openssl genpkey -algorithm SM2 -out "$1.key"
    openssl req -new -utf8 -key "$1.key" -sm3 -sigopt "$ID" -subj "$2" -out "$1.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n' > ext.cnf
    openssl x509 -req -in "$1.csr" -CA root.crt -CAkey root.key -sm3 -sigopt "$ID" -vfyopt "$ID" \
        -days 1825 -set_serial "0x$(openssl rand -hex 16)" -extfile ext.cnf -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" ext.cnf
    echo "issued $1.crt: $2"
}
step "2. The making system's certificate and the seal's own certificate (CN = seal code)"
cert maker "/C=CN/O=eseal demo/CN=eseal demo seal making system"
cert signer "/C=CN/O=12370000MB0000000X某某市人力资源和社会保障局/CN=37030000000001"

step "3. A seal picture"
cp "$TOP/tests/data/seal.png" seal.png
echo "seal.png ($(wc -c < seal.png) bytes)"

step "4. Make the seal (GB/T 38540 v4)"
run "$ESEAL" seal make --maker-key maker.key --maker-cert maker.crt --signer-cert signer.crt \
    --name "某某市人力资源和社会保障局" --es-id 37030000000001 --type 1 \
    --image seal.png --width 40 --height 40 \
    --valid-from "$(date -u +%Y-%m-%d)" --valid-to "$(date -u -d '+3 years' +%Y-%m-%d)" -o seal.esl
run "$ESEAL" seal show seal.esl

step "5. Sign a document with the seal"
printf '劳动合同 / labour contract, demo\n' > contract.txt
run "$ESEAL" sign --seal seal.esl --key signer.key --cert signer.crt contract.txt -o contract.sig

step "6. Verify it against the seal root"
run "$ESEAL" verify --data contract.txt contract.sig --trust root.crt

step "7. Change one byte of the document: verification must fail"
printf 'X' >> contract.txt
set +e
"$ESEAL" verify --data contract.txt contract.sig --trust root.crt > tampered.txt
rc=$?
set -e
grep data_hash tampered.txt
echo "exit status $rc (1 = FAILED)"
[ "$rc" -eq 1 ]
printf '\nAll files are in %s\n' "$OUT"
