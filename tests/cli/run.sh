#!/usr/bin/env bash
# The eseal command line, end to end: help texts, usage errors, seal make/show/verify/image,
# sign and verify, inspect, bad input files, and interoperability: the maker and signer
# signatures eseal writes verify with the openssl command line alone.
#
# usage: tests/cli/run.sh /path/to/eseal   (ESEAL_TESTDATA and ESEAL_CORPUS set, as CTest does)
# Prints one line per check and ends with "N passed, M failed"; exit status 1 when any failed.
set -u

C=$(cd "${ESEAL_CORPUS:?ESEAL_CORPUS is not set}" && pwd) || exit 3
ID=distid:1234567812345678
NAME='某某市人力资源和社会保障局'
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" cli "$@"

nonempty() { [ -s "$1" ]; }


# first_child_asn1 FILE OUT: the first element inside the outer SEQUENCE, located with
# `openssl asn1parse` offsets and cut out with dd (a second, independent way to find it).
first_child_asn1() {
    local line off hl len
    line=$(openssl asn1parse -inform DER -in "$1" | awk '/d=1/ { print; exit }')
    off=$(echo "$line" | sed -E 's/^ *([0-9]+):.*/\1/')
    hl=$(echo "$line" | sed -E 's/.*hl= *([0-9]+).*/\1/')
    len=$(echo "$line" | sed -E 's/.* l= *([0-9]+).*/\1/')
    dd if="$1" of="$2" bs=1 skip="$off" count=$((hl + len)) status=none
}

# sm2_verify PUB SIG MSG: openssl's verdict on an SM2-with-SM3 signature (default ID).
sm2_verify() {
    openssl dgst -sm3 -verify "$1" -signature "$2" -sigopt "$ID" "$3" >ossl 2>&1 &&
        grep -q 'Verified OK' ossl
}

# The creation date is now: the fixtures' certificates start when they were generated, so a
# fixed creation date could precede the maker certificate.
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MAKE_ARGS=(--maker-key "$D/maker.key" --maker-cert "$D/maker.crt" --signer-cert "$D/signer.crt"
    --name "$NAME" --es-id 37030000001721 --type 1 --image "$D/seal.png" --width 40 --height 42
    --valid-from 2026-01-01 --valid-to 2099-12-31)

# --- help ---
for args in "--help" "seal --help" "seal make --help" "seal show --help" "seal verify --help" \
    "seal image --help" "sign --help" "verify --help" "inspect --help"; do
    # shellcheck disable=SC2086
    expect 0 "eseal $args" $args
    check "eseal $args shows an example" has_example out
done
run --help
for c in seal sign verify inspect; do check "eseal --help lists '$c'" grep -Eq "^  $c " out; done
expect 0 "eseal --version" --version
expect 3 "eseal without arguments"
check "eseal without arguments: usage on stderr" has usage err

# --- the error table ---
DOCS=$(cd "$(dirname "$0")/../../docs" && pwd)
expect 0 "eseal errors --markdown" errors --markdown
check "docs/errors.md is the table's --markdown output (regenerate it: eseal errors --markdown)" \
    cmp -s out "$DOCS/errors.md"
expect 0 "eseal errors wrong_password" errors wrong_password
check "eseal errors NAME: that row only, with its Chinese" \
    eval '[ "$(wc -l <out)" -eq 1 ] && grep -q "603" out && grep -q "密码错误" out'
expect 0 "eseal errors --json" errors --json
check "eseal errors --json: one array, every name once" \
    python3 -c 'import json,sys; d=json.load(open("out")); n=[e["name"] for e in d]; sys.exit(0 if len(d) > 40 and len(n) == len(set(n)) and all(e["message_zh"] for e in d) else 1)'
expect 3 "eseal errors with an unknown name" errors no_such_error
check "an unknown name: said on stderr" has no_such_error err

# --- usage errors ---
expect 3 "unknown command" frobnicate
check "unknown command: named on stderr" has frobnicate err
expect 3 "unknown seal subcommand" seal frobnicate
check "unknown seal subcommand: message on stderr" has frobnicate err
for args in "seal make --bogus" "seal show --bogus x" "seal verify --bogus x" \
    "seal image --bogus x" "sign --bogus" "verify --bogus x" "inspect --bogus x"; do
    # shellcheck disable=SC2086
    expect 3 "eseal $args" $args
    check "eseal $args: message on stderr names the option" has bogus err
