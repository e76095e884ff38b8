/* Distinguished names, subject alternative names, unified social credit codes and seal
 * codes. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pki/internal.h"

static const struct {
    const char *sn, *ln;
    es_oid_id oid;
    unsigned str_tag;
} name_types[ES_NAME_TYPES] = {
    [ES_NAME_C] = {"C", "countryName", ES_OID_ID_AT_C, ES_DER_PRINTABLE},
    [ES_NAME_ST] = {"ST", "stateOrProvinceName", ES_OID_ID_AT_ST, ES_DER_UTF8_STRING},
    [ES_NAME_L] = {"L", "localityName", ES_OID_ID_AT_L, ES_DER_UTF8_STRING},
    [ES_NAME_O] = {"O", "organizationName", ES_OID_ID_AT_O, ES_DER_UTF8_STRING},
    [ES_NAME_OU] = {"OU", "organizationalUnitName", ES_OID_ID_AT_OU, ES_DER_UTF8_STRING},
    [ES_NAME_CN] = {"CN", "commonName", ES_OID_ID_AT_CN, ES_DER_UTF8_STRING},
    [ES_NAME_SERIAL] = {"serialNumber", "serialNumber", ES_OID_ID_AT_SERIAL, ES_DER_PRINTABLE},
    [ES_NAME_EMAIL] = {"emailAddress", "emailAddress", ES_OID_ID_AT_EMAIL, ES_DER_IA5_STRING},
};

const char *es_pki_name_type_str(int type)
{
    return type >= 0 && type < ES_NAME_TYPES ? name_types[type].sn : NULL;
}

static int type_from_text(const char *s, size_t n)
{
    for (int i = 0; i < ES_NAME_TYPES; i++)
        if ((strlen(name_types[i].sn) == n && strncasecmp(name_types[i].sn, s, n) == 0) ||
            (strlen(name_types[i].ln) == n && strncasecmp(name_types[i].ln, s, n) == 0))
            return i;
    return -1;
}

const char *es_pki_name_get(const es_name *n, int type)
{
    for (size_t i = 0; i < n->n; i++)
        if (n->a[i].type == type) return n->a[i].value;
    return NULL;
}

es_err es_pki_name_add(es_name *n, int type, const char *value)
{
    if (type < 0 || type >= ES_NAME_TYPES || !value) return ES_ERR_ARG;
    if (n->n == ES_PKI_NAME_MAX) return ES_ERR_LIMIT;
    size_t l = strlen(value);
    if (l > ES_PKI_VALUE_MAX) return ES_ERR_ARG;
    es_name_attr *a = &n->a[n->n++];
    memset(a, 0, sizeof *a);
    a->type = type;
    memcpy(a->value, value, l + 1);
    return ES_OK;
}

es_err es_pki_name_parse(const char *text, es_name *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (why && whylen) why[0] = 0;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (why) snprintf(why, whylen, __VA_ARGS__);                                               \
        return ES_ERR_FORMAT;                                                                      \
    } while (0)
    if (!text || text[0] != '/') FAIL("a subject is written /C=CN/O=.../CN=...");
    const char *s = text + 1;
    while (*s) {
        const char *eq = s;
        while (*eq && *eq != '=' && *eq != '/') eq++;
        if (*eq != '=') FAIL("'%.*s' has no '=' (TYPE=value)", (int)(eq - s), s);
        int type = type_from_text(s, (size_t)(eq - s));
        if (type < 0)
            FAIL("unknown attribute type '%.*s' (C, ST, L, O, OU, CN, serialNumber, emailAddress)",
                 (int)(eq - s), s);
        if (out->n == ES_PKI_NAME_MAX) FAIL("more than %d attributes", ES_PKI_NAME_MAX);
        es_name_attr *a = &out->a[out->n++];
        a->type = type;
        size_t k = 0;
        s = eq + 1;
        while (*s && *s != '/') {
            char c = *s++;
            if (c == '\\') {
                if (!*s) FAIL("'\\' at the end of the subject");
                c = *s++;
            }
            if (k == ES_PKI_VALUE_MAX)
                FAIL("%s value longer than %d bytes", name_types[type].sn, ES_PKI_VALUE_MAX);
            a->value[k++] = c;
        }
        a->value[k] = 0;
        if (*s == '/') {
            s++;
            if (!*s) FAIL("the subject ends with '/'");
        }
    }
    if (out->n == 0) FAIL("the subject is empty");
#undef FAIL
    return ES_OK;
}

/* UCS-2 (BMPString) to UTF-8; ES_ERR_FORMAT on a surrogate or overflow. */
static es_err bmp_to_utf8(es_slice in, char *out, size_t cap)
{
    size_t k = 0;
    if (in.len % 2) return ES_ERR_FORMAT;
    for (size_t i = 0; i < in.len; i += 2) {
        unsigned c = (unsigned)in.p[i] << 8 | in.p[i + 1];
        if (c == 0 || (c >= 0xd800 && c <= 0xdfff)) return ES_ERR_FORMAT;
        if (k + 4 > cap) return ES_ERR_FORMAT;
        k += es_utf8_put(c, (uint8_t *)out + k); /* 1 to 3: c is neither 0 nor a surrogate */
    }
    out[k] = 0;
    return ES_OK;
}

