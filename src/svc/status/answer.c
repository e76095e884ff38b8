/* The signed status answer (include/eseal/status.h; docs/status.md, module ESealStatus):
 * canonical DER out, a strict bounded reader in, and the offline verification. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/pki.h"
#include "eseal/status.h"

#define TAG_ENUM 0x0a

static void w_enum(es_der_w *w, int v)
{
    uint8_t b = (uint8_t)v;
    es_der_w_prim(w, TAG_ENUM, &b, 1);
}

static void w_text(es_der_w *w, const char *s)
{
    es_der_w_prim(w, ES_DER_UTF8_STRING, s, strlen(s));
}

/* The serial of the responder's certificate (INTEGER contents) and its key identifier. */
static es_err responder_id(es_slice cert, es_slice *serial, uint8_t key_id[ES_PKI_KEY_ID_LEN])
{
    es_pki_cert c;
    es_err rv = es_pki_cert_parse(cert, &c);
    if (rv != ES_OK) return rv;
    if (!c.is_sm2) return ES_ERR_CERT;
    *serial = c.serial;
    return es_pki_key_id(c.pub, key_id);
}

static void w_tbs(es_der_w *w, const es_status_result *r, es_slice serial, const uint8_t *key_id,
                  es_time produced_at, es_time next_update, es_slice nonce)
{
    es_der_w_begin(w, ES_DER_SEQUENCE);
    es_der_w_long(w, ES_STATUS_VERSION);
    es_der_w_begin(w, ES_DER_SEQUENCE); /* responder */
    es_der_w_prim(w, ES_DER_INTEGER, serial.p, serial.len);
    es_der_w_prim(w, ES_DER_OCTET_STRING, key_id, ES_PKI_KEY_ID_LEN);
    es_der_w_end(w);
    es_der_w_begin(w, ES_DER_SEQUENCE); /* question */
    w_enum(w, r->by);
    w_text(w, r->code);
    w_text(w, r->cert_serial);
    es_der_w_gentime(w, r->at);
    es_der_w_end(w);
    w_enum(w, r->state_now);
    w_enum(w, r->state_at);
    if (r->has_validity) {
        es_der_w_begin(w, ES_DER_CTX(0));
        es_der_w_gentime(w, r->not_before);
        es_der_w_gentime(w, r->not_after);
        es_der_w_end(w);
    }
    es_der_w_begin(w, ES_DER_SEQUENCE); /* history */
    for (size_t i = 0; i < r->n_history && i < ES_STATUS_HISTORY_MAX; i++) {
        const es_status_change *c = &r->history[i];
        es_der_w_begin(w, ES_DER_SEQUENCE);
        es_der_w_long(w, (long)c->seq);
        w_enum(w, c->state);
        es_der_w_gentime(w, c->effective_at);
        w_text(w, c->reason);
        w_text(w, c->cert_serial);
        es_der_w_end(w);
    }
    es_der_w_end(w);
    es_der_w_bool(w, r->history_complete);
    es_der_w_long(w, (long)r->seq);
    es_der_w_gentime(w, produced_at);
    es_der_w_gentime(w, next_update);
    if (nonce.len) es_der_w_prim(w, ES_DER_CTX_PRIM(1), nonce.p, nonce.len);
    es_der_w_end(w);
}

