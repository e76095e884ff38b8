/* eseal crypto: SM2, SM3, random and X.509 helpers. The only part of eseal that calls
 * OpenSSL (src/crypto/); nothing here exposes an OpenSSL type.
 *
 * SM2 public keys are 65-byte uncompressed points (0x04 || x || y). Signature values are
 * handled as two 32-byte big-endian numbers r and s; es_sm2_sig_decode reads every encoding
 * real producers write.
 *
 * Thread safety: every function is safe to call from several threads on distinct objects.
 */
#ifndef ESEAL_CRYPTO_H
#define ESEAL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/der.h"
#include "eseal/err.h"
#include "eseal/quirk.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_SM3_LEN     32
#define ES_SM2_PUB_LEN 65
/* GB/T 35276 default signer identity. */
#define ES_SM2_DEFAULT_ID "1234567812345678"
#define ES_SM2_MAX_ID     8191 /* ENTL is a 16-bit count of bits */

/* OIDs: the one table is in der.h. */

/* SM3 in one call. */
es_err es_sm3(const void *p, size_t len, uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;

/* Streaming SM3 (owned object). */
typedef struct es_sm3_ctx es_sm3_ctx;
es_err es_sm3_new(es_sm3_ctx **out) ES_MUST_CHECK;
es_err es_sm3_update(es_sm3_ctx *c, const void *p, size_t len) ES_MUST_CHECK;
es_err es_sm3_final(es_sm3_ctx *c, uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
void es_sm3_free(es_sm3_ctx *c);

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 5.5). */
es_err es_sm2_z(const uint8_t pub[ES_SM2_PUB_LEN], const void *id, size_t idlen,
                uint8_t z[ES_SM3_LEN]) ES_MUST_CHECK;
/* e = SM3(Z || M): the digest every SM2 device signs. */
es_err es_sm2_digest(const uint8_t pub[ES_SM2_PUB_LEN], const void *id, size_t idlen,
                     const void *msg, size_t len, uint8_t e[ES_SM3_LEN]) ES_MUST_CHECK;

/* Verifies (r, s) over the digest e with pub. ES_OK when valid, ES_ERR_VERIFY when not. */
es_err es_sm2_verify_digest(const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t e[ES_SM3_LEN],
                            const uint8_t r[32], const uint8_t s[32]) ES_MUST_CHECK;

/* Reads a signature value: DER SEQUENCE{r, s} (integers read as unsigned, tolerant of a
 * missing sign octet or zero padding) or raw 64-byte r||s. Tolerated forms are OR-ed into
 * quirks (may be NULL). ES_ERR_SIG_FORMAT when it is neither. */
es_err es_sm2_sig_decode(es_slice value, uint8_t r[32], uint8_t s[32],
                         es_quirks *quirks) ES_MUST_CHECK;
/* Appends canonical DER SEQUENCE{r, s}. */
es_err es_sm2_sig_encode(const uint8_t r[32], const uint8_t s[32], es_buf *out) ES_MUST_CHECK;

/* Random bytes from the system generator. */
es_err es_random(void *p, size_t len) ES_MUST_CHECK;

/* --- Private keys held in memory (the "soft" case; devices come through es_signer) --- */
typedef struct es_sm2_key es_sm2_key;
/* Generates a fresh SM2 key pair. */
es_err es_sm2_key_generate(es_sm2_key **out) ES_MUST_CHECK;
/* Reads a PEM private key (PKCS#8, optionally encrypted with pass; "EC PRIVATE KEY" too)
 * or DER PKCS#8. pass may be NULL. ES_ERR_KEY when it is not an SM2 key. */
es_err es_sm2_key_from_pem(const uint8_t *p, size_t len, const char *pass,
                           es_sm2_key **out) ES_MUST_CHECK;
/* Appends the private key as PEM PKCS#8: unencrypted when pass is NULL or empty, otherwise
 * an EncryptedPrivateKeyInfo (PBES2: scrypt N=2^14 r=8 p=1, SM4-CBC), which
 * `openssl pkey -passin` reads as well. */
es_err es_sm2_key_to_pem(const es_sm2_key *k, const char *pass, es_buf *out) ES_MUST_CHECK;
/* Appends the public key as PEM SubjectPublicKeyInfo. */
es_err es_sm2_key_pub_pem(const es_sm2_key *k, es_buf *out) ES_MUST_CHECK;
void es_sm2_key_pub(const es_sm2_key *k, uint8_t pub[ES_SM2_PUB_LEN]);
/* Signs the 32-byte digest e. */
es_err es_sm2_key_sign_digest(const es_sm2_key *k, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                              uint8_t s[32]) ES_MUST_CHECK;
void es_sm2_key_free(es_sm2_key *k);
/* The key pair of the private scalar d (big-endian); ES_ERR_KEY when d is 0 or >= n. For
 * software devices and envelope import only: private scalars never leave a device. */
es_err es_sm2_key_from_private(const uint8_t d[32], es_sm2_key **out) ES_MUST_CHECK;
/* The same from d and its public point (uncompressed, 65 bytes) known from elsewhere, without
 * computing d*G (a scalar multiplication, as dear as a signature): the caller vouches that
 * they belong together (an authenticated record of both); a mismatched pair makes signatures
 * that do not verify under pub. ES_ERR_KEY as above, or when pub is not a point. */
es_err es_sm2_key_from_pair(const uint8_t d[32], const uint8_t pub[ES_SM2_PUB_LEN],
                            es_sm2_key **out) ES_MUST_CHECK;
es_err es_sm2_key_private(const es_sm2_key *k, uint8_t d[32]) ES_MUST_CHECK;

/* SM2 encryption to a public key; appends the GM/T 0009 DER SM2Ciphertext
 * SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (C3), ciphertext OCTET STRING (C2) }. */
es_err es_sm2_encrypt(const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t *in, size_t len,
                      es_buf *out) ES_MUST_CHECK;
/* Decrypts such a ciphertext; ES_ERR_VERIFY when it does not decrypt (wrong key, C3). */
es_err es_sm2_key_decrypt(const es_sm2_key *k, const uint8_t *in, size_t len,
                          es_buf *out) ES_MUST_CHECK;

/* SM4-ECB without padding (len a multiple of 16), for GB/T 35291 envelopes. */
es_err es_sm4_ecb(int encrypt, const uint8_t key[16], const uint8_t *in, size_t len,
                  uint8_t *out) ES_MUST_CHECK;
/* SM4-CBC without padding (len a multiple of 16; in and out may be the same), for data at
 * rest (svc/protect: the caller pads and MACs, encrypt-then-MAC). */
es_err es_sm4_cbc(int encrypt, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                  size_t len, uint8_t *out) ES_MUST_CHECK;
/* HMAC-SM3 (GB/T 15852.2 with SM3, as RFC 2104), streamed over parts (owned object). A
 * context is used by one thread at a time. keylen at most 64 bytes. */
typedef struct es_hmac_sm3 es_hmac_sm3;
es_err es_hmac_sm3_new(const uint8_t *key, size_t keylen, es_hmac_sm3 **out) ES_MUST_CHECK;
es_err es_hmac_sm3_update(es_hmac_sm3 *h, const void *p, size_t len) ES_MUST_CHECK;
/* Writes the 32-byte MAC; the context is spent (es_hmac_sm3_free it). */
es_err es_hmac_sm3_final(es_hmac_sm3 *h, uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
void es_hmac_sm3_free(es_hmac_sm3 *h);
/* HMAC-SM3 of one message in one call. */
es_err es_hmac_sm3_once(const uint8_t *key, size_t keylen, const void *p, size_t len,
                        uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
/* 1 when the n bytes at a and b are equal, in time that does not depend on where they differ. */
int es_ct_equal(const void *a, const void *b, size_t n);
/* scrypt (RFC 7914). */
es_err es_scrypt(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen, uint64_t n,
                 uint32_t r, uint32_t p, uint8_t *out, size_t outlen) ES_MUST_CHECK;

/* DER SubjectPublicKeyInfo (id-ecPublicKey, SM2 curve) of a public key; appended. */
es_err es_sm2_pub_spki(const uint8_t pub[ES_SM2_PUB_LEN], es_buf *out) ES_MUST_CHECK;
/* PEM armour ("-----BEGIN label-----", base64 in 64-column lines); appended. */
es_err es_pem_encode(const char *label, const uint8_t *der, size_t len, es_buf *out) ES_MUST_CHECK;

/* --- Certificates --- */
#define ES_KU_DIGITAL_SIGNATURE 0x80
#define ES_KU_NON_REPUDIATION   0x40
#define ES_KU_KEY_CERT_SIGN     0x04
#define ES_KU_CRL_SIGN          0x02

/* What eseal needs to know about a certificate. Strings are owned by the struct. */
typedef struct es_cert_info {
    char *subject; /* one line, RFC 2253 order, UTF-8 */
    char *issuer;
    char serial[41 * 2 + 1]; /* hex */
    es_time not_before;
    es_time not_after;
    int is_sm2;                  /* the key is an SM2 point */
    uint8_t pub[ES_SM2_PUB_LEN]; /* valid when is_sm2 */
    int is_ca;                   /* basicConstraints cA */
    int has_key_usage;
    unsigned key_usage; /* ES_KU_* bits, when has_key_usage */
    char sig_alg[64];   /* dotted OID of the certificate's signature algorithm */
} es_cert_info;

/* A certificate's fields as encoded. Every slice borrows the DER given to es_x509_parse. */
typedef struct es_x509 {
    es_slice tbs;             /* TBSCertificate TLV: what the signature covers */
    es_slice serial;          /* INTEGER contents */
    es_slice issuer, subject; /* Name TLVs */
    es_time not_before, not_after;
    es_slice spki; /* SubjectPublicKeyInfo TLV */
    int is_sm2;    /* the key is an uncompressed SM2 point */
    uint8_t pub[ES_SM2_PUB_LEN];
    int has_basic_constraints, is_ca, pathlen; /* pathlen -1: none */
    int has_key_usage;
    unsigned key_usage; /* ES_KU_* bits (the first octet) */
    int has_eku;
    es_slice eku;      /* extKeyUsage: contents of its SEQUENCE OF OID */
    es_slice ski, aki; /* key identifier octets; empty when absent */
    es_slice san;      /* GeneralNames TLV; empty when absent */
    es_slice crl_url;  /* the first URI of cRLDistributionPoints */
    es_slice exts;     /* contents of the Extensions SEQUENCE (es_x509_ext_find) */
    es_slice sig_alg;  /* signatureAlgorithm OID contents; empty when absent (tolerant) */
    es_slice sig;      /* signatureValue contents; empty when absent (tolerant) */
} es_x509;

#define ES_X509_STRICT 1u /* refuse trailing bytes, unknown fields, malformed known extensions */

/* The one X.509 reader. Fills *out (zeroed first, pathlen -1) from der. Without
 * ES_X509_STRICT it reads what real producers write: an extension it cannot read is left out,
 * fields after the key that are not extensions and bytes after the certificate are skipped,
 * the signature is read when present. ES_ERR_CERT when der is not a certificate (in the mode
 * asked). No allocation; thread-safe. */
es_err es_x509_parse(es_slice der, unsigned flags, es_x509 *out) ES_MUST_CHECK;
/* The extnValue contents of the extension id (borrowed from the certificate); ES_ERR_NOT_FOUND
 * when the certificate has none, ES_ERR_CERT when its extension list is malformed. */
es_err es_x509_ext_find(const es_x509 *c, es_oid_id id, es_slice *value) ES_MUST_CHECK;

/* Reads one Extension SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET
 * STRING } from a list (certificates, CRLs and requests share it; critical is checked for form,
 * not kept). oid and value are borrowed. ES_ERR_CERT when it is not one. */
es_err es_x509_ext_next(es_der *list, es_slice *oid, es_slice *value) ES_MUST_CHECK;
/* The SM2 key of a SubjectPublicKeyInfo TLV: ES_ERR_FORMAT when it is not one, ES_ERR_KEY when
 * the key is not an uncompressed SM2 point (strict: id-ecPublicKey with the SM2 curve or the
 * SM2 OID, no unused bits, nothing after the key; tolerant: the curve alone decides). */
es_err es_spki_sm2(es_slice spki, unsigned flags, uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* Parses a DER certificate (es_x509_parse, tolerant) into what verification shows: names as
 * text, serial as hex. ES_ERR_CERT when it is not one, ES_ERR_NOMEM. */
es_err es_cert_parse(es_slice der, es_cert_info *out) ES_MUST_CHECK;
void es_cert_info_cleanup(es_cert_info *ci);
/* Converts PEM (first CERTIFICATE block) or DER to DER; appends to out. */
es_err es_cert_to_der(const uint8_t *p, size_t len, es_buf *out) ES_MUST_CHECK;
/* ES_OK when the private key belongs to the certificate's public key. */
es_err es_cert_matches_pub(es_slice cert_der, const uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* Trust anchors and chain validation (SM2 certificates are checked with the default ID). */
typedef struct es_trust es_trust;
es_err es_trust_new(es_trust **out) ES_MUST_CHECK;
/* Adds every certificate found in the PEM or DER bytes. Returns how many in *added. */
es_err es_trust_add(es_trust *t, const uint8_t *p, size_t len, int *added) ES_MUST_CHECK;
size_t es_trust_count(const es_trust *t);
/* Validates cert up to an anchor at time at (ES_TIME_NONE: now), with untrusted helpers
 * extra (may be NULL/0). ES_OK when trusted; ES_ERR_NOT_FOUND when no path to an anchor
 * exists; ES_ERR_VERIFY when a path exists but is invalid (signature, validity, usage). The
 * reason is written to why. */
es_err es_trust_verify(const es_trust *t, es_slice cert, const es_slice *extra, size_t n_extra,
                       es_time at, char *why, size_t whylen) ES_MUST_CHECK;
/* Adds the CRLs in the PEM or DER bytes (*added: how many; at most 64 in all): with any,
 * es_trust_verify also asks them about every certificate of the chain it built (but the
 * anchor), as of at: the newest CRL its issuer signed (SM2, default or empty ID) that speaks
 * for at (issued at or after it, or current now) decides. Revoked at or before at:
 * ES_ERR_REVOKED; no such CRL: ES_ERR_NOT_FOUND (status unknown); why says which. A CRL that
 * does not verify is ignored, not an error. ES_ERR_FORMAT: no CRL in the bytes. */
es_err es_trust_add_crl(es_trust *t, const uint8_t *p, size_t len, int *added) ES_MUST_CHECK;
size_t es_trust_crl_count(const es_trust *t);
void es_trust_free(es_trust *t);

/* ES_OK when pub is an uncompressed point on the SM2 curve, ES_ERR_KEY otherwise. */
es_err es_sm2_pub_check(const uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
