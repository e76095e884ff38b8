/* The OpenSSL adapter: every OpenSSL call of eseal is in this file (as curl keeps its own in
 * lib/vtls/openssl.c). EVP and OSSL_PARAM only; nothing deprecated. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/pkcs12.h>
#include <openssl/obj_mac.h>
#include <limits.h>

#include "eseal/crypto.h"
#include "eseal/der.h"

/* GB/T 32918.5 curve parameters a, b, xG, yG, as Z needs them. */
static const uint8_t sm2_abg[128] = {
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC,
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
    0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93,
    0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9, 0x94,
    0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C, 0x74, 0xC7,
    0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21, 0x53,
    0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0,
};

/* SM3 is fetched once: EVP_MD objects are immutable and may be shared between threads. */
static EVP_MD *g_sm3;
static CRYPTO_ONCE g_sm3_once = CRYPTO_ONCE_STATIC_INIT;

static void fetch_sm3(void)
{
    g_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
}

static const EVP_MD *sm3_md(void)
{
    if (!CRYPTO_THREAD_run_once(&g_sm3_once, fetch_sm3)) return NULL;
    return g_sm3;
}

es_err es_sm3(const void *p, size_t len, uint8_t out[ES_SM3_LEN])
{
    const EVP_MD *md = sm3_md();
    unsigned int n = 0;
    if (!md || !EVP_Digest(p, len, out, &n, md, NULL) || n != ES_SM3_LEN) return ES_ERR_CRYPTO;
    return ES_OK;
}

struct es_sm3_ctx {
    EVP_MD_CTX *md;
};

es_err es_sm3_new(es_sm3_ctx **out)
{
    const EVP_MD *md = sm3_md();
    es_sm3_ctx *c = calloc(1, sizeof *c);
    if (!c) return ES_ERR_NOMEM;
    c->md = EVP_MD_CTX_new();
    if (!md || !c->md || !EVP_DigestInit_ex(c->md, md, NULL)) {
        es_sm3_free(c);
        return ES_ERR_CRYPTO;
    }
    *out = c;
    return ES_OK;
}

es_err es_sm3_update(es_sm3_ctx *c, const void *p, size_t len)
{
    return EVP_DigestUpdate(c->md, p, len) ? ES_OK : ES_ERR_CRYPTO;
}

es_err es_sm3_final(es_sm3_ctx *c, uint8_t out[ES_SM3_LEN])
{
    unsigned int n = 0;
    return EVP_DigestFinal_ex(c->md, out, &n) && n == ES_SM3_LEN ? ES_OK : ES_ERR_CRYPTO;
}

void es_sm3_free(es_sm3_ctx *c)
{
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

es_err es_sm2_z(const uint8_t pub[ES_SM2_PUB_LEN], const void *id, size_t idlen,
                uint8_t z[ES_SM3_LEN])
{
    if (pub[0] != 0x04 || idlen > ES_SM2_MAX_ID) return ES_ERR_ARG;
    const EVP_MD *md = sm3_md();
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t entl[2] = {(uint8_t)((idlen * 8) >> 8), (uint8_t)(idlen * 8)};
    unsigned int n = 0;
    int ok = md && c && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, entl, 2) &&
             EVP_DigestUpdate(c, id, idlen) && EVP_DigestUpdate(c, sm2_abg, sizeof sm2_abg) &&
             EVP_DigestUpdate(c, pub + 1, 64) && EVP_DigestFinal_ex(c, z, &n);
    EVP_MD_CTX_free(c);
    return ok && n == ES_SM3_LEN ? ES_OK : ES_ERR_CRYPTO;
}

es_err es_sm2_digest(const uint8_t pub[ES_SM2_PUB_LEN], const void *id, size_t idlen,
                     const void *msg, size_t len, uint8_t e[ES_SM3_LEN])
{
    uint8_t z[ES_SM3_LEN];
    es_err rv = es_sm2_z(pub, id, idlen, z);
    if (rv != ES_OK) return rv;
    const EVP_MD *md = sm3_md();
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && c && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, z, sizeof z) &&
             EVP_DigestUpdate(c, msg, len) && EVP_DigestFinal_ex(c, e, &n);
    EVP_MD_CTX_free(c);
    return ok && n == ES_SM3_LEN ? ES_OK : ES_ERR_CRYPTO;
}

/* An SM2 EVP_PKEY from an uncompressed point; NULL when the point is not on the curve. */
static EVP_PKEY *pkey_import(const uint8_t pub[ES_SM2_PUB_LEN])
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
    params[1] =
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, ES_SM2_PUB_LEN);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* Importing a key builds its EC_GROUP from the curve name, which costs a fifth of an SM2
 * verification (Montgomery setup, generator checks). A copy of a key that already has the
 * group only copies it: one SM2 public key (the generator) is imported once, and each key is
 * a duplicate of it given its own point. EVP_PKEY_set1_encoded_public_key decodes the point
 * with EC_POINT_oct2point as the import does, so a point off the curve is refused alike.
 * The template is never modified after it is made, so threads may duplicate it at once. */
