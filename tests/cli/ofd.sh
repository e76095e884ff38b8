#!/usr/bin/env bash
# `eseal ofd` end to end: help texts and usage errors; every OFD of the real-world corpus gets
# the exit status and per-signature verdicts EXPECTED.tsv gives (with the failing files named);
# sign an unsigned document, twice, in place and as a riding seal, verify, show, extract the
# seals; tampering with any kind of file detected and named; interop: the hashes and the
# signature eseal writes check out with the openssl command line and Python's zipfile alone;
# broken packages (truncated, not a zip, missing files, bad XML, a zip bomb) exit 3 with a
# reason, never a crash.
#
# usage: tests/cli/ofd.sh /path/to/eseal   (ESEAL_TESTDATA and ESEAL_CORPUS set, as CTest does)
# Prints one line per check and ends with "N passed, M failed"; exit status 1 when any failed.
set -u

C=$(cd "${ESEAL_CORPUS:?ESEAL_CORPUS is not set}" && pwd) || exit 3
ID=distid:1234567812345678
NAME='某某市人力资源和社会保障局'
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" ofd "$@"
unset ESEAL_PIN

# Package surgery with Python's zipfile only (independent of libzip).
cat >pkg.py <<'EOF'
import base64, hashlib, io, sys, zipfile

def entries(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist() if not i.filename.endswith("/")}

