/* X.509 v3 certificates (RFC 5280, GM/T 0015): made in canonical DER with our writer, signed
 * through an es_signer; read back with our bounded reader. */
#include <string.h>

#include "pki/internal.h"

/* keyUsage as a DER named-bit BIT STRING: trailing zero bits dropped (X.690 11.2.2). */
static void w_key_usage(es_der_w *w, unsigned ku)
{
    uint8_t v[2];
    uint8_t b = (uint8_t)(ku & 0xff);
    uint8_t unused = 0;
    while (unused < 7 && !(b & (1u << unused))) unused++;
    v[0] = unused;
    v[1] = b;
    es_der_w_prim(w, ES_DER_BIT_STRING, v, 2);
}

static es_err w_extensions(es_der_w *w, const es_pki_tbs *t)
{
    const es_profile *p = t->profile;
    uint8_t ski[ES_PKI_KEY_ID_LEN];
    es_err rv = es_pki_key_id(t->pub, ski);
    if (rv != ES_OK) return rv;
    es_der_w_begin(w, ES_DER_CTX(3));
    es_der_w_begin(w, ES_DER_SEQUENCE);

    /* basicConstraints: critical in CA certificates (RFC 5280 4.2.1.9); CA:FALSE spelled out
     * in the others, as the GM/T 0015 template and OpenSSL do. */
    pki_w_ext_begin_text(w, ES_OID_CE_BC, p->is_ca);
    es_der_w_begin(w, ES_DER_SEQUENCE);
    if (p->is_ca) {
        es_der_w_bool(w, 1);
        if (p->pathlen >= 0) es_der_w_long(w, p->pathlen);
    }
    es_der_w_end(w);
    pki_w_ext_end(w);

    pki_w_ext_begin_text(w, ES_OID_CE_KU, p->key_usage_critical);
    w_key_usage(w, p->key_usage);
    pki_w_ext_end(w);

    if (p->ext_key_usage) {
        pki_w_ext_begin_text(w, ES_OID_CE_EKU, 0);
        es_der_w_begin(w, ES_DER_SEQUENCE);
        for (unsigned bit = 1; bit && bit <= p->ext_key_usage; bit <<= 1)
            if ((p->ext_key_usage & bit) && pki_eku_oid(bit))
                es_der_w_oid_text(w, pki_eku_oid(bit));
        es_der_w_end(w);
        pki_w_ext_end(w);
    }

    pki_w_ext_begin_text(w, ES_OID_CE_SKI, 0);
    es_der_w_prim(w, ES_DER_OCTET_STRING, ski, sizeof ski);
    pki_w_ext_end(w);

    if (t->issuer_key_id_len) {
        pki_w_ext_begin_text(w, ES_OID_CE_AKI, 0);
        es_der_w_begin(w, ES_DER_SEQUENCE);
        es_der_w_prim(w, ES_DER_CTX_PRIM(0), t->issuer_key_id, t->issuer_key_id_len);
        es_der_w_end(w);
        pki_w_ext_end(w);
    }

    if (t->n_san) {
        /* Not critical: the subject is never empty (lint requires its attributes). */
        pki_w_ext_begin_text(w, ES_OID_CE_SAN, 0);
        es_der_w_begin(w, ES_DER_SEQUENCE);
        for (size_t i = 0; i < t->n_san && rv == ES_OK; i++) rv = pki_w_general_name(w, &t->san[i]);
        es_der_w_end(w);
        pki_w_ext_end(w);
        if (rv != ES_OK) return rv;
    }

    if (t->crl_url && t->crl_url[0] && p->crl_dp) {
        /* DistributionPoint { distributionPoint [0] { fullName [0] { URI } } } */
        pki_w_ext_begin_text(w, ES_OID_CE_CRL_DP, 0);
        es_der_w_begin(w, ES_DER_SEQUENCE);
        es_der_w_begin(w, ES_DER_SEQUENCE);
        es_der_w_begin(w, ES_DER_CTX(0));
        es_der_w_begin(w, ES_DER_CTX(0));
        es_der_w_prim(w, ES_DER_CTX_PRIM(ES_SAN_URI), t->crl_url, strlen(t->crl_url));
        es_der_w_end(w);
        es_der_w_end(w);
        es_der_w_end(w);
        es_der_w_end(w);
        pki_w_ext_end(w);
    }

    if (t->seal_source != ES_SEAL_SOURCE_NONE) {
        /* Our own extension (pki.h, docs/ca.md): SealSource ::= ENUMERATED { government(1),
         * hrss(2) }, not critical so that verifiers that do not know it still accept. */
        if (p->seal_source_oid[0])
            pki_w_ext_begin_text(w, p->seal_source_oid, 0);
        else
            pki_w_ext_begin(w, es_pki_oid_seal_source, sizeof es_pki_oid_seal_source, 0);
        uint8_t v = (uint8_t)t->seal_source;
        es_der_w_prim(w, 0x0a, &v, 1);
        pki_w_ext_end(w);
    }

    es_der_w_end(w);
    es_der_w_end(w);
    return ES_OK;
}

