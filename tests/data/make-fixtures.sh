#!/bin/sh
# Regenerates the committed test keys and certificates with the OpenSSL command line only
# (so that our CA code is not what our tests are checked against). Run from tests/data.
set -eu
ID=distid:1234567812345678
key() { openssl genpkey -algorithm SM2 -out "$1.key"; }
key root
openssl req -new -x509 -key root.key -sm3 -sigopt "$ID" -days 36500 -subj "/C=CN/O=eseal test/CN=eseal test seal root" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out root.crt
issue() { # name subject keyusage
  key "$1"
  openssl req -new -utf8 -key "$1.key" -sm3 -sigopt "$ID" -subj "$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA root.crt -CAkey root.key -sm3 -sigopt "$ID" -vfyopt "$ID" \
    -days 36000 -set_serial "0x$(openssl rand -hex 16)" -extfile /dev/stdin -out "$1.crt" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,$3
EXT
  rm "$1.csr"
}
issue maker "/C=CN/O=eseal test/CN=eseal test seal making system" digitalSignature,nonRepudiation
issue signer "/C=CN/O=91370000MA3C5EXAMPLE某某市人力资源和社会保障局/CN=37030000009999" digitalSignature,nonRepudiation
issue other "/C=CN/O=eseal test/CN=someone else" digitalSignature,nonRepudiation
# An unrelated root, for chain tests that must fail.
openssl genpkey -algorithm SM2 -out otherroot.key
openssl req -new -x509 -key otherroot.key -sm3 -sigopt "$ID" -days 36500 -subj "/CN=unrelated root" -out otherroot.crt
rm otherroot.key
# Interop fixture for test_crypto: a fixed message signed by the OpenSSL command line with
# signer.key (SM2 with SM3, default ID), verified by eseal's es_sm2_digest + es_sm2_verify_digest.
printf 'eseal interop: this message was signed by the OpenSSL command line with SM2/SM3.\n' > openssl_msg.bin
openssl dgst -sm3 -sign signer.key -sigopt "$ID" -out openssl_msg.sig openssl_msg.bin
