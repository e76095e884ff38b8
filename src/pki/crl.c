/* Version 2 CRLs (RFC 5280 5): full CRLs with cRLNumber and authorityKeyIdentifier, reasons
 * in reasonCode entry extensions. */
#include <stdlib.h>
#include <string.h>

#include "pki/internal.h"

es_err es_pki_crl_make(const es_pki_tbs_crl *t, es_signer *issuer, es_buf *out)
{
    if (!t || !issuer || !out || !t->issuer.len || (t->n_revoked && !t->revoked) ||
        t->next_update <= t->this_update || (t->delta && t->base_number >= t->crl_number))
        return ES_ERR_ARG;
    es_buf tbs;
    es_buf_init(&tbs, ES_PKI_MAX_CRL);
    es_der_w w;
    es_err rv;
    es_der_w_init(&w, &tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 1); /* v2: extensions are present */
    pki_w_sig_alg(&w);
    es_der_w_raw(&w, t->issuer.p, t->issuer.len);
    pki_w_time(&w, t->this_update);
    pki_w_time(&w, t->next_update);
    /* revokedCertificates is left out when empty (RFC 5280 5.1.2.6). */
    if (t->n_revoked) {
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        for (size_t i = 0; i < t->n_revoked; i++) {
            const es_pki_revoked *r = &t->revoked[i];
            es_der_w_begin(&w, ES_DER_SEQUENCE);
            es_der_w_uint(&w, r->serial, r->serial_len);
            pki_w_time(&w, r->when);
            /* RFC 5280 5.3.1: reasonCode unspecified SHOULD be left out. */
            if (r->reason != ES_REASON_UNSPECIFIED) {
                uint8_t v = (uint8_t)r->reason;
                es_der_w_begin(&w, ES_DER_SEQUENCE);
                pki_w_ext_begin_text(&w, ES_OID_CE_REASON, 0);
                es_der_w_prim(&w, 0x0a, &v, 1); /* ENUMERATED */
                pki_w_ext_end(&w);
                es_der_w_end(&w);
            }
            es_der_w_end(&w);
        }
        es_der_w_end(&w);
    }
    es_der_w_begin(&w, ES_DER_CTX(0));
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    if (t->issuer_key_id_len) {
        pki_w_ext_begin_text(&w, ES_OID_CE_AKI, 0);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        es_der_w_prim(&w, ES_DER_CTX_PRIM(0), t->issuer_key_id, t->issuer_key_id_len);
        es_der_w_end(&w);
        pki_w_ext_end(&w);
    }
    uint8_t num[8];
    for (int i = 0; i < 8; i++) num[i] = (uint8_t)(t->crl_number >> (56 - 8 * i));
    pki_w_ext_begin_text(&w, ES_OID_CE_CRL_NUMBER, 0);
    es_der_w_uint(&w, num, sizeof num);
    pki_w_ext_end(&w);
    if (t->delta) {
        /* RFC 5280 5.2.4: critical, so that a client that knows no deltas refuses it. */
        for (int i = 0; i < 8; i++) num[i] = (uint8_t)(t->base_number >> (56 - 8 * i));
        pki_w_ext_begin_text(&w, ES_OID_CE_DELTA_CRL, 1);
        es_der_w_uint(&w, num, sizeof num);
        pki_w_ext_end(&w);
    }
    es_der_w_end(&w);
    es_der_w_end(&w);
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) goto out;

    /* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue } */
    rv = pki_w_signed(out, es_slice_make(tbs.p, tbs.len), issuer, t->sm2_id);
out:
    es_buf_cleanup(&tbs);
    return rv;
}

void es_pki_crl_cleanup(es_pki_crl *c)
{
    if (!c) return;
    free(c->revoked);
    c->revoked = NULL;
    c->n_revoked = 0;
}

static es_err read_entry(es_der *list, es_pki_revoked *r)
{
    es_der e, exts;
    es_der_tlv t;
    es_slice serial;
    memset(r, 0, sizeof *r);
    if (es_der_open(list, ES_DER_SEQUENCE, &t, &e) != ES_OK ||
        es_der_read_int_bytes(&e, &serial) != ES_OK || serial.len > ES_PKI_SERIAL_MAX + 1 ||
        es_der_read_time(&e, &r->when, NULL) != ES_OK)
        return ES_ERR_FORMAT;
    /* A sign octet may make a 20-octet serial 21 octets long in the encoding. */
    if (serial.len == ES_PKI_SERIAL_MAX + 1) {
        if (serial.p[0] != 0) return ES_ERR_FORMAT;
        serial.p++;
        serial.len--;
    }
    memcpy(r->serial, serial.p, serial.len);
    r->serial_len = serial.len;
    if (es_der_more(&e)) {
        if (es_der_open(&e, ES_DER_SEQUENCE, &t, &exts) != ES_OK) return ES_ERR_FORMAT;
        while (es_der_more(&exts)) {
            es_slice oid, value;
            if (pki_read_ext(&exts, &oid, &value) != ES_OK) return ES_ERR_FORMAT;
            if (pki_oid_is(oid, ES_OID_CE_REASON)) {
                es_der v;
                es_der_init(&v, value, NULL);
                if (es_der_expect(&v, 0x0a, &t) != ES_OK || t.val.len != 1) return ES_ERR_FORMAT;
                r->reason = t.val.p[0];
            }
        }
    }
    return es_der_done(&e) == ES_OK ? ES_OK : ES_ERR_FORMAT;
}

