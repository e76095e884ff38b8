/* The canonical Decision a person signs, and the export bundle that verifies offline
 * (include/eseal/decision.h, docs/decisions.md). No store here: the CLI and the fuzz target use
 * it as the daemon does. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/decision.h"
#include "eseal/der.h"

#define DECISION_VERSION 1

static int text_ok(const char *s, size_t max)
{
    if (!s) return 0;
    size_t n = strlen(s);
    return n <= max && es_utf8_valid(s, n);
}

es_err es_decision_tbs(const es_decision *d, const char *actor, es_buf *der)
{
    if (!d || !der || !text_ok(d->action, ES_DECISION_ACTION_MAX) || !d->action[0] ||
        !text_ok(d->object, ES_DECISION_OBJECT_MAX) || !d->object[0] ||
        !text_ok(d->verdict, ES_DECISION_VERDICT_MAX) ||
        !text_ok(d->opinion, ES_DECISION_OPINION_MAX) || !text_ok(actor, ES_ACCOUNT_NAME_MAX) ||
        !actor[0] || d->at < 0)
        return ES_ERR_ARG;
    es_der_w w;
    es_der_w_init(&w, der);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, DECISION_VERSION);
    es_der_w_prim(&w, ES_DER_UTF8_STRING, d->action, strlen(d->action));
    es_der_w_prim(&w, ES_DER_UTF8_STRING, d->object, strlen(d->object));
    es_der_w_prim(&w, ES_DER_UTF8_STRING, d->verdict, strlen(d->verdict));
    es_der_w_prim(&w, ES_DER_UTF8_STRING, d->opinion, strlen(d->opinion));
    es_der_w_prim(&w, ES_DER_OCTET_STRING, d->subject_sm3, 32);
    es_der_w_gentime(&w, (es_time)d->at);
    es_der_w_prim(&w, ES_DER_UTF8_STRING, actor, strlen(actor));
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

static es_err read_utf8(es_der *d, es_slice *out, size_t max)
{
    es_der_tlv t;
    es_err rv = es_der_expect(d, ES_DER_UTF8_STRING, &t);
    if (rv != ES_OK) return rv;
    if (t.val.len > max || !es_utf8_valid(t.val.p, t.val.len)) return ES_ERR_FORMAT;
    *out = t.val;
    return ES_OK;
}

es_err es_decision_parse(es_slice tbs, es_decision_view *out)
{
    es_der top, seq;
    es_der_tlv t;
    es_quirks q = 0;
    es_slice subject;
    unsigned ttag = 0;
    es_err rv;
    memset(out, 0, sizeof *out);
    if (tbs.len > ES_DECISION_TBS_MAX) return ES_ERR_LIMIT;
    es_der_init(&top, tbs, &q);
    if ((rv = es_der_open(&top, ES_DER_SEQUENCE, &t, &seq)) != ES_OK) return rv;
    if ((rv = es_der_done(&top)) != ES_OK) return rv;
    if ((rv = es_der_read_long(&seq, &out->version)) != ES_OK) return rv;
    if (out->version != DECISION_VERSION) return ES_ERR_UNSUPPORTED;
    if ((rv = read_utf8(&seq, &out->action, ES_DECISION_ACTION_MAX)) != ES_OK ||
        (rv = read_utf8(&seq, &out->object, ES_DECISION_OBJECT_MAX)) != ES_OK ||
        (rv = read_utf8(&seq, &out->verdict, ES_DECISION_VERDICT_MAX)) != ES_OK ||
        (rv = read_utf8(&seq, &out->opinion, ES_DECISION_OPINION_MAX)) != ES_OK)
        return rv;
    if ((rv = es_der_read_octets(&seq, &subject)) != ES_OK) return rv;
    if (subject.len != 32) return ES_ERR_FORMAT;
    memcpy(out->subject_sm3, subject.p, 32);
    if ((rv = es_der_read_time(&seq, &out->at, &ttag)) != ES_OK) return rv;
    if (ttag != ES_DER_GEN_TIME) return ES_ERR_FORMAT;
    if ((rv = read_utf8(&seq, &out->actor, ES_ACCOUNT_NAME_MAX)) != ES_OK) return rv;
    if (!out->action.len || !out->object.len || !out->actor.len) return ES_ERR_FORMAT;
    if ((rv = es_der_done(&seq)) != ES_OK) return rv;
    /* Canonical only: what was signed is what es_decision_tbs writes, byte for byte (a BER
     * length or an odd time form would let two encodings carry one decision). */
    if (q) return ES_ERR_FORMAT;
    es_buf again;
    char action[ES_DECISION_ACTION_MAX + 1], object[ES_DECISION_OBJECT_MAX + 1],
        verdict[ES_DECISION_VERDICT_MAX + 1], actor[ES_ACCOUNT_NAME_MAX + 1];
    char *op = malloc(out->opinion.len + 1);
    if (!op) return ES_ERR_NOMEM;