done

# --- seal make ---
expect 0 "seal make with every option" seal make "${MAKE_ARGS[@]}" --vid eseal-cli \
    --created "$CREATED" --image-type PNG --id 1234567812345678 -o seal.esl
check "seal make: file written" nonempty seal.esl
expect 0 "seal make, required options only" seal make "${MAKE_ARGS[@]}" -o min.esl
check "seal make, required options only: file written" nonempty min.esl

# Each required option left out in turn: exit 3, the option named, no file.
required=(--maker-key --maker-cert --signer-cert --name --es-id --type --image --width --height
    --valid-from --valid-to -o)
for opt in "${required[@]}"; do
    args=()
    skip=0
    for a in "${MAKE_ARGS[@]}" -o missing.esl; do
        if [ $skip -eq 1 ]; then
            skip=0
            continue
        fi
        if [ "$a" = "$opt" ]; then
            skip=1
            continue
        fi
        args+=("$a")
    done
    rm -f missing.esl
    expect 3 "seal make without $opt" seal make "${args[@]}"
    check "seal make without $opt: stderr names it" has "missing $opt" err
    check "seal make without $opt: no file" test ! -e missing.esl
done

rm -f bad.esl
expect 3 "seal make, maker key not the maker cert's" seal make "${MAKE_ARGS[@]}" \
    --maker-key "$D/signer.key" -o bad.esl
check "seal make, key mismatch: explained on stderr" has "does not belong" err
check "seal make, key mismatch: no file" test ! -e bad.esl
expect 3 "seal make, --valid-from after --valid-to" seal make "${MAKE_ARGS[@]}" \
    --valid-from 2100-01-01 -o bad.esl
expect 3 "seal make, bad time" seal make "${MAKE_ARGS[@]}" --valid-to yesterday -o bad.esl
check "seal make, bad time: stderr names the option" has "valid-to" err
expect 3 "seal make, bad width" seal make "${MAKE_ARGS[@]}" --width wide -o bad.esl
expect 3 "seal make, missing image file" seal make "${MAKE_ARGS[@]}" --image nosuch.png -o bad.esl
check "seal make, missing image file: named on stderr" has nosuch.png err
printf 'not a picture' >notimage.bin
expect 3 "seal make, unknown picture format" seal make "${MAKE_ARGS[@]}" --image notimage.bin \
    -o bad.esl
expect 3 "seal make, --image-type not ASCII" seal make "${MAKE_ARGS[@]}" --image-type 图片 \
    -o bad.esl
check "seal make, failures wrote no file" test ! -e bad.esl

# --- seal show, image ---
expect 0 "seal show" seal show seal.esl
check "seal show: name" has "$NAME" out
check "seal show: esID" has 37030000001721 out
check "seal show: vid" has eseal-cli out
check "seal show: created" has "$CREATED" out
check "seal show: layout" has "GB/T 38540-2020 v4" out
expect 0 "seal show --json" seal show seal.esl --json
check "seal show --json: valid JSON" valid_json out
check "seal show --json: fields" python3 -c '
import json, sys
j = json.load(open("out"))
assert j["kind"] == "seal" and j["version"] == 4 and j["es_id"] == "37030000001721"
assert j["name"] == sys.argv[1] and j["picture.type"] == "PNG" and j["picture.height_mm"] == 42
assert j["vid"] == "eseal-cli" and j["cert_list_type"] == 1
' "$NAME"
expect 0 "seal image" seal image seal.esl -o pic.png
check "seal image: exact PNG bytes" cmp -s pic.png "$D/seal.png"
expect 3 "seal image without -o" seal image seal.esl
expect 3 "seal image with -o but no file name" seal image seal.esl -o
check "seal image -o without a name: says so" has "-o needs a file name" err

