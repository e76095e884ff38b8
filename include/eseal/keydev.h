/* eseal keydev: where private keys live (LD/T 01.1 9.3).
 *
 * One interface, three backends chosen by a key reference that every command and the daemon
 * accept:
 *   soft:DIR#NAME                           software key store: DIR/NAME.key, the private key
 *                                           encrypted under a passphrase (scrypt + SM4)
 *   sdf:LIB.so#INDEX                        a GB/T 36322 (SDF) library loaded with dlopen;
 *                                           INDEX is the key index on the card
 *   skf:LIB.so#DEVICE/APPLICATION/CONTAINER a GB/T 35291 (SKF) library loaded with dlopen
 *
 * LIB may be a path or a name the dynamic loader finds. DEVICE may be empty ("skf:LIB#/APP/CON"):
 * the first device present is used.
 *
 * PINs and passphrases come from an es_secret_src (the CLI: a prompt or ESEAL_PIN); they are
 * wiped after use and never logged.
 *
 * A device handle is used by one thread at a time. Sign operations through es_signer (the
 * seal layer's interface) keep the device open for the signer's lifetime.
 */
#ifndef ESEAL_KEYDEV_H
#define ESEAL_KEYDEV_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/signer.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef enum es_keydev_kind {
    ES_KEYDEV_SOFT = 1,
    ES_KEYDEV_SDF = 2,
    ES_KEYDEV_SKF = 3,
} es_keydev_kind;

#define ES_KEYREF_MAX_PATH 1024
#define ES_KEYREF_MAX_NAME 128

typedef struct es_keyref {
    es_keydev_kind kind;
    char path[ES_KEYREF_MAX_PATH];   /* soft: DIR; sdf/skf: LIB */
    char name[ES_KEYREF_MAX_NAME];   /* soft: NAME */
    unsigned index;                  /* sdf: key index (1..) */
    char device[ES_KEYREF_MAX_NAME]; /* skf */
    char application[ES_KEYREF_MAX_NAME];
    char container[ES_KEYREF_MAX_NAME];
} es_keyref;

/* Parses a key reference. ES_ERR_KEYREF with nothing guessed on any deviation. */
es_err es_keyref_parse(const char *s, es_keyref *out) ES_MUST_CHECK;
/* Writes the canonical text of a reference into out (at least 2 * ES_KEYREF_MAX_PATH). */
void es_keyref_format(const es_keyref *r, char *out, size_t outlen);

/* Where PINs come from. get writes at most cap-1 bytes and a NUL into buf; what says what is
 * asked ("user PIN of ...", "passphrase of ..."). Returns ES_ERR_PIN when none is available. */
typedef struct es_secret_src {
    es_err (*get)(void *ctx, const char *what, char *buf, size_t cap);
    void *ctx;
} es_secret_src;

/* A source that reads the environment variable name (ESEAL_PIN when NULL). */
es_secret_src es_secret_env(const char *name);

#define ES_SECRET_MAX 256

/* An open device (a soft directory, an SDF device and session, an SKF device). */
typedef struct es_keydev es_keydev;

typedef struct es_keydev_info {
    char kind[8]; /* "soft", "sdf", "skf" */
    char manufacturer[65];
    char label[65];
    char serial[65];
    int can_generate; /* the device can generate and keep a key pair at a reference */
    int can_import;   /* envelope import (ENVELOPEDKEYBLOB) */
    int can_decrypt;  /* SM2 decryption with a stored key */
} es_keydev_info;

/* Opens the device a reference names (loads the library, connects, opens a session) without
 * logging in. ES_ERR_LOAD, ES_ERR_SYMBOL, ES_ERR_DEVICE, ES_ERR_NOT_FOUND (no such device or
 * directory). */
es_err es_keydev_open(const es_keyref *ref, es_keydev **out) ES_MUST_CHECK;
es_err es_keydev_info_get(es_keydev *d, es_keydev_info *out) ES_MUST_CHECK;
/* Logs in for the key at ref with a PIN from src: SDF GetPrivateKeyAccessRight, SKF VerifyPIN
 * (user PIN), soft: decrypts the key file. ES_ERR_PIN (and *retries when known, else -1),
 * ES_ERR_PIN_LOCKED. retries may be NULL. */