static EVP_PKEY *g_sm2_template;
static CRYPTO_ONCE g_sm2_template_once = CRYPTO_ONCE_STATIC_INIT;

static void make_sm2_template(void)
{
    uint8_t g[ES_SM2_PUB_LEN];
    g[0] = 0x04;
    memcpy(g + 1, sm2_abg + 64, 64); /* xG || yG */
    g_sm2_template = pkey_import(g);
}

static EVP_PKEY *pkey_from_pub(const uint8_t pub[ES_SM2_PUB_LEN])
{
    if (!CRYPTO_THREAD_run_once(&g_sm2_template_once, make_sm2_template) || !g_sm2_template)
        return pkey_import(pub);
    EVP_PKEY *pk = EVP_PKEY_dup(g_sm2_template);
    if (pk && EVP_PKEY_set1_encoded_public_key(pk, pub, ES_SM2_PUB_LEN) != 1) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    return pk;
}

es_err es_sm2_sig_encode(const uint8_t r[32], const uint8_t s[32], es_buf *out)
{
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_uint(&w, r, 32);
    es_der_w_uint(&w, s, 32);
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

es_err es_sm2_sig_decode(es_slice value, uint8_t r[32], uint8_t s[32], es_quirks *quirks)
{
    es_der d, seq;
    es_der_tlv t;
    es_slice ri, si;
    es_quirks q = 0;
    /* DER first: a DER SEQUENCE{r, s} whose integers are short can be exactly 64 bytes long,
     * and must not be taken for raw r||s. */
    es_der_init(&d, value, &q);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) == ES_OK &&
        es_der_read_int_bytes(&seq, &ri) == ES_OK && es_der_read_int_bytes(&seq, &si) == ES_OK &&
        es_der_done(&seq) == ES_OK && es_der_done(&d) == ES_OK &&
        es_der_uint32_bytes(ri, r, &q) == ES_OK && es_der_uint32_bytes(si, s, &q) == ES_OK) {
        if (quirks) *quirks |= q;
        return ES_OK;
    }
    if (value.len == 64) {
        if (quirks) *quirks |= ES_QUIRK(ES_QUIRK_RAW_SIGNATURE);
        memcpy(r, value.p, 32);
        memcpy(s, value.p + 32, 32);
        return ES_OK;
    }
    return ES_ERR_SIG_FORMAT;
}

es_err es_sm2_verify_digest(const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t e[ES_SM3_LEN],
                            const uint8_t r[32], const uint8_t s[32])
{
    es_buf sig;
    es_buf_init(&sig, 80);
    es_err rv = es_sm2_sig_encode(r, s, &sig);
    if (rv != ES_OK) goto out;
    EVP_PKEY *pk = pkey_from_pub(pub);
    if (!pk) {
        rv = ES_ERR_KEY;
        goto out;
    }
    /* The SM2 signature provider takes tbs as the digest e when no message digest is set. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    int ok = ctx && EVP_PKEY_verify_init(ctx) > 0 &&
             EVP_PKEY_verify(ctx, sig.p, sig.len, e, ES_SM3_LEN) == 1;
    rv = ok ? ES_OK : ES_ERR_VERIFY;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
out:
    es_buf_cleanup(&sig);
    ERR_clear_error();
    return rv;
}

es_err es_random(void *p, size_t len)
{
    return RAND_bytes(p, (int)len) == 1 ? ES_OK : ES_ERR_CRYPTO;
}

/* --- private keys --- */

struct es_sm2_key {
    EVP_PKEY *pk;
    uint8_t pub[ES_SM2_PUB_LEN];
};

/* Fills k->pub and checks the key is on the SM2 curve. */
static es_err key_finish(es_sm2_key *k)
{
    char group[32] = "";
    size_t n = 0;
    if (!EVP_PKEY_get_utf8_string_param(k->pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        NULL) ||
        strcmp(group, "SM2") != 0)
        return ES_ERR_KEY;
    if (!EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, k->pub,
                                         sizeof k->pub, &n) ||
        n != ES_SM2_PUB_LEN)
        return ES_ERR_KEY;
    return ES_OK;
}

/* OpenSSL 3.0 decodes an EC key on the SM2 curve as type "EC" in some paths; SM2 signing
 * wants type "SM2". Re-import the key material under the SM2 type. */
static EVP_PKEY *as_sm2(EVP_PKEY *pk)
{
    if (EVP_PKEY_is_a(pk, "SM2")) return pk;
    EVP_PKEY *out = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (EVP_PKEY_todata(pk, EVP_PKEY_KEYPAIR, &params) == 1 &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL)) != NULL &&
        EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_KEYPAIR, params);
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return out;
}

