/* pki helpers shared by certificates, requests and CRLs: DER pieces, signing, key
 * identifiers, SubjectPublicKeyInfo, PEM, and the name tables. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pki/internal.h"

/* --- names of enumerations --- */

const char *es_pki_seal_source_name(int source)
{
    switch (source) {
    case ES_SEAL_SOURCE_GOVERNMENT:
        return "government";
    case ES_SEAL_SOURCE_HRSS:
        return "hrss";
    }
    return NULL;
}

int es_pki_seal_source_from_name(const char *name)
{
    if (!name) return ES_SEAL_SOURCE_NONE;
    if (strcasecmp(name, "government") == 0) return ES_SEAL_SOURCE_GOVERNMENT;
    if (strcasecmp(name, "hrss") == 0) return ES_SEAL_SOURCE_HRSS;
    return ES_SEAL_SOURCE_NONE;
}

static const char *const reasons[] = {
    [ES_REASON_UNSPECIFIED] = "unspecified",
    [ES_REASON_KEY_COMPROMISE] = "keyCompromise",
    [ES_REASON_CA_COMPROMISE] = "cACompromise",
    [ES_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
    [ES_REASON_SUPERSEDED] = "superseded",
    [ES_REASON_CESSATION] = "cessationOfOperation",
    [ES_REASON_CERTIFICATE_HOLD] = "certificateHold",
    [ES_REASON_REMOVE_FROM_CRL] = "removeFromCRL",
    [ES_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
    [ES_REASON_AA_COMPROMISE] = "aACompromise",
};

const char *es_pki_reason_name(int reason)
{
    if (reason < 0 || (size_t)reason >= sizeof reasons / sizeof reasons[0]) return NULL;
    return reasons[reason];
}

int es_pki_reason_from_name(const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i] && strcasecmp(reasons[i], name) == 0) return (int)i;
    return -1;
}

static const struct {
    const char *name;
    unsigned bit;
} kus[] = {
    {"digitalSignature", ES_KU_DIGITAL_SIGNATURE},
    {"nonRepudiation", ES_KU_NON_REPUDIATION},
    {"keyEncipherment", ES_KU_KEY_ENCIPHERMENT},
    {"dataEncipherment", ES_KU_DATA_ENCIPHERMENT},
    {"keyAgreement", ES_KU_KEY_AGREEMENT},
    {"keyCertSign", ES_KU_KEY_CERT_SIGN},
    {"cRLSign", ES_KU_CRL_SIGN},
};

static const struct {
    unsigned bit;
    es_oid_id oid; /* its name is the row's name in the OID table */
} ekus[] = {
    {ES_EKU_SERVER_AUTH, ES_OID_ID_KP_SERVER_AUTH},
    {ES_EKU_CLIENT_AUTH, ES_OID_ID_KP_CLIENT_AUTH},
    {ES_EKU_CODE_SIGNING, ES_OID_ID_KP_CODE_SIGNING},
    {ES_EKU_EMAIL, ES_OID_ID_KP_EMAIL},
    {ES_EKU_TIME_STAMP, ES_OID_ID_KP_TIME_STAMPING},
    {ES_EKU_OCSP_SIGNING, ES_OID_ID_KP_OCSP_SIGNING},
};

unsigned pki_ku_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof kus / sizeof kus[0]; i++)
        if (strcasecmp(kus[i].name, name) == 0) return kus[i].bit;
    return 0;
}

unsigned pki_eku_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof ekus / sizeof ekus[0]; i++)
        if (strcasecmp(es_oid_info_of(ekus[i].oid)->name, name) == 0) return ekus[i].bit;
    return 0;
}

const char *pki_eku_oid(unsigned bit)
{
    for (size_t i = 0; i < sizeof ekus / sizeof ekus[0]; i++)
        if (ekus[i].bit == bit) return es_oid_info_of(ekus[i].oid)->dotted;
    return NULL;
}

unsigned pki_eku_bit(es_slice oid)
{
    for (size_t i = 0; i < sizeof ekus / sizeof ekus[0]; i++)
        if (es_oid_is(oid, ekus[i].oid)) return ekus[i].bit;
    return 0;
}

es_err pki_ku_print(unsigned ku, es_buf *out)
{
    es_err rv = ES_OK;
    int first = 1;
    for (size_t i = 0; i < sizeof kus / sizeof kus[0] && rv == ES_OK; i++) {
        if (!(ku & kus[i].bit)) continue;
        rv = es_buf_printf(out, "%s%s", first ? "" : ", ", kus[i].name);
        first = 0;
    }
    if (rv == ES_OK && first) rv = es_buf_append_str(out, "(none)");
    return rv;
}

void pki_lint_add(es_pki_lint *l, const char *fmt, ...)
{
    if (!l) return;
    if (l->n >= ES_PKI_LINT_MAX) {
        snprintf(l->msg[ES_PKI_LINT_MAX - 1], sizeof l->msg[0], "(and %zu more failures)",
                 l->n - ES_PKI_LINT_MAX + 2);
        l->n++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->msg[l->n], sizeof l->msg[0], fmt, ap);
    va_end(ap);
    l->n++;
}

