#!/usr/bin/env bash
# eseal ca, end to end, judged by the openssl command line: a root and an intermediate CA on
# soft keys; seal, maker-system, status-system and user certificates from OpenSSL-made
# requests and bare public keys; lint refusals; revocation and CRLs; a seal made with a
# maker certificate of our CA verifying with eseal seal verify --trust.
#
# usage: tests/cli/ca.sh /path/to/eseal   (ESEAL_TESTDATA set, as CTest does)
# Prints one line per check and ends with "N passed, M failed"; exit status 1 when any failed.
set -u

ID=distid:1234567812345678
USCC=91350100M000100Y43
UNIT='某某市人力资源和社会保障局'
ROOT_SUBJ='/C=CN/O=人力资源和社会保障部/CN=人社电子印章根 (test)'
SUB_SUBJ='/C=CN/ST=福建省/O=福建省人力资源和社会保障厅/CN=福建人社印章CA (test)'
MAKER_SUBJ='/C=CN/ST=福建省/L=福州市/O=福州市人力资源和社会保障局/CN=福州市电子印章制作系统'
STATUS_SUBJ='/C=CN/ST=福建省/O=福建省人力资源和社会保障厅/CN=福建省电子印章状态发布系统'
export ESEAL_PIN=correct-horse-battery
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" ca "$@"
ERR_LINES=8

# has_example, where an example may set ESEAL_PIN first.
has_example() { grep -q '^example' "$1" && grep -Eq '^  +(ESEAL_PIN=[^ ]+ )?eseal ' "$1"; }

# ossl_verify CA LEAF [openssl verify options]: openssl's verdict, "OK" expected.
ossl_verify() {
    local ca=$1 leaf=$2
    shift 2
    openssl verify -vfyopt "$ID" "$@" -CAfile "$ca" "$leaf" >ossl 2>&1 && grep -q ": OK" ossl
}


# --- help and usage ---
for args in "ca --help" "ca init --help" "ca issue --help" "ca revoke --help" "ca crl --help" \
    "ca list --help" "ca show --help"; do
    # shellcheck disable=SC2086
    expect 0 "eseal $args" $args
    check "eseal $args shows an example" has_example out
done
run --help
check "eseal --help lists 'ca'" grep -Eq '^  ca ' out
expect 3 "ca without subcommand" ca
expect 3 "unknown ca subcommand" ca frobnicate
check "unknown ca subcommand named" has frobnicate err
for sub in init issue revoke crl; do
    expect 3 "ca $sub --bogus" ca $sub --bogus
    check "ca $sub --bogus: option named" has bogus err
done
expect 3 "ca init without --key" ca init --dir root --subject "$ROOT_SUBJ"
check "ca init without --key: named" has "missing --key" err
expect 3 "ca init with a bad subject" ca init --dir root --key soft:keys#root --subject 'CN=x'
check "ca init, bad subject: explained" has "/C=CN/O=" err
expect 3 "ca list of a directory without a CA" ca list --dir .
check "ca list without a CA: explained" has "no CA here" err

# --- a root CA on a soft key generated in place ---
ESEAL_PIN=short expect 3 "ca init --generate-key with a short passphrase" ca init --dir root \
    --key soft:keys#root --generate-key --subject "$ROOT_SUBJ"
check "short passphrase: no CA created" test ! -e root/config
expect 0 "ca init root" ca init --dir root --key soft:keys#root --generate-key \
    --subject "$ROOT_SUBJ" --days 7300 --crl-url http://ca.example/root.crl
for f in ca.crt config profiles.conf; do
    check "root/$f created" test -e "root/$f"
done
check "no index.txt: the state is in the store" test ! -e root/index.txt
check "root/config names the key by an absolute path" grep -q "^key = soft:/.*keys#root" root/config
check "root/profiles.conf is etc/profiles.conf" has "\[maker-system\]" root/profiles.conf
expect 3 "ca init twice" ca init --dir root --key soft:keys#root --subject "$ROOT_SUBJ"
check "ca init twice: explained" has "already holds a CA" err
check "openssl reads ca.crt: CA:TRUE, pathlen 1" sh -c \
    'openssl x509 -in root/ca.crt -noout -text | grep -q "CA:TRUE, pathlen:1"'
check "openssl reads ca.crt: keyCertSign, cRLSign" sh -c \
    'openssl x509 -in root/ca.crt -noout -text | grep -q "Certificate Sign, CRL Sign"'
