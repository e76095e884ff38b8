/* GB/T 35275 (GM/T 0010) SignedData: the pure digital signature OFD's Type="Sign" carries.
 *
 * Read with our own DER reader (OpenSSL's CMS code does not know the GM content-type OIDs
 * and rejects the raw r||s values real producers write). What is signed:
 *   - with signed attributes: DER of the attributes as a SET (tag 0x31, not the [0] they are
 *     stored under); messageDigest must be SM3 of the content;
 *   - without: the content itself (the eContent, or the detached data).
 */
#include <stdlib.h>
#include <string.h>

#include "eseal/der.h"
#include "eseal/seal.h"
#include "seal/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

#define CMS_MAX_CERTS 16

typedef struct cms {
    es_slice content; /* eContent octets; empty when detached */
    int has_content;
    es_slice certs[CMS_MAX_CERTS];
    size_t n_certs;
    es_slice sid_issuer;   /* issuerAndSerialNumber, raw Name element */
    es_slice sid_serial;   /* INTEGER contents */
    es_slice signed_attrs; /* the [0] element as stored; empty when absent */
    es_slice digest_alg;
    es_slice sig_alg;
    es_slice sig;
    es_slice message_digest;
    es_time signing_time;
    es_quirks quirks;
} cms;

static int alg_ok(es_slice oid)
{
    return es_oid_is(oid, ES_OID_ID_SM2_1) || es_oid_is(oid, ES_OID_ID_SM2_SM3) ||
           es_oid_is(oid, ES_OID_ID_SM2);
}

/* AlgorithmIdentifier: the OID, parameters ignored. */
static es_err read_alg(es_der *d, es_slice *oid)
{
    es_der a;
    es_der_tlv t;
    es_err rv = es_der_open(d, ES_DER_SEQUENCE, &t, &a);
    return rv != ES_OK ? rv : es_der_read_oid(&a, oid);
}

static es_err read_attrs(es_der *d, const es_der_tlv *t, cms *c)
{
    es_der set;
    es_err rv = es_der_enter(d, t, &set);
    if (rv != ES_OK) return rv;
    while (es_der_more(&set)) {
        es_der attr, vals;
        es_der_tlv at, vt;
        es_slice oid;
        CHECK(es_der_open(&set, ES_DER_SEQUENCE, &at, &attr));
        CHECK(es_der_read_oid(&attr, &oid));
        CHECK(es_der_open(&attr, ES_DER_SET, &vt, &vals));
        if (es_oid_is(oid, ES_OID_ID_MSG_DIGEST)) {
            CHECK(es_der_read_octets(&vals, &c->message_digest));
        } else if (es_oid_is(oid, ES_OID_ID_SIGNING_TIME)) {
            CHECK(es_der_read_time(&vals, &c->signing_time, NULL));
        }
    }
out:
    return rv;
}

static es_err cms_parse(es_slice in, cms *c)
{
    es_der d, top, sd, ci, sis, si;
    es_der_tlv t;
    es_slice oid;
    es_err rv;
    memset(c, 0, sizeof *c);
    c->signing_time = ES_TIME_NONE;
    es_der_init(&d, in, &c->quirks);
    CHECK(es_der_open(&d, ES_DER_SEQUENCE, &t, &top));
    if (es_der_peek(&top) == ES_DER_OID) {
        /* ContentInfo { contentType, [0] EXPLICIT SignedData } */
        es_der wrap;
        CHECK(es_der_read_oid(&top, &oid));
        if (!es_oid_is(oid, ES_OID_ID_GM_SIGNED) && !es_oid_is(oid, ES_OID_ID_PKCS7_SIGNED)) {
            rv = ES_ERR_FORMAT;
            goto out;
        }
        CHECK(es_der_open(&top, ES_DER_CTX(0), &t, &wrap));
        CHECK(es_der_open(&wrap, ES_DER_SEQUENCE, &t, &sd));
    } else {
        sd = top; /* a bare SignedData (older ofdrw output) */
    }
    long version;
    CHECK(es_der_read_long(&sd, &version));
    CHECK(es_der_expect(&sd, ES_DER_SET, &t)); /* digestAlgorithms */
    CHECK(es_der_open(&sd, ES_DER_SEQUENCE, &t, &ci));
    CHECK(es_der_read_oid(&ci, &oid));
    if (es_der_more(&ci)) {
        es_der exp;
        CHECK(es_der_open(&ci, ES_DER_CTX(0), &t, &exp));
        CHECK(es_der_read_octets(&exp, &c->content));
        c->has_content = 1;
    }
    if (es_der_peek(&sd) == ES_DER_CTX(0)) {
        es_der certs;
        CHECK(es_der_open(&sd, ES_DER_CTX(0), &t, &certs));
        while (es_der_more(&certs)) {
            es_der_tlv ct;
            CHECK(es_der_read(&certs, &ct));
            if (ct.tag == ES_DER_SEQUENCE && c->n_certs < CMS_MAX_CERTS)
                c->certs[c->n_certs++] = ct.raw;
        }
    }
    if (es_der_peek(&sd) == ES_DER_CTX(1)) CHECK(es_der_read(&sd, &t)); /* crls */
    CHECK(es_der_open(&sd, ES_DER_SET, &t, &sis));
    CHECK(es_der_open(&sis, ES_DER_SEQUENCE, &t, &si));
    CHECK(es_der_read_long(&si, &version));
    if (es_der_peek(&si) == ES_DER_SEQUENCE) {
        es_der ias;
        es_der_tlv nt;
        CHECK(es_der_open(&si, ES_DER_SEQUENCE, &t, &ias));
        CHECK(es_der_expect(&ias, ES_DER_SEQUENCE, &nt));
        c->sid_issuer = nt.raw;
        CHECK(es_der_read_int_bytes(&ias, &c->sid_serial));
    } else {
        CHECK(es_der_read(&si, &t)); /* [0] subjectKeyIdentifier: match by key below */
    }
    CHECK(read_alg(&si, &c->digest_alg));
    if (es_der_peek(&si) == ES_DER_CTX(0)) {
        CHECK(es_der_read(&si, &t));
        c->signed_attrs = t.raw;
        CHECK(read_attrs(&si, &t, c));
    }
    CHECK(read_alg(&si, &c->sig_alg));
    CHECK(es_der_read_octets(&si, &c->sig));
out:
    return rv;
}