#define COPY(dst, sl)                                                                              \
    do {                                                                                           \
        memcpy(dst, (sl).p, (sl).len);                                                             \
        (dst)[(sl).len] = 0;                                                                       \
    } while (0)
    COPY(action, out->action);
    COPY(object, out->object);
    COPY(verdict, out->verdict);
    COPY(op, out->opinion);
    COPY(actor, out->actor);
#undef COPY
    es_decision d = {action, object, verdict, op, {0}, (int64_t)out->at};
    memcpy(d.subject_sm3, out->subject_sm3, 32);
    es_buf_init(&again, ES_DECISION_TBS_MAX);
    /* A NUL inside a string would shorten it here: refused as well. */
    rv = es_decision_tbs(&d, actor, &again);
    if (rv == ES_OK && !es_slice_eq(es_slice_make(again.p, again.len), tbs)) rv = ES_ERR_FORMAT;
    if (rv == ES_ERR_ARG) rv = ES_ERR_FORMAT;
    es_buf_cleanup(&again);
    free(op);
    return rv;
}

/* ---- The export bundle. */

es_err es_decision_bundle(es_slice tbs, es_slice sig, const es_slice *certs, size_t n, es_buf *out)
{
    if (!tbs.len || !sig.len || !n || !certs) return ES_ERR_ARG;
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 1);
    es_der_w_raw(&w, tbs.p, tbs.len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, sig.p, sig.len);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    for (size_t i = 0; i < n; i++) es_der_w_raw(&w, certs[i].p, certs[i].len);
    es_der_w_end(&w);
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

static void say(char *why, size_t whylen, const char *what)
{
    if (why && whylen) snprintf(why, whylen, "%s", what);
}

static es_err bundle_der(es_slice in, es_decision_bundle_view *out, char *why, size_t whylen)
{
    es_der top, seq, list;
    es_der_tlv t;
    long version = 0;
    es_err rv;
    es_der_init(&top, in, NULL);
    if ((rv = es_der_open(&top, ES_DER_SEQUENCE, &t, &seq)) != ES_OK ||
        (rv = es_der_done(&top)) != ES_OK) {
        say(why, whylen, "not a DecisionBundle (DER SEQUENCE)");
        return rv;
    }
    if ((rv = es_der_read_long(&seq, &version)) != ES_OK || version != 1) {
        say(why, whylen, "DecisionBundle: version is not 1");
        return rv != ES_OK ? rv : ES_ERR_UNSUPPORTED;
    }
    if ((rv = es_der_expect(&seq, ES_DER_SEQUENCE, &t)) != ES_OK) {
        say(why, whylen, "DecisionBundle: decision is not a SEQUENCE");
        return rv;
    }
    out->tbs = t.raw;
    if ((rv = es_der_read_octets(&seq, &out->sig)) != ES_OK) {
        say(why, whylen, "DecisionBundle: signature is not an OCTET STRING");
        return rv;
    }
    if ((rv = es_der_open(&seq, ES_DER_SEQUENCE, &t, &list)) != ES_OK) {
        say(why, whylen, "DecisionBundle: certificates is not a SEQUENCE");
        return rv;
    }
    while (es_der_more(&list)) {
        if (out->n_certs == 4) {
            say(why, whylen, "DecisionBundle: more than 4 certificates");
            return ES_ERR_LIMIT;
        }
        if ((rv = es_der_expect(&list, ES_DER_SEQUENCE, &t)) != ES_OK) {
            say(why, whylen, "DecisionBundle: a certificate is not a SEQUENCE");
            return rv;
        }
        out->certs[out->n_certs++] = t.raw;
    }
    if (!out->n_certs) {
        say(why, whylen, "DecisionBundle: no certificate");
        return ES_ERR_FORMAT;
    }
    if ((rv = es_der_done(&seq)) != ES_OK) say(why, whylen, "DecisionBundle: trailing fields");
    return rv;
}

/* JSON (GET /api/v1/decisions/{id}): "tbs" and "signature" in base64, "certificate" and
 * "chain" (array) in PEM, "cert_serial". Decoded into keep, one after the other. */