static es_err read_crl_exts(es_der *tbs, es_pki_crl *c)
{
    es_der wrap, exts, v;
    es_der_tlv t;
    if (es_der_open(tbs, ES_DER_CTX(0), &t, &wrap) != ES_OK ||
        es_der_open(&wrap, ES_DER_SEQUENCE, &t, &exts) != ES_OK)
        return ES_ERR_FORMAT;
    while (es_der_more(&exts)) {
        es_slice oid, value;
        if (pki_read_ext(&exts, &oid, &value) != ES_OK) return ES_ERR_FORMAT;
        es_der_init(&v, value, NULL);
        if (pki_oid_is(oid, ES_OID_CE_CRL_NUMBER) || pki_oid_is(oid, ES_OID_CE_DELTA_CRL)) {
            es_slice n;
            if (es_der_read_int_bytes(&v, &n) != ES_OK || n.len > 9 || (n.p[0] & 0x80))
                return ES_ERR_FORMAT;
            if (n.len == 9 && n.p[0] != 0) return ES_ERR_FORMAT;
            uint64_t x = 0;
            for (size_t i = 0; i < n.len; i++) x = x << 8 | n.p[i];
            if (pki_oid_is(oid, ES_OID_CE_CRL_NUMBER)) {
                c->crl_number = x;
                c->has_crl_number = 1;
            } else {
                c->base_number = x;
                c->delta = 1;
            }
        } else if (pki_oid_is(oid, ES_OID_CE_AKI)) {
            es_der seq;
            if (es_der_open(&v, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_FORMAT;
            if (es_der_peek(&seq) == ES_DER_CTX_PRIM(0)) {
                if (es_der_read(&seq, &t) != ES_OK) return ES_ERR_FORMAT;
                c->aki = t.val;
            }
        }
    }
    return ES_OK;
}

es_err es_pki_crl_parse(const uint8_t *p, size_t len, es_buf *der_out, es_pki_crl *c)
{
    es_der d, crl, tbs, alg, list;
    es_der_tlv t;
    uint8_t unused;
    memset(c, 0, sizeof *c);
    c->next_update = ES_TIME_NONE;
    size_t start = der_out->len;
    es_err rv = es_pki_pem_decode(p, len, "X509 CRL", der_out);
    if (rv != ES_OK) return rv;
    /* An empty PEM block leaves nothing (and maybe no buffer at all). */
    if (der_out->len == start) return ES_ERR_FORMAT;
    es_der_init(&d, es_slice_make(der_out->p + start, der_out->len - start), NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &crl) != ES_OK || es_der_done(&d) != ES_OK ||
        es_der_open(&crl, ES_DER_SEQUENCE, &t, &tbs) != ES_OK)
        return ES_ERR_FORMAT;
    c->tbs = t.raw;
    long version = 0;
    if (es_der_peek(&tbs) == ES_DER_INTEGER &&
        (es_der_read_long(&tbs, &version) != ES_OK || version != 1))
        return ES_ERR_FORMAT;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK ||
        es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK)
        return ES_ERR_FORMAT;
    c->issuer = t.raw;
    if (es_der_read_time(&tbs, &c->this_update, NULL) != ES_OK) return ES_ERR_FORMAT;
    int tag = es_der_peek(&tbs);
    if ((tag == ES_DER_UTC_TIME || tag == ES_DER_GEN_TIME) &&
        es_der_read_time(&tbs, &c->next_update, NULL) != ES_OK)
        return ES_ERR_FORMAT;
    rv = ES_OK;
    if (es_der_peek(&tbs) == ES_DER_SEQUENCE) {
        size_t cap = 0;
        if (es_der_open(&tbs, ES_DER_SEQUENCE, &t, &list) != ES_OK) return ES_ERR_FORMAT;
        while (rv == ES_OK && es_der_more(&list)) {
            if (c->n_revoked == cap) {
                if (cap >= ES_PKI_MAX_CRL_ENTRIES) {
                    rv = ES_ERR_LIMIT;
                    break;
                }
                size_t ncap = cap ? cap * 2 : 16;
                es_pki_revoked *n = realloc(c->revoked, ncap * sizeof *n);
                if (!n) {
                    rv = ES_ERR_NOMEM;
                    break;
                }
                c->revoked = n;
                cap = ncap;
            }
            rv = read_entry(&list, &c->revoked[c->n_revoked]);
            if (rv == ES_OK) c->n_revoked++;
        }
    }
    if (rv == ES_OK && es_der_peek(&tbs) == ES_DER_CTX(0)) rv = read_crl_exts(&tbs, c);
    if (rv == ES_OK &&
        (es_der_done(&tbs) != ES_OK || es_der_open(&crl, ES_DER_SEQUENCE, &t, &alg) != ES_OK ||
         es_der_read_oid(&alg, &c->sig_alg) != ES_OK ||
         es_der_read_bits(&crl, &c->sig, &unused) != ES_OK || es_der_done(&crl) != ES_OK))
        rv = ES_ERR_FORMAT;
    if (rv != ES_OK) es_pki_crl_cleanup(c);
    return rv;
}

es_err es_pki_crl_verify(const es_pki_crl *c, const uint8_t issuer_pub[ES_SM2_PUB_LEN],
                         const char *id)
{
    if (!pki_oid_is(c->sig_alg, ES_OID_SM2_SM3)) return ES_ERR_UNSUPPORTED;
    return pki_verify(issuer_pub, id, c->tbs, c->sig);
}
