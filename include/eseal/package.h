/* eseal package: delivering a seal (LD/T 01.1 7.5 "delivery": a USBKey, or an encrypted
 * server package for an application system; GB/T 35291 / GB/T 36322 key import). The
 * formats are in docs/delivery.md.
 *
 * The server package. The application system names its key device's SM2 ENCRYPTION public key
 * in a request package signed with its system certificate's key (es_package_req_make). The
 * making system checks it (es_package_req_parse), generates the seal key pair for that request
 * (es_package_key_new), has the certificate issued and the seal made for its public key, and
 * then es_package_finish envelopes the private key to the request's key (a GB/T 35291
 * ENVELOPEDKEYBLOB: SM2-encrypted SM4 key, SM4-encrypted private key), puts the certificate
 * and the seal beside it, signs the whole with the maker key that signed the seal, and wipes
 * the private key: the making system keeps no copy, and the key opens only inside the device
 * holding the request's encryption private key (es_package_import, through the device's
 * import function). The seal key lives, in between, in the making process's memory only
 * (es_sm2_key); docs/delivery.md says why and what that means.
 *
 * The USBKey. The key pair is generated in the holder's token (eseal key gen skf:..., then
 * eseal key csr); delivery writes the certificate into the container's signing slot and the
 * seal into an SKF file of the container's application (es_token_seal_put), from where
 * es_token_seal_get reads both back (eseal ofd sign --key skf:... with no --seal/--cert).
 *
 * Parsed structures borrow from the DER given to the parser. Objects are used by one thread at
 * a time. Detail goes to why (English, no secrets) when why is not NULL.
 */
#ifndef ESEAL_PACKAGE_H
#define ESEAL_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/keydev.h"
#include "eseal/signer.h"
#include "eseal/token.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_PACKAGE_VERSION  1
#define ES_PACKAGE_ID_MAX   64                              /* request id: [A-Za-z0-9._:-] */
#define ES_MAX_PACKAGE_REQ  (64u * 1024)                    /* a request package */
#define ES_MAX_PACKAGE      (ES_MAX_SEAL_DER + 256u * 1024) /* a server package */
#define ES_TOKEN_SEAL_FILE  "ESEAL" /* the SKF file of the seal (docs/delivery.md) */
#define ES_PACKAGE_MAX_DAYS 30      /* the longest validity of a request package */

/* --- the request package (the application system's side) --- */

typedef struct es_package_req_params {
    const char *request_id;  /* 1..64 of [A-Za-z0-9._:-] */
    es_slice requester_cert; /* DER: the application system's system certificate */
    const uint8_t *enc_pub;  /* 65 bytes: its key device's SM2 encryption public key */
    es_time not_before;      /* ES_TIME_NONE: now */
    es_time not_after;       /* ES_TIME_NONE: not_before + 7 days */
} es_package_req_params;

/* Builds a request package signed by key (the private key of requester_cert: ES_ERR_KEY_MISMATCH
 * otherwise) and appends its DER to der. ES_ERR_ARG with why naming the field. */
es_err es_package_req_make(const es_package_req_params *p, es_signer *key, es_buf *der, char *why,
                           size_t whylen) ES_MUST_CHECK;

typedef struct es_package_req es_package_req;
/* Parses and checks a request package: canonical DER, version 1, a request id, an SM2
 * encryption key on the curve, the signature with the requester certificate's key (SM2 with
 * the default ID over the to-be-signed element as stored), the validity (not after
 * ES_PACKAGE_MAX_DAYS, in force now: ES_ERR_PACKAGE_EXPIRED), and, when trust_pem is not empty,
 * the requester certificate up to an anchor in it (ES_ERR_VERIFY / ES_ERR_NOT_FOUND). The
 * request keeps a copy of what it needs: der may be freed afterwards. */
es_err es_package_req_parse(es_slice der, es_slice trust_pem, es_package_req **out, char *why,
                            size_t whylen) ES_MUST_CHECK;
void es_package_req_free(es_package_req *r);

/* What a parsed request says; borrowed from r. */
typedef struct es_package_req_info {
    char request_id[ES_PACKAGE_ID_MAX + 1];
    es_slice requester_cert;   /* DER */
    char requester_serial[83]; /* hex */
    uint8_t enc_pub[ES_SM2_PUB_LEN];
    es_time not_before, not_after;
} es_package_req_info;
const es_package_req_info *es_package_req_info_of(const es_package_req *r);