# --- seal verify ---
mkdir anchors && cp "$D/root.crt" "$D/otherroot.crt" anchors/
mkdir wronganchors && cp "$D/otherroot.crt" wronganchors/
expect 2 "seal verify without --trust" seal verify seal.esl
check "seal verify without --trust: chain_trust INDETERMINATE" grep -Eq 'chain_trust +INDETERMINATE' out
check "seal verify: seal_signature PASSED" grep -Eq 'seal_signature +PASSED' out
expect 0 "seal verify --trust root.crt" seal verify seal.esl --trust "$D/root.crt"
expect 0 "seal verify --trust DIR" seal verify seal.esl --trust anchors
run seal verify seal.esl --trust "$D/otherroot.crt"
check "seal verify --trust otherroot.crt: not PASSED (exit $rc)" [ "$rc" -eq 1 -o "$rc" -eq 2 ]
run seal verify seal.esl --trust wronganchors
check "seal verify --trust DIR of an unrelated root: not PASSED (exit $rc)" [ "$rc" -eq 1 -o "$rc" -eq 2 ]
expect 3 "seal verify --trust nonexistent" seal verify seal.esl --trust nosuch.crt
expect 0 "seal verify --json" seal verify seal.esl --json --trust "$D/root.crt"
check "seal verify --json: valid JSON" valid_json out
expect 0 "seal verify --at inside the validity" seal verify seal.esl --trust "$D/root.crt" \
    --at 2030-01-01
expect 0 "seal verify --at after validEnd (a warning)" seal verify seal.esl \
    --trust "$D/root.crt" --at 2100-06-01
check "seal verify --at after validEnd: seal_validity WARNING" grep -Eq 'seal_validity +WARNING' out
off=$(der offset seal.esl "$NAME")
der flip seal.esl $((off + 5)) tampered.esl
expect 1 "seal verify, a name byte flipped" seal verify tampered.esl --trust "$D/root.crt"
check "seal verify, tampered: seal_signature FAILED" grep -Eq 'seal_signature +FAILED' out
expect 0 "seal make --id ALICE" seal make "${MAKE_ARGS[@]}" --id ALICE -o alice.esl
expect 1 "seal verify of an --id ALICE seal with the default ID" seal verify alice.esl \
    --trust "$D/root.crt"
expect 0 "seal verify --id ALICE" seal verify alice.esl --trust "$D/root.crt" --id ALICE

# --- sign, verify ---
printf 'The contract, version 1.\n' >data.txt
printf 'The contract, version 2.\n' >data2.txt
expect 0 "sign" sign --seal seal.esl --key "$D/signer.key" --cert "$D/signer.crt" \
    --property /Doc_0/Signs/Sign_0/Signature.xml data.txt -o data.sig
check "sign: file written" nonempty data.sig
expect 0 "verify --data, trusted" verify --data data.txt data.sig --trust "$D/root.crt"
check "verify: every check PASSED or SKIPPED" python3 -c '
import re, sys
lines = [l for l in open("out") if re.match(r"    [a-z_]+ +(PASSED|FAILED|INDETERMINATE|WARNING|SKIPPED) ", l)]
assert len(lines) == 10, lines
# The fixtures break the national conventions (code 37030000001721, the certificate CN
# 37030000009999; valid from 2026-01-01, before the certificate): policy only warns.
assert all(re.search(r" (PASSED|SKIPPED) ", l) for l in lines if not l.strip().startswith("policy")), lines
pol = [l for l in lines if l.strip().startswith("policy")]
assert len(pol) == 1 and " WARNING " in pol[0] and "37030000009999" in pol[0], pol
'
expect 2 "verify --data, no trust" verify --data data.txt data.sig
expect 1 "verify --data, modified data" verify --data data2.txt data.sig --trust "$D/root.crt"
check "verify, modified data: data_hash FAILED" grep -Eq 'data_hash +FAILED' out
expect 0 "verify without --data (data_hash SKIPPED)" verify data.sig --trust "$D/root.crt"
check "verify without --data: data_hash SKIPPED" grep -Eq 'data_hash +SKIPPED' out
expect 3 "verify --data nonexistent" verify --data nosuch.txt data.sig
expect 1 "verify --json, modified data" verify --data data2.txt data.sig --json \
    --trust "$D/root.crt"
