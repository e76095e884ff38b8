/* Private to keydev: the backend operations behind es_keydev. Each backend (soft.c, sdf.c,
 * skf.c) fills one es_keydev_ops; keydev.c dispatches, fetches and wipes PINs, and wraps a
 * key as an es_signer. A NULL operation means ES_ERR_UNSUPPORTED. */
#ifndef ESEAL_KEYDEV_INTERNAL_H
#define ESEAL_KEYDEV_INTERNAL_H

#include "eseal/keydev.h"

typedef struct es_keydev_ops {
    const char *kind;
    /* Loads/opens what ref names; *state is the backend's own. */
    es_err (*open)(const es_keyref *ref, void **state);
    es_err (*info)(void *state, es_keydev_info *out);
    /* pin is NUL-terminated; the caller wipes it afterwards. */
    es_err (*login)(void *state, const es_keyref *ref, const char *pin, int *retries);
    es_err (*list)(void *state, es_buf *out);
    es_err (*public_key)(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN]);
    /* The encryption public key kept with the key at ref (SDF index, SKF container). */
    es_err (*enc_public_key)(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN]);
    /* pin: the passphrase the soft store protects the new key with; unused elsewhere. */
    es_err (*generate)(void *state, const es_keyref *ref, const char *pin,
                       uint8_t pub[ES_SM2_PUB_LEN]);
    es_err (*sign)(void *state, const es_keyref *ref, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                   uint8_t s[32]);
    es_err (*decrypt)(void *state, const es_keyref *ref, const uint8_t *in, size_t len,
                      es_buf *out);
    es_err (*import_envelope)(void *state, const es_keyref *ref, const uint8_t *blob, size_t len);
    es_err (*put_cert)(void *state, const es_keyref *ref, es_slice der);
    es_err (*get_cert)(void *state, const es_keyref *ref, es_buf *out);
    void (*close)(void *state);
} es_keydev_ops;

/* Sets the text es_keydev_last_error returns (truncated to a few hundred bytes). Never put
 * a PIN in it. */
void keydev_set_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* An entry point of a vendor library (SDF, SKF): its name, the offset of its pointer in the
 * backend's table of function pointers, and whether the backend needs it. */
typedef struct es_keydev_sym {
    const char *name;
    size_t off;
    int required;
} es_keydev_sym;

/* Loads the vendor library at path (RTLD_NOW | RTLD_LOCAL) into *lib and fills the table fns
 * from syms (a function the library lacks is left NULL). ES_ERR_LOAD, with the loader's words
 * as the last error, when it does not load; ES_ERR_SYMBOL with *missing naming the first
 * required function it lacks (the caller words the error, and dlcloses *lib as on success). */
es_err keydev_dlopen(const char *path, const es_keydev_sym *syms, size_t n, void *fns, void **lib,
                     const char **missing) ES_MUST_CHECK;

extern const es_keydev_ops keydev_soft_ops;
extern const es_keydev_ops keydev_sdf_ops;
extern const es_keydev_ops keydev_skf_ops;

/* SM2 ciphertext conversions between GM/T 0009 DER and the device structures' parts
 * (x, y right-aligned 32 bytes; hash C3; ciphertext C2). Borrowed slices. */
typedef struct es_sm2_cipher_parts {
    uint8_t x[32];
    uint8_t y[32];
    uint8_t hash[32];
    es_slice c;
} es_sm2_cipher_parts;
es_err sm2_cipher_from_der(es_slice der, es_sm2_cipher_parts *out) ES_MUST_CHECK;
es_err sm2_cipher_to_der(const uint8_t x[32], const uint8_t y[32], const uint8_t hash[32],
                         const uint8_t *c, size_t clen, es_buf *out) ES_MUST_CHECK;

/* Builds a GB/T 35291 ENVELOPEDKEYBLOB (Version 1, SGD_SM4_ECB, 256 bits) that wraps the key
 * pair `key` for a device whose container signing public key is wrap_pub: the private scalar
 * SM4-ECB encrypted under a random key, that key SM2-encrypted to wrap_pub. Appends the blob
 * in the layout of include/eseal/skf.h (32-bit ULONG). */
es_err envelope_make(const es_sm2_key *key, const uint8_t wrap_pub[ES_SM2_PUB_LEN],
                     es_buf *out) ES_MUST_CHECK;

#endif
