#!/bin/sh
# The walk-through of the seal core, with eseal alone: a seal root (eseal's own CA), the
# making system's certificate and the seal's certificate issued by it after lint, a seal, a
# signed file, and its verification (good, then tampered). Keys live in eseal's software key
# store and never leave it; the commands name them by key reference (soft:DIR#NAME).
# Usage: scripts/demo.sh [path/to/eseal]   (make run)
set -eu
ESEAL=$(realpath "${1:-build/eseal}")
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT="$TOP/out/demo"
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"
# The passphrase of the demo's software keys (8 characters or more); a real site would type it.
ESEAL_PIN='demo passphrase 2026'
export ESEAL_PIN
# The seal's holder: unified social credit code (GB 32100: 18 characters, the 18th a check
# character that eseal's lint verifies) immediately followed by the unit's name, and the
# seal code (14 digits: division code 370300 + serial).
USCC=12370000MB0000000Y
UNIT=某某市人力资源和社会保障局
SEAL_CODE=37030000000001
step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A seal root: eseal's CA, its SM2 key generated in the software key store"
run "$ESEAL" ca init --dir ca --key soft:keys#root --generate-key --days 3650 \
    --subject '/C=CN/O=eseal demo/CN=eseal demo seal root'

step "2. The making system's certificate (LD/T 01.1 7.3.2: name, province, address and port)"
run "$ESEAL" key gen soft:keys#maker -o maker.pub
run "$ESEAL" ca issue --dir ca --profile maker-system --pubkey maker.pub \
    --subject '/C=CN/ST=山东省/L=烟台市/O=烟台市人力资源和社会保障局/CN=烟台市电子印章制作系统' \
    --san IP:127.0.0.1 --san URI:https://127.0.0.1:8443/ -o maker.crt

step "3. The seal's own certificate: CN = seal code, O = credit code + unit name (lint checks both)"
run "$ESEAL" key gen soft:keys#seal -o seal.pub
run "$ESEAL" key csr soft:keys#seal --subject "/C=CN/O=$USCC$UNIT/CN=$SEAL_CODE" -o seal.csr
run "$ESEAL" ca issue --dir ca --profile seal --csr seal.csr -o signer.crt
run "$ESEAL" ca list --dir ca

step "4. A seal picture"
cp "$TOP/tests/data/seal.png" seal.png
echo "seal.png ($(wc -c < seal.png) bytes)"

step "5. Make the seal (GB/T 38540 v4), signed by the making system's key"
run "$ESEAL" seal make --maker-key soft:keys#maker --maker-cert maker.crt --signer-cert signer.crt \
    --name "$UNIT" --es-id "$SEAL_CODE" --type 1 \
    --image seal.png --width 40 --height 40 \
    --valid-from "$(date -u +%Y-%m-%d)" --valid-to "$(date -u -d '+3 years' +%Y-%m-%d)" -o seal.esl
run "$ESEAL" seal show seal.esl

step "6. Sign a document with the seal (the seal's key, in the key store)"
printf '劳动合同 / labour contract, demo\n' > contract.txt
run "$ESEAL" sign --seal seal.esl --key soft:keys#seal --cert signer.crt contract.txt -o contract.sig

step "7. Verify it against the seal root"
run "$ESEAL" verify --data contract.txt contract.sig --trust ca/ca.crt

step "8. Change one byte of the document: verification must fail"
printf 'X' >> contract.txt
set +e
"$ESEAL" verify --data contract.txt contract.sig --trust ca/ca.crt > tampered.txt
rc=$?
set -e
grep data_hash tampered.txt
echo "exit status $rc (1 = FAILED)"
[ "$rc" -eq 1 ]
printf '\nAll files are in %s\n' "$OUT"