def write(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in files.items():
            z.writestr(n, b)

cmd = sys.argv[1]
if cmd == "plain":      # an unsigned OFD with N pages: plain OUT N
    out, n = sys.argv[2], int(sys.argv[3])
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    f = {"OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>cli</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>'.encode()}
    pages = "".join(f'<ofd:Page ID="{10 + k}" BaseLoc="Pages/Page_{k}/Content.xml"/>' for k in range(n))
    f["Doc_0/Document.xml"] = f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>99</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages>{pages}</ofd:Pages></ofd:Document>'.encode()
    for k in range(n):
        f[f"Doc_0/Pages/Page_{k}/Content.xml"] = f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="{50 + k}"/></ofd:Content></ofd:Page>'.encode()
    write(out, f)
elif cmd == "flip":     # flip a bit of byte AT of entry NAME: flip IN NAME AT OUT
    src, name, at, out = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    f = entries(src)
    b = bytearray(f[name]); b[at % len(b)] ^= 1; f[name] = bytes(b)
    write(out, f)
elif cmd == "drop":     # drop IN NAME OUT
    f = entries(sys.argv[2]); del f[sys.argv[3]]; write(sys.argv[4], f)
elif cmd == "put":      # put IN NAME TEXT OUT
    f = entries(sys.argv[2]); f[sys.argv[3]] = sys.argv[4].encode(); write(sys.argv[5], f)
elif cmd == "cat":      # cat IN NAME
    sys.stdout.buffer.write(entries(sys.argv[2])[sys.argv[3]])
elif cmd == "bomb":     # bomb OUT: 64 MiB of zeros behind a tiny OFD.xml
    with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", "<OFD/>")
        z.writestr("Doc_0/zeros.bin", b"\0" * (64 << 20))
elif cmd == "refs":     # every CheckValue of a Signature.xml is base64(SM3(file)): refs IN SIGXML
    import re, subprocess
    f = entries(sys.argv[2])
    x = f[sys.argv[3]].decode()
    refs = re.findall(r'FileRef="/([^"]+)"><ofd:CheckValue>([^<]+)<', x)
    assert refs, "no references"
    for name, cv in refs:
        h = subprocess.run(["openssl", "dgst", "-sm3", "-binary"], input=f[name],
                           capture_output=True, check=True).stdout
        assert base64.b64encode(h).decode() == cv, name
    names = {n for n, _ in refs}
    want = set(f) - {"Doc_0/Signs/Signatures.xml", sys.argv[3],
                     sys.argv[3].replace("Signature.xml", "SignedValue.dat")}
    assert names == want, (names ^ want)
EOF
pkg() { python3 pkg.py "$@"; }


# --- help and usage ---
for args in "ofd --help" "ofd sign --help" "ofd verify --help" "ofd show --help" \
    "ofd seal --help"; do
    # shellcheck disable=SC2086
    expect 0 "eseal $args" $args
    check "eseal $args shows an example" has_example out
done
run --help
check "eseal --help lists 'ofd'" grep -Eq '^  ofd ' out
expect 3 "eseal ofd without a subcommand" ofd
expect 3 "unknown ofd subcommand" ofd frobnicate
check "unknown ofd subcommand: named" has frobnicate err
for args in "ofd sign --bogus" "ofd verify --bogus x.ofd" "ofd show --bogus x.ofd" \
    "ofd seal --bogus x.ofd"; do
    # shellcheck disable=SC2086
    expect 3 "eseal $args" $args
    check "eseal $args: the option named" has bogus err
done
expect 3 "ofd verify without FILE" ofd verify
expect 3 "ofd seal without -o" ofd seal x.ofd
expect 3 "ofd verify of a missing file" ofd verify nosuch.ofd
check "ofd verify of a missing file: named" has nosuch.ofd err

# --- the corpus: exit status and verdicts per signature ---
cat >expect.py <<'EOF'
import json, re, subprocess, sys
eseal, corpus = sys.argv[1], sys.argv[2]
rows = {}
for line in open(corpus + "/EXPECTED.tsv", encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    if len(f) >= 3 and f[0].startswith("ofd/"):
        rows.setdefault(f[0], []).append((f[1], f[2], f[3] if len(f) > 3 else ""))
bad = 0
for name, sigs in sorted(rows.items()):
    p = subprocess.run([eseal, "ofd", "verify", corpus + "/" + name, "--json"], capture_output=True)
    errs = []
    rep = json.loads(p.stdout) if p.stdout else {"signatures": []}
    got = {s["id"]: s for s in rep["signatures"]}
    want_exit = 1 if any(v.startswith("invalid") for _, v, _ in sigs) else 2
    if p.returncode != want_exit:
        errs.append(f"exit {p.returncode}, want {want_exit}")
    if sigs[0][0] == "-":
        if rep["signatures"]:
            errs.append("signatures reported where none are expected")
    elif set(got) != {i for i, _, _ in sigs}:
        errs.append(f"signature IDs {sorted(got)}")
    for sid, verdict, notes in sigs:
        if sid == "-":
            continue
        s = got.get(sid)
        if not s:
            continue
        res = {c["name"]: c for c in s["checks"]}
        failed = {n for n, c in res.items() if c["result"] == "FAILED"}
        if verdict.startswith("valid") or verdict.startswith("indeterminate"):
            if failed or s["indication"] != "INDETERMINATE":
                errs.append(f"{sid}: {s['indication']} with {sorted(failed)}")
        elif verdict.startswith("invalid:"):
            spec = verdict[8:].split(" (")[0] if not verdict[8:].startswith("references(") else verdict[8:]
            m = re.match(r"references\(([^)]*)\)", spec)
            want = set(re.sub(r"references\([^)]*\)", "references", spec).split(" ")[0].split(","))
            if failed != want:
                errs.append(f"{sid}: failed {sorted(failed)}, want {sorted(want)}")
            if m:
                detail = res["references"]["detail"]
                for path in m.group(1).split():
                    if path not in detail.split():
                        errs.append(f"{sid}: {path} not named in '{detail}'")
                later = "modified by a later signature" in notes
                if res["changes"]["result"] != ("WARNING" if later else "INDETERMINATE"):
                    errs.append(f"{sid}: changes {res['changes']['result']}")
    print(("ok   " if not errs else "FAIL ") + name + ("" if not errs else ": " + "; ".join(errs)))
    bad += bool(errs)
sys.exit(1 if bad else 0)
EOF
python3 expect.py "$ESEAL" "$C" >corpus.out 2>&1
while IFS= read -r line; do
    case $line in
    ok*) pass=$((pass + 1)) ;;
    *) fail=$((fail + 1)) ;;
    esac
    echo "$line (corpus)"
done <corpus.out
check "corpus: 25 OFD packages checked" [ "$(wc -l <corpus.out)" -ge 25 ]

expect 1 "ofd verify (text) of the riding sample" ofd verify "$C/ofd/ofdrw_sign_v4_2seals_riding.ofd"
check "riding sample: told apart from tampering" has "modified by a later signature, not tampering" out
expect 1 "ofd verify of a tampered vendor file" ofd verify "$C/ofd/gomain_yunnan_housing_2seals.ofd"
check "tampered vendor file: the pages named" has "/Doc_0/Pages/Page_1/Content.xml" out
expect 2 "ofd verify of a GM/T 0099 file without signatures" ofd verify "$C/ofd/ofdrw_integrity_gmt0099.ofd"
check "no signatures: said on stderr" has "no signature" err
expect 0 "ofd show of a vendor file" ofd show "$C/ofd/koal_ssc_3seals.ofd"
check "ofd show: three signatures" has "signatures: 3" out
check "ofd show: the seal name" has "SSC_A_user1" out
expect 0 "ofd show --json" ofd show "$C/ofd/koal_ssc_3seals.ofd" --json
check "ofd show --json: valid JSON" valid_json out
expect 0 "ofd seal of a vendor file" ofd seal "$C/ofd/kinggrid_gomain_cq_taxseal_999.ofd" -o kg
check "ofd seal: the seal inside SignedValue.dat written" test -s kg/1.esl
check "ofd seal: its picture (an embedded OFD) written" test -s kg/1.ofd
run seal show kg/1.esl
check "ofd seal: the extracted seal reads as a seal" has "50011200000323" out

# --- sign ---
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect 0 "seal make" seal make --maker-key "$D/maker.key" --maker-cert "$D/maker.crt" \
    --signer-cert "$D/signer.crt" --name "$NAME" --es-id 37030000001721 --type 1 \
    --image "$D/seal.png" --width 40 --height 42 --valid-from 2026-01-01 --valid-to 2099-12-31 \
    --created "$CREATED" -o seal.esl
pkg plain plain.ofd 4
SIGN=(--seal seal.esl --key "$D/signer.key" --cert "$D/signer.crt")
expect 0 "ofd sign an unsigned document" ofd sign plain.ofd "${SIGN[@]}" --page 2 --x 120 --y 200 \
    -o one.ofd
expect 0 "ofd verify it --trust root.crt" ofd verify one.ofd --trust "$D/root.crt"
expect 2 "ofd verify it without --trust" ofd verify one.ofd
expect 0 "ofd verify --json" ofd verify one.ofd --json --trust "$D/root.crt"
check "ofd verify --json: report shape" python3 -c '
import json
r = json.load(open("out"))
assert r["file"] == "one.ofd" and r["indication"] == "PASSED" and len(r["signatures"]) == 1
s = r["signatures"][0]
assert s["id"] == "1" and s["kind"] == "ses_signature"
names = {c["name"] for c in s["checks"]}
assert names >= {"format", "data_hash", "signature", "seal_signature", "seal_validity",
                 "signer_cert_match", "signer_cert_validity", "chain_trust", "status",
                 "references", "changes", "coverage", "seal_file"}, names
assert s["signer"]["property_info"] == "/Doc_0/Signs/Sign_0/Signature.xml"
assert s["signer"]["signature_xml"] == "/Doc_0/Signs/Sign_0/Signature.xml"
'
check "OFD.xml names the new signature list" sh -c \
    'python3 pkg.py cat one.ofd OFD.xml | grep -q "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>"'
check "every file but the list referenced, each CheckValue = openssl dgst -sm3" \
    pkg refs one.ofd Doc_0/Signs/Sign_0/Signature.xml
# Interop: dataHash = SM3(Signature.xml) and the signature over TBS_Sign, with openssl alone.
pkg cat one.ofd Doc_0/Signs/Sign_0/Signature.xml >sig.xml
pkg cat one.ofd Doc_0/Signs/Sign_0/SignedValue.dat >sv.dat
pkg cat one.ofd Doc_0/Signs/Sign_0/Seal.esl >seal_in.esl
check "Seal.esl is the seal" cmp -s seal_in.esl seal.esl
# shellcheck disable=SC2016
check "interop: dataHash is openssl dgst -sm3 of Signature.xml" sh -c '
    want=$(openssl dgst -sm3 -r sig.xml | cut -d" " -f1)
    got=$(python3 der.py bits sv.dat 0.3 | od -An -tx1 | tr -d " \n")
    [ -n "$want" ] && [ "$want" = "$got" ]'
der elem sv.dat 0 >tbs.bin
der bits sv.dat 3 >sig.der
der octets sv.dat 1 >cert.der
openssl x509 -inform DER -in cert.der -pubkey -noout >pub.pem 2>/dev/null
check "interop: openssl verifies the signature over TBS_Sign" sh -c \
    "openssl dgst -sm3 -verify pub.pem -signature sig.der -sigopt $ID tbs.bin | grep -q 'Verified OK'"
check "interop: propertyInfo is the path of Signature.xml" \
    sh -c 'python3 der.py elem sv.dat 0.4 | grep -aq "/Doc_0/Signs/Sign_0/Signature.xml"'

expect 0 "ofd sign a second time" ofd sign one.ofd "${SIGN[@]}" --page 1 --x 10 --y 10 -o two.ofd
expect 0 "both signatures PASSED" ofd verify two.ofd --trust "$D/root.crt"
check "two entries" sh -c "grep -c '^ses_signature ' out | grep -qx 2"
cp two.ofd inplace.ofd
expect 0 "ofd sign in place" ofd sign inplace.ofd "${SIGN[@]}" --page 3 --x 10 --y 10 \
    -o inplace.ofd
expect 0 "three signatures PASSED" ofd verify inplace.ofd --trust "$D/root.crt"
expect 0 "riding seal over pages 1-4" ofd sign plain.ofd "${SIGN[@]}" --riding 1-4 -o riding.ofd
expect 0 "riding seal PASSED" ofd verify riding.ofd --trust "$D/root.crt"
expect 0 "ofd show of the riding seal" ofd show riding.ofd
check "riding seal: a stamp with a clip on each page" sh -c "grep -c 'clip' out | grep -qx 4"
expect 0 "ofd seal of our document" ofd seal two.ofd -o seals
check "ofd seal: our seal, byte for byte" cmp -s seals/1.esl seal.esl
check "ofd seal: its picture, byte for byte" cmp -s seals/1.png "$D/seal.png"
expect 0 "ofd show of our document" ofd show two.ofd
check "ofd show: seal name" has "$NAME" out
check "ofd show: stamp position" has "page 2: x 120 y 200, 40 x 42 mm" out

# A key in a key device (the soft store) through a key reference, as every --key takes.
mkdir keys
ESEAL_PIN='correct horse battery' "$ESEAL" key gen soft:keys#signer -o softsigner.pub >out 2>err
rc=$?
check "key gen soft:keys#signer (exit $rc)" [ "$rc" -eq 0 ]
openssl req -new -key "$D/other.key" -sm3 -sigopt "$ID" -subj "/C=CN/O=eseal test/CN=soft signer" \
    -out soft.csr 2>/dev/null &&
    openssl x509 -req -in soft.csr -force_pubkey softsigner.pub -CA "$D/root.crt" \
        -CAkey "$D/root.key" -sm3 -sigopt "$ID" -vfyopt "$ID" -days 3650 -set_serial 0x5eed \
        -out softsigner.crt 2>/dev/null
check "a certificate for the soft key (openssl)" test -s softsigner.crt
expect 0 "seal make for the soft key" seal make --maker-key "$D/maker.key" \
    --maker-cert "$D/maker.crt" --signer-cert softsigner.crt --name 软钥匙章 \
    --es-id 37030000001722 --type 1 --image "$D/seal.png" --width 40 --height 40 \
    --valid-from 2026-01-01 --valid-to 2099-12-31 --created "$CREATED" -o soft.esl
ESEAL_PIN='correct horse battery' "$ESEAL" ofd sign two.ofd --seal soft.esl \
    --key soft:keys#signer --cert softsigner.crt --page 4 --x 20 --y 20 -o soft.ofd >out 2>err
rc=$?
check "ofd sign --key soft:keys#signer (exit $rc)" [ "$rc" -eq 0 ]
expect 0 "three signatures, one by the soft key, PASSED" ofd verify soft.ofd --trust "$D/root.crt"
check "the soft key's signature is there" has 软钥匙章 out
ESEAL_PIN='wrong horse battery' "$ESEAL" ofd sign two.ofd --seal soft.esl \
    --key soft:keys#signer --cert softsigner.crt --page 4 --x 20 --y 20 -o refused.ofd \
    >out 2>err
rc=$?
check "ofd sign --key soft: with a wrong passphrase (exit $rc, want 3)" [ "$rc" -eq 3 ]
check "wrong passphrase: said so" has "wrong" err

rm -f refused.ofd
expect 3 "ofd sign on a page that does not exist" ofd sign plain.ofd "${SIGN[@]}" --page 9 --x 1 \
    --y 1 -o refused.ofd
check "page that does not exist: explained" has "page 9" err
expect 3 "ofd sign with another key" ofd sign plain.ofd --seal seal.esl --key "$D/other.key" \
    --cert "$D/signer.crt" --page 1 --x 1 --y 1 -o refused.ofd
expect 3 "ofd sign without --page" ofd sign plain.ofd "${SIGN[@]}" --x 1 --y 1 -o refused.ofd
check "without --page: named" has "missing --page" err
expect 3 "ofd sign with a bad --riding" ofd sign plain.ofd "${SIGN[@]}" --riding 3-2 -o refused.ofd
expect 3 "ofd sign with --x not a number" ofd sign plain.ofd "${SIGN[@]}" --page 1 --x left \
    --y 1 -o refused.ofd
check "refusals wrote no file" test ! -e refused.ofd
check "no temporary files left behind" sh -c '! ls | grep -q tmp'

# --- tampering: each kind of file, detected and named ---
for spec in "Doc_0/Pages/Page_0/Content.xml:40" "Doc_0/Document.xml:100" \
    "Doc_0/Signs/Sign_0/Signature.xml:300" "Doc_0/Signs/Sign_0/SignedValue.dat:200" \
    "Doc_0/Signs/Sign_0/Seal.esl:900" "Doc_0/Signs/Sign_1/SignedValue.dat:30"; do
    name=${spec%%:*}
    at=${spec##*:}
    pkg flip two.ofd "$name" "$at" tampered.ofd
    expect 1 "a byte of $name changed" ofd verify tampered.ofd --trust "$D/root.crt"
    check "a byte of $name changed: named in a FAILED check" grep -Eq "FAILED .*/$name" out
done

# --- broken packages: exit 3 with a reason, never a crash ---
head -c 2000 two.ofd >truncated.ofd
printf 'not a zip at all\n' >garbage.ofd
: >empty.ofd
pkg drop two.ofd OFD.xml noofdxml.ofd
pkg drop two.ofd Doc_0/Signs/Signatures.xml nolist.ofd
pkg put two.ofd OFD.xml '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>' badxml.ofd
pkg put two.ofd Doc_0/Signs/Signatures.xml \
    '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "x">]><Signatures/>' doctype.ofd
pkg bomb bomb.ofd
for f in truncated.ofd garbage.ofd empty.ofd noofdxml.ofd nolist.ofd badxml.ofd doctype.ofd \
    bomb.ofd; do
    for cmd in verify show seal sign; do
        extra=()
        [ "$cmd" = seal ] && extra=(-o sealsout)
        [ "$cmd" = sign ] && extra=("${SIGN[@]}" --page 1 --x 1 --y 1 -o signed-broken.ofd)
        run ofd "$cmd" "$f" "${extra[@]}"
        check "ofd $cmd $f: exit 3 with a reason (exit $rc)" [ "$rc" -eq 3 -a -s err ]
        check "ofd $cmd $f: no crash" no_crash
    done
done
run ofd verify bomb.ofd
check "zip bomb: said so" has "zip bomb" err
run ofd verify badxml.ofd
check "bad XML: said so" has "not well-formed" err
run ofd verify noofdxml.ofd
check "no OFD.xml: said so" has "OFD.xml" err
check "broken packages: nothing signed" test ! -e signed-broken.ofd

finish