es_err es_status_answer_sign(const es_status_result *r, const es_status_responder *resp,
                             es_time produced_at, es_time next_update, es_slice nonce, es_buf *out)
{
    if (!r || !resp || !resp->key || !out) return ES_ERR_ARG;
    if (nonce.len && (nonce.len < ES_STATUS_NONCE_MIN || nonce.len > ES_STATUS_NONCE_MAX))
        return ES_ERR_ARG;
    if (r->state_now < 0 || r->state_now > ES_STATUS_STATE_MAX || r->state_at < 0 ||
        r->state_at > ES_STATUS_STATE_MAX)
        return ES_ERR_ARG;
    es_slice serial;
    uint8_t key_id[ES_PKI_KEY_ID_LEN];
    es_err rv = responder_id(resp->cert, &serial, key_id);
    if (rv != ES_OK) return rv;
    es_buf tbs, sig;
    es_buf_init(&tbs, ES_STATUS_ANSWER_MAX);
    es_buf_init(&sig, 128);
    es_der_w w;
    es_der_w_init(&w, &tbs);
    w_tbs(&w, r, serial, key_id, produced_at, next_update, nonce);
    if ((rv = es_der_w_finish(&w)) != ES_OK) goto done;
    if ((rv = es_signer_sign_message(resp->key, ES_STATUS_SM2_ID, tbs.p, tbs.len, &sig)) != ES_OK)
        goto done;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, tbs.p, tbs.len);
    es_der_w_oid(&w, ES_OID_ID_SM2_SM3);
    es_der_w_bits(&w, sig.p, sig.len);
    es_der_w_begin(&w, ES_DER_CTX(0));
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, resp->cert.p, resp->cert.len);
    for (size_t i = 0; i < resp->n_chain && i < 3; i++)
        es_der_w_raw(&w, resp->chain[i].p, resp->chain[i].len);
    es_der_w_end(&w);
    es_der_w_end(&w);
    es_der_w_end(&w);
    rv = es_der_w_finish(&w);
done:
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
    return rv;
}

/* ---- reading */

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) return rv;                                                        \
    } while (0)

static es_err r_enum(es_der *d, int *out)
{
    es_der_tlv t;
    es_err rv;
    CHECK(es_der_expect(d, TAG_ENUM, &t));
    if (t.val.len != 1 || t.val.p[0] > ES_STATUS_STATE_MAX) return ES_ERR_FORMAT;
    *out = t.val.p[0];
    return ES_OK;
}

static es_err r_text(es_der *d, char *out, size_t max)
{
    es_der_tlv t;
    es_err rv;
    CHECK(es_der_expect(d, ES_DER_UTF8_STRING, &t));
    if (t.val.len >= max || !es_utf8_valid(t.val.p, t.val.len)) return ES_ERR_FORMAT;
    if (t.val.len) memcpy(out, t.val.p, t.val.len);
    out[t.val.len] = 0;
    return ES_OK;
}

static es_err r_gentime(es_der *d, es_time *out)
{
    unsigned tag = 0;
    es_err rv;
    CHECK(es_der_read_time(d, out, &tag));
    return tag == ES_DER_GEN_TIME ? ES_OK : ES_ERR_FORMAT;
}

static es_err r_int64(es_der *d, int64_t *out)
{
    long v = 0;
    es_err rv;
    CHECK(es_der_read_long(d, &v));
    if (v < 0) return ES_ERR_FORMAT;
    *out = v;
    return ES_OK;
}