/* Issuer Name element and serial contents of a certificate, as stored. */
static int cert_issuer_serial(es_slice cert, es_slice *issuer, es_slice *serial)
{
    es_der d, c, tbs;
    es_der_tlv t;
    es_der_init(&d, cert, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &c) != ES_OK ||
        es_der_open(&c, ES_DER_SEQUENCE, &t, &tbs) != ES_OK)
        return 0;
    if (es_der_peek(&tbs) == ES_DER_CTX(0) && es_der_read(&tbs, &t) != ES_OK) return 0;
    if (es_der_read_int_bytes(&tbs, serial) != ES_OK) return 0;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK) return 0;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK) return 0;
    *issuer = t.raw;
    return 1;
}

static es_slice find_signer(const cms *c)
{
    for (size_t i = 0; i < c->n_certs; i++) {
        es_slice iss, ser;
        if (cert_issuer_serial(c->certs[i], &iss, &ser) && es_slice_eq(ser, c->sid_serial) &&
            es_slice_eq(iss, c->sid_issuer))
            return c->certs[i];
    }
    /* Producers that identify by key identifier put one certificate in. */
    return c->n_certs == 1 && c->sid_serial.len == 0 ? c->certs[0] : ES_SLICE_NULL;
}

static es_err set_skipped_seal_checks(es_entry *e)
{
    es_err rv;
    const char *why = "not a seal signature (GB/T 35275 SignedData carries no seal)";
    CHECK(es_entry_set(e, ES_CHECK_SEAL_SIGNATURE, ES_SKIPPED, "%s", why));
    CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_SKIPPED, "%s", why));
    CHECK(es_entry_set(e, ES_CHECK_SIGNER_CERT_MATCH, ES_SKIPPED, "%s", why));
out:
    return rv;
}

