/* PKCS#10 certification requests (RFC 2986) with SM2 keys: read, proof of possession, make. */
#include <string.h>

#include "pki/internal.h"

/* The subjectAltName of an extensionRequest attribute's Extensions, if any. */
static es_err read_ext_request(es_der *values, es_slice *san)
{
    es_der exts;
    es_der_tlv t;
    while (es_der_more(values)) {
        if (es_der_open(values, ES_DER_SEQUENCE, &t, &exts) != ES_OK) return ES_ERR_FORMAT;
        while (es_der_more(&exts)) {
            es_slice oid, value;
            if (pki_read_ext(&exts, &oid, &value) != ES_OK) return ES_ERR_FORMAT;
            if (pki_oid_is(oid, ES_OID_CE_SAN)) *san = value;
        }
    }
    return ES_OK;
}

es_err es_pki_csr_parse(const uint8_t *p, size_t len, es_buf *der_out, es_pki_csr *out)
{
    es_der d, req, info, attrs, alg;
    es_der_tlv t;
    long version;
    uint8_t unused;
    memset(out, 0, sizeof *out);
    size_t start = der_out->len;
    es_err rv = es_pki_pem_decode(p, len, "CERTIFICATE REQUEST", der_out);
    if (rv == ES_ERR_PEM) rv = es_pki_pem_decode(p, len, "NEW CERTIFICATE REQUEST", der_out);
    if (rv != ES_OK) return rv;
    /* An empty PEM block leaves nothing (and maybe no buffer at all). */
    if (der_out->len == start) return ES_ERR_FORMAT;
    es_der_init(&d, es_slice_make(der_out->p + start, der_out->len - start), NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &req) != ES_OK || es_der_done(&d) != ES_OK ||
        es_der_open(&req, ES_DER_SEQUENCE, &t, &info) != ES_OK)
        return ES_ERR_FORMAT;
    out->info = t.raw;
    if (es_der_read_long(&info, &version) != ES_OK || version != 0 ||
        es_der_expect(&info, ES_DER_SEQUENCE, &t) != ES_OK)
        return ES_ERR_FORMAT;
    out->subject = t.raw;
    if ((rv = pki_read_spki(&info, out->pub)) != ES_OK) return rv;
    if (es_sm2_pub_check(out->pub) != ES_OK) return ES_ERR_KEY;
    /* attributes [0] IMPLICIT SET OF Attribute: required by the syntax, left out by some. */
    if (es_der_peek(&info) == ES_DER_CTX(0)) {
        if (es_der_open(&info, ES_DER_CTX(0), &t, &attrs) != ES_OK) return ES_ERR_FORMAT;
        while (es_der_more(&attrs)) {
            es_der attr, values;
            es_slice oid;
            if (es_der_open(&attrs, ES_DER_SEQUENCE, &t, &attr) != ES_OK ||
                es_der_read_oid(&attr, &oid) != ES_OK ||
                es_der_open(&attr, ES_DER_SET, &t, &values) != ES_OK)
                return ES_ERR_FORMAT;
            if (pki_oid_is(oid, ES_OID_EXT_REQUEST) &&
                (rv = read_ext_request(&values, &out->san)) != ES_OK)
                return rv;
        }
    }
    if (es_der_done(&info) != ES_OK) return ES_ERR_FORMAT;
    if (es_der_open(&req, ES_DER_SEQUENCE, &t, &alg) != ES_OK ||
        es_der_read_oid(&alg, &out->sig_alg) != ES_OK ||
        es_der_read_bits(&req, &out->sig, &unused) != ES_OK || unused || es_der_done(&req) != ES_OK)
        return ES_ERR_FORMAT;
    return ES_OK;
}

es_err es_pki_csr_verify(es_pki_csr *c)
{
    if (!pki_oid_is(c->sig_alg, ES_OID_SM2_SM3)) return ES_ERR_UNSUPPORTED;
    c->empty_id = 0;
    es_err rv = pki_verify(c->pub, NULL, c->info, c->sig);
    if (rv == ES_ERR_VERIFY && pki_verify(c->pub, "", c->info, c->sig) == ES_OK) {
        c->empty_id = 1;
        rv = ES_OK;
    }
    return rv;
}

es_err es_pki_csr_make(const es_name *subject, const es_pki_san *san, size_t n_san, es_signer *key,
                       es_buf *out)
{
    if (!subject || !key || !out || n_san > ES_PKI_SAN_MAX) return ES_ERR_ARG;
    es_buf info, part;
    es_buf_init(&info, ES_MAX_CERT_DER);
    es_buf_init(&part, ES_MAX_CERT_DER);
    es_der_w w;
    es_err rv = ES_OK;
    es_der_w_init(&w, &info);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 0);
    if ((rv = es_pki_name_to_der(subject, &part)) != ES_OK) goto out;
    es_der_w_raw(&w, part.p, part.len);
    part.len = 0;
    if ((rv = es_pki_spki_to_der(key->pub, &part)) != ES_OK) goto out;
    es_der_w_raw(&w, part.p, part.len);
    es_der_w_begin(&w, ES_DER_CTX(0));
    if (n_san) {
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        es_der_w_oid_text(&w, ES_OID_EXT_REQUEST);
        es_der_w_begin(&w, ES_DER_SET);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        pki_w_ext_begin_text(&w, ES_OID_CE_SAN, 0);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        for (size_t i = 0; i < n_san && rv == ES_OK; i++) rv = pki_w_general_name(&w, &san[i]);
        es_der_w_end(&w);
        pki_w_ext_end(&w);
        es_der_w_end(&w);
        es_der_w_end(&w);
        es_der_w_end(&w);
        if (rv != ES_OK) goto out;
    }
    es_der_w_end(&w);
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) goto out;

    /* CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm,
     * signature } */
    rv = pki_w_signed(out, es_slice_make(info.p, info.len), key, NULL);
out:
    es_buf_cleanup(&info);
    es_buf_cleanup(&part);
    return rv;
}