static es_err r_tbs(es_slice tbs, es_status_answer *a, es_quirks *q)
{
    es_der top, d, s, h, e;
    es_der_tlv t;
    es_err rv;
    es_status_result *r = &a->r;
    es_der_init(&top, tbs, q);
    CHECK(es_der_open(&top, ES_DER_SEQUENCE, &t, &d));
    CHECK(es_der_read_long(&d, &a->version));
    if (a->version != ES_STATUS_VERSION) return ES_ERR_UNSUPPORTED;
    CHECK(es_der_open(&d, ES_DER_SEQUENCE, &t, &s));
    CHECK(es_der_read_int_bytes(&s, &a->responder_serial));
    CHECK(es_der_read_octets(&s, &a->responder_key_id));
    if (a->responder_key_id.len != ES_PKI_KEY_ID_LEN || a->responder_serial.len == 0 ||
        a->responder_serial.len > 32)
        return ES_ERR_FORMAT;
    CHECK(es_der_done(&s));
    CHECK(es_der_open(&d, ES_DER_SEQUENCE, &t, &s));
    CHECK(r_enum(&s, &r->by));
    if (r->by > ES_STATUS_BY_CERT) return ES_ERR_FORMAT;
    CHECK(r_text(&s, r->code, sizeof r->code));
    CHECK(r_text(&s, r->cert_serial, sizeof r->cert_serial));
    CHECK(r_gentime(&s, &r->at));
    CHECK(es_der_done(&s));
    CHECK(r_enum(&d, &r->state_now));
    CHECK(r_enum(&d, &r->state_at));
    if (es_der_peek(&d) == ES_DER_CTX(0)) {
        CHECK(es_der_open(&d, ES_DER_CTX(0), &t, &s));
        CHECK(r_gentime(&s, &r->not_before));
        CHECK(r_gentime(&s, &r->not_after));
        CHECK(es_der_done(&s));
        r->has_validity = 1;
    }
    CHECK(es_der_open(&d, ES_DER_SEQUENCE, &t, &h));
    while (es_der_more(&h)) {
        if (r->n_history >= ES_STATUS_HISTORY_MAX) return ES_ERR_FORMAT;
        es_status_change *c = &r->history[r->n_history++];
        CHECK(es_der_open(&h, ES_DER_SEQUENCE, &t, &e));
        CHECK(r_int64(&e, &c->seq));
        CHECK(r_enum(&e, &c->state));
        CHECK(r_gentime(&e, &c->effective_at));
        CHECK(r_text(&e, c->reason, sizeof c->reason));
        CHECK(r_text(&e, c->cert_serial, sizeof c->cert_serial));
        CHECK(es_der_done(&e));
    }
    CHECK(es_der_read_bool(&d, &r->history_complete));
    CHECK(r_int64(&d, &r->seq));
    CHECK(r_gentime(&d, &a->produced_at));
    CHECK(r_gentime(&d, &a->next_update));
    if (es_der_more(&d)) {
        CHECK(es_der_expect(&d, ES_DER_CTX_PRIM(1), &t));
        if (t.val.len < ES_STATUS_NONCE_MIN || t.val.len > ES_STATUS_NONCE_MAX)
            return ES_ERR_FORMAT;
        a->nonce = t.val;
    }
    CHECK(es_der_done(&d));
    return es_der_done(&top);
}

es_err es_status_answer_parse(es_slice der, es_status_answer *a)
{
    es_der top, d, c, l;
    es_der_tlv t, tbs;
    es_quirks q = 0;
    es_err rv;
    memset(a, 0, sizeof *a);
    if (der.len == 0) return ES_ERR_DER;
    if (der.len > ES_STATUS_ANSWER_MAX) return ES_ERR_LIMIT;
    es_der_init(&top, der, &q);
    CHECK(es_der_open(&top, ES_DER_SEQUENCE, &t, &d));
    CHECK(es_der_expect(&d, ES_DER_SEQUENCE, &tbs));
    a->tbs = tbs.raw;
    es_slice oid;
    CHECK(es_der_read_oid(&d, &oid));
    if (!es_oid_is(oid, ES_OID_ID_SM2_SM3)) return ES_ERR_UNSUPPORTED;
    uint8_t unused = 0;
    CHECK(es_der_read_bits(&d, &a->sig, &unused));
    if (unused != 0) return ES_ERR_FORMAT;
    if (es_der_more(&d)) {
        CHECK(es_der_open(&d, ES_DER_CTX(0), &t, &c));
        CHECK(es_der_open(&c, ES_DER_SEQUENCE, &t, &l));
        while (es_der_more(&l)) {
            if (a->n_certs >= sizeof a->certs / sizeof a->certs[0]) return ES_ERR_FORMAT;
            CHECK(es_der_expect(&l, ES_DER_SEQUENCE, &t));
            a->certs[a->n_certs++] = t.raw;
        }
        CHECK(es_der_done(&c));
    }
    CHECK(es_der_done(&d));
    CHECK(es_der_done(&top));
    CHECK(r_tbs(a->tbs, a, &q));
    /* Strict DER: a signed object of ours has one encoding; anything the tolerant reader let
     * through (indefinite lengths, long forms, odd booleans) is refused. */
    if (q != 0) return ES_ERR_DER;
    return ES_OK;
}