check "verify --json: valid JSON" valid_json out
check "verify --json: report shape" python3 -c '
import json
r = json.load(open("out"))
assert r["file"] == "data.sig" and r["indication"] == "FAILED"
assert isinstance(r["signatures"], list) and len(r["signatures"]) == 1
s = r["signatures"][0]
assert isinstance(s["id"], str) and s["indication"] == "FAILED"
assert isinstance(s["seal"], dict) and isinstance(s["signer"], dict)
assert isinstance(s["quirks"], list)
names = [c["name"] for c in s["checks"]]
for c in s["checks"]:
    assert set(c) >= {"name", "result", "detail"} and isinstance(c["detail"], str)
    assert c["result"] in ("PASSED", "FAILED", "INDETERMINATE", "WARNING", "SKIPPED")
assert set(names) == {"format", "data_hash", "signature", "seal_signature", "seal_validity",
                      "signer_cert_match", "signer_cert_validity", "chain_trust", "status",
                      "policy"}, names
res = {c["name"]: c["result"] for c in s["checks"]}
assert res["data_hash"] == "FAILED" and res["signature"] == "PASSED", res
assert s["seal"]["es_id"] == "37030000001721"
assert s["signer"]["property_info"] == "/Doc_0/Signs/Sign_0/Signature.xml"
'
expect 0 "sign DATA from standard input" sign --seal seal.esl --key "$D/signer.key" \
    --cert "$D/signer.crt" - -o stdin.sig <data.txt
expect 0 "verify the stdin signature against the file" verify --data data.txt stdin.sig \
    --trust "$D/root.crt"
cp data.txt 合同.txt
rm -f refused.sig
expect 0 "sign a file with a non-ASCII name, no --property" sign --seal seal.esl \
    --key "$D/signer.key" --cert "$D/signer.crt" 合同.txt -o utf8name.sig
expect 0 "inspect the signature of the non-ASCII name" inspect utf8name.sig
check "sign, non-ASCII file name: propertyInfo percent-encoded (RFC 3986)" \
    has "%E5%90%88%E5%90%8C.txt" out
expect 0 "sign a file with a non-ASCII name, with --property" sign --seal seal.esl \
    --key "$D/signer.key" --cert "$D/signer.crt" --property contract.txt 合同.txt -o named.sig
expect 0 "verify it" verify --data 合同.txt named.sig --trust "$D/root.crt"
expect 3 "sign with a non-ASCII --property" sign --seal seal.esl --key "$D/signer.key" \
    --cert "$D/signer.crt" --property 合同.txt data.txt -o refused.sig
check "sign, non-ASCII --property: says so" has "--property must be printable ASCII" err
expect 3 "sign with a cert the seal does not list" sign --seal seal.esl --key "$D/other.key" \
    --cert "$D/other.crt" data.txt -o refused.sig
check "sign, unlisted cert: explained on stderr" has "certificate list" err
expect 3 "sign with a key that is not the cert's" sign --seal seal.esl --key "$D/other.key" \
    --cert "$D/signer.crt" data.txt -o refused.sig
check "sign, refused: no file" test ! -e refused.sig
expect 3 "sign without --seal" sign --key "$D/signer.key" --cert "$D/signer.crt" data.txt \
    -o refused.sig
check "sign without --seal: named" has "missing --seal" err
expect 3 "sign with a certificate as the seal" sign --seal "$D/signer.crt" --key "$D/signer.key" \
    --cert "$D/signer.crt" data.txt -o refused.sig
# Claimed signing times outside the seal's validity (2026-01-01 to 2099-12-31).
expect 0 "sign --time after the seal's validEnd" sign --seal seal.esl --key "$D/signer.key" \
    --cert "$D/signer.crt" --time 2100-06-01 data.txt -o late.sig
expect 2 "verify a signature claiming a time after validEnd" verify --data data.txt late.sig \
    --trust "$D/root.crt"
check "late signature: seal_validity INDETERMINATE" grep -Eq 'seal_validity +INDETERMINATE' out
expect 0 "sign --time before the seal's validStart" sign --seal seal.esl --key "$D/signer.key" \
    --cert "$D/signer.crt" --time 2025-12-31 data.txt -o early.sig