es_err es_pki_name_from_der(es_slice der, es_name *out)
{
    es_der d, seq, set, atv;
    es_der_tlv t;
    memset(out, 0, sizeof *out);
    es_der_init(&d, der, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK || es_der_done(&d) != ES_OK)
        return ES_ERR_FORMAT;
    while (es_der_more(&seq)) {
        if (es_der_open(&seq, ES_DER_SET, &t, &set) != ES_OK) return ES_ERR_FORMAT;
        while (es_der_more(&set)) {
            es_slice oid;
            es_der_tlv v;
            if (out->n == ES_PKI_NAME_MAX) return ES_ERR_LIMIT;
            if (es_der_open(&set, ES_DER_SEQUENCE, &t, &atv) != ES_OK ||
                es_der_read_oid(&atv, &oid) != ES_OK || es_der_read(&atv, &v) != ES_OK ||
                es_der_done(&atv) != ES_OK)
                return ES_ERR_FORMAT;
            es_name_attr *a = &out->a[out->n];
            memset(a, 0, sizeof *a);
            a->type = ES_NAME_OTHER;
            for (int i = 0; i < ES_NAME_TYPES; i++)
                if (es_oid_is(oid, name_types[i].oid)) a->type = i;
            if (a->type == ES_NAME_OTHER && es_oid_to_text(oid, a->oid, sizeof a->oid) != ES_OK)
                snprintf(a->oid, sizeof a->oid, "(unreadable OID)");
            if (v.tag == ES_DER_BMP_STRING) {
                if (bmp_to_utf8(v.val, a->value, sizeof a->value) != ES_OK) return ES_ERR_FORMAT;
            } else {
                es_der one;
                es_slice sv;
                es_der_init(&one, v.raw, NULL);
                if (es_der_read_string(&one, &sv, NULL) != ES_OK || sv.len > ES_PKI_VALUE_MAX ||
                    memchr(sv.p, 0, sv.len))
                    return ES_ERR_FORMAT;
                memcpy(a->value, sv.p, sv.len);
                a->value[sv.len] = 0;
            }
            out->n++;
        }
    }
    return ES_OK;
}

es_err es_pki_name_to_der(const es_name *n, es_buf *out)
{
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    for (size_t i = 0; i < n->n; i++) {
        const es_name_attr *a = &n->a[i];
        /* One attribute per RDN: a SET of one element is trivially in DER order. */
        es_der_w_begin(&w, ES_DER_SET);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        if (a->type >= 0 && a->type < ES_NAME_TYPES) {
            es_der_w_oid(&w, name_types[a->type].oid);
            es_der_w_prim(&w, name_types[a->type].str_tag, a->value, strlen(a->value));
        } else {
            es_der_w_oid_text(&w, a->oid);
            es_der_w_prim(&w, ES_DER_UTF8_STRING, a->value, strlen(a->value));
        }
        es_der_w_end(&w);
        es_der_w_end(&w);
    }
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

es_err es_pki_name_print(const es_name *n, es_buf *out)
{
    es_err rv = ES_OK;
    for (size_t i = 0; i < n->n && rv == ES_OK; i++) {
        const es_name_attr *a = &n->a[i];
        const char *t = a->type >= 0 && a->type < ES_NAME_TYPES ? name_types[a->type].sn : a->oid;
        rv = es_buf_printf(out, "/%s=", t);
        for (const char *p = a->value; *p && rv == ES_OK; p++) {
            if (*p == '/' || *p == '\\') rv = es_buf_append_byte(out, '\\');
            if (rv == ES_OK) rv = es_buf_append_byte(out, (uint8_t)*p);
        }
    }
    return rv;
}

/* --- subject alternative names --- */

es_err es_pki_san_parse(const char *text, es_pki_san *out)
{
    static const struct {
        const char *prefix;
        int type;
    } kinds[] = {
        {"IP:", ES_SAN_IP}, {"DNS:", ES_SAN_DNS}, {"URI:", ES_SAN_URI}, {"email:", ES_SAN_EMAIL}};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncasecmp(text, kinds[i].prefix, n) != 0) continue;
        size_t l = strlen(text + n);
        if (l == 0 || l > ES_PKI_VALUE_MAX) return ES_ERR_FORMAT;
        out->type = kinds[i].type;
        memcpy(out->value, text + n, l + 1);
        return ES_OK;
    }
    return ES_ERR_FORMAT;
}

