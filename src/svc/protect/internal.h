/* Private to svc/protect: the key cache and the helpers tables.c shares with protect.c. */
#ifndef ESEAL_PROTECT_INTERNAL_H
#define ESEAL_PROTECT_INTERNAL_H

#include <pthread.h>

#include "eseal/crypto.h"
#include "eseal/protect.h"

#define PROTECT_CACHE    32 /* data keys kept unwrapped in memory */
#define PROTECT_DK_LEN   16 /* SM4-128 data key */
#define PROTECT_KEY_LEN  32 /* index and MAC keys */
#define PROTECT_WRAP_MAX 512

typedef struct protect_dk {
    int64_t id;                      /* 0: free slot */
    uint8_t wrapped_sm3[ES_SM3_LEN]; /* the wrapped form it came from: a row replaced after a
                                        rolled-back rotation reusing the id is not mistaken */
    uint8_t enc[16];                 /* SM4 key: HMAC-SM3(dk, "eseal protect v1 enc")[0..16) */
    uint8_t mac[32];                 /* HMAC key: HMAC-SM3(dk, "eseal protect v1 mac") */
    unsigned long used;
} protect_dk;

struct es_protect {
    pthread_mutex_t mu;
    es_keyref ref;
    es_keydev *dev;
    uint8_t pub[ES_SM2_PUB_LEN];
    char kek_id[65];
    protect_dk cache[PROTECT_CACHE];
    unsigned long tick, unwraps;
    int have_index, have_mac;
    uint8_t index_key[PROTECT_KEY_LEN];
    uint8_t mac_key[PROTECT_KEY_LEN];
};

/* Wraps key (len bytes) for the row (id, purpose) to p's KEK; appends to out. The result is
 * unwrapped once through the device before it is returned, so that a public key that is not
 * the device's decryption key is refused here (ES_ERR_KEY_MISMATCH), not at the next start. */
es_err protect_wrap(es_protect *p, int64_t id, const char *purpose, const uint8_t *key, size_t len,
                    es_buf *out) ES_MUST_CHECK;
/* Unwraps a key row; *len the key's length (16 or 32). */
es_err protect_unwrap(es_protect *p, int64_t id, const char *purpose, es_slice wrapped,
                      uint8_t key[PROTECT_KEY_LEN], size_t *len) ES_MUST_CHECK;
/* Forgets every cached data key. */
void protect_cache_clear(es_protect *p);
/* The subkeys of a data key into slot's enc and mac. */
es_err protect_derive(const uint8_t dk[PROTECT_DK_LEN], protect_dk *slot) ES_MUST_CHECK;
/* Seal and open with the subkeys at hand (the store's part done): for es_protect_seal and
 * es_protect_open, and the fuzz target. */
es_err protect_seal_dk(const protect_dk *dk, uint32_t key_id, es_slice plain, es_slice aad,
                       es_buf *out) ES_MUST_CHECK;
es_err protect_open_dk(const protect_dk *dk, const es_protect_blob *b, es_slice aad,
                       es_buf *plain) ES_MUST_CHECK;
/* 1 when s is an SQL identifier we accept: [a-z_][a-z0-9_]{0,62}. */
int protect_ident_ok(const char *s);

#endif
