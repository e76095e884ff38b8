/* Reading SESeal and SES_Signature of every layout real producers write.
 *
 * The layout is decided by structure (formats.md 1.2, ofdrw VersionParser): an SESeal whose
 * second element is a SEQUENCE (SES_SignInfo) is GM/T 0031; one whose second element is an
 * OCTET STRING (the maker certificate) is GB/T 38540. The header version only distinguishes
 * v4 from v5 within the latter; a disagreement is recorded as a quirk.
 */
#include <string.h>

#include "eseal/der.h"
#include "eseal/seal.h"
#include "seal/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

static void note(es_quirks *q, int bit)
{
    *q |= ES_QUIRK(bit);
}

/* ExtData ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
static es_err read_ext_list(es_der *list, es_ext *exts, size_t *n, es_quirks *q)
{
    es_err rv = ES_OK;
    *n = 0;
    while (es_der_more(list)) {
        es_der e;
        es_der_tlv t;
        if (*n == ES_SEAL_MAX_EXTS) return ES_ERR_LIMIT;
        es_ext *x = &exts[*n];
        x->critical = 0;
        CHECK(es_der_open(list, ES_DER_SEQUENCE, &t, &e));
        CHECK(es_der_read_oid(&e, &x->oid));
        if (es_der_peek(&e) == ES_DER_BOOLEAN) {
            CHECK(es_der_read_bool(&e, &x->critical));
            if (!x->critical) note(q, ES_QUIRK_EXPLICIT_DEFAULT);
        }
        CHECK(es_der_read_octets(&e, &x->value));
        CHECK(es_der_done(&e));
        (*n)++;
    }
out:
    return rv;
}

/* extDatas: untagged SEQUENCE OF (GB/T 38540), or wrapped in a context tag (GM/T 0031's
 * "EXPLICIT"), or a context tag holding the ExtData elements directly (implicit). */
static es_err read_ext_datas(es_der *d, int *tagged, es_ext *exts, size_t *n, es_quirks *q)
{
    es_der_tlv t;
    es_der inner;
    es_err rv = es_der_read(d, &t);
    if (rv != ES_OK) return rv;
    if (t.tag == ES_DER_SEQUENCE) {
        *tagged = 0;
        if ((rv = es_der_enter(d, &t, &inner)) != ES_OK) return rv;
        return read_ext_list(&inner, exts, n, q);
    }
    if ((t.tag & 0xe0) == 0xa0) {
        *tagged = 1;
        if ((rv = es_der_enter(d, &t, &inner)) != ES_OK) return rv;
        /* [n] EXPLICIT SEQUENCE OF ExtData, or [n] IMPLICIT: a SEQUENCE that is an ExtData
         * starts with an OID. */
        es_der probe = inner;
        es_der_tlv first;
        if (es_der_read(&probe, &first) == ES_OK && first.tag == ES_DER_SEQUENCE) {
            es_der fp;
            if (es_der_enter(&probe, &first, &fp) == ES_OK && es_der_peek(&fp) == ES_DER_OID)
                return read_ext_list(&inner, exts, n, q);
            es_der list;
            if ((rv = es_der_enter(&inner, &first, &list)) != ES_OK) return rv;
            inner.p = first.raw.p + first.raw.len;
            if ((rv = es_der_done(&inner)) != ES_OK) return rv;
            return read_ext_list(&list, exts, n, q);
        }
        return es_der_more(&inner) ? ES_ERR_FORMAT : ES_OK;
    }
    if (t.tag == ES_DER_OCTET_STRING) {
        /* ofdrw notes extDatas wrapped in an OCTET STRING by some producers */
        *tagged = 1;
        es_der sub, list;
        es_der_tlv st;
        es_der_init(&sub, t.val, q);
        sub.depth = d->depth + 1;
        if ((rv = es_der_open(&sub, ES_DER_SEQUENCE, &st, &list)) != ES_OK) return rv;
        return read_ext_list(&list, exts, n, q);
    }
    return ES_ERR_DER_TAG;
}