es_err seal_cms_verify(es_slice in, const es_verify_opts *o, es_report *rep)
{
    cms c;
    es_entry *e;
    es_cert_info ci;
    int ci_ok = 0;
    es_buf msg;
    es_buf_init(&msg, ES_MAX_SEAL_DER);
    es_err rv = cms_parse(in, &c);
    if (rv != ES_OK) {
        es_buf_cleanup(&msg);
        CHECK(es_report_add_entry(rep, "-", "cms_signed_data", &e));
        return es_entry_set(e, ES_CHECK_FORMAT, ES_FAILED, "cannot be read as SignedData: %s",
                            es_err_str(rv));
    }
    CHECK(es_report_add_entry(rep, "-", "cms_signed_data", &e));
    e->quirks = c.quirks;
    es_slice cert = find_signer(&c);
    ci_ok = cert.len && es_cert_parse(cert, &ci) == ES_OK;
    CHECK(es_entry_set(e, ES_CHECK_FORMAT, ES_PASSED, "GB/T 35275 SignedData, %s content%s",
                       c.has_content ? "attached" : "detached",
                       c.signed_attrs.len ? ", signed attributes" : ""));

    /* What was signed, and which hash binds the data. */
    const uint8_t *want = o ? o->data_sm3 : NULL;
    uint8_t content_sm3[ES_SM3_LEN];
    const char *sig_why = NULL;
    es_result sig_r = ES_FAILED;
    if (c.signed_attrs.len) {
        CHECK(es_buf_append(&msg, c.signed_attrs.p, c.signed_attrs.len));
        msg.p[0] = ES_DER_SET; /* RFC 5652 5.4: the DER of the SET OF, not of the [0] */
        if (c.message_digest.len != ES_SM3_LEN) {
            sig_why = "signed attributes carry no SM3 messageDigest";
        } else if (c.has_content) {
            CHECK(es_sm3(c.content.p, c.content.len, content_sm3));
            if (memcmp(content_sm3, c.message_digest.p, ES_SM3_LEN) != 0)
                sig_why = "messageDigest is not SM3 of the enclosed content";
        }
    } else if (c.has_content) {
        CHECK(es_buf_append(&msg, c.content.p, c.content.len));
    } else if (o && o->data.len) {
        CHECK(es_buf_append(&msg, o->data.p, o->data.len));
    } else {
        sig_r = ES_INDETERMINATE;
        sig_why = "detached content without signed attributes: the data is needed to verify";
    }
    if (!sig_why) {
        uint8_t r[32], s[32], dg[ES_SM3_LEN];
        if (!ci_ok || !ci.is_sm2)
            sig_why = cert.len ? "signer certificate is not an SM2 certificate"
                               : "signer certificate not found in the SignedData";
        else if (!alg_ok(c.sig_alg))
            sig_why = "signature algorithm is not SM2";
        else if (es_sm2_sig_decode(c.sig, r, s, &e->quirks) != ES_OK)
            sig_why = "signature value is neither DER SEQUENCE{r,s} nor raw r||s";
        else if (es_sm2_digest(ci.pub, o && o->sm2_id ? o->sm2_id : ES_SM2_DEFAULT_ID,
                               strlen(o && o->sm2_id ? o->sm2_id : ES_SM2_DEFAULT_ID), msg.p,
                               msg.len, dg) != ES_OK ||
                 es_sm2_verify_digest(ci.pub, dg, r, s) != ES_OK)
            sig_why = c.signed_attrs.len ? "signature over the signed attributes does not verify"
                                         : "signature over the content does not verify";
        else
            sig_r = ES_PASSED;
    }
    if (sig_r == ES_PASSED)
        CHECK(es_entry_set(e, ES_CHECK_SIGNATURE, ES_PASSED, "signature over the %s verifies",
                           c.signed_attrs.len ? "signed attributes" : "content"));
    else
        CHECK(es_entry_set(e, ES_CHECK_SIGNATURE, sig_r, "%s", sig_why));

    /* data_hash: the data must be what the signature binds. */
    if (!want) {
        CHECK(es_entry_set(e, ES_CHECK_DATA_HASH, ES_SKIPPED,
                           "no data given to compare the signed hash with"));
    } else if (c.signed_attrs.len && !c.has_content) {
        CHECK(seal_check_data_hash(e, c.message_digest, o));
    } else if (c.has_content && c.content.len == ES_SM3_LEN) {
        /* The hash as content (GM/T 0099, tongz): eContent = SM3(data). */
        CHECK(seal_check_data_hash(e, c.content, o));
    } else if (c.has_content) {
        uint8_t h[ES_SM3_LEN];
        CHECK(es_sm3(c.content.p, c.content.len, h));
        CHECK(seal_check_data_hash(e, es_slice_make(h, sizeof h), o));
    } else {
        CHECK(es_entry_set(e, ES_CHECK_DATA_HASH, sig_r == ES_PASSED ? ES_PASSED : ES_FAILED,
                           "the signature is over the data itself"));
    }
    CHECK(set_skipped_seal_checks(e));
    if (c.signing_time != ES_TIME_NONE || !ci_ok) {
        CHECK(seal_check_cert_validity(e, &ci, ci_ok, c.signing_time, "signing time"));
    } else {
        /* No signed time: the best we can say is whether the certificate is valid now. */
        es_time now = o && o->now != ES_TIME_NONE ? o->now : es_time_now();
        int valid = now >= ci.not_before && now <= ci.not_after;
        CHECK(es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, valid ? ES_PASSED : ES_WARNING,
                           "no signing time in the signature; the certificate is %s now",
                           valid ? "valid" : "not valid"));
    }
    if (cert.len)
        CHECK(seal_check_chain(e, o, cert, c.signing_time, NULL));
    else
        CHECK(es_entry_set(e, ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE, "no signer certificate"));
    CHECK(es_entry_set(e, ES_CHECK_STATUS, ES_SKIPPED, "not a seal signature"));
    CHECK(seal_describe_signer(&e->signer, &ci, ci_ok, c.signing_time,
                               c.signing_time == ES_TIME_NONE
                                   ? "none: the SignedData has no signingTime attribute"
                                   : "claimed by the signer (signingTime attribute), not proven"));
out:
    if (ci_ok) es_cert_info_cleanup(&ci);
    es_buf_cleanup(&msg);
    return rv;
}