/* --- DER pieces --- */

void pki_w_sig_alg(es_der_w *w)
{
    es_der_w_begin(w, ES_DER_SEQUENCE);
    es_der_w_oid_text(w, ES_OID_SM2_SM3);
    es_der_w_end(w);
}

void pki_w_time(es_der_w *w, es_time t)
{
    int y, mo, d, h, mi, s;
    es_time_to_fields(t, &y, &mo, &d, &h, &mi, &s);
    if (y >= 1950 && y < 2050) {
        char u[16];
        snprintf(u, sizeof u, "%02d%02d%02d%02d%02d%02dZ", y % 100, mo, d, h, mi, s);
        es_der_w_prim(w, ES_DER_UTC_TIME, u, 13);
    } else {
        es_der_w_gentime(w, t);
    }
}

void pki_w_ext_begin(es_der_w *w, const uint8_t *oid_der, size_t oid_len, int critical)
{
    es_der_w_begin(w, ES_DER_SEQUENCE);
    es_der_w_prim(w, ES_DER_OID, oid_der, oid_len);
    /* DER: a DEFAULT FALSE is left out (X.690 11.5). */
    if (critical) es_der_w_bool(w, 1);
    es_der_w_begin(w, ES_DER_OCTET_STRING);
}

void pki_w_ext_begin_text(es_der_w *w, const char *oid, int critical)
{
    es_der_w_begin(w, ES_DER_SEQUENCE);
    es_der_w_oid_text(w, oid);
    if (critical) es_der_w_bool(w, 1);
    es_der_w_begin(w, ES_DER_OCTET_STRING);
}

void pki_w_ext_end(es_der_w *w)
{
    es_der_w_end(w);
    es_der_w_end(w);
}

/* Parses dotted IPv4 or IPv6 text into 4 or 16 octets without the resolver headers (which
 * need more than _POSIX_C_SOURCE in some libcs); returns the length or 0. */