/* --- the making system's side --- */

typedef struct es_package_key es_package_key;
/* A fresh SM2 seal key for one package; pub: 04||X||Y. Keeps the request's id and encryption
 * key (r may be freed afterwards). ES_ERR_PACKAGE_EXPIRED when r is no longer in force. */
es_err es_package_key_new(const es_package_req *r, es_package_key **out,
                          uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;
/* Envelopes the key to the request's encryption key, adds certificate and seal, signs the
 * whole with maker, and wipes the private key (a second call fails: ES_ERR_PACKAGE_USED).
 * Checked first: cert_der certifies the package key (ES_ERR_KEY_MISMATCH), seal_der is a seal
 * that names cert_der (ES_ERR_SEAL_CERT), and maker is the key of the seal's maker certificate
 * (ES_ERR_KEY_MISMATCH), whose certificate the importer verifies the package with. The key is
 * wiped whatever the outcome: a failed call leaves nothing to retry with. Appends to pkg. */
es_err es_package_finish(es_package_key *k, es_slice cert_der, es_slice seal_der, es_signer *maker,
                         es_buf *pkg) ES_MUST_CHECK;
void es_package_key_free(es_package_key *k); /* wipes */

/* --- the application system's side: receiving --- */

typedef struct es_package {
    char request_id[ES_PACKAGE_ID_MAX + 1];
    uint8_t recipient_pub[ES_SM2_PUB_LEN]; /* the encryption key it is addressed to */
    es_slice envelope;                     /* the ENVELOPEDKEYBLOB bytes */
    es_slice cert;                         /* the seal key's certificate, DER */
    es_slice seal;                         /* the SESeal, DER */
    es_slice maker_cert;                   /* the seal's maker certificate (borrowed from seal) */
    es_time produced_at;
    uint8_t seal_pub[ES_SM2_PUB_LEN]; /* the certificate's (and the envelope's) public key */
} es_package;

/* Parses and checks a server package: canonical DER, version 1, the making system's signature
 * with the seal's maker certificate (ES_ERR_VERIFY), the envelope's public key is the
 * certificate's (ES_ERR_KEY_MISMATCH), the seal names the certificate (ES_ERR_SEAL_CERT) and
 * its maker signature verifies (ES_ERR_VERIFY); when trust_pem is not empty, the maker and
 * seal certificates up to an anchor in it. out borrows from der. */
es_err es_package_parse(es_slice der, es_slice trust_pem, es_package *out, char *why,
                        size_t whylen) ES_MUST_CHECK;

/* Imports the package's key into the key device at ref (opened and logged in by the caller):
 * the device's encryption key at ref must be the package's recipient (ES_ERR_PACKAGE_RECIPIENT),
 * the envelope goes to the device (es_keydev_import_envelope: it opens inside), and the key at
 * ref then signs a fresh challenge that verifies with the certificate's key
 * (ES_ERR_KEY_MISMATCH otherwise). */
es_err es_package_import(const es_package *p, es_keydev *d, const es_keyref *ref, char *why,
                         size_t whylen) ES_MUST_CHECK;

/* --- the USBKey --- */

/* 1 when the seal's certificate list names cert (the certificate itself, or its SM3 digest
 * for certListType 2). */
int es_seal_names_cert(es_slice seal_der, es_slice cert_der);

/* Delivers a seal into a token (after es_token_login on ref's application): checks that cert
 * certifies the container's signing key (ES_ERR_KEY_MISMATCH; ES_ERR_NO_KEY without one) and
 * that the seal names cert (ES_ERR_SEAL_CERT), then stores cert in the signing certificate
 * slot and the seal in the application's file file (NULL: ES_TOKEN_SEAL_FILE). */
es_err es_token_seal_put(es_token *t, const es_keyref *ref, const char *file, es_slice cert,
                         es_slice seal, char *why, size_t whylen) ES_MUST_CHECK;
/* Reads them back (no PIN needed): appends the certificate to cert and the seal to seal.
 * ES_ERR_TOKEN_NO_SEAL when there is no seal file, ES_ERR_NO_KEY when there is no certificate,
 * ES_ERR_SEAL_CERT when the seal does not name the container's certificate, ES_ERR_KEY_MISMATCH
 * when the certificate is not the container's signing key's. */
es_err es_token_seal_get(es_token *t, const es_keyref *ref, const char *file, es_buf *cert,
                         es_buf *seal, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