static es_err json_b64(json_t *o, const char *key, es_buf *keep, size_t *off, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s) return ES_ERR_FORMAT;
    *off = keep->len;
    es_err rv = es_base64_decode(s, strlen(s), keep);
    *len = keep->len - *off;
    return rv;
}

static es_err json_pem(const char *s, es_buf *keep, size_t *off, size_t *len)
{
    if (!s) return ES_ERR_FORMAT;
    *off = keep->len;
    es_err rv = es_cert_to_der((const uint8_t *)s, strlen(s), keep);
    *len = keep->len - *off;
    return rv;
}

static es_err bundle_json(es_slice in, es_buf *keep, es_decision_bundle_view *out, char *why,
                          size_t whylen)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)in.p, in.len, JSON_REJECT_DUPLICATES, &jerr);
    size_t off[6], len[6], n = 0;
    es_err rv = ES_ERR_FORMAT;
    if (!o || !json_is_object(o)) {
        say(why, whylen, "not the JSON of a decision");
        goto out;
    }
    if (json_b64(o, "tbs", keep, &off[0], &len[0]) != ES_OK) {
        say(why, whylen, "tbs: missing or not base64");
        goto out;
    }
    if (json_b64(o, "signature", keep, &off[1], &len[1]) != ES_OK) {
        say(why, whylen, "signature: missing or not base64");
        goto out;
    }
    if (json_pem(json_string_value(json_object_get(o, "certificate")), keep, &off[2], &len[2]) !=
        ES_OK) {
        say(why, whylen, "certificate: missing or not a PEM certificate");
        goto out;
    }
    n = 1;
    json_t *chain = json_object_get(o, "chain");
    if (chain && !json_is_array(chain)) {
        say(why, whylen, "chain: not an array");
        goto out;
    }
    for (size_t i = 0; chain && i < json_array_size(chain); i++) {
        if (n == 4) {
            say(why, whylen, "chain: more than 3 certificates");
            rv = ES_ERR_LIMIT;
            goto out;
        }
        if (json_pem(json_string_value(json_array_get(chain, i)), keep, &off[2 + n], &len[2 + n]) !=
            ES_OK) {
            say(why, whylen, "chain: an element is not a PEM certificate");
            goto out;
        }
        n++;
    }
    const char *serial = json_string_value(json_object_get(o, "cert_serial"));
    if (serial && snprintf(out->cert_serial, sizeof out->cert_serial, "%s", serial) >=
                      (int)sizeof out->cert_serial) {
        say(why, whylen, "cert_serial: too long");
        goto out;
    }
    /* keep does not move any more: the slices can point into it. */
    out->tbs = es_slice_make(keep->p + off[0], len[0]);
    out->sig = es_slice_make(keep->p + off[1], len[1]);
    for (size_t i = 0; i < n; i++) out->certs[i] = es_slice_make(keep->p + off[2 + i], len[2 + i]);
    out->n_certs = n;
    rv = ES_OK;
out:
    json_decref(o);
    return rv;
}

es_err es_decision_bundle_parse(es_slice in, es_buf *keep, es_decision_bundle_view *out, char *why,
                                size_t whylen)
{
    if (!out || !keep) return ES_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (in.len > ES_DECISION_BUNDLE_MAX) {
        say(why, whylen, "larger than a decision bundle may be");
        return ES_ERR_LIMIT;
    }
    size_t i = 0;
    while (i < in.len && (in.p[i] == ' ' || in.p[i] == '\n' || in.p[i] == '\r' || in.p[i] == '\t'))
        i++;
    if (i < in.len && in.p[i] == '{') {
        /* Room for everything decoded, reserved once so that slices stay valid. */
        es_err rv = es_buf_reserve(keep, in.len);
        if (rv != ES_OK) return rv;
        return bundle_json(in, keep, out, why, whylen);
    }
    return bundle_der(in, out, why, whylen);
}