check "openssl: ca.crt self-signature (default ID)" ossl_verify root/ca.crt root/ca.crt -x509_strict
check "openssl: ca.crt's signature needs the default ID" sh -c \
    '! openssl verify -CAfile root/ca.crt root/ca.crt >/dev/null 2>&1 ||
     ! openssl verify -check_ss_sig -CAfile root/ca.crt root/ca.crt >/dev/null 2>&1'

# --- seal certificates from OpenSSL-made requests ---
openssl genpkey -algorithm SM2 -out seal.key 2>/dev/null
openssl req -new -utf8 -key seal.key -sm3 -sigopt "$ID" \
    -subj "/C=CN/O=${USCC}${UNIT}/CN=35010000000001" -out seal.csr
expect 0 "issue seal from an openssl request" ca issue --dir root --profile seal --csr seal.csr \
    -o seal.crt
check "seal.crt: openssl verify -x509_strict OK" ossl_verify root/ca.crt seal.crt -x509_strict
check "seal.crt: subject as requested" sh -c \
    "openssl x509 -in seal.crt -noout -subject -nameopt utf8,sep_comma_plus | grep -q 'CN=35010000000001' &&
     openssl x509 -in seal.crt -noout -subject -nameopt utf8 | grep -q '${USCC}${UNIT}'"
check "seal.crt: keyUsage digitalSignature, nonRepudiation (critical)" sh -c \
    'openssl x509 -in seal.crt -noout -text | grep -A1 "Key Usage: critical" | grep -q "Digital Signature, Non Repudiation"'
check "seal.crt: the seal source extension, hrss (ENUMERATED 2)" sh -c \
    'openssl x509 -in seal.crt -outform DER | od -An -tx1 | tr -d " \n" | grep -q "4b010104030a0102"'
check "seal.crt: CRL distribution point" sh -c \
    'openssl x509 -in seal.crt -noout -text | grep -q "URI:http://ca.example/root.crl"'
check "seal.crt: AKI is the root's SKI" sh -c '
    a=$(openssl x509 -in seal.crt -noout -ext authorityKeyIdentifier | tail -1 | tr -d " ")
    s=$(openssl x509 -in root/ca.crt -noout -ext subjectKeyIdentifier | tail -1 | tr -d " ")
    [ -n "$s" ] && [ "$a" = "$s" ]'
check "seal.crt: a 16-octet positive serial" sh -c \
    'openssl x509 -in seal.crt -noout -serial | grep -Eq "^serial=[4-7][0-9A-F]{31}$"'
check "seal.crt: signed over TBSCertificate with the default ID (openssl dgst)" sh -c "
    openssl x509 -in seal.crt -outform DER -out seal.der &&
    python3 der.py elem seal.der 0 >seal.tbs && python3 der.py bits seal.der 2 >seal.sig &&
    openssl x509 -in root/ca.crt -pubkey -noout >root.pub &&
    openssl dgst -sm3 -verify root.pub -signature seal.sig -sigopt $ID seal.tbs | grep -q 'Verified OK'"
check "the state is in root/ca.db" test -s root/ca.db
SEAL1=$(openssl x509 -in seal.crt -noout -serial | sed 's/^serial=//')
expect 0 "ca show the seal certificate" ca show --dir root "$SEAL1" -o kept.crt
check "ca show: the certificate as issued" cmp -s kept.crt seal.crt
check "ca show: its status" has "^status    valid" err
expect 3 "ca show an unknown serial" ca show --dir root 4abc
check "ca show unknown: explained" has "issued no certificate with serial 4abc" err
expect 3 "ca show a serial that is not hex" ca show --dir root xyz

openssl req -new -utf8 -key seal.key -sm3 -subj "/C=CN/O=${USCC}${UNIT}/CN=35010000000002" \
    -out emptyid.csr
expect 0 "issue from a request signed with the empty ID (openssl without -sigopt)" ca issue \
    --dir root --profile seal --csr emptyid.csr --seal-source government -o seal2.crt
check "empty-ID request: noted" has "empty SM2 ID" err
check "seal2.crt: openssl verify OK" ossl_verify root/ca.crt seal2.crt
check "seal2.crt: seal source government (ENUMERATED 1)" sh -c \
    'openssl x509 -in seal2.crt -outform DER | od -An -tx1 | tr -d " \n" | grep -q "4b010104030a0101"'

