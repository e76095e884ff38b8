#!/usr/bin/env bash
# `eseal token` end to end against libsoftskf.so (a GB/T 35291 token in files): help texts,
# usage errors, init with PIN counters, gen, wrong PINs and locking, unlock with the SO PIN,
# passwd, key import from a PEM key and from an envelope built with the openssl command line
# alone (interop of the ENVELOPEDKEYBLOB layout), certificates, list, libraries that do not
# load; and the path LD/T 01.1 needs: a seal key made outside the token, imported, then used
# by `eseal sign --key skf:...` for a signature that verifies against tests/data.
#
# usage: tests/cli/token.sh /path/to/eseal   (ESEAL_TESTDATA, ESEAL_SOFTSKF, ESEAL_SKF_BROKEN set,
#                                              as CTest does)
# Prints one line per check and ends with "N passed, M failed"; exit status 1 when any failed.
set -u

LIB=${ESEAL_SOFTSKF:?ESEAL_SOFTSKF is not set}
BROKEN=${ESEAL_SKF_BROKEN:?ESEAL_SKF_BROKEN is not set}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" token "$@"
export SOFTSKF_DIR=$T/bus
mkdir bus
unset ESEAL_PIN ESEAL_SO_PIN ESEAL_NEW_PIN ESEAL_KEY_PASS SOFTSKF_IMPORT

USER_PIN=12345678
SO_PIN=so-pin-87654321
TOK="skf:$LIB#TOKEN1"

# run ARGS...: lib.sh's run without a controlling terminal (so that no PIN prompt can wait).
run() {
    if command -v setsid >/dev/null; then
        setsid -w "$ESEAL" "$@" >out 2>err </dev/null
    else
        "$ESEAL" "$@" >out 2>err </dev/null
    fi
    rc=$?
}

# has_example, where an example may set ESEAL_ variables or be an export line.
has_example() { grep -q '^example' "$1" && grep -Eq '^  +(ESEAL_[A-Z_]+=\S+ )*eseal |^  +export ' "$1"; }
same() { cmp -s "$1" "$2"; }
# exited N CMD...: the last run exited with N and CMD holds, so that one check asserts both
# (`check "..." [ ... ] && has ...` gives check only the first and runs the rest apart).
exited() {
    [ "$rc" -eq "$1" ] || return 1
    shift
    "$@"
}
pub_of() { openssl pkey -in "$1" -pubout 2>/dev/null; }

# --- help and usage ---
expect 0 "token --help" token --help
check "token --help has examples" has_example out
for sub in init info gen import cert unlock passwd list; do
    expect 0 "token $sub --help" token "$sub" --help
    check "token $sub --help has an example" has_example out
done
expect 3 "token without a subcommand" token
expect 3 "an unknown subcommand" token frobnicate "$TOK/SEAL"
expect 3 "init without a reference" token init
expect 3 "init needs an application" token init "$TOK"
expect 3 "gen needs a container" token gen "$TOK/SEAL"
expect 3 "not an skf: reference" token list "soft:/tmp#x"
expect 3 "a PIN option does not exist" token init "$TOK/SEAL" --pin 1234
check "  and says so" has "unknown option --pin" err

# --- init ---
expect 3 "init of a device not plugged in" token init "$TOK/SEAL"
check "  hints at mkdir" has 'mkdir $SOFTSKF_DIR/TOKEN1' err
expect 3 "init without PINs and no terminal" token init "$TOK/SEAL" --create-device
check "  asks for ESEAL_SO_PIN" has "ESEAL_SO_PIN" err
check "--create-device made the device directory" [ -d bus/TOKEN1 ]
ESEAL_SO_PIN=$SO_PIN ESEAL_PIN=123 run token init "$TOK/SEAL"
check "a 3-character PIN is refused (exit $rc)" [ "$rc" -eq 3 ]
check "  with the device's reason" has "SAR_PIN_LEN_RANGE" err
export ESEAL_SO_PIN=$SO_PIN ESEAL_PIN=$USER_PIN
expect 0 "init TOKEN1/SEAL" token init "$TOK/SEAL"
check "  reports the counters" has "created TOKEN1/SEAL: user PIN 6 tries, SO PIN 10 tries" out
expect 3 "init again" token init "$TOK/SEAL"
check "  the application exists" has "exists already" err
expect 0 "init TOKEN1/SMALL with 2 user tries" token init "$TOK/SMALL" --user-retries 2 --so-retries 3
expect 3 "--user-retries 0 refused" token init "$TOK/X" --user-retries 0
check "no PIN in clear under SOFTSKF_DIR" sh -c "! grep -rqF -e '$USER_PIN' -e '$SO_PIN' bus"
unset ESEAL_SO_PIN