/* ---- verifying */

static es_err fail(char *why, size_t whylen, const char *msg)
{
    if (why && whylen) snprintf(why, whylen, "%s", msg);
    return ES_ERR_VERIFY;
}

static int same_int(es_slice a, es_slice b)
{
    while (a.len > 1 && a.p[0] == 0) a.p++, a.len--;
    while (b.len > 1 && b.p[0] == 0) b.p++, b.len--;
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

es_err es_status_answer_verify(es_slice der, const es_trust *trust, const es_status_expect *exp,
                               es_status_answer *a, char *why, size_t whylen)
{
    char inner[300];
    es_err rv = es_status_answer_parse(der, a);
    if (rv != ES_OK) {
        if (why && whylen)
            snprintf(why, whylen, "format: not a status answer (%s)", es_err_str(rv));
        return rv;
    }
    if (a->n_certs == 0) return fail(why, whylen, "chain: the answer carries no certificate");
    es_pki_cert c;
    if (es_pki_cert_parse(a->certs[0], &c) != ES_OK || !c.is_sm2)
        return fail(why, whylen, "chain: the responder's certificate cannot be read");
    uint8_t key_id[ES_PKI_KEY_ID_LEN];
    if ((rv = es_pki_key_id(c.pub, key_id)) != ES_OK) return rv;
    if (!same_int(c.serial, a->responder_serial) ||
        !es_ct_equal(key_id, a->responder_key_id.p, ES_PKI_KEY_ID_LEN))
        return fail(why, whylen, "chain: the certificate carried is not the responder named");
    /* The signature over the original bytes of tbsAnswer. */
    uint8_t e[ES_SM3_LEN], sr[32], ss[32];
    if ((rv = es_sm2_digest(c.pub, ES_STATUS_SM2_ID, strlen(ES_STATUS_SM2_ID), a->tbs.p, a->tbs.len,
                            e)) != ES_OK)
        return rv;
    if (es_sm2_sig_decode(a->sig, sr, ss, NULL) != ES_OK ||
        es_sm2_verify_digest(c.pub, e, sr, ss) != ES_OK)
        return fail(why, whylen, "signature: the answer's signature does not verify");
    /* The profile: a status system's certificate (status-system: digitalSignature, EKU
     * OCSPSigning), never a CA. */
    if ((c.has_basic_constraints && c.is_ca) || !c.has_key_usage ||
        !(c.key_usage & ES_KU_DIGITAL_SIGNATURE) || (c.key_usage & ES_KU_KEY_CERT_SIGN) ||
        !(c.ext_key_usage & ES_EKU_OCSP_SIGNING))
        return fail(why, whylen,
                    "profile: the signer's certificate is not a status system's (status-system: "
                    "digitalSignature, extKeyUsage OCSPSigning)");
    if (!trust) return fail(why, whylen, "chain: no trust anchor given");
    rv = es_trust_verify(trust, a->certs[0], a->n_certs > 1 ? &a->certs[1] : NULL, a->n_certs - 1,
                         a->produced_at, inner, sizeof inner);
    if (rv != ES_OK) {
        if (why && whylen) snprintf(why, whylen, "chain: %s", inner);
        return ES_ERR_VERIFY;
    }
    if (a->next_update < a->produced_at)
        return fail(why, whylen, "format: nextUpdate before producedAt");
    if (!exp) return ES_OK;
    char serial[ES_STATUS_SERIAL_MAX];
    if (exp->code && exp->code[0] && strcmp(exp->code, a->r.code) != 0)
        return fail(why, whylen, "question: the answer is about another seal");
    if (exp->serial && exp->serial[0] &&
        (!es_status_serial_norm(exp->serial, serial) || strcmp(serial, a->r.cert_serial) != 0))
        return fail(why, whylen, "question: the answer is about another certificate");
    if (exp->at != ES_TIME_NONE && exp->at != a->r.at)
        return fail(why, whylen, "question: the answer is about another time");
    if (exp->nonce.len &&
        (a->nonce.len != exp->nonce.len || !es_ct_equal(a->nonce.p, exp->nonce.p, a->nonce.len)))
        return fail(why, whylen, "nonce: the answer does not carry the nonce sent");
    if (!exp->no_freshness) {
        es_time now = exp->now == ES_TIME_NONE ? es_time_now() : exp->now;
        if (now > a->next_update) return fail(why, whylen, "stale: past the answer's nextUpdate");
        if (now + 300 < a->produced_at)
            return fail(why, whylen, "stale: produced in the future (clock?)");
    }
    return ES_OK;
}

/* ---- the JSON view */

static json_t *time_json(es_time t)
{
    char s[32];
    es_time_format_iso(t, s);
    return json_string(s);
}

es_err es_status_answer_json(const es_status_answer *a, es_buf *out)
{
    const es_status_result *r = &a->r;
    json_t *o = json_object(), *q = json_object(), *h = json_array();
    char hex[2 * 32 + 1];
    if (!o || !q || !h) {
        json_decref(o);
        json_decref(q);
        json_decref(h);
        return ES_ERR_NOMEM;
    }
    json_object_set_new(o, "version", json_integer(a->version));
    es_hex_encode(a->responder_serial.p,
                  a->responder_serial.len > 32 ? 32 : a->responder_serial.len, hex);
    json_t *rs = json_object();
    json_object_set_new(rs, "cert_serial", json_string(hex));
    es_hex_encode(a->responder_key_id.p,
                  a->responder_key_id.len > 32 ? 32 : a->responder_key_id.len, hex);
    json_object_set_new(rs, "key_id", json_string(hex));
    json_object_set_new(o, "responder", rs);
    json_object_set_new(q, "by", json_string(r->by == ES_STATUS_BY_CERT ? "cert" : "code"));
    json_object_set_new(q, "code", json_string(r->code));
    json_object_set_new(q, "cert_serial", json_string(r->cert_serial));
    json_object_set_new(q, "at", time_json(r->at));
    json_object_set_new(o, "question", q);
    json_object_set_new(o, "state_now", json_string(es_status_state_name(r->state_now)));
    json_object_set_new(o, "state_now_zh", json_string(es_status_state_zh(r->state_now)));
    json_object_set_new(o, "state_at", json_string(es_status_state_name(r->state_at)));
    json_object_set_new(o, "state_at_zh", json_string(es_status_state_zh(r->state_at)));
    json_object_set_new(o, "valid_at", json_boolean(es_status_state_valid(r->state_at)));
    if (r->has_validity) {
        json_t *v = json_object();
        json_object_set_new(v, "not_before", time_json(r->not_before));
        json_object_set_new(v, "not_after", time_json(r->not_after));
        json_object_set_new(o, "validity", v);
    }
    for (size_t i = 0; i < r->n_history; i++) {
        const es_status_change *c = &r->history[i];
        json_t *e = json_object();
        json_object_set_new(e, "seq", json_integer(c->seq));
        json_object_set_new(e, "state", json_string(es_status_state_name(c->state)));
        json_object_set_new(e, "state_zh", json_string(es_status_state_zh(c->state)));
        json_object_set_new(e, "effective_at", time_json(c->effective_at));
        json_object_set_new(e, "reason", json_string(c->reason));
        json_object_set_new(e, "cert_serial", json_string(c->cert_serial));
        json_array_append_new(h, e);
    }
    json_object_set_new(o, "history", h);
    json_object_set_new(o, "history_complete", json_boolean(r->history_complete));
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "produced_at", time_json(a->produced_at));
    json_object_set_new(o, "next_update", time_json(a->next_update));
    if (a->nonce.len) {
        char n[2 * ES_STATUS_NONCE_MAX + 1];
        es_hex_encode(a->nonce.p, a->nonce.len, n);
        json_object_set_new(o, "nonce", json_string(n));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return ES_ERR_NOMEM;
    es_err rv = es_buf_append(out, (const uint8_t *)s, strlen(s));
    free(s);
    return rv;
}