# A tampered request: one byte of the subject flipped.
openssl req -in seal.csr -outform DER -out seal.csr.der
python3 - <<'EOF'
b = bytearray(open("seal.csr.der", "rb").read())
i = b.index(b"35010000000001")
b[i + 5] ^= 1
open("tampered.csr", "wb").write(b)
EOF
rm -f bad.crt
expect 1 "issue from a tampered request" ca issue --dir root --profile seal --csr tampered.csr \
    -o bad.crt
check "tampered request: explained" has "does not verify" err
check "tampered request: no certificate" test ! -e bad.crt
printf 'not a request\n' >garbage.csr
expect 3 "issue from garbage" ca issue --dir root --profile seal --csr garbage.csr -o bad.crt

# --- lint refusals ---
n_before=$("$ESEAL" ca list --dir root | wc -l)
openssl req -new -utf8 -key seal.key -sm3 -sigopt "$ID" \
    -subj "/C=CN/O=91350100M000100Y44${UNIT}/CN=3501000000001" -out badseal.csr
expect 1 "issue a seal with a bad credit code and seal code" ca issue --dir root --profile seal \
    --csr badseal.csr -o bad.crt
check "lint: refused, failures counted" has "refused: 2 checks failed" err
check "lint: credit code check character named" has "GB 32100 check character" err
check "lint: seal code named" has "neither a 14-digit national seal code" err
check "lint: no certificate" test ! -e bad.crt
expect 1 "issue a seal for 5000 days, with a SAN and bad C" ca issue --dir root --profile seal \
    --csr seal.csr --subject "/C=China/O=${USCC}${UNIT}/CN=35010000000001" --days 5000 \
    --san DNS:seal.example -o bad.crt
check "lint: max_days" has "more than max_days" err
check "lint: C" has "two-letter" err
check "lint: SAN not taken by the seal profile" has "profile seal takes none" err
check "lint: nothing recorded" [ "$("$ESEAL" ca list --dir root | wc -l)" -eq "$n_before" ]
expect 0 "an industry seal code (RS + 14 digits)" ca issue --dir root --profile seal \
    --csr seal.csr --subject "/C=CN/O=${USCC}${UNIT}/CN=RS35010000000003" -o industry.crt
expect 3 "issue under an unknown profile" ca issue --dir root --profile nosuch --csr seal.csr \
    -o bad.crt
check "unknown profile: named" has "no profile \[nosuch\]" err

# --- system certificates: a bare public key, SANs with the port ---
openssl genpkey -algorithm SM2 -out maker.key 2>/dev/null
openssl pkey -in maker.key -pubout -out maker.pub
expect 1 "maker-system without SAN" ca issue --dir root --profile maker-system --pubkey maker.pub \
    --subject "$MAKER_SUBJ" -o bad.crt
check "maker-system without SAN: explained" has "subjectAltName: required" err
expect 1 "maker-system without the port" ca issue --dir root --profile maker-system \
    --pubkey maker.pub --subject "$MAKER_SUBJ" --san IP:10.1.2.3 -o bad.crt
check "maker-system without port: explained" has "port" err
expect 3 "a malformed --san" ca issue --dir root --profile maker-system --pubkey maker.pub \
    --subject "$MAKER_SUBJ" --san 10.1.2.3 -o bad.crt
expect 0 "issue maker-system from a public key" ca issue --dir root --profile maker-system \
    --pubkey maker.pub --subject "$MAKER_SUBJ" --san IP:10.1.2.3 \
    --san URI:https://10.1.2.3:8443/ -o maker.crt
check "maker.crt: openssl verify -x509_strict OK" ossl_verify root/ca.crt maker.crt -x509_strict
check "maker.crt: SAN IP and URI with the port" sh -c \
    'openssl x509 -in maker.crt -noout -ext subjectAltName | grep -q "IP Address:10.1.2.3, URI:https://10.1.2.3:8443/"'
check "maker.crt: serverAuth, clientAuth" sh -c \
    'openssl x509 -in maker.crt -noout -ext extendedKeyUsage | grep -q "TLS Web Server Authentication, TLS Web Client Authentication"'
check "maker.crt: openssl -purpose sslserver OK" ossl_verify root/ca.crt maker.crt -purpose sslserver
check "maker.crt: the key is maker.key's" sh -c \
    '[ "$(openssl x509 -in maker.crt -pubkey -noout)" = "$(cat maker.pub)" ]'

openssl genpkey -algorithm SM2 -out status.key 2>/dev/null
openssl req -new -utf8 -key status.key -sm3 -sigopt "$ID" -subj "$STATUS_SUBJ" \
    -addext "subjectAltName=DNS:status.hrss.example,URI:https://status.hrss.example:9443/" \
    -out status.csr