static es_err read_seal_info(es_der *d, es_seal *s)
{
    es_der info, hdr, prop, list, pic;
    es_der_tlv t;
    es_err rv;
    unsigned tag;
    CHECK(es_der_open(d, ES_DER_SEQUENCE, &t, &info));
    s->seal_info = t.raw;
    /* SES_Header */
    CHECK(es_der_open(&info, ES_DER_SEQUENCE, &t, &hdr));
    CHECK(es_der_read_string(&hdr, &s->header_id, &tag));
    if (!es_slice_eq_str(s->header_id, "ES")) {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    CHECK(es_der_read_long(&hdr, &s->version));
    CHECK(es_der_read_string(&hdr, &s->vid, &tag));
    CHECK(es_der_done(&hdr));
    CHECK(es_der_read_string(&info, &s->es_id, &tag));
    if (tag != ES_DER_IA5_STRING) note(&s->quirks, ES_QUIRK_STRING_TYPE);

    /* SES_ESPropertyInfo: GB/T 38540 has certListType (an INTEGER) after the name, GM/T 0031
     * goes straight to the certificate list. */
    CHECK(es_der_open(&info, ES_DER_SEQUENCE, &t, &prop));
    CHECK(es_der_read_long(&prop, &s->type));
    CHECK(es_der_read_string(&prop, &s->name, &tag));
    if (tag != ES_DER_UTF8_STRING) note(&s->quirks, ES_QUIRK_STRING_TYPE);
    while (s->name.len && s->name.p[s->name.len - 1] == 0) {
        s->name.len--;
        note(&s->quirks, ES_QUIRK_NAME_NUL_PADDING);
    }
    int prop_v4 = es_der_peek(&prop) == ES_DER_INTEGER;
    s->cert_list_type = 0;
    if (prop_v4) {
        CHECK(es_der_read_long(&prop, &s->cert_list_type));
        if (s->cert_list_type != 1 && s->cert_list_type != 2)
            note(&s->quirks, ES_QUIRK_CERT_LIST_TYPE);
    }
    CHECK(es_der_open(&prop, ES_DER_SEQUENCE, &t, &list));
    s->n_certs = 0;
    while (es_der_more(&list)) {
        es_der_tlv c;
        CHECK(es_der_read(&list, &c));
        if (s->n_certs == ES_SEAL_MAX_CERTS) {
            rv = ES_ERR_LIMIT;
            goto out;
        }
        size_t i = s->n_certs;
        s->cert_digest_type[i] = ES_SLICE_NULL;
        if (c.tag == ES_DER_OCTET_STRING) {
            s->certs[s->n_certs++] = c.val;
        } else if (c.tag == ES_DER_SEQUENCE) {
            /* CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING } */
            es_der obj;
            CHECK(es_der_enter(&list, &c, &obj));
            CHECK(es_der_read_string(&obj, &s->cert_digest_type[i], NULL));
            CHECK(es_der_read_octets(&obj, &s->certs[i]));
            CHECK(es_der_done(&obj));
            s->n_certs++;
        } else {
            /* dms360 writes an IA5String "1" here: keep nothing, say so */
            note(&s->quirks, ES_QUIRK_CERT_NOT_OCTET);
        }
    }
    es_time *dates[3] = {&s->create_date, &s->valid_start, &s->valid_end};
    for (int i = 0; i < 3; i++) {
        CHECK(es_der_read_time(&prop, dates[i], &tag));
        if ((tag == ES_DER_UTC_TIME) == prop_v4) note(&s->quirks, ES_QUIRK_UTCTIME);
    }
    CHECK(es_der_done(&prop));

    /* SES_ESPictrueInfo */
    CHECK(es_der_open(&info, ES_DER_SEQUENCE, &t, &pic));
    CHECK(es_der_read_string(&pic, &s->picture_type, NULL));
    CHECK(es_der_read_octets(&pic, &s->picture));
    CHECK(es_der_read_long(&pic, &s->picture_width));
    CHECK(es_der_read_long(&pic, &s->picture_height));
    CHECK(es_der_done(&pic));
    const char *sniffed = es_picture_sniff(s->picture);
    if (sniffed && !seal_picture_type_matches(s->picture_type, sniffed))
        note(&s->quirks, ES_QUIRK_PICTURE_TYPE);

    s->n_exts = 0;
    s->ext_tagged = -1;
    if (es_der_more(&info))
        CHECK(read_ext_datas(&info, &s->ext_tagged, s->exts, &s->n_exts, &s->quirks));
    CHECK(es_der_done(&info));
    s->property_v4 = prop_v4;
out:
    return rv;
}

/* [0] timestamp: EXPLICIT (A0 { BIT STRING }), IMPLICIT (80 ...) or bare BIT STRING. */
static es_err read_timestamp(es_der *d, es_slice *out)
{
    es_der_tlv t;
    es_err rv = es_der_read(d, &t);
    if (rv != ES_OK) return rv;
    if (t.tag == ES_DER_CTX(0)) {
        es_der in;
        uint8_t unused;
        if ((rv = es_der_enter(d, &t, &in)) != ES_OK) return rv;
        if (es_der_peek(&in) == ES_DER_BIT_STRING) {
            if ((rv = es_der_read_bits(&in, out, &unused)) != ES_OK) return rv;
            return es_der_done(&in);
        }
        *out = t.val;
        return ES_OK;
    }
    if (t.tag == ES_DER_CTX_PRIM(0) || t.tag == ES_DER_BIT_STRING) {
        *out = t.val;
        return ES_OK;
    }
    return ES_ERR_DER_TAG;
}

/* BIT STRING contents after the unused-bits octet; OCTET STRING tolerated. */
static es_err read_bits_tolerant(es_der *d, es_slice *out, es_quirks *q)
{
    uint8_t unused = 0;
    if (es_der_peek(d) == ES_DER_OCTET_STRING) {
        note(q, ES_QUIRK_OCTET_FOR_BIT);
        return es_der_read_octets(d, out);
    }
    es_err rv = es_der_read_bits(d, out, &unused);
    if (rv == ES_OK && unused) note(q, ES_QUIRK_UNUSED_BITS);
    return rv;
}

es_err seal_read(es_der *d, es_seal *s)
{
    es_der seal, sig;
    es_der_tlv t;
    es_err rv;
    memset(s, 0, sizeof *s);
    es_der_init(&seal, ES_SLICE_NULL, &s->quirks);
    CHECK(es_der_expect(d, ES_DER_SEQUENCE, &t));
    s->raw = t.raw;
    es_der tmp = *d;
    tmp.quirks = &s->quirks;
    CHECK(es_der_enter(&tmp, &t, &seal));
    if (t.indefinite) note(&s->quirks, ES_QUIRK_BER_INDEFINITE);
    CHECK(read_seal_info(&seal, s));
    int next = es_der_peek(&seal);
    if (next == ES_DER_SEQUENCE) {
        /* GM/T 0031: SES_SignInfo ::= SEQUENCE { cert, signatureAlgorithm, signData } */
        s->layout = ES_LAYOUT_GMT0031;
        CHECK(es_der_open(&seal, ES_DER_SEQUENCE, &t, &sig));
        es_der_tlv ct;
        CHECK(es_der_expect(&sig, ES_DER_OCTET_STRING, &ct));
        s->maker_cert = ct.val;
        s->sign_info_cert_tlv = ct.raw;
        es_der_tlv at;
        CHECK(es_der_expect(&sig, ES_DER_OID, &at));
        s->sign_alg = at.val;
        s->sign_alg_tlv = at.raw;
        CHECK(read_bits_tolerant(&sig, &s->signed_value, &s->quirks));
        s->has_signature = 1;
        CHECK(es_der_done(&sig));
        if (s->version >= 4) note(&s->quirks, ES_QUIRK_VERSION_LAYOUT);
    } else if (next == ES_DER_OCTET_STRING) {
        s->layout = s->version == 5 ? ES_LAYOUT_V5 : ES_LAYOUT_V4;
        es_der_tlv ct, at;
        CHECK(es_der_expect(&seal, ES_DER_OCTET_STRING, &ct));
        s->maker_cert = ct.val;
        s->sign_info_cert_tlv = ct.raw;
        CHECK(es_der_expect(&seal, ES_DER_OID, &at));
        s->sign_alg = at.val;
        s->sign_alg_tlv = at.raw;
        if (es_der_more(&seal)) {
            CHECK(read_bits_tolerant(&seal, &s->signed_value, &s->quirks));
            s->has_signature = 1;
        } else {
            note(&s->quirks, ES_QUIRK_NO_SIGNATURE);
        }
        if (es_der_more(&seal)) {
            CHECK(read_timestamp(&seal, &s->timestamp));
            note(&s->quirks, ES_QUIRK_SEAL_TIMESTAMP);
            s->layout = ES_LAYOUT_V5;
        }
        if (s->version < 4 || s->version > 5) note(&s->quirks, ES_QUIRK_VERSION_LAYOUT);
    } else {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    CHECK(es_der_done(&seal));
    /* GB/T 38540 writes extDatas untagged; GM/T 0031 declares it EXPLICIT (dms360 writes it
     * untagged all the same). A property layout of the other generation is a mislabel. */
    if (s->layout != ES_LAYOUT_GMT0031 && s->ext_tagged == 1) note(&s->quirks, ES_QUIRK_EXT_TAGGED);
    if (s->property_v4 != (s->layout != ES_LAYOUT_GMT0031))
        note(&s->quirks, ES_QUIRK_VERSION_LAYOUT);
out:
    return rv;
}

es_err es_seal_from_der(es_slice in, int allow_trailing, es_seal *out)
{
    es_der d;
    es_quirks q = 0;
    if (in.len > ES_MAX_SEAL_DER) return ES_ERR_LIMIT;
    es_der_init(&d, in, &q);
    es_err rv = seal_read(&d, out);
    if (rv != ES_OK) return rv;
    out->quirks |= q;
    if (es_der_more(&d)) {
        if (!allow_trailing) return ES_ERR_DER_TRAILING;
        out->quirks |= ES_QUIRK(ES_QUIRK_TRAILING_BYTES);
    }
    return ES_OK;
}

/* timeInfo: GeneralizedTime (v4), or GM/T 0031's BIT STRING holding text such as
 * "2022-03-24 08:54:12", "2020-01-25T07:31:56.377Z" or "20211014033404Z". */
static es_err read_time_info(es_der *d, es_signature *s)
{
    int tag = es_der_peek(d);
    es_der_tlv t;
    es_err rv;
    if (tag == ES_DER_GEN_TIME || tag == ES_DER_UTC_TIME) {
        CHECK(es_der_read(d, &t));
        s->time_info_raw = t.val;
        if (tag == ES_DER_UTC_TIME) note(&s->quirks, ES_QUIRK_UTCTIME);
        return es_der_parse_time(t.val, t.tag, &s->time_info, &s->quirks);
    }
    if (tag == ES_DER_BIT_STRING || tag == ES_DER_OCTET_STRING) {
        es_slice text;
        CHECK(read_bits_tolerant(d, &text, &s->quirks));
        s->time_info_raw = text;
        note(&s->quirks, ES_QUIRK_TIMEINFO_TEXT);
        s->time_info = ES_TIME_NONE;
        char buf[64];
        if (text.len == 0 || text.len >= sizeof buf) return ES_OK; /* e.g. a timestamp token */
        memcpy(buf, text.p, text.len);
        buf[text.len] = 0;
        es_quirks ignore = 0;
        if (es_time_parse_iso(buf, &s->time_info) != ES_OK &&
            es_der_parse_time(text, ES_DER_GEN_TIME, &s->time_info, &ignore) != ES_OK)
            s->time_info = ES_TIME_NONE;
        return ES_OK;
    }
    rv = tag < 0 ? ES_ERR_FORMAT : ES_ERR_DER_TAG;
out:
    return rv;
}

es_err es_signature_from_der(es_slice in, int allow_trailing, es_signature *s)
{
    es_der d, sig, tbs;
    es_der_tlv t;
    es_err rv;
    memset(s, 0, sizeof *s);
    if (in.len > ES_MAX_SEAL_DER) return ES_ERR_LIMIT;
    es_der_init(&d, in, &s->quirks);
    CHECK(es_der_open(&d, ES_DER_SEQUENCE, &t, &sig));
    s->raw = t.raw;
    CHECK(es_der_open(&sig, ES_DER_SEQUENCE, &t, &tbs));
    s->tbs = t.raw;
    /* The element after toSign tells the layout: GM/T 0031 puts cert and algorithm inside
     * TBS_Sign and follows it with the signature BIT STRING; GB/T 38540 follows it with the
     * signer certificate. */
    int after = es_der_peek(&sig);
    int gmt0031 = after == ES_DER_BIT_STRING;
    if (!gmt0031 && after != ES_DER_OCTET_STRING) {
        rv = ES_ERR_FORMAT;
        goto out;
    }

    CHECK(es_der_read_long(&tbs, &s->version));
    CHECK(seal_read(&tbs, &s->seal));
    CHECK(read_time_info(&tbs, s));
    CHECK(read_bits_tolerant(&tbs, &s->data_hash, &s->quirks));
    CHECK(es_der_read_string(&tbs, &s->property_info, NULL));
    if (gmt0031) {
        es_der_tlv at;
        CHECK(es_der_read_octets(&tbs, &s->cert));
        CHECK(es_der_expect(&tbs, ES_DER_OID, &at));
        s->sign_alg = at.val;
    }
    if (es_der_more(&tbs)) {
        /* extDatas [0] (EXPLICIT per ofdrw, or implicit, or bare) */
        int tagged = 0;
        CHECK(read_ext_datas(&tbs, &tagged, s->exts, &s->n_exts, &s->quirks));
        if (!tagged) note(&s->quirks, ES_QUIRK_EXT_UNTAGGED);
    }
    CHECK(es_der_done(&tbs));

    if (gmt0031) {
        s->layout = ES_LAYOUT_GMT0031;
        CHECK(read_bits_tolerant(&sig, &s->signature, &s->quirks));
        if (s->version >= 4) note(&s->quirks, ES_QUIRK_VERSION_LAYOUT);
    } else {
        es_der_tlv at;
        s->layout = s->version == 5 || s->seal.layout == ES_LAYOUT_V5 ? ES_LAYOUT_V5 : ES_LAYOUT_V4;
        CHECK(es_der_read_octets(&sig, &s->cert));
        CHECK(es_der_expect(&sig, ES_DER_OID, &at));
        s->sign_alg = at.val;
        CHECK(read_bits_tolerant(&sig, &s->signature, &s->quirks));
        if (es_der_more(&sig)) CHECK(read_timestamp(&sig, &s->timestamp));
        if (s->version < 4) note(&s->quirks, ES_QUIRK_VERSION_LAYOUT);
    }
    CHECK(es_der_done(&sig));
    if (es_der_more(&d)) {
        if (!allow_trailing) {
            rv = ES_ERR_DER_TRAILING;
            goto out;
        }
        note(&s->quirks, ES_QUIRK_TRAILING_BYTES);
    }
out:
    return rv;
}

static int is_cms(es_slice in)
{
    es_der d, ci;
    es_der_tlv t;
    es_slice oid;
    es_der_init(&d, in, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &ci) != ES_OK) return 0;
    if (es_der_peek(&ci) == ES_DER_OID) {
        if (es_der_read_oid(&ci, &oid) != ES_OK) return 0;
        return es_oid_is(oid, ES_OID_ID_GM_SIGNED) || es_oid_is(oid, ES_OID_ID_PKCS7_SIGNED);
    }
    /* A bare SignedData: version INTEGER, then a SET of digest algorithms. */
    long v;
    return es_der_read_long(&ci, &v) == ES_OK && es_der_peek(&ci) == ES_DER_SET;
}

es_kind es_detect(es_slice in)
{
    es_seal seal;
    es_signature sig;
    if (es_seal_from_der(in, 1, &seal) == ES_OK) return ES_KIND_SEAL;
    if (es_signature_from_der(in, 1, &sig) == ES_OK) return ES_KIND_SIGNATURE;
    if (is_cms(in)) return ES_KIND_CMS;
    es_cert_info ci;
    if (es_cert_parse(in, &ci) == ES_OK) {
        es_cert_info_cleanup(&ci);
        return ES_KIND_CERT;
    }
    return ES_KIND_UNKNOWN;
}

const char *es_layout_name(es_layout l)
{
    switch (l) {
    case ES_LAYOUT_GMT0031:
        return "GM/T 0031-2014";
    case ES_LAYOUT_V4:
        return "GB/T 38540-2020 v4";
    case ES_LAYOUT_V5:
        return "GM/T 0031-2025 v5";
    }
    return "?";
}

const char *es_kind_name(es_kind k)
{
    switch (k) {
    case ES_KIND_SEAL:
        return "seal";
    case ES_KIND_SIGNATURE:
        return "signature";
    case ES_KIND_CERT:
        return "certificate";
    case ES_KIND_CMS:
        return "cms_signed_data";
    default:
        return "unknown";
    }
}

const char *es_picture_sniff(es_slice d)
{
    if (d.len >= 8 && memcmp(d.p, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
    if (d.len >= 6 && (memcmp(d.p, "GIF87a", 6) == 0 || memcmp(d.p, "GIF89a", 6) == 0))
        return "GIF";
    if (d.len >= 3 && memcmp(d.p, "\xff\xd8\xff", 3) == 0) return "JPG";
    if (d.len >= 2 && memcmp(d.p, "BM", 2) == 0) return "BMP";
    if (d.len >= 4 && memcmp(d.p, "PK\x03\x04", 4) == 0) return "ofd";
    for (size_t i = 0; i < d.len && i < 512; i++) {
        if (d.p[i] == '<') {
            if (d.len - i >= 4 && memcmp(d.p + i, "<svg", 4) == 0) return "SVG";
            if (d.len - i >= 5 && memcmp(d.p + i, "<?xml", 5) == 0) {
                for (size_t j = i; j + 4 <= d.len && j < 4096; j++)
                    if (memcmp(d.p + j, "<svg", 4) == 0) return "SVG";
                return NULL;
            }
        }
    }
    return NULL;
}

int seal_picture_type_matches(es_slice type, const char *sniffed)
{
    char t[8];
    if (type.len == 0 || type.len >= sizeof t) return 0;
    for (size_t i = 0; i < type.len; i++) {
        char c = (char)type.p[i];
        t[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    t[type.len] = 0;
    if (strcmp(t, "JPEG") == 0) strcpy(t, "JPG");
    char s[8];
    size_t n = strlen(sniffed);
    for (size_t i = 0; i <= n; i++) {
        char c = sniffed[i];
        s[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    return strcmp(t, s) == 0;
}