expect 1 "verify a signature claiming a time before validStart" verify --data data.txt early.sig \
    --trust "$D/root.crt"
check "early signature: seal_validity FAILED" grep -Eq 'seal_validity +FAILED' out
der flip data.sig $(($(der offset data.sig Signature.xml) + 2)) tampered.sig
expect 1 "verify, a propertyInfo byte flipped" verify --data data.txt tampered.sig \
    --trust "$D/root.crt"
check "verify, tampered TBS_Sign: signature FAILED" grep -Eq '^ +signature +FAILED' out
expect 0 "verify accepts a seal too" verify seal.esl --trust "$D/root.crt"

# --- inspect ---
openssl x509 -in "$D/signer.crt" -outform DER -out signer.der
expect 0 "inspect a seal" inspect seal.esl
check "inspect a seal: kind seal" grep -Eq '^kind +seal' out
expect 0 "inspect a signature" inspect data.sig
check "inspect a signature: kind signature" grep -Eq '^kind +signature' out
check "inspect a signature: propertyInfo" has /Doc_0/Signs/Sign_0/Signature.xml out
expect 0 "inspect a PEM certificate" inspect "$D/signer.crt"
check "inspect a PEM certificate: kind certificate" grep -Eq '^kind +certificate' out
check "inspect a PEM certificate: subject" has 37030000009999 out
expect 0 "inspect a DER certificate" inspect signer.der
check "inspect a DER certificate: kind certificate" grep -Eq '^kind +certificate' out
expect 0 "inspect a CMS SignedData" inspect "$C/signature/ccb_cms_SignedValue.dat"
check "inspect a CMS SignedData: recognised" has cms_signed_data out
for f in seal.esl data.sig "$D/signer.crt" signer.der "$C/signature/ccb_cms_SignedValue.dat"; do
    expect 0 "inspect --json $(basename "$f")" inspect "$f" --json
    check "inspect --json $(basename "$f"): valid JSON" valid_json out
done
expect 2 "verify a CMS SignedData without --trust: INDETERMINATE" verify "$C/signature/ccb_cms_SignedValue.dat" --json
check "verify a CMS SignedData: kind cms_signed_data" has '"kind":"cms_signed_data"' out
expect 3 "inspect without FILE" inspect

# --- bad input files: a clear error, never a crash ---
: >empty.bin
printf 'this is not DER at all\n' >garbage.bin
python3 -c 'import random, sys; random.seed(38540); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(4096)))' >random.bin
python3 -c 'import random, sys; random.seed(1); sys.stdout.buffer.write(b"\x30\x82\x0f\xfc" + bytes(random.getrandbits(8) for _ in range(4092)))' >randseq.bin
der head seal.esl 700 short.esl
der head data.sig 1500 short.sig
for f in nosuch.esl empty.bin garbage.bin random.bin randseq.bin short.esl short.sig; do
    for cmd in "seal show" "seal verify" "seal image" verify inspect; do
        extra=()
        [ "$cmd" = "seal image" ] && extra=(-o img.out)
        # shellcheck disable=SC2086
        run $cmd "$f" "${extra[@]}"
        check "$cmd $f: no crash (exit $rc)" no_crash
        if [ "$f" = nosuch.esl ]; then
            check "$cmd $f: exit 3" [ "$rc" -eq 3 ]
            check "$cmd $f: stderr names the file" has nosuch.esl err
        elif [ "$rc" -eq 1 ]; then
            check "$cmd $f: exit 1 with format FAILED" grep -Eq 'format +FAILED' out
        else
            check "$cmd $f: exit 3 with a message (exit $rc)" [ "$rc" -eq 3 -a -s err ]
        fi
    done
done
run seal verify --trust garbage.bin seal.esl
check "seal verify --trust garbage: exit 3 (exit $rc)" [ "$rc" -eq 3 -a -s err ]
run seal make "${MAKE_ARGS[@]}" --maker-cert garbage.bin -o bad.esl
check "seal make with a garbage maker cert: exit 3 (exit $rc)" [ "$rc" -eq 3 -a -s err ]
run seal make "${MAKE_ARGS[@]}" --maker-key garbage.bin -o bad.esl
check "seal make with a garbage maker key: exit 3 (exit $rc)" [ "$rc" -eq 3 -a -s err ]
run sign --seal seal.esl --key "$D/signer.key" --cert "$D/signer.crt" nosuch.txt -o x.sig
check "sign a nonexistent file: exit 3 (exit $rc)" [ "$rc" -eq 3 -a -s err ]