expect 0 "issue status-system, SANs from the request" ca issue --dir root \
    --profile status-system --csr status.csr --der -o status.der
check "status.der: DER output, openssl verify OK" sh -c \
    "openssl x509 -inform DER -in status.der -out status.crt && openssl verify -vfyopt $ID -CAfile root/ca.crt status.crt | grep -q OK"
check "status.crt: the request's SANs" sh -c \
    'openssl x509 -in status.crt -noout -ext subjectAltName | grep -q "DNS:status.hrss.example, URI:https://status.hrss.example:9443/"'
check "status.crt: keyUsage digitalSignature only" sh -c \
    'openssl x509 -in status.crt -noout -text | grep -A1 "Key Usage" | grep -qx " *Digital Signature"'

openssl genpkey -algorithm SM2 -out user.key 2>/dev/null
openssl req -new -utf8 -key user.key -sm3 -sigopt "$ID" -subj "/C=CN/O=${UNIT}/CN=张三" -out user.csr
expect 0 "issue a user certificate" ca issue --dir root --profile user --csr user.csr \
    --san email:zhangsan@hrss.example -o user.crt
check "user.crt: openssl verify OK" ossl_verify root/ca.crt user.crt -x509_strict

# --- the profiles file is read at run time from the CA directory ---
cat >>root/profiles.conf <<'EOF'

[short-user]
description = added after init
key_usage = digitalSignature
days = 10
max_days = 10
EOF
expect 0 "a profile added to root/profiles.conf" ca issue --dir root --profile short-user \
    --csr user.csr -o short.crt
check "short.crt: 10 days" sh -c '
    nb=$(date -d "$(openssl x509 -in short.crt -noout -startdate | cut -d= -f2)" +%s)
    na=$(date -d "$(openssl x509 -in short.crt -noout -enddate | cut -d= -f2)" +%s)
    [ $((na - nb)) -eq 864000 ]'
printf '[broken]\nkey_usage = sealing\n' >>root/profiles.conf
expect 3 "a broken profiles file" ca list --dir root
check "broken profiles: file and line named" has "profiles.conf: line" err
head -n -2 root/profiles.conf >p.tmp && cat p.tmp >root/profiles.conf

# --- from another working directory; a wrong PIN ---
mkdir elsewhere
(cd elsewhere && "$ESEAL" ca issue --dir ../root --profile user --csr ../user.csr \
    -o ../user2.crt >../out 2>../err)
check "issue from another directory (absolute key reference)" ossl_verify root/ca.crt user2.crt
ESEAL_PIN=wrong-passphrase expect 3 "issue with a wrong passphrase" ca issue --dir root \
    --profile user --csr user.csr -o bad.crt
check "wrong passphrase: explained" has "ESEAL_PIN" err

# --- a seal made with a maker certificate of our CA ---
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect 0 "seal make with maker.crt and seal.crt of our CA" seal make --maker-key maker.key \
    --maker-cert maker.crt --signer-cert seal.crt --name "$UNIT" --es-id 35010000000001 \
    --type 1 --image "$D/seal.png" --width 40 --height 40 --created "$CREATED" \
    --valid-from 2026-01-01 --valid-to 2028-12-31 -o seal.esl
expect 0 "seal verify --trust root/ca.crt" seal verify seal.esl --trust root/ca.crt
check "seal verify: PASSED" grep -q "PASSED" out
check "seal verify: chain_trust PASSED" grep -Eq 'chain_trust +PASSED' out
run seal verify seal.esl --trust "$D/root.crt"
check "seal verify --trust another root: not PASSED (exit $rc)" [ "$rc" -eq 1 -o "$rc" -eq 2 ]
# The policy (docs/verification.md): seal.esl is valid from 2026-01-01, before seal.crt was
# issued, so it breaks "the seal's validity within its certificate's": a WARNING by the
# conventions, FAILED under --policy ldt. A seal within its certificate, made by a
# maker-system certificate with its code as the certificate's CN, passes LD/T.
expect 0 "seal verify (conventions): still PASSED" seal verify seal.esl --trust root/ca.crt
check "policy (conventions): WARNING, the validity named" sh -c \
    "grep -E 'policy +WARNING' out | grep -q 'not within its certificate'"
expect 1 "seal verify --policy ldt: the validity outside the certificate's is FAILED" seal verify \
    seal.esl --trust root/ca.crt --policy ldt