es_err es_sm2_key_generate(es_sm2_key **out)
{
    es_sm2_key *k = calloc(1, sizeof *k);
    if (!k) return ES_ERR_NOMEM;
    k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    if (!k->pk || key_finish(k) != ES_OK) {
        es_sm2_key_free(k);
        return ES_ERR_CRYPTO;
    }
    *out = k;
    return ES_OK;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pass = u;
    if (!pass) return -1;
    size_t n = strlen(pass);
    if (n > (size_t)size) return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

es_err es_sm2_key_from_pem(const uint8_t *p, size_t len, const char *pass, es_sm2_key **out)
{
    if (len > ES_MAX_KEY_FILE) return ES_ERR_LIMIT;
    BIO *bio = BIO_new_mem_buf(p, (int)len);
    if (!bio) return ES_ERR_NOMEM;
    EVP_PKEY *pk = PEM_read_bio_PrivateKey_ex(bio, NULL, pass_cb, (void *)pass, NULL, NULL);
    if (!pk) {
        /* DER PKCS#8 */
        const unsigned char *q = p;
        pk = d2i_AutoPrivateKey(NULL, &q, (long)len);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (!pk) return ES_ERR_KEY;
    pk = as_sm2(pk);
    if (!pk) return ES_ERR_KEY;
    es_sm2_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pk);
        return ES_ERR_NOMEM;
    }
    k->pk = pk;
    if (key_finish(k) != ES_OK) {
        es_sm2_key_free(k);
        return ES_ERR_KEY;
    }
    *out = k;
    return ES_OK;
}

static es_err bio_to_buf(BIO *bio, es_buf *out)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0) return ES_ERR_CRYPTO;
    return es_buf_append(out, data, (size_t)n);
}

/* scrypt parameters for keys at rest: N = 2^14, r = 8, p = 1 (16 MiB; OpenSSL refuses
 * 32 MiB and more by default, so other readers can decrypt these files too). */
#define KEY_SCRYPT_N (1u << 14)
#define KEY_SCRYPT_R 8
#define KEY_SCRYPT_P 1

es_err es_sm2_key_to_pem(const es_sm2_key *k, const char *pass, es_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    EVP_CIPHER *cipher = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_ALGOR *pbe = NULL;
    X509_SIG *enc = NULL;
    es_err rv = ES_ERR_CRYPTO;
    unsigned char salt[16];
    if (!bio) return ES_ERR_NOMEM;
    if (!pass || !*pass) {
        if (PEM_write_bio_PrivateKey(bio, k->pk, NULL, NULL, 0, NULL, NULL) == 1)
            rv = bio_to_buf(bio, out);
        goto out;
    }
    /* PKCS#8 EncryptedPrivateKeyInfo, PBES2 with scrypt (memory-hard) and SM4-CBC: readable
     * by `openssl pkey -passin` as well. */
    if (RAND_bytes(salt, sizeof salt) != 1 ||
        (cipher = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL)) == NULL ||
        (p8 = EVP_PKEY2PKCS8(k->pk)) == NULL ||
        (pbe = PKCS5_pbe2_set_scrypt(cipher, salt, sizeof salt, NULL, KEY_SCRYPT_N, KEY_SCRYPT_R,
                                     KEY_SCRYPT_P)) == NULL)
        goto out;
    enc = PKCS8_set0_pbe_ex(pass, (int)strlen(pass), p8, pbe, NULL, NULL);
    if (!enc) goto out;
    pbe = NULL; /* owned by enc now */
    if (PEM_write_bio_PKCS8(bio, enc) == 1) rv = bio_to_buf(bio, out);
out:
    X509_SIG_free(enc);
    X509_ALGOR_free(pbe);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_CIPHER_free(cipher);
    BIO_free(bio);
    ERR_clear_error();
    return rv;
}

es_err es_sm2_key_pub_pem(const es_sm2_key *k, es_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) return ES_ERR_NOMEM;
    es_err rv = PEM_write_bio_PUBKEY(bio, k->pk) == 1 ? bio_to_buf(bio, out) : ES_ERR_CRYPTO;
    BIO_free(bio);
    return rv;
}

void es_sm2_key_pub(const es_sm2_key *k, uint8_t pub[ES_SM2_PUB_LEN])
{
    memcpy(pub, k->pub, ES_SM2_PUB_LEN);
}

es_err es_sm2_key_sign_digest(const es_sm2_key *k, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                              uint8_t s[32])
{
    uint8_t sig[80];
    size_t siglen = sizeof sig;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);
    int ok =
        ctx && EVP_PKEY_sign_init(ctx) > 0 && EVP_PKEY_sign(ctx, sig, &siglen, e, ES_SM3_LEN) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) return ES_ERR_CRYPTO;
    return es_sm2_sig_decode(es_slice_make(sig, siglen), r, s, NULL) == ES_OK ? ES_OK
                                                                              : ES_ERR_CRYPTO;
}

