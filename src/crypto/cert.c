/* Reading X.509 certificates with our own DER reader: serial, validity, the SM2 key, names
 * (RFC 2253 text with UTF-8 kept, as `openssl x509 -nameopt RFC2253,-esc_msb` prints them),
 * basicConstraints and keyUsage. No OpenSSL here: real vendors write certificates OpenSSL
 * refuses, and decoding through OpenSSL cost a quarter of a signature verification. Chain
 * validation, which needs OpenSSL, is in openssl.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/der.h"

static const struct {
    const char *oid;
    const char *name;
} attr_names[] = {
    {"2.5.4.3", "CN"},
    {"2.5.4.6", "C"},
    {"2.5.4.10", "O"},
    {"2.5.4.11", "OU"},
    {"2.5.4.7", "L"},
    {"2.5.4.8", "ST"},
    {"2.5.4.9", "street"},
    {"2.5.4.5", "serialNumber"},
    {"2.5.4.4", "SN"},
    {"2.5.4.42", "GN"},
    {"2.5.4.12", "title"},
    {"2.5.4.43", "initials"},
    {"2.5.4.17", "postalCode"},
    {"2.5.4.15", "businessCategory"},
    {"2.5.4.13", "description"},
    {"2.5.4.46", "dnQualifier"},
    {"2.5.4.65", "pseudonym"},
    {"2.5.4.97", "organizationIdentifier"},
    {"1.2.840.113549.1.9.1", "emailAddress"},
    {"0.9.2342.19200300.100.1.25", "DC"},
    {"0.9.2342.19200300.100.1.1", "UID"},
};

/* Appends a code point as UTF-8. */
static es_err put_utf8(es_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else if (cp < 0x110000) {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    } else {
        u[0] = '?';
        n = 1;
    }
    return es_buf_append(b, u, n);
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
            size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            int good = n && i + n <= v.len;
            for (size_t j = 1; good && j < n; j++) good = (v.p[i + j] & 0xc0) == 0x80;
            if (good) {
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
            const char *short_name = NULL;
            for (size_t k = 0; k < sizeof attr_names / sizeof attr_names[0]; k++)
                if (strcmp(attr_names[k].oid, txt) == 0) short_name = attr_names[k].name;
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

/* Extensions ::= SEQUENCE OF Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue } */
static void read_extensions(es_der *tbs, es_cert_info *ci)
{
    es_der_tlv t;
    es_der wrap, list;
    while (es_der_more(tbs)) {
        if (es_der_read(tbs, &t) != ES_OK) return;
        if (t.tag != ES_DER_CTX(3)) continue; /* issuerUniqueID [1], subjectUniqueID [2] */
        if (es_der_enter(tbs, &t, &wrap) != ES_OK ||
            es_der_open(&wrap, ES_DER_SEQUENCE, &t, &list) != ES_OK)
            return;
        while (es_der_more(&list)) {
            es_der ext, inner;
            es_slice oid, value;
            int critical = 0;
            char txt[32];
            if (es_der_open(&list, ES_DER_SEQUENCE, &t, &ext) != ES_OK ||
                es_der_read_oid(&ext, &oid) != ES_OK)
                return;
            if (es_der_peek(&ext) == ES_DER_BOOLEAN && es_der_read_bool(&ext, &critical) != ES_OK)
                return;
            if (es_der_read_octets(&ext, &value) != ES_OK ||
                es_oid_to_text(oid, txt, sizeof txt) != ES_OK)
                return;
            es_der_init(&inner, value, NULL);
            if (strcmp(txt, "2.5.29.19") == 0) { /* basicConstraints { cA, pathLen } */
                es_der bc;
                int ca = 0;
                if (es_der_open(&inner, ES_DER_SEQUENCE, &t, &bc) == ES_OK &&
                    es_der_peek(&bc) == ES_DER_BOOLEAN && es_der_read_bool(&bc, &ca) == ES_OK)
                    ci->is_ca = ca;
            } else if (strcmp(txt, "2.5.29.15") == 0) { /* keyUsage BIT STRING */
                es_slice bits;
                uint8_t unused;
                if (es_der_read_bits(&inner, &bits, &unused) == ES_OK) {
                    ci->has_key_usage = 1;
                    ci->key_usage = bits.len ? bits.p[0] : 0;
                }
            }
        }
    }
}

static const uint8_t sm2_oid[] = {0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d};

static es_err cert_fields(es_slice der, es_cert_info *ci)
{
    es_der d, cert, tbs, val, spki, alg;
    es_der_tlv t, issuer, subject;
    es_slice serial, oid, bits;
    uint8_t unused;
    es_err rv;
    es_der_init(&d, der, NULL);
    if ((rv = es_der_open(&d, ES_DER_SEQUENCE, &t, &cert)) != ES_OK) return rv;
    if ((rv = es_der_open(&cert, ES_DER_SEQUENCE, &t, &tbs)) != ES_OK) return rv;
    if (es_der_peek(&tbs) == ES_DER_CTX(0) && (rv = es_der_read(&tbs, &t)) != ES_OK) return rv;
    if ((rv = es_der_read_int_bytes(&tbs, &serial)) != ES_OK) return rv;
    size_t sl = serial.len > 41 ? 41 : serial.len;
    es_hex_encode(serial.p, sl, ci->serial);
    if ((rv = es_der_expect(&tbs, ES_DER_SEQUENCE, &t)) != ES_OK) return rv; /* signature */
    if ((rv = es_der_expect(&tbs, ES_DER_SEQUENCE, &issuer)) != ES_OK) return rv;
    if ((rv = es_der_open(&tbs, ES_DER_SEQUENCE, &t, &val)) != ES_OK) return rv;
    if ((rv = es_der_read_time(&val, &ci->not_before, NULL)) != ES_OK) return rv;
    if ((rv = es_der_read_time(&val, &ci->not_after, NULL)) != ES_OK) return rv;
    if ((rv = es_der_expect(&tbs, ES_DER_SEQUENCE, &subject)) != ES_OK) return rv;
    if ((rv = es_der_open(&tbs, ES_DER_SEQUENCE, &t, &spki)) != ES_OK) return rv;
    if ((rv = es_der_open(&spki, ES_DER_SEQUENCE, &t, &alg)) != ES_OK) return rv;
    if ((rv = es_der_read_oid(&alg, &oid)) != ES_OK) return rv;
    if ((rv = es_der_read_bits(&spki, &bits, &unused)) != ES_OK) return rv;
    if (bits.len == ES_SM2_PUB_LEN && bits.p[0] == 0x04) {
        /* id-ecPublicKey with the SM2 curve parameter, or the SM2 OID itself */
        es_slice param = ES_SLICE_NULL;
        if (es_der_peek(&alg) == ES_DER_OID && es_der_read_oid(&alg, &param) != ES_OK)
            return ES_ERR_CERT;
        es_slice sm2 = es_slice_make(sm2_oid, sizeof sm2_oid);
        if (es_slice_eq(param, sm2) || es_slice_eq(oid, sm2)) {
            ci->is_sm2 = 1;
            memcpy(ci->pub, bits.p, ES_SM2_PUB_LEN);
        }
    }
    read_extensions(&tbs, ci);
    es_der_tlv sa;
    if (es_der_expect(&cert, ES_DER_SEQUENCE, &sa) == ES_OK) {
        es_der sad;
        es_slice sao;
        if (es_der_enter(&cert, &sa, &sad) == ES_OK && es_der_read_oid(&sad, &sao) == ES_OK &&
            es_oid_to_text(sao, ci->sig_alg, sizeof ci->sig_alg) != ES_OK)
            ci->sig_alg[0] = 0;
    }
    /* A name that cannot be read leaves the certificate usable: say so instead. */
    if (name_text(subject.raw, &ci->subject) != ES_OK) ci->subject = strdup("(unreadable)");
    if (name_text(issuer.raw, &ci->issuer) != ES_OK) ci->issuer = strdup("(unreadable)");
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