es_err es_pki_cert_make(const es_pki_tbs *t, es_signer *issuer, es_buf *out)
{
    if (!t || !t->profile || !t->subject || !issuer || !out || !t->serial_len ||
        t->serial_len > ES_PKI_SERIAL_MAX || !t->issuer.len || t->n_san > ES_PKI_SAN_MAX)
        return ES_ERR_ARG;
    es_buf tbs, part;
    es_buf_init(&tbs, ES_MAX_CERT_DER);
    es_buf_init(&part, ES_MAX_CERT_DER);
    es_der_w w;
    es_err rv;
    es_der_w_init(&w, &tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_begin(&w, ES_DER_CTX(0));
    es_der_w_long(&w, 2); /* v3 */
    es_der_w_end(&w);
    es_der_w_uint(&w, t->serial, t->serial_len);
    pki_w_sig_alg(&w);
    es_der_w_raw(&w, t->issuer.p, t->issuer.len);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    pki_w_time(&w, t->not_before);
    pki_w_time(&w, t->not_after);
    es_der_w_end(&w);
    if ((rv = es_pki_name_to_der(t->subject, &part)) != ES_OK) goto out;
    es_der_w_raw(&w, part.p, part.len);
    part.len = 0;
    if ((rv = es_pki_spki_to_der(t->pub, &part)) != ES_OK) goto out;
    es_der_w_raw(&w, part.p, part.len);
    if ((rv = w_extensions(&w, t)) != ES_OK) goto out;
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) goto out;

    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
    rv = pki_w_signed(out, es_slice_make(tbs.p, tbs.len), issuer, NULL);
out:
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&part);
    return rv;
}

/* --- reading --- */