es_err es_keydev_login(es_keydev *d, const es_keyref *ref, const es_secret_src *src,
                       int *retries) ES_MUST_CHECK;
/* Appends one line per key the device holds ("NAME", "INDEX" or "DEVICE/APP/CONTAINER"). */
es_err es_keydev_list(es_keydev *d, es_buf *out) ES_MUST_CHECK;
/* The SM2 signing public key at ref. */
es_err es_keydev_public_key(es_keydev *d, const es_keyref *ref,
                            uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;
/* The SM2 encryption public key kept with the key at ref (SDF: ExportEncPublicKey_ECC of the
 * index; SKF: the container's encryption key pair). ES_ERR_NO_KEY when there is none,
 * ES_ERR_UNSUPPORTED for the soft store (it keeps signing keys only). */
es_err es_keydev_enc_public_key(es_keydev *d, const es_keyref *ref,
                                uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;
/* Generates an SM2 key pair kept at ref (soft: needs a passphrase from src, refuses to
 * overwrite: ES_ERR_EXISTS). ES_ERR_UNSUPPORTED where the interface cannot do it. */
es_err es_keydev_generate(es_keydev *d, const es_keyref *ref, const es_secret_src *src,
                          uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;
/* Signs the digest e with the key at ref (after login). */
es_err es_keydev_sign(es_keydev *d, const es_keyref *ref, const uint8_t e[ES_SM3_LEN],
                      uint8_t r[32], uint8_t s[32]) ES_MUST_CHECK;
/* SM2-decrypts (GM/T 0009 DER ciphertext) with the key at ref (after login). */
es_err es_keydev_decrypt(es_keydev *d, const es_keyref *ref, const uint8_t *in, size_t len,
                         es_buf *out) ES_MUST_CHECK;
/* Imports an SM2 key pair wrapped as a GB/T 35291 ENVELOPEDKEYBLOB for the container/key at
 * ref (after login). SKF: the envelope is addressed to the container's signing key (token.h).
 * SDF: to the encryption key of the index, through the optional vendor function
 * SDF_ImportKeyPair_ECC (eseal/sdf.h; ES_ERR_SYMBOL without it); the pair becomes the index's
 * signing key pair, and an index that has one already is refused (ES_ERR_EXISTS). */
es_err es_keydev_import_envelope(es_keydev *d, const es_keyref *ref, const uint8_t *blob,
                                 size_t len) ES_MUST_CHECK;
/* Stores / reads the signing certificate kept with the key (SKF certificate slot, soft
 * NAME.crt; SDF: ES_ERR_UNSUPPORTED). */
es_err es_keydev_put_cert(es_keydev *d, const es_keyref *ref, es_slice der) ES_MUST_CHECK;
es_err es_keydev_get_cert(es_keydev *d, const es_keyref *ref, es_buf *out) ES_MUST_CHECK;
void es_keydev_close(es_keydev *d);

/* What the last failing keydev call on this thread had to say beyond its code: the loader's
 * message for ES_ERR_LOAD, the missing function for ES_ERR_SYMBOL, the device's return code
 * for ES_ERR_DEVICE; "" when nothing. Backends that say nothing leave it unchanged;
 * es_keydev_open clears it. Thread-local static storage, never NULL. */
const char *es_keydev_last_error(void);

/* The common case: open the device of ref, log in with src, and return a signer for its key.
 * The signer owns the device (closed by es_signer_free). */
es_err es_keydev_signer(const char *ref, const es_secret_src *src, es_signer **out) ES_MUST_CHECK;

/* A signer that several threads may use at once: first (an open session of ref's key, taken)
 * and up to one more session per core (ES_KEYDEV_SESSIONS_MAX in all) opened with src; a
 * signature takes a free session or waits for one. A further session that does not open, or
 * names another key, ends the pool where it is (a pool of one is a serialised signer). On
 * failure first is not taken. */
#define ES_KEYDEV_SESSIONS_MAX 4
es_err es_keydev_signer_pool(es_signer *first, const char *ref, const es_secret_src *src,
                             es_signer **out) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
