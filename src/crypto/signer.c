/* The in-memory signer and the helpers every signer shares. No OpenSSL here: keys are
 * reached through crypto.h. */
#include <stdlib.h>
#include <string.h>

#include "eseal/signer.h"

static es_err key_sign(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32], uint8_t s[32])
{
    return es_sm2_key_sign_digest(self->ctx, e, r, s);
}

static void key_destroy(es_signer *self)
{
    es_sm2_key_free(self->ctx);
}

es_err es_signer_from_key(es_sm2_key *key, es_signer **out)
{
    if (!key || !out) return ES_ERR_ARG;
    es_signer *s = calloc(1, sizeof *s);
    if (!s) return ES_ERR_NOMEM;
    es_sm2_key_pub(key, s->pub);
    s->sign_digest = key_sign;
    s->destroy = key_destroy;
    s->ctx = key;
    *out = s;
    return ES_OK;
}

es_err es_signer_sign_digest(es_signer *s, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                             uint8_t sig_s[32])
{
    if (!s || !s->sign_digest || !e || !r || !sig_s) return ES_ERR_ARG;
    return s->sign_digest(s, e, r, sig_s);
}

es_err es_signer_sign_message(es_signer *s, const char *id, const void *msg, size_t len,
                              es_buf *out)
{
    uint8_t e[ES_SM3_LEN], r[32], sv[32];
    if (!id) id = ES_SM2_DEFAULT_ID;
    es_err rv = es_sm2_digest(s->pub, id, strlen(id), msg, len, e);
    if (rv == ES_OK) rv = es_signer_sign_digest(s, e, r, sv);
    if (rv == ES_OK) rv = es_sm2_sig_encode(r, sv, out);
    return rv;
}

void es_signer_free(es_signer *s)
{
    if (!s) return;
    if (s->destroy) s->destroy(s);
    free(s);
}