# --- info, gen ---
expect 0 "info" token info "$TOK/SEAL"
check "  device" has "^manufacturer  eseal softskf" out
check "  user PIN counter" has "^user PIN      6 of 6 tries left" out
check "  SO PIN counter" has "^SO PIN        10 of 10 tries left" out
check "  import and decrypt" grep -q "^decrypt       yes" out
expect 0 "info on the device only" token info "$TOK"
check "  no PIN lines" sh -c '! grep -q "PIN" out'
expect 0 "gen" token gen "$TOK/SEAL/GEN" -o gen.pub
check "  writes a PEM public key" has "BEGIN PUBLIC KEY" gen.pub
check "  that openssl reads as SM2" sh -c "openssl pkey -pubin -in gen.pub -text -noout | grep -q SM2"
expect 3 "gen again" token gen "$TOK/SEAL/GEN"
check "  is never overwritten" has "never overwritten" err
ESEAL_PIN=00000000 run token gen "$TOK/SEAL/GEN2"
check "a wrong PIN (exit $rc)" [ "$rc" -eq 3 ]
check "  reports 5 tries left" has "wrong PIN, 5 tries left" err
run token info "$TOK/SEAL"
check "  the counter is stored" has "^user PIN      5 of 6 tries left" out
unset ESEAL_PIN
expect 3 "gen without a PIN and no terminal" token gen "$TOK/SEAL/GEN2"
export ESEAL_PIN=$USER_PIN
expect 0 "the right PIN" token gen "$TOK/SEAL/GEN2"
run token info "$TOK/SEAL"
check "  restores the counter" has "^user PIN      6 of 6 tries left" out

# --- locking and unlocking ---
ESEAL_PIN=00000000 run token gen "$TOK/SMALL/C"
check "SMALL: a wrong PIN, 1 try left" has "wrong PIN, 1 try left" err
ESEAL_PIN=00000000 run token gen "$TOK/SMALL/C"
check "SMALL: the second locks it" has "the PIN is locked" err
run token gen "$TOK/SMALL/C"
check "SMALL: locked, the right PIN is refused too (exit $rc)" exited 3 has "locked" err
run token info "$TOK/SMALL"
check "SMALL: info shows it" has "^user PIN      0 of 2 tries left (locked)" out
ESEAL_SO_PIN=wrong-so-pin ESEAL_NEW_PIN=new-pin-2468 run token unlock "$TOK/SMALL"
check "unlock with a wrong SO PIN (exit $rc)" exited 3 has "wrong SO PIN, 2 tries left" err
ESEAL_SO_PIN=$SO_PIN ESEAL_NEW_PIN=new-pin-2468 run token unlock "$TOK/SMALL"
check "unlock with the SO PIN (exit $rc)" [ "$rc" -eq 0 ]
check "  the counter is full" has "is set: 2 of 2 tries" out
ESEAL_PIN=new-pin-2468 run token gen "$TOK/SMALL/C"
check "the new user PIN works (exit $rc)" [ "$rc" -eq 0 ]
ESEAL_PIN=new-pin-2468 ESEAL_NEW_PIN=other-pin-1357 run token passwd "$TOK/SMALL"
check "passwd (exit $rc)" exited 0 has "user PIN of TOKEN1/SMALL is changed" out
ESEAL_PIN=new-pin-2468 run token cert "$TOK/SMALL/C" --put "$D/signer.crt"
check "  the old PIN no longer works" has "wrong PIN" err
ESEAL_SO_PIN=$SO_PIN ESEAL_NEW_PIN=so-pin-new-1 run token passwd "$TOK/SMALL" --so
check "passwd --so (exit $rc)" [ "$rc" -eq 0 ]