check "policy ldt: FAILED, named" sh -c "grep -E 'policy +FAILED' out | grep -q 'not within its certificate'"
NB=$(date -u -d "$(openssl x509 -in seal.crt -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
expect 0 "seal make within seal.crt's validity" seal make --maker-key maker.key \
    --maker-cert maker.crt --signer-cert seal.crt --name "$UNIT" --es-id 35010000000001 \
    --type 1 --image "$D/seal.png" --width 40 --height 40 --created "$CREATED" \
    --valid-from "$NB" --valid-to 2027-06-30 -o seal-in.esl
expect 0 "seal verify --policy ldt: a seal of our CA's making system" seal verify seal-in.esl \
    --trust root/ca.crt --policy ldt
check "policy ldt: PASSED, the maker a making system" sh -c \
    "grep -E 'policy +PASSED' out | grep -q 'the maker is a making system'"
expect 0 "seal make with another code than the certificate's CN" seal make --maker-key maker.key \
    --maker-cert maker.crt --signer-cert seal.crt --name "$UNIT" --es-id 35010000000002 \
    --type 1 --image "$D/seal.png" --width 40 --height 40 --created "$CREATED" \
    --valid-from "$NB" --valid-to 2027-06-30 -o seal-code.esl
expect 0 "another code: PASSED by the conventions (a WARNING)" seal verify seal-code.esl \
    --trust root/ca.crt
check "another code: policy WARNING names the CN" sh -c \
    "grep -E 'policy +WARNING' out | grep -q 'not its certificate.s CN (35010000000001)'"
expect 1 "another code: FAILED under --policy ldt" seal verify seal-code.esl --trust root/ca.crt \
    --policy ldt
expect 0 "seal make by a seal certificate instead of a maker's" seal make --maker-key seal.key \
    --maker-cert seal.crt --signer-cert seal.crt --name "$UNIT" --es-id 35010000000001 \
    --type 1 --image "$D/seal.png" --width 40 --height 40 --created "$CREATED" \
    --valid-from "$NB" --valid-to 2027-06-30 -o seal-ord.esl
expect 1 "made by an ordinary certificate: FAILED under --policy ldt" seal verify seal-ord.esl \
    --trust root/ca.crt --policy ldt
check "ordinary maker: named" sh -c "grep -E 'policy +FAILED' out | grep -q 'not a making system'"
expect 3 "an unknown policy" seal verify seal-in.esl --policy strictest

# --- revocation and CRLs ---
expect 0 "crl, empty-ID signature for OpenSSL 3.0" ca crl --dir root --sm2-id '' -o before.crl
check "before.crl: openssl crl -CAfile verifies it" sh -c \
    'openssl crl -in before.crl -CAfile root/ca.crt -noout 2>&1 | grep -q "verify OK"'
check "before revocation: openssl verify -crl_check OK" ossl_verify root/ca.crt seal.crt \
    -crl_check -CRLfile before.crl
printf 'CRL test document\n' >crl-data.txt
expect 0 "sign with seal.crt before its revocation" sign --seal seal-in.esl --key seal.key \
    --cert seal.crt crl-data.txt -o pre.sig
sleep 1 # revocation dates have seconds
SERIAL=$(openssl x509 -in seal.crt -noout -serial | cut -d= -f2)
expect 0 "revoke seal.crt (keyCompromise)" ca revoke --dir root "$SERIAL" --reason keyCompromise
expect 1 "revoke it again" ca revoke --dir root "$SERIAL" --reason superseded
check "revoke again: explained" has "revoked already" err
expect 3 "revoke an unknown serial" ca revoke --dir root 4ABCDEF0
expect 3 "revoke with an unknown reason" ca revoke --dir root "$SERIAL" --reason fell-over
expect 3 "revoke without a serial" ca revoke --dir root
S2=$(openssl x509 -in seal2.crt -noout -serial | cut -d= -f2)
expect 0 "put seal2.crt on hold" ca revoke --dir root "$S2" --reason certificateHold
expect 0 "crl (empty ID)" ca crl --dir root --sm2-id '' -o after.crl --days 3
run ca list --dir root
check "ca list: seal.crt revoked, keyCompromise" grep -Eqi "^${SERIAL:-NONE} +revoked .*keyCompromise" out
check "ca list: maker.crt valid" grep -Eq "valid .*maker-system .*福州市电子印章制作系统" out
openssl verify -vfyopt "$ID" -crl_check -CRLfile after.crl -CAfile root/ca.crt seal.crt >ossl 2>&1
check "after revocation: openssl verify says certificate revoked" grep -q "certificate revoked" ossl
check "after revocation: the hold too" sh -c \
    "openssl verify -vfyopt $ID -crl_check -CRLfile after.crl -CAfile root/ca.crt seal2.crt 2>&1 | grep -q 'certificate revoked'"
check "after revocation: maker.crt still OK" ossl_verify root/ca.crt maker.crt -crl_check \
    -CRLfile after.crl
openssl crl -in after.crl -noout -text >crltext 2>&1
check "after.crl: version 2" grep -q "Version 2" crltext
check "after.crl: CRL number 2" sh -c 'grep -A1 "CRL Number" crltext | grep -q "^ *2$"'
check "after.crl: reason Key Compromise" grep -q "Key Compromise" crltext
check "after.crl: reason Certificate Hold" grep -q "Certificate Hold" crltext
check "after.crl: AKI is the root's SKI" sh -c '
    s=$(openssl x509 -in root/ca.crt -noout -ext subjectKeyIdentifier | tail -1 | tr -d " ")
    grep -A1 "Authority Key Identifier" crltext | tail -1 | tr -d " " | { [ -n "$s" ] && grep -qx "$s"; }'
check "after.crl: nextUpdate 3 days after thisUpdate" sh -c '
    a=$(date -d "$(sed -n "s/ *Last Update: //p" crltext)" +%s)
    b=$(date -d "$(sed -n "s/ *Next Update: //p" crltext)" +%s)
    [ $((b - a)) -eq 259200 ]'
# The standard CRL (default ID), checked by openssl dgst over TBSCertList.
expect 0 "crl, default ID, DER" ca crl --dir root --der -o std.crl
check "std.crl: signature over TBSCertList verifies with the default ID" sh -c "
    python3 der.py elem std.crl 0 >crl.tbs && python3 der.py bits std.crl 2 >crl.sig &&
    openssl dgst -sm3 -verify root.pub -signature crl.sig -sigopt $ID crl.tbs | grep -q 'Verified OK'"
check "std.crl: not with the empty ID (OpenSSL 3.0 cannot check it)" sh -c "
    ! openssl crl -inform DER -in std.crl -CAfile root/ca.crt -noout 2>&1 | grep -q 'verify OK'"
check "std.crl: CRL number 3, two revoked" sh -c \
    "openssl crl -inform DER -in std.crl -noout -text | grep -A1 'CRL Number' | grep -q '^ *3$' &&
     [ \$(openssl crl -inform DER -in std.crl -noout -text | grep -c 'Serial Number') -eq 2 ]"
check "the latest CRL is kept in the CA's state" python3 -c '
import sqlite3, sys
row = sqlite3.connect("root/ca.db").execute("SELECT crl, crl_number FROM ca_state").fetchone()
sys.exit(0 if row and bytes(row[0]) == open("std.crl", "rb").read() and row[1] == 4 else 1)'

# --- delta CRLs (RFC 5280 5.2.4) against the full CRL kept (std.crl, number 3) ---
expect 0 "release seal2.crt's hold" ca revoke --dir root "$S2" --reason removeFromCRL
U2=$(openssl x509 -in user2.crt -noout -serial | cut -d= -f2)
expect 0 "revoke user2.crt (affiliationChanged)" ca revoke --dir root "$U2" \
    --reason affiliationChanged
expect 0 "a delta CRL" ca crl --dir root --delta --der -o delta.crl
check "delta: said so on stderr" has "delta CRL number 4 of full CRL 3, 2 changes" err
openssl crl -inform DER -in delta.crl -noout -text >deltatext 2>&1
check "delta.crl: openssl reads the Delta CRL Indicator (critical), base 3" sh -c \
    "grep -A1 'Delta CRL Indicator: critical' deltatext | grep -q '^ *3$'"
check "delta.crl: CRL number 4" sh -c "grep -A1 'CRL Number' deltatext | grep -q '^ *4$'"
check "delta.crl: user2.crt revoked, seal2.crt removed from the CRL, seal.crt not repeated" sh -c \
    "grep -q 'Affiliation Changed' deltatext && grep -q 'Remove From CRL' deltatext &&
     [ \$(grep -c 'Serial Number' deltatext) -eq 2 ]"
check "the full CRL kept is still std.crl" python3 -c '
import sqlite3, sys
row = sqlite3.connect("root/ca.db").execute("SELECT crl, crl_number FROM ca_state").fetchone()
sys.exit(0 if row and bytes(row[0]) == open("std.crl", "rb").read() and row[1] == 5 else 1)'
expect 1 "verify --crl std.crl --crl delta.crl: seal.crt revoked (the full CRL says it)" verify \
    --data crl-data.txt crl.sig --trust root/ca.crt --crl std.crl --crl delta.crl
expect 2 "verify --crl delta.crl alone: a delta never says 'not revoked' (INDETERMINATE)" \
    verify --data crl-data.txt pre.sig --trust root/ca.crt --crl delta.crl

# --- an intermediate CA signed by the root ---
expect 3 "--intermediate without --parent" ca init --dir sub --key soft:keys#sub \
    --generate-key --intermediate --subject "$SUB_SUBJ"
expect 0 "ca init --intermediate --parent root" ca init --dir sub --key soft:keys#sub \
    --generate-key --intermediate --parent root --subject "$SUB_SUBJ" --days 3650
check "sub/chain.crt holds the root" bash -c \
    'cmp -s <(openssl x509 -in sub/chain.crt -outform DER) <(openssl x509 -in root/ca.crt -outform DER)'
check "sub/ca.crt: openssl verify against the root" ossl_verify root/ca.crt sub/ca.crt -x509_strict
check "sub/ca.crt: CA, pathlen 0" sh -c \
    'openssl x509 -in sub/ca.crt -noout -text | grep -q "CA:TRUE, pathlen:0"'
run ca list --dir root
check "the root recorded the intermediate" grep -Eq "valid .*intermediate " out
openssl genpkey -algorithm SM2 -out maker2.key 2>/dev/null
openssl pkey -in maker2.key -pubout -out maker2.pub
expect 0 "the intermediate issues a maker-system certificate" ca issue --dir sub \
    --profile maker-system --pubkey maker2.pub --subject "$MAKER_SUBJ" --san IP:10.1.2.4 \
    --san URI:https://10.1.2.4:8443/ -o maker2.crt
expect 0 "the intermediate issues a seal certificate" ca issue --dir sub --profile seal \
    --csr user.csr --subject "/C=CN/O=${USCC}${UNIT}/CN=35010000000004" -o seal4.crt
check "maker2.crt: openssl verify against the intermediate (link)" ossl_verify sub/ca.crt \
    maker2.crt -partial_chain -x509_strict
cat sub/ca.crt root/ca.crt >bundle.pem
expect 1 "the intermediate refuses to issue a CA (pathlen 0)" ca issue --dir sub \
    --profile intermediate --pubkey maker2.pub --subject '/C=CN/O=x/CN=y' -o bad.crt
check "pathlen refusal explained" has "pathlen 0" err
# Made after its maker certificate: the maker certificate must be valid at createDate.
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect 0 "seal make with the intermediate's maker certificate" seal make --maker-key maker2.key \
    --maker-cert maker2.crt --signer-cert seal4.crt --name "$UNIT" --es-id 35010000000004 \
    --type 1 --image "$D/seal.png" --width 40 --height 40 --created "$CREATED" \
    --valid-from 2026-01-01 --valid-to 2028-12-31 -o seal4.esl
expect 0 "seal verify --trust root+intermediate: the chain verifies" seal verify seal4.esl \
    --trust bundle.pem
check "intermediate chain: chain_trust PASSED" grep -Eq 'chain_trust +PASSED' out
run seal verify seal4.esl --trust root/ca.crt
check "the root alone (intermediate unknown): not PASSED (exit $rc)" [ "$rc" -eq 2 ]

# --- a writer is refused at once while another process holds the CA; readers go on ---
python3 - root/ca.db <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open("held", "w").close()
time.sleep(8)
c.execute("ROLLBACK")
EOF
HOLDER=$!
for _ in $(seq 100); do [ -e held ] && break; sleep 0.1; done
check "another process holds the CA (the barrier: its lock taken within 10 s)" [ -e held ]
t0=$(date +%s%N)
expect 3 "ca issue while another process holds the CA" ca issue --dir root --profile seal \
    --csr seal.csr --subject "/C=CN/O=${USCC}${UNIT}/CN=35010000000077" -o busy.crt
t1=$(date +%s%N)
check "busy: said at once ($(((t1 - t0) / 1000000)) ms)" [ $(((t1 - t0) / 1000000)) -lt 3000 ]
check "busy: explained" has "the CA is in use by another process" err
check "busy: no certificate" test ! -e busy.crt
expect 3 "ca revoke while another process holds the CA" ca revoke --dir root "$S2"
check "busy revoke: explained" has "the CA is in use by another process" err
expect 0 "ca list while another process holds the CA" ca list --dir root
check "list under a writer: the certificates" grep -Eq "revoked .*keyCompromise" out
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null

# --- a directory of an older eseal (index.txt, crlnumber, certs/) is imported on first use ---
LOW1=$(echo "$SEAL1" | tr 'A-F' 'a-f')
mkdir -p old/certs
cp root/ca.crt root/config root/profiles.conf old/
printf '%s\n' "# eseal CA index (docs/ca.md)." >old/index.txt
printf '%s\tV\t20291125170740Z\t-\t-\tseal\t/C=CN/O=%s%s/CN=35010000000001\n' \
    "$LOW1" "$USCC" "$UNIT" >>old/index.txt
printf '6e0b11\tR\t20291125170741Z\t20261126170800Z\tkeyCompromise\tseal\t/CN=x\n' \
    >>old/index.txt
printf '7\n' >old/crlnumber
cp seal.crt "old/certs/$LOW1.pem"
expect 0 "ca list of an old directory" ca list --dir old
check "old: imported rows" sh -c "grep -Eq '^${LOW1:-NONE} +valid' out && grep -Eq '^6e0b11 +revoked .*keyCompromise' out"
check "old: index.txt renamed" sh -c 'test ! -e old/index.txt && test -e old/index.txt.migrated'
expect 0 "old: the certificate came along" ca show --dir old "$SEAL1" -o oldkept.crt
check "old: certificate kept" cmp -s oldkept.crt seal.crt
expect 0 "old: a CRL continues the numbering" ca crl --dir old -o old.crl
check "old: CRL number 7, the revoked one listed" sh -c \
    "openssl crl -in old.crl -noout -text | grep -A1 'CRL Number' | grep -q '^ *7$' &&
     openssl crl -in old.crl -noout -text | grep -qi 'Serial Number: 6E0B11'"
mkdir -p bad
cp root/ca.crt root/config root/profiles.conf bad/
printf 'zz\tV\t20291125170740Z\t-\t-\tseal\t/CN=x\n' >bad/index.txt
expect 3 "a broken old index" ca list --dir bad
check "broken index: the line named" has "index.txt line 1" err
check "broken index: left in place" test -e bad/index.txt

# --- the state in a daemon's store (--store): writes need the audit key and are audited ---
expect 3 "--store write without --audit-key" ca issue --dir root --store sqlite:daemon.db \
    --profile seal --csr seal.csr --subject "/C=CN/O=${USCC}${UNIT}/CN=35010000000078" -o s.crt
check "--store without the audit key: explained" has "audit-key" err
ESEAL_PIN=audit-passphrase run key gen soft:keys#audit
ESEAL_AUDIT_PIN=audit-passphrase expect 0 "--store: issue, audited" ca issue --dir root \
    --store sqlite:daemon.db --audit-key soft:keys#audit --profile seal --csr seal.csr \
    --subject "/C=CN/O=${USCC}${UNIT}/CN=35010000000078" -o s.crt
expect 0 "--store: list" ca list --dir root --store sqlite:daemon.db
check "--store: only what is in that store" sh -c "[ \$(grep -c ' valid ' out) -eq 1 ]"
check "--store: the audit record" python3 -c '
import sqlite3, sys
n = sqlite3.connect("daemon.db").execute("SELECT count(*) FROM audit WHERE action = ?", ("ca.issue",)).fetchone()[0]
sys.exit(0 if n == 1 else 1)'
mkdir -p old2/certs
cp root/ca.crt root/config root/profiles.conf old/index.txt.migrated old2/
mv old2/index.txt.migrated old2/index.txt
expect 3 "--store: an old index is not imported unaudited" ca list --dir old2 --store sqlite:daemon.db
check "--store old index: explained" has "would be imported into the store" err
check "--store old index: left in place" test -e old2/index.txt
ESEAL_AUDIT_PIN=audit-passphrase expect 0 "--store: an old index imported, audited" ca list \
    --dir old2 --store sqlite:daemon.db --audit-key soft:keys#audit
check "--store import: the rows" grep -Eq '^6e0b11 +revoked' out
check "--store import: the ca.import record" python3 -c '
import sqlite3, sys
n = sqlite3.connect("daemon.db").execute("SELECT count(*) FROM audit WHERE action = ?", ("ca.import",)).fetchone()[0]
sys.exit(0 if n == 1 else 1)'

finish