static size_t parse_ipv4(const char *s, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            if (digits && v == 0) return 0; /* no leading zeros: "01" is ambiguous (octal) */
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255) return 0;
        }
        out[i] = (uint8_t)v;
        if (i < 3 && *s++ != '.') return 0;
    }
    return *s ? 0 : 4;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t parse_ipv6(const char *s, uint8_t out[16])
{
    uint16_t g[8];
    int n = 0, gap = -1;
    if (s[0] == ':' && s[1] == ':') {
        gap = 0;
        s += 2;
    } else if (s[0] == ':') {
        return 0;
    }
    while (*s) {
        if (n == 8) return 0;
        /* An embedded IPv4 tail ("::ffff:10.0.0.1"). */
        if (strchr(s, '.') && !strchr(s, ':')) {
            uint8_t v4[4];
            if (n > 6 || !parse_ipv4(s, v4)) return 0;
            g[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
            g[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
            break;
        }
        unsigned v = 0;
        int digits = 0, h;
        while ((h = hexval(*s)) >= 0) {
            v = v << 4 | (unsigned)h;
            if (++digits > 4) return 0;
            s++;
        }
        if (!digits) return 0;
        g[n++] = (uint16_t)v;
        if (*s == ':') {
            s++;
            if (*s == ':') {
                if (gap >= 0) return 0;
                gap = n;
                s++;
            } else if (!*s) {
                return 0;
            }
        } else if (*s) {
            return 0;
        }
    }
    if (gap < 0 && n != 8) return 0;
    if (gap >= 0 && n > 7) return 0;
    /* The groups after "::" go to the end; the gap is zeros. */
    int fill = 8 - n, k = 0;
    uint16_t full[8] = {0};
    for (int i = 0; i < n; i++) {
        if (gap >= 0 && i == gap) k += fill;
        full[k++] = g[i];
    }
    for (int i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)(full[i] >> 8);
        out[2 * i + 1] = (uint8_t)full[i];
    }
    return 16;
}

size_t pki_ip_parse(const char *s, uint8_t out[16])
{
    if (strchr(s, ':')) return parse_ipv6(s, out);
    return parse_ipv4(s, out);
}

es_err pki_w_general_name(es_der_w *w, const es_pki_san *s)
{
    uint8_t ip[16];
    size_t n;
    switch (s->type) {
    case ES_SAN_EMAIL:
    case ES_SAN_DNS:
    case ES_SAN_URI:
        es_der_w_prim(w, ES_DER_CTX_PRIM((unsigned)s->type), s->value, strlen(s->value));
        return ES_OK;
    case ES_SAN_IP:
        if ((n = pki_ip_parse(s->value, ip)) == 0) return ES_ERR_FORMAT;
        es_der_w_prim(w, ES_DER_CTX_PRIM(7), ip, n);
        return ES_OK;
    }
    return ES_ERR_UNSUPPORTED;
}

es_err pki_w_signed(es_buf *out, es_slice tbs, es_signer *signer, const char *id)
{
    es_der_w w;
    es_buf sig;
    size_t start = out->len;
    es_buf_init(&sig, 128);
    es_err rv = es_signer_sign_message(signer, id, tbs.p, tbs.len, &sig);
    if (rv == ES_OK) {
        es_der_w_init(&w, out);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        es_der_w_raw(&w, tbs.p, tbs.len);
        pki_w_sig_alg(&w);
        es_der_w_bits(&w, sig.p, sig.len);
        es_der_w_end(&w);
        rv = es_der_w_finish(&w);
    }
    if (rv != ES_OK) out->len = start; /* nothing half-written is left behind */
    es_buf_cleanup(&sig);
    return rv;
}

es_err pki_read_ext(es_der *list, es_slice *oid, es_slice *value)
{
    return es_x509_ext_next(list, oid, value) == ES_OK ? ES_OK : ES_ERR_FORMAT;
}

es_err pki_verify(const uint8_t pub[ES_SM2_PUB_LEN], const char *id, es_slice msg, es_slice sig)
{
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    if (!id) id = ES_SM2_DEFAULT_ID;
    es_err rv = es_sm2_sig_decode(sig, r, s, NULL);
    if (rv != ES_OK) return ES_ERR_VERIFY;
    if ((rv = es_sm2_digest(pub, id, strlen(id), msg.p, msg.len, e)) != ES_OK) return rv;
    rv = es_sm2_verify_digest(pub, e, r, s);
    return rv == ES_ERR_KEY ? ES_ERR_VERIFY : rv;
}

int pki_oid_is(es_slice oid, const char *dotted)
{
    uint8_t tmp[64];
    es_buf b;
    es_buf_init(&b, sizeof tmp);
    int eq = es_oid_from_text(dotted, &b) == ES_OK && es_slice_eq(oid, es_slice_make(b.p, b.len));
    es_buf_cleanup(&b);
    return eq;
}

es_err pki_read_spki(es_der *d, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_der_tlv t;
    if (es_der_expect(d, ES_DER_SEQUENCE, &t) != ES_OK) return ES_ERR_FORMAT;
    return es_spki_sm2(t.raw, ES_X509_STRICT, pub);
}

es_err es_pki_key_id(const uint8_t pub[ES_SM2_PUB_LEN], uint8_t out[ES_PKI_KEY_ID_LEN])
{
    uint8_t h[ES_SM3_LEN];
    es_err rv = es_sm3(pub, ES_SM2_PUB_LEN, h);
    if (rv == ES_OK) memcpy(out, h, ES_PKI_KEY_ID_LEN);
    return rv;
}

es_err es_pki_spki_to_der(const uint8_t pub[ES_SM2_PUB_LEN], es_buf *out)
{
    return es_sm2_pub_spki(pub, out);
}

es_err es_pki_spki_read(const uint8_t *p, size_t len, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_buf der;
    es_buf_init(&der, ES_MAX_CERT_DER);
    es_err rv = es_pki_pem_decode(p, len, "PUBLIC KEY", &der);
    if (rv == ES_OK) {
        es_der d;
        es_der_init(&d, es_slice_make(der.p, der.len), NULL);
        rv = pki_read_spki(&d, pub);
        if (rv == ES_OK && es_der_done(&d) != ES_OK) rv = ES_ERR_FORMAT;
        if (rv == ES_OK && es_sm2_pub_check(pub) != ES_OK) rv = ES_ERR_KEY;
    }
    es_buf_cleanup(&der);
    return rv;
}

/* --- PEM --- */

es_err es_pki_pem_encode(const char *label, es_slice der, es_buf *out)
{
    return es_pem_encode(label, der.p, der.len, out);
}

/* Finds needle in [p, p+len); NULL when absent. */
/* The first needle in p[0..len): memchr to each candidate first byte, then one memcmp (a
 * memcmp at every offset made PEM detection the hot spot of fuzz_pki on 58 KB seals). */
static const uint8_t *find(const uint8_t *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    const uint8_t *end = p + len, *q = p;
    if (n == 0 || n > len) return n == 0 ? p : NULL;
    while ((size_t)(end - q) >= n &&
           (q = memchr(q, (unsigned char)needle[0], (size_t)(end - q) - n + 1)) != NULL) {
        if (memcmp(q, needle, n) == 0) return q;
        q++;
    }
    return NULL;
}

es_err es_pki_pem_decode(const uint8_t *p, size_t len, const char *label, es_buf *out)
{
    if (!find(p, len, "-----BEGIN ")) return es_buf_append(out, p, len);
    char begin[96], end[96];
    snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
    snprintf(end, sizeof end, "-----END %s-----", label);
    const uint8_t *b = find(p, len, begin);
    if (!b) return ES_ERR_PEM;
    b += strlen(begin);
    const uint8_t *e = find(b, len - (size_t)(b - p), end);
    if (!e) return ES_ERR_PEM;
    /* RFC 7468 allows no headers in these types; refuse a "Proc-Type" (encrypted) block. */
    if (find(b, (size_t)(e - b), ":")) return ES_ERR_PEM;
    size_t before = out->len;
    es_err rv = es_base64_decode((const char *)b, (size_t)(e - b), out);
    /* An empty block holds nothing of the label's type. */
    return rv == ES_OK && out->len > before ? ES_OK : ES_ERR_PEM;
}