# --- import of a key made elsewhere, and signing with it ---
expect 0 "import signer.key" token import "$TOK/SEAL/SIGNER" --key "$D/signer.key" -o imported.pub
check "  a transport key was generated to receive it" has "generated one to receive" err
pub_of "$D/signer.key" >signer.pub
check "  the token's signing key is signer.key's (openssl)" same imported.pub signer.pub
expect 0 "store signer.crt" token cert "$TOK/SEAL/SIGNER" --put "$D/signer.crt"
expect 0 "read it back" token cert "$TOK/SEAL/SIGNER" -o back.der
openssl x509 -in "$D/signer.crt" -outform DER -out signer.der
check "  byte for byte" same back.der signer.der
expect 0 "read it back as PEM" token cert "$TOK/SEAL/SIGNER"
check "  PEM" has "BEGIN CERTIFICATE" out
expect 3 "no encryption certificate" token cert "$TOK/SEAL/SIGNER" --enc
expect 3 "import over a certified key" token import "$TOK/SEAL/SIGNER" --key "$D/other.key"
check "  needs --replace" has "replace" err

expect 0 "make a seal listing signer.crt" seal make --maker-key "$D/maker.key" \
    --maker-cert "$D/maker.crt" --signer-cert "$D/signer.crt" --name '测试印章' \
    --es-id 37030000001721 --type 1 --image "$D/seal.png" --width 40 --height 40 \
    --valid-from 2020-01-01 --valid-to 2099-12-31 -o seal.esl
echo "a contract" >contract.txt
expect 0 "sign with the key in the token" sign --seal seal.esl --key "$TOK/SEAL/SIGNER" \
    --cert "$D/signer.crt" contract.txt -o contract.sig
expect 0 "the signature verifies" verify --data contract.txt contract.sig --trust "$D/root.crt"
ESEAL_PIN=00000000 run sign --seal seal.esl --key "$TOK/SEAL/SIGNER" --cert "$D/signer.crt" \
    contract.txt -o bad.sig
check "signing with a wrong PIN fails (exit $rc)" exited 3 [ ! -e bad.sig ]
# A faulty token (softskf's SOFTSKF_BROKEN_SIGN flips a bit of each signature): the signature
# does not verify, so eseal withholds it: an error that says so, and no file.
SOFTSKF_BROKEN_SIGN=1 run sign --seal seal.esl --key "$TOK/SEAL/SIGNER" --cert "$D/signer.crt" \
    contract.txt -o broken.sig
check "a token whose signature does not verify: refused (exit $rc)" exited 3 [ ! -e broken.sig ]
check "  nothing on stdout" [ ! -s out ]
check "  the error says the signature does not verify" has "does not verify" err

expect 0 "import over it with --replace" token import "$TOK/SEAL/SIGNER" --key "$D/other.key" \
    --replace -o other-imported.pub
pub_of "$D/other.key" >other.pub
check "  the signing key is other.key's" same other-imported.pub other.pub
expect 3 "  and the old certificate is gone" token cert "$TOK/SEAL/SIGNER"

# --- an envelope built with openssl alone ---
expect 0 "a container to receive an envelope" token gen "$TOK/SEAL/ENV" -o wrap.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out outside.key 2>/dev/null
pub_of outside.key >outside.pub
openssl rand 16 >symm.bin
openssl pkeyutl -encrypt -pubin -inkey wrap.pub -in symm.bin -out symm.ct 2>/dev/null
cat >envelope.py <<'EOF'
# Builds a GB/T 35291 ENVELOPEDKEYBLOB (32-bit little-endian ULONG, packed) from an SM2 key
# (openssl pkey -text), a 16-byte SM4 key and its SM2 encryption (GM/T 0009 DER), encrypting
# the private key with `openssl enc -sm4-ecb`.
import re, struct, subprocess, sys

