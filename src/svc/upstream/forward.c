/* Forwarding at a tier with children (include/eseal/upstream.h, docs/upstream.md
 * "Forwarding"): a child's national request passed to this tier's parent under a key derived
 * from the child's, the exchange recorded and audited. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/upstream.h"
#include "svc/internal.h"

/* "fwd:" + hex SM3("client\nkey"): the same child request is the same request upstream; two
 * children's keys never meet. */
static es_err derived_key(const char *client, const char *key, char out[4 + 2 * ES_SM3_LEN + 1])
{
    uint8_t h[ES_SM3_LEN];
    es_buf b;
    es_buf_init(&b, 512);
    es_err rv = es_buf_printf(&b, "%s\n%s", client, key);
    if (rv == ES_OK) rv = es_sm3(b.p, b.len, h);
    es_buf_cleanup(&b);
    if (rv != ES_OK) return rv;
    memcpy(out, "fwd:", 4);
    es_hex_encode(h, sizeof h, out + 4);
    return ES_OK;
}

es_err es_national_forward(es_accounts *a, const es_actor *by, es_upstream *u, const char *client,
                           const char *kind, es_slice body, unsigned *status, es_buf *answer,
                           const char **field, char *why, size_t whylen)
{
    char fkey[4 + 2 * ES_SM3_LEN + 1], object[200], detail[400], sm3hex[2 * ES_SM3_LEN + 1] = "";
    uint8_t h[ES_SM3_LEN];
    const char *path = es_upstream_path(kind);
    json_t *w = NULL, *o = NULL;
    char *wire = NULL;
    es_err rv;
    *status = 0;
    if (!path) return ES_ERR_ARG;
    /* The same checks as the platform's: a request the parent would refuse is refused here,
     * naming the field, and nothing is sent. */
    if ((rv = es_national_request_check(kind, body, field, why, whylen)) != ES_OK) return rv;
    w = json_loadb((const char *)body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    const char *key = json_string_value(json_object_get(w, "key"));
    json_t *inner = json_object_get(w, "body");
    if (!key || !json_is_object(inner)) {
        rv = ES_ERR_ARG;
        goto out;
    }
    if ((rv = derived_key(client, key, fkey)) != ES_OK) goto out;
    o = json_pack("{s:s, s:O}", "key", fkey, "body", inner);
    if (!o || !(wire = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS))) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    size_t mark = answer->len;
    rv = es_upstream_forward_send(u, path, es_slice_make(wire, strlen(wire)), status, answer, why,
                                  whylen);
    if (rv != ES_OK) {
        *status = 0;
        answer->len = mark;
        if (why && whylen && !why[0]) snprintf(why, whylen, "%s", es_err_str(rv));
        rv = ES_OK;
    }
    if (*status && (rv = es_sm3(answer->p + mark, answer->len - mark, h)) == ES_OK)
        es_hex_encode(h, sizeof h, sm3hex);
    if (rv != ES_OK) goto out;
    /* Recorded and audited whatever the parent said (a child's retry is a row of its own). */
    snprintf(object, sizeof object, "upstream:%s:%s", kind, key);
    snprintf(detail, sizeof detail, "client=%s forwarded_as=%s status=%u%s%.200s", client, fkey,
             *status, *status ? "" : " not reached: ", *status ? "" : (why ? why : ""));
    if ((rv = es_store_begin(a->store)) != ES_OK) goto out;
    es_value p[] = {es_v_text(client),
                    es_v_text(kind),
                    es_v_text(key),
                    es_v_text(fkey),
                    es_v_int(*status),
                    es_v_text(sm3hex),
                    es_v_text(*status ? "" : (why ? why : "")),
                    es_v_int(es_time_now())};
    rv = es_store_exec(a->store,
                       "INSERT INTO upstream_forwards (client, kind, child_key, forwarded_key, "
                       "status, answer_sm3, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       p, sizeof p / sizeof p[0], NULL);
    if (rv == ES_OK) rv = svc_audit(a, by, "upstream.forward", object, detail);
    if (rv == ES_OK)
        rv = es_store_commit(a->store);
    else
        es_store_rollback(a->store);
out:
    free(wire);
    json_decref(o);
    json_decref(w);
    return rv;
}