# --- interop: the signatures eseal writes verify with the openssl command line alone ---
# Seal: the maker signs SES_SealInfo, the first child of SESeal; the signature is the
# BIT STRING (4th child) holding DER SEQUENCE{r, s}; the key is the embedded maker cert's.
der elem seal.esl 0 >sealinfo.bin
first_child_asn1 seal.esl sealinfo_dd.bin
check "interop: SealInfo found alike by asn1parse+dd and by the DER walker" \
    cmp -s sealinfo.bin sealinfo_dd.bin
der bits seal.esl 3 >sealsig.der
check "interop: seal signature is DER SEQUENCE{r, s}" \
    sh -c 'openssl asn1parse -inform DER -in sealsig.der | grep -c INTEGER | grep -qx 2'
der octets seal.esl 1 >maker_embedded.der
openssl x509 -in "$D/maker.crt" -outform DER -out maker.der
check "interop: embedded maker certificate is maker.crt" cmp -s maker_embedded.der maker.der
openssl x509 -inform DER -in maker_embedded.der -pubkey -noout >maker_pub.pem
check "interop: openssl verifies the maker signature over SES_SealInfo" \
    sm2_verify maker_pub.pem sealsig.der sealinfo.bin
der flip sealinfo.bin 40 sealinfo_bad.bin
check "interop: openssl rejects it over a SealInfo with one byte flipped" \
    eval '! sm2_verify maker_pub.pem sealsig.der sealinfo_bad.bin'
der bits alice.esl 3 >alicesig.der
der elem alice.esl 0 >alice_info.bin
check "interop: an --id ALICE seal verifies with openssl distid:ALICE" sh -c \
    'openssl dgst -sm3 -verify maker_pub.pem -signature alicesig.der -sigopt distid:ALICE alice_info.bin | grep -q "Verified OK"'

# Signature: the signer signs TBS_Sign, the first child of SES_Signature; the key is the
# embedded signer certificate's (2nd child); the signature is the 4th child.
der elem data.sig 0 >tbs.bin
first_child_asn1 data.sig tbs_dd.bin
check "interop: TBS_Sign found alike by asn1parse+dd and by the DER walker" cmp -s tbs.bin tbs_dd.bin
der elem data.sig 0.1 >embedded_seal.esl
check "interop: the seal is embedded in TBS_Sign byte for byte" cmp -s embedded_seal.esl seal.esl
der bits data.sig 3 >sig.der
der octets data.sig 1 >signer_embedded.der
check "interop: embedded signer certificate is signer.crt" cmp -s signer_embedded.der signer.der
openssl x509 -inform DER -in signer_embedded.der -pubkey -noout >signer_pub.pem
check "interop: openssl verifies the signer signature over TBS_Sign" \
    sm2_verify signer_pub.pem sig.der tbs.bin
der flip tbs.bin $(($(wc -c <tbs.bin) - 3)) tbs_bad.bin
check "interop: openssl rejects it over a TBS_Sign with one byte flipped" \
    eval '! sm2_verify signer_pub.pem sig.der tbs_bad.bin'
# shellcheck disable=SC2016 # expanded by the inner sh
check "interop: dataHash in TBS_Sign is SM3 of the data (openssl dgst -sm3)" sh -c '
    want=$(openssl dgst -sm3 -r data.txt | cut -d" " -f1)
    got=$(python3 der.py bits tbs.bin 3 | od -An -tx1 | tr -d " \n")
    [ -n "$want" ] && [ "$want" = "$got" ]'
# The maker signature inside the signature's embedded seal too.
der elem embedded_seal.esl 0 >inner_info.bin
der bits embedded_seal.esl 3 >inner_sig.der
check "interop: openssl verifies the embedded seal's maker signature" \
    sm2_verify maker_pub.pem inner_sig.der inner_info.bin

finish
