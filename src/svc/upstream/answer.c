/* The parent tier's answers (include/eseal/upstream.h): outside input, checked field by field
 * before anything is recorded (fuzz/fuzz_upstream.c). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/upstream.h"

#define BLOB_MAX 4096

void es_upstream_answer_init(es_upstream_answer *a)
{
    memset(a, 0, sizeof *a);
    es_buf_init(&a->police_key, BLOB_MAX);
    es_buf_init(&a->police_info, BLOB_MAX);
}

void es_upstream_answer_cleanup(es_upstream_answer *a)
{
    if (!a) return;
    /* The police key is a secret of the seal's holder: wiped. */
    es_buf_cleanup_secret(&a->police_key);
    es_buf_cleanup(&a->police_info);
}

static int digits(const char *s, size_t n)
{
    return s && strlen(s) == n && strspn(s, "0123456789") == n;
}

static es_err code_of(json_t *o, es_upstream_answer *out, char *why, size_t whylen)
{
    const char *code = json_string_value(json_object_get(o, "code"));
    if (!digits(code, 14)) {
        snprintf(why, whylen, "code: not 14 digits (6-digit division and 8-digit serial)");
        return ES_ERR_UPSTREAM_ANSWER;
    }
    memcpy(out->code, code, 15);
    return ES_OK;
}

static es_err blob_of(json_t *o, const char *name, es_buf *b, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, name);
    b->len = 0;
    if (!json_is_string(v) ||
        es_base64_decode(json_string_value(v), json_string_length(v), b) != ES_OK || b->len == 0) {
        snprintf(why, whylen, "%s: not base64 of 1 to %d bytes", name, BLOB_MAX);
        return ES_ERR_UPSTREAM_ANSWER;
    }
    return ES_OK;
}

static es_err time_of(json_t *o, const char *name, int64_t *out, char *why, size_t whylen)
{
    const char *t = json_string_value(json_object_get(o, name));
    es_time v = 0;
    if (!t || es_time_parse_iso(t, &v) != ES_OK) {
        snprintf(why, whylen, "%s: not a time (ISO 8601, e.g. 2026-12-07T10:00:00Z)", name);
        return ES_ERR_UPSTREAM_ANSWER;
    }
    *out = v;
    return ES_OK;
}

es_err es_upstream_answer_parse(const char *kind, es_slice json, es_upstream_answer *out, char *why,
                                size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (!out || !kind || (!json.p && json.len)) return ES_ERR_ARG;
    out->code[0] = 0;
    out->police_key.len = out->police_info.len = 0;
    out->filed_at = out->recorded_at = 0;
    out->simulator = 0;
    if (json.len > ES_UPSTREAM_MAX_ANSWER) {
        snprintf(why, whylen, "longer than %u bytes", ES_UPSTREAM_MAX_ANSWER);
        return ES_ERR_UPSTREAM_ANSWER;
    }
    json_error_t jerr;
    json_t *o =
        json.len ? json_loadb((const char *)json.p, json.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    es_err rv = ES_ERR_UPSTREAM_ANSWER;
    if (!json_is_object(o)) {
        snprintf(why, whylen, "not one JSON object");
        goto out;
    }
    json_t *sim = json_object_get(o, "simulator");
    if (sim && !json_is_boolean(sim)) {
        snprintf(why, whylen, "simulator: not true or false");
        goto out;
    }
    out->simulator = json_is_true(sim);
    if (strcmp(kind, ES_UPSTREAM_CODE_ASSIGN) == 0) {
        if ((rv = code_of(o, out, why, whylen)) == ES_OK &&
            (rv = blob_of(o, "police_key", &out->police_key, why, whylen)) == ES_OK)
            rv = blob_of(o, "police_info", &out->police_info, why, whylen);
    } else if (strcmp(kind, ES_UPSTREAM_SEAL_FILE) == 0) {
        if ((rv = code_of(o, out, why, whylen)) == ES_OK)
            rv = time_of(o, "filed_at", &out->filed_at, why, whylen);
    } else if (strcmp(kind, ES_UPSTREAM_SEAL_STATUS) == 0) {
        rv = time_of(o, "recorded_at", &out->recorded_at, why, whylen);
    } else {
        rv = ES_ERR_ARG;
    }
out:
    json_decref(o);
    return rv;
}

/* ---- Signed answers: the parent signs what it answered to which request. */

es_err es_upstream_answer_tbs(unsigned status, es_slice request, es_slice answer, es_buf *out)
{
    uint8_t h[ES_SM3_LEN];
    es_err rv;
    if (!out || (!request.p && request.len) || (!answer.p && answer.len)) return ES_ERR_ARG;
    if ((rv = es_buf_printf(out, "ESEAL-SM2-ANSWER\n%u\n", status)) != ES_OK ||
        (rv = es_sm3(request.len ? request.p : (const uint8_t *)"", request.len, h)) != ES_OK ||
        (rv = es_buf_append_hex(out, h, sizeof h)) != ES_OK ||
        (rv = es_buf_append_byte(out, '\n')) != ES_OK ||
        (rv = es_sm3(answer.len ? answer.p : (const uint8_t *)"", answer.len, h)) != ES_OK)
        return rv;
    return es_buf_append_hex(out, h, sizeof h);
}

es_err es_upstream_answer_sign(es_signer *key, unsigned status, es_slice request, es_slice answer,
                               es_buf *value)
{
    if (!key || !value) return ES_ERR_ARG;
    es_buf tbs, der;
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    es_buf_init(&tbs, 256);
    es_buf_init(&der, 128);
    es_err rv = es_upstream_answer_tbs(status, request, answer, &tbs);
    if (rv == ES_OK)
        rv = es_sm2_digest(key->pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), tbs.p, tbs.len,
                           e);
    if (rv == ES_OK) rv = es_signer_sign_digest(key, e, r, s);
    if (rv == ES_OK) rv = es_sm2_sig_encode(r, s, &der);
    if (rv == ES_OK) rv = es_base64_encode(der.p, der.len, value);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&der);
    return rv;
}

es_err es_upstream_answer_verify(const uint8_t pub[ES_SM2_PUB_LEN], unsigned status,
                                 es_slice request, es_slice answer, const char *value)
{
    if (!pub) return ES_ERR_ARG;
    if (!value || !*value) return ES_ERR_VERIFY;
    es_buf tbs, der;
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    es_buf_init(&tbs, 256);
    es_buf_init(&der, 256);
    es_err rv = es_base64_decode(value, strlen(value), &der);
    if (rv == ES_OK) rv = es_sm2_sig_decode(es_slice_make(der.p, der.len), r, s, NULL);
    if (rv == ES_OK) rv = es_upstream_answer_tbs(status, request, answer, &tbs);
    if (rv == ES_OK)
        rv = es_sm2_digest(pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), tbs.p, tbs.len, e);
    if (rv == ES_OK) rv = es_sm2_verify_digest(pub, e, r, s);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&der);
    return rv == ES_OK || rv == ES_ERR_NOMEM ? rv : ES_ERR_VERIFY;
}
