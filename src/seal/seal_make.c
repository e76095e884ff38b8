/* Making GB/T 38540 v4 seals and signatures, in canonical DER.
 *
 * Choices where the standard leaves room (docs/formats.md of this repository):
 *   - ExtData.critical FALSE is omitted (DER), TRUE written;
 *   - extDatas of SES_SealInfo untagged (as every real v4 seal has it); TBS_Sign extDatas and
 *     the signature timestamp are not written;
 *   - signature values as DER SEQUENCE{r, s} (GB/T 35276), in a BIT STRING with 0 unused bits.
 */
#include <string.h>

#include "eseal/der.h"
#include "eseal/seal.h"
#include "seal/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

static int ia5(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s > 0x7e || (unsigned char)*s < 0x20) return 0;
    return 1;
}

/* Well-formed UTF-8 (UTF8String must hold it), no overlong forms or surrogates. */
static int utf8(const char *s)
{
    return es_utf8_valid(s, strlen(s));
}

static es_err check_params(const es_seal_params *p, es_signer *maker)
{
    if (!p || !maker || !p->es_id || !*p->es_id || !ia5(p->es_id) || !p->name || !*p->name ||
        !utf8(p->name) || (p->vid && !ia5(p->vid)) || !p->signer_certs || p->n_signer_certs == 0 ||
        p->n_signer_certs > ES_SEAL_MAX_CERTS || p->picture.len == 0 ||
        p->picture.len > ES_MAX_IMAGE || p->width_mm <= 0 || p->height_mm <= 0 ||
        p->valid_start == ES_TIME_NONE || p->valid_end == ES_TIME_NONE ||
        p->valid_start >= p->valid_end || p->maker_cert.len == 0 || p->n_exts > ES_SEAL_MAX_EXTS ||
        (p->picture_type && (!*p->picture_type || !ia5(p->picture_type))) ||
        (p->n_exts && !p->exts))
        return ES_ERR_ARG;
    /* Write nothing our own reader refuses: an OID has at least one octet and its last arc
     * is complete (es_der_read_oid). */
    for (size_t i = 0; i < p->n_exts; i++) {
        es_slice oid = p->exts[i].oid;
        if (oid.len == 0 || (oid.p[oid.len - 1] & 0x80)) return ES_ERR_ARG;
    }
    for (size_t i = 0; i < p->n_signer_certs; i++) {
        es_cert_info ci;
        if (es_cert_parse(p->signer_certs[i], &ci) != ES_OK) return ES_ERR_CERT;
        es_cert_info_cleanup(&ci);
    }
    return es_cert_matches_pub(p->maker_cert, maker->pub);
}