static es_err read_ext(es_pki_cert *c, es_slice oid, es_slice val)
{
    es_der d, seq;
    es_der_tlv t;
    es_der_init(&d, val, NULL);
    if (pki_oid_is(oid, ES_OID_CE_BC)) {
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        c->has_basic_constraints = 1;
        if (es_der_peek(&seq) == ES_DER_BOOLEAN && es_der_read_bool(&seq, &c->is_ca) != ES_OK)
            return ES_ERR_CERT;
        long pl;
        if (es_der_peek(&seq) == ES_DER_INTEGER) {
            if (es_der_read_long(&seq, &pl) != ES_OK || pl < 0 || pl > 255) return ES_ERR_CERT;
            c->pathlen = (int)pl;
        }
    } else if (pki_oid_is(oid, ES_OID_CE_KU)) {
        es_slice bits;
        uint8_t unused;
        if (es_der_read_bits(&d, &bits, &unused) != ES_OK) return ES_ERR_CERT;
        c->has_key_usage = 1;
        c->key_usage = bits.len ? bits.p[0] : 0;
    } else if (pki_oid_is(oid, ES_OID_CE_EKU)) {
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        while (es_der_more(&seq)) {
            es_slice o;
            if (es_der_read_oid(&seq, &o) != ES_OK) return ES_ERR_CERT;
            for (unsigned bit = 1; bit <= ES_EKU_OCSP_SIGNING; bit <<= 1)
                if (pki_oid_is(o, pki_eku_oid(bit))) c->ext_key_usage |= bit;
        }
    } else if (pki_oid_is(oid, ES_OID_CE_SKI)) {
        if (es_der_read_octets(&d, &c->ski) != ES_OK) return ES_ERR_CERT;
    } else if (pki_oid_is(oid, ES_OID_CE_AKI)) {
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        if (es_der_peek(&seq) == ES_DER_CTX_PRIM(0)) {
            if (es_der_read(&seq, &t) != ES_OK) return ES_ERR_CERT;
            c->aki = t.val;
        }
    } else if (pki_oid_is(oid, ES_OID_CE_SAN)) {
        if (es_der_expect(&d, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
        c->san = t.raw;
    } else if (pki_oid_is(oid, ES_OID_CE_CRL_DP)) {
        /* The first URI of the first fullName. */
        es_der dp, n0, n1;
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        if (es_der_open(&seq, ES_DER_SEQUENCE, &t, &dp) == ES_OK &&
            es_der_open(&dp, ES_DER_CTX(0), &t, &n0) == ES_OK &&
            es_der_open(&n0, ES_DER_CTX(0), &t, &n1) == ES_OK) {
            while (es_der_more(&n1) && es_der_read(&n1, &t) == ES_OK)
                if (t.tag == ES_DER_CTX_PRIM(ES_SAN_URI)) {
                    c->crl_url = t.val;
                    break;
                }
        }
    } else if (es_slice_eq(oid,
                           es_slice_make(es_pki_oid_seal_source, sizeof es_pki_oid_seal_source))) {
        if (es_der_expect(&d, 0x0a, &t) != ES_OK || t.val.len != 1) return ES_ERR_CERT;
        c->seal_source = t.val.p[0];
    }
    return ES_OK;
}

es_err es_pki_cert_parse(es_slice der, es_pki_cert *c)
{
    es_der d, cert, tbs, val, exts, alg;
    es_der_tlv t;
    memset(c, 0, sizeof *c);
    c->pathlen = -1;
    if (der.len == 0 || der.len > ES_MAX_CERT_DER) return ES_ERR_CERT;
    es_der_init(&d, der, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &cert) != ES_OK || es_der_done(&d) != ES_OK ||
        es_der_open(&cert, ES_DER_SEQUENCE, &t, &tbs) != ES_OK)
        return ES_ERR_CERT;
    c->tbs = t.raw;
    if (es_der_peek(&tbs) == ES_DER_CTX(0) && es_der_read(&tbs, &t) != ES_OK) return ES_ERR_CERT;
    if (es_der_read_int_bytes(&tbs, &c->serial) != ES_OK ||
        es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK)
        return ES_ERR_CERT;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
    c->issuer = t.raw;
    if (es_der_open(&tbs, ES_DER_SEQUENCE, &t, &val) != ES_OK ||
        es_der_read_time(&val, &c->not_before, NULL) != ES_OK ||
        es_der_read_time(&val, &c->not_after, NULL) != ES_OK)
        return ES_ERR_CERT;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
    c->subject = t.raw;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
    {
        es_der one;
        es_der_init(&one, t.raw, NULL);
        c->is_sm2 = pki_read_spki(&one, c->pub) == ES_OK;
    }
    /* issuerUniqueID [1], subjectUniqueID [2]: skipped. */
    while (es_der_peek(&tbs) == ES_DER_CTX_PRIM(1) || es_der_peek(&tbs) == ES_DER_CTX_PRIM(2))
        if (es_der_read(&tbs, &t) != ES_OK) return ES_ERR_CERT;
    if (es_der_peek(&tbs) == ES_DER_CTX(3)) {
        es_der wrap;
        if (es_der_open(&tbs, ES_DER_CTX(3), &t, &wrap) != ES_OK ||
            es_der_open(&wrap, ES_DER_SEQUENCE, &t, &exts) != ES_OK)
            return ES_ERR_CERT;
        while (es_der_more(&exts)) {
            es_slice oid, value;
            if (pki_read_ext(&exts, &oid, &value) != ES_OK || read_ext(c, oid, value) != ES_OK)
                return ES_ERR_CERT;
        }
    }
    if (es_der_done(&tbs) != ES_OK) return ES_ERR_CERT;
    uint8_t unused;
    if (es_der_open(&cert, ES_DER_SEQUENCE, &t, &alg) != ES_OK ||
        es_der_read_oid(&alg, &c->sig_alg) != ES_OK ||
        es_der_read_bits(&cert, &c->sig, &unused) != ES_OK || es_der_done(&cert) != ES_OK)
        return ES_ERR_CERT;
    return ES_OK;
}

es_err es_pki_cert_verify(const es_pki_cert *c, const uint8_t issuer_pub[ES_SM2_PUB_LEN])
{
    if (!pki_oid_is(c->sig_alg, ES_OID_SM2_SM3)) return ES_ERR_UNSUPPORTED;
    return pki_verify(issuer_pub, NULL, c->tbs, c->sig);
}
