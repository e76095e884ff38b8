/* eseal signer: the one narrow interface through which every SM2 private-key operation of
 * the seal layer goes. A signer knows its public key and signs a 32-byte digest
 * e = SM3(Z || M); it never sees the message. Key devices (soft store, SDF, SKF) provide
 * signers; the seal layer does not know which one it holds.
 */
#ifndef ESEAL_SIGNER_H
#define ESEAL_SIGNER_H

#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef struct es_signer es_signer;

struct es_signer {
    uint8_t pub[ES_SM2_PUB_LEN];
    /* Signs e; r and s are 32-byte big-endian. ES_ERR_SIGNER (or a more precise code) on a
     * device failure. */
    es_err (*sign_digest)(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                          uint8_t s[32]);
    /* Releases ctx (and the device session behind it). May be NULL. */
    void (*destroy)(es_signer *self);
    void *ctx;
};

/* A signer over a key held in memory. Takes ownership of key (freed with the signer). */
es_err es_signer_from_key(es_sm2_key *key, es_signer **out) ES_MUST_CHECK;

/* Signs the digest through the signer's function, checking the arguments. */
es_err es_signer_sign_digest(es_signer *s, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                             uint8_t sig_s[32]) ES_MUST_CHECK;

/* Computes e = SM3(Z(pub, id) || msg) and signs it; appends DER SEQUENCE{r,s} to out. */
es_err es_signer_sign_message(es_signer *s, const char *id, const void *msg, size_t len,
                              es_buf *out) ES_MUST_CHECK;

/* Calls destroy and frees the struct; NULL is a no-op. */
void es_signer_free(es_signer *s);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