es_err es_seal_make(const es_seal_params *p, es_signer *maker, es_buf *out)
{
    es_err rv = out ? check_params(p, maker) : ES_ERR_ARG;
    if (rv != ES_OK) return rv;
    size_t start = out->len; /* on failure, out is left as it was */
    es_buf info, sig;
    es_buf_init(&info, ES_MAX_SEAL_DER);
    es_buf_init(&sig, 128);
    es_der_w w;
    const char *ptype = p->picture_type ? p->picture_type : es_picture_sniff(p->picture);
    if (!ptype) {
        rv = ES_ERR_ARG;
        goto out;
    }
    es_time created = p->create_date == ES_TIME_NONE ? es_time_now() : p->create_date;

    es_der_w_init(&w, &info);
    es_der_w_begin(&w, ES_DER_SEQUENCE); /* SES_SealInfo */
    es_der_w_begin(&w, ES_DER_SEQUENCE); /* SES_Header */
    es_der_w_prim(&w, ES_DER_IA5_STRING, "ES", 2);
    es_der_w_long(&w, 4);
    const char *vid = p->vid ? p->vid : "eseal";
    es_der_w_prim(&w, ES_DER_IA5_STRING, vid, strlen(vid));
    es_der_w_end(&w);
    es_der_w_prim(&w, ES_DER_IA5_STRING, p->es_id, strlen(p->es_id));
    es_der_w_begin(&w, ES_DER_SEQUENCE); /* SES_ESPropertyInfo */
    es_der_w_long(&w, p->type);
    es_der_w_prim(&w, ES_DER_UTF8_STRING, p->name, strlen(p->name));
    es_der_w_long(&w, 1); /* certListType: certificates */
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    for (size_t i = 0; i < p->n_signer_certs; i++)
        es_der_w_prim(&w, ES_DER_OCTET_STRING, p->signer_certs[i].p, p->signer_certs[i].len);
    es_der_w_end(&w);
    es_der_w_gentime(&w, created);
    es_der_w_gentime(&w, p->valid_start);
    es_der_w_gentime(&w, p->valid_end);
    es_der_w_end(&w);
    es_der_w_begin(&w, ES_DER_SEQUENCE); /* SES_ESPictrueInfo */
    es_der_w_prim(&w, ES_DER_IA5_STRING, ptype, strlen(ptype));
    es_der_w_prim(&w, ES_DER_OCTET_STRING, p->picture.p, p->picture.len);
    es_der_w_long(&w, p->width_mm);
    es_der_w_long(&w, p->height_mm);
    es_der_w_end(&w);
    if (p->n_exts) {
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        for (size_t i = 0; i < p->n_exts; i++) {
            es_der_w_begin(&w, ES_DER_SEQUENCE);
            es_der_w_prim(&w, ES_DER_OID, p->exts[i].oid.p, p->exts[i].oid.len);
            if (p->exts[i].critical) es_der_w_bool(&w, 1);
            es_der_w_prim(&w, ES_DER_OCTET_STRING, p->exts[i].value.p, p->exts[i].value.len);
            es_der_w_end(&w);
        }
        es_der_w_end(&w);
    }
    es_der_w_end(&w);
    CHECK(es_der_w_finish(&w));

    /* GB/T 38540: the maker signs SES_SealInfo (verified against every real v4 seal). */
    CHECK(es_signer_sign_message(maker, p->sm2_id, info.p, info.len, &sig));

    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, info.p, info.len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, p->maker_cert.p, p->maker_cert.len);
    es_der_w_oid_text(&w, ES_OID_SM2_SM3);
    es_der_w_bits(&w, sig.p, sig.len);
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) out->len = start;
out:
    es_buf_cleanup(&info);
    es_buf_cleanup(&sig);
    return rv;
}

es_err es_signature_make(const es_sign_params *p, es_signer *signer, es_buf *out)
{
    es_seal seal;
    es_err rv;
    if (!p || !signer || !out || !p->data_hash || p->signer_cert.len == 0) return ES_ERR_ARG;
    if ((rv = es_seal_from_der(p->seal, 0, &seal)) != ES_OK) return rv;
    /* A v4 signature embeds a v4 (or v5) seal: "与电子印章版本号保持一致". */
    if (seal.layout == ES_LAYOUT_GMT0031 || !seal.has_signature) return ES_ERR_UNSUPPORTED;
    int listed = 0;
    for (size_t i = 0; i < seal.n_certs && !listed; i++)
        listed = seal.cert_list_type == 1 && es_slice_eq(seal.certs[i], p->signer_cert);
    if (!listed) return ES_ERR_CERT;
    if ((rv = es_cert_matches_pub(p->signer_cert, signer->pub)) != ES_OK) return rv;
    const char *prop = p->property_info ? p->property_info : "";
    if (!ia5(prop)) return ES_ERR_ARG;

    es_buf tbs, sig;
    size_t start = out->len; /* on failure, out is left as it was */
    es_buf_init(&tbs, ES_MAX_SEAL_DER + 4096);
    es_buf_init(&sig, 128);
    es_der_w w;
    es_der_w_init(&w, &tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, seal.version == 5 ? 5 : 4);
    es_der_w_raw(&w, seal.raw.p, seal.raw.len);
    es_der_w_gentime(&w, p->time == ES_TIME_NONE ? es_time_now() : p->time);
    es_der_w_bits(&w, p->data_hash, ES_SM3_LEN);
    es_der_w_prim(&w, ES_DER_IA5_STRING, prop, strlen(prop));
    es_der_w_end(&w);
    CHECK(es_der_w_finish(&w));
    CHECK(es_signer_sign_message(signer, p->sm2_id, tbs.p, tbs.len, &sig));

    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, tbs.p, tbs.len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, p->signer_cert.p, p->signer_cert.len);
    es_der_w_oid_text(&w, ES_OID_SM2_SM3);
    es_der_w_bits(&w, sig.p, sig.len);
    es_der_w_end(&w);
    if ((rv = es_der_w_finish(&w)) != ES_OK) out->len = start;
out:
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
    return rv;
}