es_err es_decision_verify(const es_decision_bundle_view *b, const es_trust *trust,
                          es_decision_view *out, char *why, size_t whylen)
{
    es_cert_info ci;
    uint8_t r[32], s[32], e[ES_SM3_LEN];
    es_err rv;
    memset(&ci, 0, sizeof ci);
    if (!b || !trust || !out || !b->n_certs) return ES_ERR_ARG;
    if ((rv = es_decision_parse(b->tbs, out)) != ES_OK) {
        say(why, whylen, "the decision is not a canonical Decision (docs/decisions.md)");
        return rv;
    }
    if ((rv = es_cert_parse(b->certs[0], &ci)) != ES_OK) {
        say(why, whylen, "the signer's certificate cannot be read");
        return rv;
    }
    if (!ci.is_sm2) {
        say(why, whylen, "the signer's certificate has no SM2 key");
        rv = ES_ERR_VERIFY;
        goto out;
    }
    if (ci.has_key_usage && !(ci.key_usage & ES_KU_DIGITAL_SIGNATURE)) {
        say(why, whylen, "the signer's certificate does not allow digitalSignature");
        rv = ES_ERR_VERIFY;
        goto out;
    }
    if (b->cert_serial[0]) {
        char a[2 * ES_PKI_SERIAL_MAX + 1], c[2 * ES_PKI_SERIAL_MAX + 1];
        if (!es_ca_serial_norm(b->cert_serial, a) || !es_ca_serial_norm(ci.serial, c) ||
            strcmp(a, c) != 0) {
            say(why, whylen, "cert_serial is not the serial of the certificate given");
            rv = ES_ERR_VERIFY;
            goto out;
        }
    }
    if (out->at < ci.not_before || out->at > ci.not_after) {
        say(why, whylen, "the decision's time is outside its certificate's validity");
        rv = ES_ERR_VERIFY;
        goto out;
    }
    char twhy[256] = "";
    rv = es_trust_verify(trust, b->certs[0], b->certs + 1, b->n_certs - 1, out->at, twhy,
                         sizeof twhy);
    if (rv != ES_OK) {
        if (why && whylen) snprintf(why, whylen, "certificate chain: %s", twhy);
        rv = ES_ERR_VERIFY;
        goto out;
    }
    if ((rv = es_sm2_sig_decode(b->sig, r, s, NULL)) != ES_OK) {
        say(why, whylen, "the signature value cannot be read");
        goto out;
    }
    if ((rv = es_sm2_digest(ci.pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), b->tbs.p,
                            b->tbs.len, e)) != ES_OK)
        goto out;
    if ((rv = es_sm2_verify_digest(ci.pub, e, r, s)) != ES_OK) {
        say(why, whylen, "the signature over the decision does not verify with the certificate");
        goto out;
    }
out:
    es_cert_info_cleanup(&ci);
    return rv;
}

es_err es_decision_export_each(es_slice in, es_decision_export_cb cb, void *ctx, char *why,
                               size_t whylen)
{
    json_error_t jerr;
    es_err rv = ES_OK;
    if (!cb) return ES_ERR_ARG;
    if (in.len > ES_DECISION_EXPORT_MAX) {
        say(why, whylen, "larger than an export of decisions may be");
        return ES_ERR_LIMIT;
    }
    json_t *o = json_loadb((const char *)in.p, in.len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *list = o ? json_object_get(o, "decisions") : NULL;
    if (!o || !json_is_object(o) || !list) {
        json_decref(o);
        return ES_ERR_NOT_FOUND; /* not an export: a single decision, perhaps */
    }
    const char *format = json_string_value(json_object_get(o, "format"));
    json_t *app = json_object_get(o, "application");
    if (!format || strcmp(format, ES_DECISION_EXPORT_FORMAT) != 0) {
        say(why, whylen, "format: not \"" ES_DECISION_EXPORT_FORMAT "\"");
        rv = ES_ERR_FORMAT;
    } else if (!json_is_integer(app) || json_integer_value(app) <= 0) {
        say(why, whylen, "application: not an application id");
        rv = ES_ERR_FORMAT;
    } else if (!json_is_array(list) || json_array_size(list) == 0 ||
               json_array_size(list) > ES_DECISION_PAGE_MAX) {
        say(why, whylen, "decisions: not an array of 1 to 200 decisions");
        rv = ES_ERR_FORMAT;
    }
    for (size_t i = 0; rv == ES_OK && i < json_array_size(list); i++) {
        char *text = json_dumps(json_array_get(list, i), JSON_COMPACT);
        es_buf keep;
        es_decision_bundle_view b;
        char pwhy[256] = "";
        if (!text) {
            rv = ES_ERR_NOMEM;
            break;
        }
        es_buf_init(&keep, ES_DECISION_BUNDLE_MAX);
        es_err prv = es_decision_bundle_parse(es_slice_make((const uint8_t *)text, strlen(text)),
                                              &keep, &b, pwhy, sizeof pwhy);
        rv = cb(ctx, i, (int64_t)json_integer_value(app), prv == ES_OK ? &b : NULL, prv, pwhy);
        es_buf_cleanup(&keep);
        free(text);
    }
    json_decref(o);
    return rv;
}
