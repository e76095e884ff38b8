/* The one X.509 certificate reader (es_x509_parse), with our own DER reader: serial,
 * validity, the SM2 key, the extensions eseal acts on, and names as text (RFC 2253 with UTF-8
 * kept, as `openssl x509 -nameopt RFC2253,-esc_msb` prints them). No OpenSSL here: real
 * vendors write certificates OpenSSL refuses, and decoding through OpenSSL cost a quarter of a
 * signature verification. Chain validation, which needs OpenSSL, is in openssl.c.
 *
 * Two strictnesses over one grammar: verification reads what real producers wrote
 * (es_cert_parse: an extension it cannot read is ignored, trailing bytes and odd fields after
 * the key are skipped), the CA reads what it is about to rely on (es_pki_cert_parse,
 * ES_X509_STRICT: any of those is ES_ERR_CERT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/der.h"

/* Appends a code point as UTF-8; '?' for one that has no UTF-8 form (a lone surrogate of a
 * BMPString, a UniversalString value past U+10FFFF). */
static es_err put_utf8(es_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n = es_utf8_put(cp, u);
    return n ? es_buf_append(b, u, n) : es_buf_append_byte(b, '?');
}

/* Decodes a directory string to UTF-8 code points, escaping as RFC 2253 asks. */
static es_err put_value(es_buf *b, unsigned tag, es_slice v)
{
    es_err rv = ES_OK;
    size_t i = 0, unit = tag == ES_DER_BMP_STRING ? 2 : tag == 0x1c ? 4 : 1;
    size_t count = v.len / unit, k = 0;
    while (rv == ES_OK && i + unit <= v.len) {
        uint32_t cp;
        size_t step = unit;
        if (unit == 2) {
            cp = (uint32_t)v.p[i] << 8 | v.p[i + 1];
        } else if (unit == 4) {
            cp = (uint32_t)v.p[i] << 24 | (uint32_t)v.p[i + 1] << 16 | (uint32_t)v.p[i + 2] << 8 |
                 v.p[i + 3];
        } else if (tag == ES_DER_UTF8_STRING && v.p[i] >= 0x80) {
            /* A valid UTF-8 sequence is copied; a broken one is escaped byte by byte. */
            uint8_t c = v.p[i];
            size_t n = es_utf8_next(v.p + i, v.len - i, NULL);
            if (n) {
                rv = es_buf_append(b, v.p + i, n);
                i += n;
                k++;
                continue;
            }
            rv = es_buf_printf(b, "\\%02X", c);
            i++;
            k++;
            continue;
        } else {
            cp = v.p[i]; /* Printable, IA5, T61 read as Latin-1 */
        }
        if (cp < 0x20 || cp == 0x7f)
            rv = es_buf_printf(b, "\\%02X", (unsigned)cp);
        else if (cp == ',' || cp == '+' || cp == '"' || cp == '\\' || cp == '<' || cp == '>' ||
                 cp == ';' || (k == 0 && (cp == '#' || cp == ' ')) || (k + 1 == count && cp == ' '))
            rv = es_buf_printf(b, "\\%c", (char)cp);
        else
            rv = put_utf8(b, cp);
        i += step;
        k++;
    }
    return rv;
}

/* The short name of an attribute type of the OID table ("CN", "emailAddress"); NULL for
 * any other OID, which is then printed as dotted text with a "#" hex value (RFC 2253 2.4). */
static const char *attr_name(es_slice oid)
{
    const es_oid_info *o = es_oid_find(oid);
    if (!o) return NULL;
    return (o->id >= ES_OID_ID_AT_CN && o->id <= ES_OID_ID_AT_UID) ? o->name : NULL;
}

/* Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue), printed
 * last RDN first, RDNs separated by ',' and multi-valued ones joined by '+'. */