es_err es_pki_san_from_der(es_slice der, es_pki_san *out, size_t max, size_t *n)
{
    es_der d, seq;
    es_der_tlv t;
    *n = 0;
    es_der_init(&d, der, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK) return ES_ERR_FORMAT;
    while (es_der_more(&seq)) {
        if (es_der_read(&seq, &t) != ES_OK) return ES_ERR_FORMAT;
        if (*n == max) return ES_ERR_LIMIT;
        es_pki_san *s = &out[*n];
        memset(s, 0, sizeof *s);
        switch (t.tag) {
        case ES_DER_CTX_PRIM(ES_SAN_EMAIL):
        case ES_DER_CTX_PRIM(ES_SAN_DNS):
        case ES_DER_CTX_PRIM(ES_SAN_URI):
            if (t.val.len == 0 || t.val.len > ES_PKI_VALUE_MAX || memchr(t.val.p, 0, t.val.len))
                return ES_ERR_FORMAT;
            s->type = (int)(t.tag & 0x1f);
            memcpy(s->value, t.val.p, t.val.len);
            break;
        case ES_DER_CTX_PRIM(ES_SAN_IP):
            s->type = ES_SAN_IP;
            if (t.val.len == 4) {
                snprintf(s->value, sizeof s->value, "%u.%u.%u.%u", t.val.p[0], t.val.p[1],
                         t.val.p[2], t.val.p[3]);
            } else if (t.val.len == 16) {
                size_t k = 0;
                for (int i = 0; i < 8; i++)
                    k += (size_t)snprintf(s->value + k, sizeof s->value - k, "%s%x", i ? ":" : "",
                                          (unsigned)(t.val.p[2 * i] << 8 | t.val.p[2 * i + 1]));
            } else {
                return ES_ERR_FORMAT;
            }
            break;
        default:
            return ES_ERR_UNSUPPORTED;
        }
        (*n)++;
    }
    return es_der_done(&d) == ES_OK ? ES_OK : ES_ERR_FORMAT;
}

/* --- GB 32100-2015 unified social credit code --- */

/* The 31 code characters: digits and capitals without I, O, S, V, Z. */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(char c)
{
    const char *p = c ? strchr(uscc_chars, c) : NULL;
    return p ? (int)(p - uscc_chars) : -1;
}

char es_pki_uscc_check_char(const char first17[17])
{
    /* GB 32100-2015 5.2: C18 = 31 - MOD(sum(Ci * Wi), 31), Wi = 3^(i-1) mod 31; 31 -> 0. */
    unsigned sum = 0, w = 1;
    for (int i = 0; i < 17; i++) {
        int v = uscc_value(first17[i]);
        if (v < 0) return 0;
        sum += (unsigned)v * w;
        w = w * 3 % 31;
    }
    unsigned c = 31 - sum % 31;
    return uscc_chars[c == 31 ? 0 : c];
}

/* GB 11714-1997 organisation code (9 characters, the last a check character). */
static int org_code_ok(const char *s)
{
    static const unsigned weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    unsigned sum = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        unsigned v;
        if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0');
        else if (c >= 'A' && c <= 'Z')
            v = (unsigned)(c - 'A' + 10);
        else
            return 0;
        sum += v * weights[i];
    }
    unsigned c9 = 11 - sum % 11;
    char want = c9 == 10 ? 'X' : c9 == 11 ? '0' : (char)('0' + c9);
    return s[8] == want;
}

es_err es_pki_uscc_check(const char *code, size_t len, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    *why = NULL;
    if (!code || len < 18) {
        *why = "shorter than 18 characters";
        return ES_ERR_FORMAT;
    }
    for (int i = 0; i < 18; i++)
        if (uscc_value(code[i]) < 0) {
            *why = "a character outside 0-9 and A-Z without I, O, S, V, Z";
            return ES_ERR_FORMAT;
        }
    for (int i = 2; i < 8; i++)
        if (code[i] < '0' || code[i] > '9') {
            *why = "characters 3-8 are not a 6-digit division code";
            return ES_ERR_FORMAT;
        }
    if (!org_code_ok(code + 8)) {
        *why = "characters 9-17 are not an organisation code with a valid GB 11714 check "
               "character";
        return ES_ERR_FORMAT;
    }
    if (es_pki_uscc_check_char(code) != code[17]) {
        *why = "the GB 32100 check character (18th) is wrong";
        return ES_ERR_FORMAT;
    }
    return ES_OK;
}

int es_pki_seal_code_is_national(const char *s)
{
    if (!s || strlen(s) != 14) return 0;
    for (int i = 0; i < 14; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}
