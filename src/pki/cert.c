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
            pki_w_ext_begin(w, (const uint8_t *)es_oid_der(ES_OID_ID_SEAL_SOURCE).p,
                            es_oid_der(ES_OID_ID_SEAL_SOURCE).len, 0);
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

/* --- reading: crypto's one X.509 reader, strict --- */

es_err es_pki_cert_parse(es_slice der, es_pki_cert *c)
{
    es_x509 x;
    memset(c, 0, sizeof *c);
    c->pathlen = -1;
    if (es_x509_parse(der, ES_X509_STRICT, &x) != ES_OK) return ES_ERR_CERT;
    c->tbs = x.tbs;
    c->serial = x.serial;
    c->issuer = x.issuer;
    c->subject = x.subject;
    c->not_before = x.not_before;
    c->not_after = x.not_after;
    c->is_sm2 = x.is_sm2;
    memcpy(c->pub, x.pub, sizeof c->pub);
    c->has_basic_constraints = x.has_basic_constraints;
    c->is_ca = x.is_ca;
    c->pathlen = x.pathlen;
    c->has_key_usage = x.has_key_usage;
    c->key_usage = x.key_usage;
    c->ski = x.ski;
    c->aki = x.aki;
    c->san = x.san;
    c->crl_url = x.crl_url;
    c->sig_alg = x.sig_alg;
    c->sig = x.sig;
    /* extKeyUsage: the purposes eseal names (ES_EKU_*); others are ignored. */
    es_der eku;
    es_der_init(&eku, x.eku, NULL);
    while (es_der_more(&eku)) {
        es_slice o;
        if (es_der_read_oid(&eku, &o) != ES_OK) return ES_ERR_CERT;
        c->ext_key_usage |= pki_eku_bit(o);
    }
    /* Our own extension (pki.h): SealSource ::= ENUMERATED, one octet. */
    es_slice v;
    es_err rv = es_x509_ext_find(&x, ES_OID_ID_SEAL_SOURCE, &v);
    if (rv == ES_OK) {
        es_der d;
        es_der_tlv t;
        es_der_init(&d, v, NULL);
        if (es_der_expect(&d, 0x0a, &t) != ES_OK || t.val.len != 1) return ES_ERR_CERT;
        c->seal_source = t.val.p[0];
    } else if (rv != ES_ERR_NOT_FOUND) {
        return ES_ERR_CERT;
    }
    return ES_OK;
}

es_err es_pki_cert_verify(const es_pki_cert *c, const uint8_t issuer_pub[ES_SM2_PUB_LEN])
{
    if (!pki_oid_is(c->sig_alg, ES_OID_SM2_SM3)) return ES_ERR_UNSUPPORTED;
    return pki_verify(issuer_pub, NULL, c->tbs, c->sig);
}