static es_err name_text(es_slice name, char **out)
{
    es_der d, seq;
    es_der_tlv t;
    es_slice rdns[64];
    size_t n = 0;
    es_buf b;
    es_err rv;
    es_der_init(&d, name, NULL);
    if ((rv = es_der_open(&d, ES_DER_SEQUENCE, &t, &seq)) != ES_OK) return rv;
    while (es_der_more(&seq)) {
        if (n == 64) return ES_ERR_LIMIT;
        if ((rv = es_der_expect(&seq, ES_DER_SET, &t)) != ES_OK) return rv;
        rdns[n++] = t.raw;
    }
    es_buf_init(&b, 64 * 1024);
    for (size_t i = n; i-- > 0 && rv == ES_OK;) {
        es_der rd, set;
        es_der_init(&rd, rdns[i], NULL);
        if ((rv = es_der_open(&rd, ES_DER_SET, &t, &set)) != ES_OK) break;
        int first = 1;
        while (rv == ES_OK && es_der_more(&set)) {
            es_der atv;
            es_slice oid;
            es_der_tlv val;
            char txt[96];
            if ((rv = es_der_open(&set, ES_DER_SEQUENCE, &t, &atv)) != ES_OK ||
                (rv = es_der_read_oid(&atv, &oid)) != ES_OK ||
                (rv = es_der_read(&atv, &val)) != ES_OK ||
                (rv = es_oid_to_text(oid, txt, sizeof txt)) != ES_OK)
                break;
            const char *short_name = attr_name(oid);
            rv = es_buf_printf(&b, "%s%s=", b.len ? (first ? "," : "+") : "",
                               short_name ? short_name : txt);
            first = 0;
            unsigned tag = val.tag;
            int is_string = tag == ES_DER_UTF8_STRING || tag == ES_DER_PRINTABLE ||
                            tag == ES_DER_IA5_STRING || tag == ES_DER_T61_STRING ||
                            tag == ES_DER_VISIBLE || tag == ES_DER_BMP_STRING || tag == 0x1c;
            if (rv != ES_OK) break;
            if (is_string && short_name) {
                rv = put_value(&b, tag, val.val);
            } else {
                /* RFC 2253 2.4: an unknown type is "#" and the hex of its BER encoding */
                rv = es_buf_append_byte(&b, '#');
                if (rv == ES_OK) rv = es_buf_append_hex(&b, val.raw.p, val.raw.len);
            }
        }
    }
    if (rv == ES_OK) rv = es_buf_nul(&b);
    if (rv == ES_OK) {
        *out = b.p ? (char *)es_buf_steal(&b, NULL) : strdup("");
        if (!*out) rv = ES_ERR_NOMEM;
    }
    es_buf_cleanup(&b);
    return rv;
}

/* --- the reader --- */