void es_sm2_key_free(es_sm2_key *k)
{
    if (!k) return;
    EVP_PKEY_free(k->pk);
    free(k);
}

/* --- certificates --- */

/* Certificate fields are read in cert.c (our DER reader); OpenSSL converts PEM here and
 * validates chains below. */

es_err es_cert_to_der(const uint8_t *p, size_t len, es_buf *out)
{
    if (len > ES_MAX_CERT_DER * 4) return ES_ERR_LIMIT;
    BIO *bio = BIO_new_mem_buf(p, (int)len);
    if (!bio) return ES_ERR_NOMEM;
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!x) {
        /* Not PEM: take DER as it is, if it parses as a certificate. */
        es_der d;
        es_der_tlv t;
        es_der_init(&d, es_slice_make(p, len), NULL);
        if (es_der_expect(&d, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
        es_cert_info ci;
        if (es_cert_parse(t.raw, &ci) != ES_OK) return ES_ERR_CERT;
        es_cert_info_cleanup(&ci);
        return es_buf_append(out, t.raw.p, t.raw.len);
    }
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    X509_free(x);
    if (n <= 0) return ES_ERR_CERT;
    es_err rv = es_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return rv;
}

/* --- trust --- */

/* A CRL given to es_trust_add_crl: OpenSSL's parse for the names, dates and entries, our own
 * DER copy for the signature (checked with the SM2 IDs ourselves: OpenSSL 3.0 checks an SM2
 * CRL only with the empty ID). */
typedef struct trust_crl {
    X509_CRL *crl;
    uint8_t *der;
    size_t len;
    es_slice tbs, sig;
} trust_crl;

#define TRUST_MAX_CRLS 64

struct es_trust {
    X509_STORE *store;
    size_t n;
    trust_crl crls[TRUST_MAX_CRLS];
    size_t n_crls;
};

/* OpenSSL 3.0 checks an SM2 signature on a certificate only when the certificate carries
 * the distinguishing ID that the issuer used: set the GB/T 35276 default. */
static int set_distid(X509 *x)
{
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    if (!id || !ASN1_OCTET_STRING_set(id, (const unsigned char *)ES_SM2_DEFAULT_ID,
                                      (int)strlen(ES_SM2_DEFAULT_ID))) {
        ASN1_OCTET_STRING_free(id);
        return 0;
    }
    X509_set0_distinguishing_id(x, id);
    return 1;
}

es_err es_trust_new(es_trust **out)
{
    es_trust *t = calloc(1, sizeof *t);
    if (!t) return ES_ERR_NOMEM;
    t->store = X509_STORE_new();
    if (!t->store) {
        free(t);
        return ES_ERR_NOMEM;
    }
    *out = t;
    return ES_OK;
}

static es_err trust_add_x509(es_trust *t, X509 *x)
{
    int ok = set_distid(x) && X509_STORE_add_cert(t->store, x) == 1;
    X509_free(x);
    ERR_clear_error();
    if (!ok) return ES_ERR_CERT;
    t->n++;
    return ES_OK;
}

es_err es_trust_add(es_trust *t, const uint8_t *p, size_t len, int *added)
{
    int count = 0;
    es_err rv = ES_OK;
    BIO *bio = BIO_new_mem_buf(p, (int)len);
    if (!bio) return ES_ERR_NOMEM;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if ((rv = trust_add_x509(t, x)) != ES_OK) break;
        count++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (count == 0 && rv == ES_OK) {
        const unsigned char *q = p;
        x = d2i_X509(NULL, &q, (long)len);
        if (!x) return ES_ERR_CERT;
        if ((rv = trust_add_x509(t, x)) == ES_OK) count++;
    }
    if (added) *added = count;
    return rv;
}

size_t es_trust_count(const es_trust *t)
{
    return t->n;
}

static X509 *x509_from(es_slice der)
{
    const unsigned char *q = der.p;
    X509 *x = d2i_X509(NULL, &q, (long)der.len);
    if (x && !set_distid(x)) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static es_err crl_check(const es_trust *t, STACK_OF(X509) * chain, es_time at, char *why,
                        size_t whylen);

es_err es_trust_verify(const es_trust *t, es_slice cert, const es_slice *extra, size_t n_extra,
                       es_time at, char *why, size_t whylen)
{
    es_err rv = ES_ERR_VERIFY;
    X509 *leaf = x509_from(cert);
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (why && whylen) why[0] = 0;
    if (!leaf) {
        if (why) snprintf(why, whylen, "certificate not readable by the chain builder");
        rv = ES_ERR_CERT;
        goto out;
    }
    if (!chain || !ctx) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_extra; i++) {
        X509 *x = x509_from(extra[i]);
        if (x && !sk_X509_push(chain, x)) X509_free(x);
    }
    if (!X509_STORE_CTX_init(ctx, t->store, leaf, chain)) {
        rv = ES_ERR_CRYPTO;
        goto out;
    }
    if (at != ES_TIME_NONE) X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
    if (X509_verify_cert(ctx) == 1) {
        rv = t->n_crls ? crl_check(t, X509_STORE_CTX_get0_chain(ctx), at, why, whylen) : ES_OK;
    } else {
        int err = X509_STORE_CTX_get_error(ctx);
        /* No path to an anchor is "unknown", not "invalid". */
        if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
            err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
            err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
            err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
            rv = ES_ERR_NOT_FOUND;
        if (why) snprintf(why, whylen, "%s", X509_verify_cert_error_string(err));
    }
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(chain, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    return rv;
}

void es_trust_free(es_trust *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_crls; i++) {
        X509_CRL_free(t->crls[i].crl);
        free(t->crls[i].der);
    }
    X509_STORE_free(t->store);
    free(t);
}

static es_err trust_add_crl_x509(es_trust *t, X509_CRL *c)
{
    es_err rv = ES_ERR_FORMAT;
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(c, &der); /* the encoding as read (OpenSSL keeps it) */
    trust_crl *tc = &t->crls[t->n_crls];
    es_der d, in;
    es_der_tlv outer, tbs, alg;
    if (t->n_crls >= TRUST_MAX_CRLS) {
        rv = ES_ERR_LIMIT;
        goto out;
    }
    if (n <= 0) goto out;
    tc->der = malloc((size_t)n);
    if (!tc->der) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    memcpy(tc->der, der, (size_t)n);
    tc->len = (size_t)n;
    es_der_init(&d, es_slice_make(tc->der, tc->len), NULL);
    uint8_t unused = 0;
    if (es_der_expect(&d, ES_DER_SEQUENCE, &outer) != ES_OK) goto out;
    es_der_init(&in, outer.val, NULL);
    if (es_der_expect(&in, ES_DER_SEQUENCE, &tbs) != ES_OK ||
        es_der_expect(&in, ES_DER_SEQUENCE, &alg) != ES_OK ||
        es_der_read_bits(&in, &tc->sig, &unused) != ES_OK || unused != 0)
        goto out;
    tc->tbs = tbs.raw;
    tc->crl = c;
    c = NULL;
    t->n_crls++;
    rv = ES_OK;
out:
    if (rv != ES_OK && t->n_crls < TRUST_MAX_CRLS) {
        free(tc->der);
        memset(tc, 0, sizeof *tc);
    }
    X509_CRL_free(c);
    OPENSSL_free(der);
    ERR_clear_error();
    return rv;
}

es_err es_trust_add_crl(es_trust *t, const uint8_t *p, size_t len, int *added)
{
    int count = 0;
    es_err rv = ES_OK;
    if (added) *added = 0;
    if (!t || !p) return ES_ERR_ARG;
    BIO *bio = BIO_new_mem_buf(p, (int)len);
    if (!bio) return ES_ERR_NOMEM;
    X509_CRL *c;
    while ((c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
        if ((rv = trust_add_crl_x509(t, c)) != ES_OK) break;
        count++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (count == 0 && rv == ES_OK) {
        const unsigned char *q = p;
        c = d2i_X509_CRL(NULL, &q, (long)len);
        if (!c || q != p + len) {
            X509_CRL_free(c);
            ERR_clear_error();
            return ES_ERR_FORMAT;
        }
        if ((rv = trust_add_crl_x509(t, c)) == ES_OK) count++;
    }
    if (added) *added = count;
    return rv;
}

size_t es_trust_crl_count(const es_trust *t)
{
    return t ? t->n_crls : 0;
}

static es_time time_of(const ASN1_TIME *a)
{
    struct tm tm;
    es_time t;
    if (!a || !ASN1_TIME_to_tm(a, &tm) ||
        es_time_from_fields(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                            tm.tm_sec, &t) != ES_OK)
        return ES_TIME_NONE;
    return t;
}

/* The SM2 key of a certificate (OpenSSL's), or 0. */
static int pub_of(X509 *x, uint8_t pub[ES_SM2_PUB_LEN])
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    es_x509 c;
    int ok = n > 0 && es_x509_parse(es_slice_make(der, (size_t)n), 0, &c) == ES_OK && c.is_sm2;
    if (ok) memcpy(pub, c.pub, ES_SM2_PUB_LEN);
    OPENSSL_free(der);
    return ok;
}

/* 1 when the CRL's signature verifies with pub: the GB/T 35276 default ID, or the empty ID
 * (CRLs made for OpenSSL 3.0, docs/ca.md). */
static int crl_signed_by(const trust_crl *tc, const uint8_t pub[ES_SM2_PUB_LEN])
{
    static const char *const ids[] = {ES_SM2_DEFAULT_ID, ""};
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    if (es_sm2_sig_decode(tc->sig, r, s, NULL) != ES_OK) return 0;
    for (size_t i = 0; i < 2; i++)
        if (es_sm2_digest(pub, ids[i], strlen(ids[i]), tc->tbs.p, tc->tbs.len, e) == ES_OK &&
            es_sm2_verify_digest(pub, e, r, s) == ES_OK)
            return 1;
    return 0;
}

static const char *reason_text(const X509_REVOKED *r)
{
    static const char *const names[] = {
        "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
        "superseded",    "cessationOfOperation", "certificateHold", "(7)",
        "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
    long v = e ? ASN1_ENUMERATED_get(e) : -1;
    ASN1_ENUMERATED_free(e);
    ERR_clear_error();
    return v >= 0 && v <= 10 ? names[v] : "no reason given";
}

/* The CRLs' word on each certificate of a built chain, as of time at (now: ES_TIME_NONE). A
 * certificate is checked against the newest CRL of its issuer that the issuer signed and that
 * speaks for at: issued at or after it, or still current (now before its nextUpdate). Listed
 * with a revocation date at or before at: ES_ERR_REVOKED. No such CRL: ES_ERR_NOT_FOUND (the
 * status is unknown). A revocation after at does not undo what was done before it. */
static es_err crl_check(const es_trust *t, STACK_OF(X509) * chain, es_time at, char *why,
                        size_t whylen)
{
    const es_time now = es_time_now(), ref = at == ES_TIME_NONE ? now : at;
    int n = sk_X509_num(chain);
    for (int i = 0; i + 1 < n; i++) {
        X509 *x = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
        uint8_t pub[ES_SM2_PUB_LEN];
        char subj[160] = "", date[32];
        X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
        if (!pub_of(issuer, pub)) {
            if (why) snprintf(why, whylen, "revocation of %s: its issuer's key is not SM2", subj);
            return ES_ERR_NOT_FOUND;
        }
        const trust_crl *best = NULL;
        es_time best_at = ES_TIME_NONE;
        int stale = 0;
        for (size_t k = 0; k < t->n_crls; k++) {
            const trust_crl *tc = &t->crls[k];
            if (X509_NAME_cmp(X509_CRL_get_issuer(tc->crl), X509_get_subject_name(issuer)) != 0 ||
                !crl_signed_by(tc, pub))
                continue;
            /* A delta CRL lists changes only: it can say revoked, never "not revoked". */
            int delta = X509_CRL_get_ext_by_NID(tc->crl, NID_delta_crl, -1) >= 0;
            es_time tu = time_of(X509_CRL_get0_lastUpdate(tc->crl));
            es_time nu = time_of(X509_CRL_get0_nextUpdate(tc->crl));
            X509_REVOKED *r = NULL;
            if (X509_CRL_get0_by_cert(tc->crl, &r, x) == 1 && r &&
                strcmp(reason_text(r), "removeFromCRL") != 0) {
                es_time rd = time_of(X509_REVOKED_get0_revocationDate(r));
                if (rd == ES_TIME_NONE || rd <= ref) {
                    es_time_format_iso(rd, date);
                    if (why)
                        snprintf(why, whylen, "%s revoked on %s (%s)", subj,
                                 rd == ES_TIME_NONE ? "an unknown date" : date, reason_text(r));
                    ERR_clear_error();
                    return ES_ERR_REVOKED;
                }
            }
            ERR_clear_error();
            if (delta) continue;
            if (tu == ES_TIME_NONE || !(tu >= ref || (nu != ES_TIME_NONE && now <= nu))) {
                stale = 1;
                continue;
            }
            if (!best || tu > best_at) best = tc, best_at = tu;
        }
        if (!best) {
            es_time_format_iso(ref, date);
            if (why)
                snprintf(why, whylen,
                         stale ? "revocation of %s unknown: its issuer's CRLs predate %s and are "
                                 "out of date"
                               : "revocation of %s unknown: no CRL signed by its issuer",
                         subj, date);
            return ES_ERR_NOT_FOUND;
        }
    }
    return ES_OK;
}

/* --- raw key material (for software devices' own storage and envelope import) --- */

/* The key pair of the scalar bn and its public point pub (not checked against each other). */
static es_err key_from_parts(const BIGNUM *bn, const uint8_t pub[ES_SM2_PUB_LEN], es_sm2_key **out)
{
    es_err rv = ES_ERR_KEY;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, ES_SM2_PUB_LEN) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
        goto out;
    es_sm2_key *k = calloc(1, sizeof *k);
    if (!k) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    k->pk = pk;
    pk = NULL;
    if ((rv = key_finish(k)) != ES_OK) {
        es_sm2_key_free(k);
        goto out;
    }
    *out = k;
out:
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

/* d as a scalar of the group: NULL when 0 or not below the order. */
static BIGNUM *scalar_of(const uint8_t d[32], const EC_GROUP *g)
{
    BIGNUM *bn = BN_bin2bn(d, 32, NULL);
    if (bn && (BN_is_zero(bn) || BN_cmp(bn, EC_GROUP_get0_order(g)) >= 0)) {
        BN_clear_free(bn);
        bn = NULL;
    }
    return bn;
}

es_err es_sm2_key_from_private(const uint8_t d[32], es_sm2_key **out)
{
    es_err rv = ES_ERR_KEY;
    BIGNUM *bn = NULL;
    EC_GROUP *g = NULL;
    EC_POINT *pt = NULL;
    uint8_t pub[ES_SM2_PUB_LEN];
    /* The public point d*G, computed with the EC group (not deprecated in 3.0). */
    if ((g = EC_GROUP_new_by_curve_name(NID_sm2)) == NULL || (bn = scalar_of(d, g)) == NULL ||
        (pt = EC_POINT_new(g)) == NULL || !EC_POINT_mul(g, pt, bn, NULL, NULL, NULL) ||
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, NULL) !=
            sizeof pub)
        goto out;
    rv = key_from_parts(bn, pub, out);
out:
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    BN_clear_free(bn);
    ERR_clear_error();
    return rv;
}

es_err es_sm2_key_from_pair(const uint8_t d[32], const uint8_t pub[ES_SM2_PUB_LEN],
                            es_sm2_key **out)
{
    es_err rv = ES_ERR_KEY;
    BIGNUM *bn = NULL;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
    if (g && pub[0] == 0x04 && (bn = scalar_of(d, g)) != NULL) rv = key_from_parts(bn, pub, out);
    EC_GROUP_free(g);
    BN_clear_free(bn);
    ERR_clear_error();
    return rv;
}

es_err es_sm2_key_private(const es_sm2_key *k, uint8_t d[32])
{
    BIGNUM *bn = NULL;
    es_err rv = ES_ERR_KEY;
    if (EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1 &&
        BN_bn2binpad(bn, d, 32) == 32)
        rv = ES_OK;
    BN_clear_free(bn);
    ERR_clear_error();
    return rv;
}

/* --- SM2 encryption (GB/T 32918.4), ciphertext as GM/T 0009 DER --- */

es_err es_sm2_encrypt(const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t *in, size_t len, es_buf *out)
{
    EVP_PKEY *pk = pkey_from_pub(pub);
    EVP_PKEY_CTX *ctx = NULL;
    es_err rv = ES_ERR_CRYPTO;
    size_t n = 0;
    if (!pk) return ES_ERR_KEY;
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) != NULL &&
        EVP_PKEY_encrypt_init(ctx) > 0 && EVP_PKEY_encrypt(ctx, NULL, &n, in, len) > 0) {
        uint8_t *buf = malloc(n);
        if (buf && EVP_PKEY_encrypt(ctx, buf, &n, in, len) > 0) rv = es_buf_append(out, buf, n);
        free(buf);
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return rv;
}

es_err es_sm2_key_decrypt(const es_sm2_key *k, const uint8_t *in, size_t len, es_buf *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);
    es_err rv = ES_ERR_VERIFY;
    size_t n = 0;
    if (ctx && EVP_PKEY_decrypt_init(ctx) > 0 && EVP_PKEY_decrypt(ctx, NULL, &n, in, len) > 0) {
        uint8_t *buf = malloc(n ? n : 1);
        if (buf && EVP_PKEY_decrypt(ctx, buf, &n, in, len) > 0) rv = es_buf_append(out, buf, n);
        if (buf) OPENSSL_cleanse(buf, n);
        free(buf);
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rv;
}

/* --- SM4 and scrypt --- */

es_err es_sm4_ecb(int encrypt, const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
    if (len % 16 || len > INT_MAX) return ES_ERR_ARG;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    int ok = c && ctx && EVP_CipherInit_ex2(ctx, c, key, NULL, encrypt, NULL) &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_CipherUpdate(ctx, out, &n, in, (int)len) &&
             EVP_CipherFinal_ex(ctx, out + n, &m);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    ERR_clear_error();
    return ok && (size_t)(n + m) == len ? ES_OK : ES_ERR_CRYPTO;
}

/* SM4-CBC is fetched once, as SM3 is. */
static EVP_CIPHER *g_sm4_cbc;
static CRYPTO_ONCE g_sm4_cbc_once = CRYPTO_ONCE_STATIC_INIT;

static void fetch_sm4_cbc(void)
{
    g_sm4_cbc = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
}

es_err es_sm4_cbc(int encrypt, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                  size_t len, uint8_t *out)
{
    if (!key || !iv || (len && (!in || !out)) || len % 16 || len > INT_MAX) return ES_ERR_ARG;
    if (!CRYPTO_THREAD_run_once(&g_sm4_cbc_once, fetch_sm4_cbc) || !g_sm4_cbc) return ES_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    int ok = ctx && EVP_CipherInit_ex2(ctx, g_sm4_cbc, key, iv, encrypt, NULL) &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_CipherUpdate(ctx, out, &n, in, (int)len) &&
             EVP_CipherFinal_ex(ctx, out + n, &m);
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    return ok && (size_t)(n + m) == len ? ES_OK : ES_ERR_CRYPTO;
}

/* HMAC through EVP_MAC with SM3 as its digest; the MAC object is fetched once. */
static EVP_MAC *g_hmac;
static CRYPTO_ONCE g_hmac_once = CRYPTO_ONCE_STATIC_INIT;

static void fetch_hmac(void)
{
    g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

struct es_hmac_sm3 {
    EVP_MAC_CTX *ctx;
};

es_err es_hmac_sm3_new(const uint8_t *key, size_t keylen, es_hmac_sm3 **out)
{
    OSSL_PARAM params[2];
    es_hmac_sm3 *h = NULL;
    if (!out || !key || keylen == 0 || keylen > 64) return ES_ERR_ARG;
    *out = NULL;
    if (!CRYPTO_THREAD_run_once(&g_hmac_once, fetch_hmac) || !g_hmac) return ES_ERR_CRYPTO;
    if (!(h = calloc(1, sizeof *h))) return ES_ERR_NOMEM;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SM3", 0);
    params[1] = OSSL_PARAM_construct_end();
    h->ctx = EVP_MAC_CTX_new(g_hmac);
    if (!h->ctx || !EVP_MAC_init(h->ctx, key, keylen, params)) {
        ERR_clear_error();
        es_hmac_sm3_free(h);
        return ES_ERR_CRYPTO;
    }
    *out = h;
    return ES_OK;
}

es_err es_hmac_sm3_update(es_hmac_sm3 *h, const void *p, size_t len)
{
    if (!h || (len && !p)) return ES_ERR_ARG;
    if (len && !EVP_MAC_update(h->ctx, p, len)) {
        ERR_clear_error();
        return ES_ERR_CRYPTO;
    }
    return ES_OK;
}

es_err es_hmac_sm3_final(es_hmac_sm3 *h, uint8_t out[ES_SM3_LEN])
{
    size_t n = 0;
    if (!h || !out) return ES_ERR_ARG;
    if (!EVP_MAC_final(h->ctx, out, &n, ES_SM3_LEN) || n != ES_SM3_LEN) {
        ERR_clear_error();
        return ES_ERR_CRYPTO;
    }
    return ES_OK;
}

void es_hmac_sm3_free(es_hmac_sm3 *h)
{
    if (!h) return;
    EVP_MAC_CTX_free(h->ctx); /* OpenSSL cleanses the key it holds */
    free(h);
}

es_err es_hmac_sm3_once(const uint8_t *key, size_t keylen, const void *p, size_t len,
                        uint8_t out[ES_SM3_LEN])
{
    es_hmac_sm3 *h = NULL;
    es_err rv = es_hmac_sm3_new(key, keylen, &h);
    if (rv == ES_OK) rv = es_hmac_sm3_update(h, p, len);
    if (rv == ES_OK) rv = es_hmac_sm3_final(h, out);
    es_hmac_sm3_free(h);
    return rv;
}

int es_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

es_err es_scrypt(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen, uint64_t n,
                 uint32_t r, uint32_t p, uint8_t *out, size_t outlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[6];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, passlen);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_end();
    int ok = ctx && EVP_KDF_derive(ctx, out, outlen, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    ERR_clear_error();
    return ok ? ES_OK : ES_ERR_CRYPTO;
}

/* --- public key validation (pki: lint before a CA certifies a key) --- */

/* A point decodes only when it is on the SM2 curve (EC_POINT_oct2point checks it), and an
 * uncompressed encoding cannot name the point at infinity; so a successful import is the
 * check GB/T 32918.1 6.2 asks for, short of the order check that a cofactor of 1 makes moot. */
es_err es_sm2_pub_check(const uint8_t pub[ES_SM2_PUB_LEN])
{
    if (!pub || pub[0] != 0x04) return ES_ERR_KEY;
    EVP_PKEY *pk = pkey_from_pub(pub);
    ERR_clear_error();
    if (!pk) return ES_ERR_KEY;
    EVP_PKEY_free(pk);
    return ES_OK;
}