key, symm, ct, out = sys.argv[1:5]
text = subprocess.run(["openssl", "pkey", "-in", key, "-text", "-noout"], check=True,
                      capture_output=True, text=True).stdout
def field(name):
    m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    return bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
d = field("priv").rjust(32, b"\0")[-32:]
pub = field("pub")
assert len(pub) == 65 and pub[0] == 4
k = open(symm, "rb").read()
enc = subprocess.run(["openssl", "enc", "-sm4-ecb", "-nopad", "-K", k.hex()],
                     input=b"\0" * 32 + d, check=True, capture_output=True).stdout
assert len(enc) == 64

def tlv(b, off):
    tag, n, hl = b[off], b[off + 1], 2
    if n & 0x80:
        k_ = n & 0x7F
        n, hl = int.from_bytes(b[off + 2:off + 2 + k_], "big"), 2 + k_
    return tag, b[off + hl:off + hl + n], off + hl + n
c = open(ct, "rb").read()
_, body, _ = tlv(c, 0)
vals, off = [], 0
while off < len(body):
    _, v, off = tlv(body, off)
    vals.append(v)
x, y, h, c2 = vals
right = lambda v: b"\0" * 32 + int.from_bytes(v, "big").to_bytes(32, "big")
blob = struct.pack("<III", 1, 0x401, 256) + enc
blob += struct.pack("<I", 256) + right(pub[1:33]) + right(pub[33:65])
blob += right(x) + right(y) + h + struct.pack("<I", len(c2)) + c2
open(out, "wb").write(blob)
EOF
check "an envelope made with openssl and python" python3 envelope.py outside.key symm.bin symm.ct env.bin
check "  of 388 bytes" [ "$(wc -c <env.bin)" -eq 388 ]
head -c 300 env.bin >env-short.bin
expect 3 "a truncated envelope" token import "$TOK/SEAL/ENV" --envelope env-short.bin
check "  is not an envelope" has "not a GB/T 35291 ENVELOPEDKEYBLOB" err
expect 3 "the envelope into another container" token import "$TOK/SEAL/GEN" --envelope env.bin
check "  does not open there" has "SAR_INDATAERR" err
expect 0 "the envelope into its container" token import "$TOK/SEAL/ENV" --envelope env.bin \
    -o env-imported.pub
check "  the signing key is the one made by openssl" same env-imported.pub outside.pub
expect 3 "import with both --key and --envelope" token import "$TOK/SEAL/ENV" --envelope env.bin \
    --key outside.key

# --- GM/T 0016 literally: an imported pair is an encryption key ---
SOFTSKF_IMPORT=enc run token import "$TOK/SEAL/ENC" --key "$D/other.key"
check "a token that keeps imported keys for encryption (exit $rc)" [ "$rc" -eq 3 ]
check "  says the key cannot sign there" has "encryption key pair" err

# --- list, libraries ---
ESEAL_SO_PIN=$SO_PIN run token init "$TOK/EMPTY"
expect 0 "list" token list "skf:$LIB"
check "  containers" has "^TOKEN1/SEAL/SIGNER$" out
check "  SMALL's container" grep -qx 'TOKEN1/SMALL/C' out
check "  an application without containers" grep -qx 'TOKEN1/EMPTY/' out
mkdir bus/TOKEN2
expect 0 "list one device" token list "skf:$LIB#TOKEN2"
check "  an empty device lists nothing" [ ! -s out ]
expect 3 "a library that does not exist" token list "skf:$T/nothing.so"
check "  the loader's message" has "nothing.so" err
expect 3 "a library without SKF_ECCSignData" token info "skf:$BROKEN#TOKEN1"
check "  names the function" has "SKF_ECCSignData" err
expect 3 "a device not present" token info "$TOK-NOT"
check "no PIN in clear under SOFTSKF_DIR at the end" \
    sh -c "! grep -rqF -e '$USER_PIN' -e '$SO_PIN' -e new-pin-2468 bus"

finish