/* One extension's value into c. ES_ERR_CERT when the value is not what its OID says. */
static es_err read_ext(es_x509 *c, es_slice oid, es_slice value, int strict)
{
    es_der d, seq;
    es_der_tlv t;
    es_der_init(&d, value, NULL);
    if (es_oid_is(oid, ES_OID_ID_CE_BC)) { /* basicConstraints { cA, pathLenConstraint } */
        int ca = 0;
        long pl = -1;
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        if (es_der_peek(&seq) == ES_DER_BOOLEAN && es_der_read_bool(&seq, &ca) != ES_OK)
            return ES_ERR_CERT;
        if (es_der_peek(&seq) == ES_DER_INTEGER) {
            if (es_der_read_long(&seq, &pl) != ES_OK) return ES_ERR_CERT;
            if (pl < 0 || pl > 255) {
                if (strict) return ES_ERR_CERT;
                pl = -1; /* tolerant: cA stands, the constraint is unknown */
            }
        }
        c->has_basic_constraints = 1;
        c->is_ca = ca;
        c->pathlen = (int)pl;
    } else if (es_oid_is(oid, ES_OID_ID_CE_KU)) { /* keyUsage BIT STRING: the first octet */
        es_slice bits;
        uint8_t unused;
        if (es_der_read_bits(&d, &bits, &unused) != ES_OK) return ES_ERR_CERT;
        c->has_key_usage = 1;
        c->key_usage = bits.len ? bits.p[0] : 0;
    } else if (es_oid_is(oid, ES_OID_ID_CE_EKU)) { /* SEQUENCE OF KeyPurposeId */
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        es_slice list = t.val, o;
        while (es_der_more(&seq))
            if (es_der_read_oid(&seq, &o) != ES_OK) return ES_ERR_CERT;
        c->eku = list;
        c->has_eku = 1;
    } else if (es_oid_is(oid, ES_OID_ID_CE_SKI)) {
        if (es_der_read_octets(&d, &c->ski) != ES_OK) return ES_ERR_CERT;
    } else if (es_oid_is(oid, ES_OID_ID_CE_AKI)) { /* { keyIdentifier [0] IMPLICIT, ... } */
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        if (es_der_peek(&seq) == ES_DER_CTX_PRIM(0)) {
            if (es_der_read(&seq, &t) != ES_OK) return ES_ERR_CERT;
            c->aki = t.val;
        }
    } else if (es_oid_is(oid, ES_OID_ID_CE_SAN)) {
        if (es_der_expect(&d, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
        c->san = t.raw;
    } else if (es_oid_is(oid, ES_OID_ID_CE_CRL_DP)) {
        /* The first URI of the first fullName:
         * DistributionPoint { distributionPoint [0] { fullName [0] { GeneralName } } } */
        es_der dp, n0, n1;
        if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_CERT;
        if (es_der_open(&seq, ES_DER_SEQUENCE, &t, &dp) == ES_OK &&
            es_der_open(&dp, ES_DER_CTX(0), &t, &n0) == ES_OK &&
            es_der_open(&n0, ES_DER_CTX(0), &t, &n1) == ES_OK) {
            while (es_der_more(&n1) && es_der_read(&n1, &t) == ES_OK)
                if (t.tag == ES_DER_CTX_PRIM(6)) { /* uniformResourceIdentifier */
                    c->crl_url = t.val;
                    break;
                }
        }
    }
    return ES_OK;
}

/* Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * (critical is checked for form, not kept: the readers act on each extension they know,
 * whatever its flag). oid and value are borrowed. */
es_err es_x509_ext_next(es_der *list, es_slice *oid, es_slice *value)
{
    es_der ext;
    es_der_tlv t;
    int critical;
    if (es_der_open(list, ES_DER_SEQUENCE, &t, &ext) != ES_OK ||
        es_der_read_oid(&ext, oid) != ES_OK)
        return ES_ERR_CERT;
    if (es_der_peek(&ext) == ES_DER_BOOLEAN && es_der_read_bool(&ext, &critical) != ES_OK)
        return ES_ERR_CERT;
    if (es_der_read_octets(&ext, value) != ES_OK) return ES_ERR_CERT;
    return ES_OK;
}

es_err es_spki_sm2(es_slice spki, unsigned flags, uint8_t pub[ES_SM2_PUB_LEN])
{
    int strict = (flags & ES_X509_STRICT) != 0;
    es_der d, seq, alg;
    es_der_tlv t;
    es_slice oid, param = ES_SLICE_NULL, bits;
    uint8_t unused;
    es_der_init(&d, spki, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK ||
        es_der_open(&seq, ES_DER_SEQUENCE, &t, &alg) != ES_OK ||
        es_der_read_oid(&alg, &oid) != ES_OK)
        return ES_ERR_FORMAT;
    if (es_der_peek(&alg) == ES_DER_OID && es_der_read_oid(&alg, &param) != ES_OK)
        return ES_ERR_FORMAT;
    if (es_der_read_bits(&seq, &bits, &unused) != ES_OK) return ES_ERR_FORMAT;
    if (strict && es_der_done(&seq) != ES_OK) return ES_ERR_FORMAT;
    /* id-ecPublicKey with the SM2 curve (how SM2 keys are written), or the SM2 OID itself.
     * Tolerant: the curve alone decides, and the unused-bits octet is not looked at. */
    int sm2 =
        es_oid_is(oid, ES_OID_ID_SM2) ||
        (es_oid_is(param, ES_OID_ID_SM2) && (!strict || es_oid_is(oid, ES_OID_ID_EC_PUBLIC_KEY)));
    if (!sm2 || (strict && unused) || bits.len != ES_SM2_PUB_LEN || bits.p[0] != 0x04)
        return ES_ERR_KEY;
    memcpy(pub, bits.p, ES_SM2_PUB_LEN);
    return ES_OK;
}

es_err es_x509_parse(es_slice der, unsigned flags, es_x509 *c)
{
    int strict = (flags & ES_X509_STRICT) != 0;
    es_der d, cert, tbs, val, wrap, exts, alg;
    es_der_tlv t;
    uint8_t unused;
    memset(c, 0, sizeof *c);
    c->pathlen = -1;
    if (der.len == 0 || der.len > ES_MAX_CERT_DER) return ES_ERR_CERT;
    es_der_init(&d, der, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &cert) != ES_OK ||
        (strict && es_der_done(&d) != ES_OK) ||
        es_der_open(&cert, ES_DER_SEQUENCE, &t, &tbs) != ES_OK)
        return ES_ERR_CERT;
    c->tbs = t.raw;
    if (es_der_peek(&tbs) == ES_DER_CTX(0) && es_der_read(&tbs, &t) != ES_OK) return ES_ERR_CERT;
    if (es_der_read_int_bytes(&tbs, &c->serial) != ES_OK ||
        es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK || /* signature */
        es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK)
        return ES_ERR_CERT;
    c->issuer = t.raw;
    if (es_der_open(&tbs, ES_DER_SEQUENCE, &t, &val) != ES_OK ||
        es_der_read_time(&val, &c->not_before, NULL) != ES_OK ||
        es_der_read_time(&val, &c->not_after, NULL) != ES_OK ||
        es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK)
        return ES_ERR_CERT;
    c->subject = t.raw;
    if (es_der_expect(&tbs, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_CERT;
    c->spki = t.raw;
    es_err rv = es_spki_sm2(c->spki, flags, c->pub);
    if (rv == ES_ERR_FORMAT && !strict) return ES_ERR_CERT; /* as before: the key must be read */
    c->is_sm2 = rv == ES_OK;

    /* issuerUniqueID [1], subjectUniqueID [2], then extensions [3]. Tolerant: anything else
     * there is skipped, and extensions stop at the first one that cannot be read. */
    while (es_der_more(&tbs)) {
        if (es_der_read(&tbs, &t) != ES_OK) {
            if (strict) return ES_ERR_CERT;
            break;
        }
        if (t.tag == ES_DER_CTX_PRIM(1) || t.tag == ES_DER_CTX_PRIM(2)) continue;
        if (t.tag != ES_DER_CTX(3)) {
            if (strict) return ES_ERR_CERT;
            continue;
        }
        if (es_der_enter(&tbs, &t, &wrap) != ES_OK ||
            es_der_open(&wrap, ES_DER_SEQUENCE, &t, &exts) != ES_OK) {
            if (strict) return ES_ERR_CERT;
            break;
        }
        c->exts = t.val;
        while (es_der_more(&exts)) {
            es_slice oid, value;
            es_x509 one = *c; /* an extension is taken whole or not at all */
            if (es_x509_ext_next(&exts, &oid, &value) != ES_OK) {
                if (strict) return ES_ERR_CERT;
                break;
            }
            if (read_ext(&one, oid, value, strict) == ES_OK)
                *c = one;
            else if (strict)
                return ES_ERR_CERT;
        }
        if (strict && es_der_more(&tbs)) return ES_ERR_CERT; /* [3] is the last field */
    }

    /* signatureAlgorithm, signatureValue: required when strict, read when present else. */
    if (es_der_open(&cert, ES_DER_SEQUENCE, &t, &alg) != ES_OK ||
        es_der_read_oid(&alg, &c->sig_alg) != ES_OK) {
        c->sig_alg = ES_SLICE_NULL;
        return strict ? ES_ERR_CERT : ES_OK;
    }
    if (es_der_read_bits(&cert, &c->sig, &unused) != ES_OK) {
        c->sig = ES_SLICE_NULL;
        return strict ? ES_ERR_CERT : ES_OK;
    }
    if (strict && es_der_done(&cert) != ES_OK) return ES_ERR_CERT;
    return ES_OK;
}

es_err es_x509_ext_find(const es_x509 *c, es_oid_id id, es_slice *value)
{
    es_der list;
    es_der_init(&list, c->exts, NULL);
    while (es_der_more(&list)) {
        es_slice oid, v;
        if (es_x509_ext_next(&list, &oid, &v) != ES_OK) return ES_ERR_CERT;
        if (es_oid_is(oid, id)) {
            *value = v;
            return ES_OK;
        }
    }
    return ES_ERR_NOT_FOUND;
}

/* --- what verification needs --- */

static es_err cert_fields(es_slice der, es_cert_info *ci)
{
    es_x509 x;
    es_err rv = es_x509_parse(der, 0, &x);
    if (rv != ES_OK) return rv;
    size_t sl = x.serial.len > 41 ? 41 : x.serial.len;
    es_hex_encode(x.serial.p, sl, ci->serial);
    ci->not_before = x.not_before;
    ci->not_after = x.not_after;
    ci->is_sm2 = x.is_sm2;
    memcpy(ci->pub, x.pub, sizeof ci->pub);
    ci->is_ca = x.is_ca;
    ci->has_key_usage = x.has_key_usage;
    ci->key_usage = x.key_usage;
    if (x.sig_alg.len == 0 || es_oid_to_text(x.sig_alg, ci->sig_alg, sizeof ci->sig_alg) != ES_OK)
        ci->sig_alg[0] = 0;
    /* A name that cannot be read leaves the certificate usable: say so instead. */
    if (name_text(x.subject, &ci->subject) != ES_OK) ci->subject = strdup("(unreadable)");
    if (name_text(x.issuer, &ci->issuer) != ES_OK) ci->issuer = strdup("(unreadable)");
    return ci->subject && ci->issuer ? ES_OK : ES_ERR_NOMEM;
}

es_err es_cert_parse(es_slice der, es_cert_info *ci)
{
    memset(ci, 0, sizeof *ci);
    if (der.len == 0 || der.len > ES_MAX_CERT_DER) return ES_ERR_CERT;
    es_err rv = cert_fields(der, ci);
    if (rv != ES_OK) {
        es_cert_info_cleanup(ci);
        return rv == ES_ERR_NOMEM ? rv : ES_ERR_CERT;
    }
    return ES_OK;
}

void es_cert_info_cleanup(es_cert_info *ci)
{
    free(ci->subject);
    free(ci->issuer);
    ci->subject = ci->issuer = NULL;
}

es_err es_cert_matches_pub(es_slice cert_der, const uint8_t pub[ES_SM2_PUB_LEN])
{
    es_cert_info ci;
    es_err rv = es_cert_parse(cert_der, &ci);
    if (rv != ES_OK) return rv;
    rv = ci.is_sm2 && memcmp(ci.pub, pub, ES_SM2_PUB_LEN) == 0 ? ES_OK : ES_ERR_KEY_MISMATCH;
    es_cert_info_cleanup(&ci);
    return rv;
}
