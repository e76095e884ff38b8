/* Lint before signing (docs/ca.md "Lint rules"): every rule runs and each failure is one
 * message, so that an operator sees everything wrong with a request at once. */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "pki/internal.h"

#define DAY 86400

/* Counts the code points of a UTF-8 string; -1 when it is not valid UTF-8 (overlong forms,
 * surrogates, past U+10FFFF) or holds a control character (C0, DEL, C1). */
static long utf8_chars(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t len = strlen(s), i = 0;
    long n = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = es_utf8_next(p + i, len - i, &cp);
        if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return -1;
        i += k;
        n++;
    }
    return n;
}

static int printable_ok(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(" '()+,-./:=?", c)))
            return 0;
    }
    return 1;
}

static int ascii_graphic(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

/* X.520 upper bounds (RFC 5280 appendix A), in characters. */
static long upper_bound(int type)
{
    switch (type) {
    case ES_NAME_ST:
    case ES_NAME_L:
        return 128;
    case ES_NAME_EMAIL:
        return 255;
    default:
        return 64;
    }
}

static void lint_subject(const pki_lint_in *in, es_pki_lint *l)
{
    const es_profile *p = in->profile;
    const es_name *n = in->tbs->subject;
    unsigned seen = 0;
    if (n->n == 0) pki_lint_add(l, "subject: empty");
    for (size_t i = 0; i < n->n; i++) {
        const es_name_attr *a = &n->a[i];
        if (a->type < 0 || a->type >= ES_NAME_TYPES) {
            pki_lint_add(l, "subject: attribute %s is not one this CA certifies", a->oid);
            continue;
        }
        const char *t = es_pki_name_type_str(a->type);
        if (!(p->subject_allowed & ES_NAME_BIT(a->type)))
            pki_lint_add(l, "subject: %s is not allowed by profile %s", t, p->name);
        if ((seen & ES_NAME_BIT(a->type)) && a->type != ES_NAME_OU)
            pki_lint_add(l, "subject: more than one %s", t);
        seen |= ES_NAME_BIT(a->type);
        long chars = utf8_chars(a->value);
        size_t len = strlen(a->value);
        if (len == 0) {
            pki_lint_add(l, "subject: %s is empty", t);
            continue;
        }
        if (chars < 0) {
            pki_lint_add(l, "subject: %s is not valid UTF-8 or holds a control character", t);
            continue;
        }
        if (a->value[0] == ' ' || a->value[len - 1] == ' ')
            pki_lint_add(l, "subject: %s has leading or trailing spaces", t);
        if (chars > upper_bound(a->type))
            pki_lint_add(l, "subject: %s is %ld characters, more than %ld", t, chars,
                         upper_bound(a->type));
        switch (a->type) {
        case ES_NAME_C:
            if (len != 2 || a->value[0] < 'A' || a->value[0] > 'Z' || a->value[1] < 'A' ||
                a->value[1] > 'Z')
                pki_lint_add(l, "subject: C '%s' is not a two-letter ISO 3166 code (CN)", a->value);
            break;
        case ES_NAME_SERIAL:
            if (!printable_ok(a->value))
                pki_lint_add(l, "subject: serialNumber has characters PrintableString lacks");
            break;
        case ES_NAME_EMAIL:
            if (!ascii_graphic(a->value) || !strchr(a->value, '@'))
                pki_lint_add(l, "subject: emailAddress '%s' is not an ASCII address", a->value);
            break;
        }
    }
    for (int t = 0; t < ES_NAME_TYPES; t++)
        if ((p->subject_required & ES_NAME_BIT(t)) && !(seen & ES_NAME_BIT(t)))
            pki_lint_add(l, "subject: %s is required by profile %s", es_pki_name_type_str(t),
                         p->name);

    if (p->subject_rule == ES_SUBJECT_SEAL) {
        /* spec/national.md: CN = the seal code, O = credit code + unit name. */
        const char *cn = es_pki_name_get(n, ES_NAME_CN);
        const char *o = es_pki_name_get(n, ES_NAME_O);
        if (cn && !es_pki_seal_code_is_national(cn)) {
            int industry = 0;
            if (p->code_pattern[0]) {
                regex_t re;
                if (regcomp(&re, p->code_pattern, REG_EXTENDED | REG_NOSUB) == 0) {
                    industry = regexec(&re, cn, 0, NULL, 0) == 0;
                    regfree(&re);
                }
            }
            if (!industry)
                pki_lint_add(l,
                             "subject: CN '%s' is neither a 14-digit national seal code nor an "
                             "industry code matching %s",
                             cn, p->code_pattern[0] ? p->code_pattern : "(no pattern set)");
        }
        if (o) {
            const char *why = NULL;
            if (es_pki_uscc_check(o, strlen(o), &why) != ES_OK)
                pki_lint_add(l,
                             "subject: O must start with an 18-character unified social credit "
                             "code (GB 32100): %s",
                             why);
            else if (strlen(o) == 18)
                pki_lint_add(l, "subject: O has no unit name after the credit code");
        }
    }
}

static int dns_ok(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > 253) return 0;
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];
        if (c == '.' || c == 0) {
            if (label == 0 || label > 63 || s[i - 1] == '-') return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
        if (label == 0 && c == '-') return 0;
        label++;
    }
    return 1;
}

/* scheme "://" host [":" port] [path]; *port is -1 without one, 0 when it is invalid. */
static int uri_ok(const char *s, long *port)
{
    *port = -1;
    if (!ascii_graphic(s)) return 0;
    const char *p = s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0) return 0;
    p += 3;
    const char *host = p, *host_end;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (!host_end) return 0;
        p = host_end + 1;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') p++;
        host_end = p;
    }
    if (host_end == host) return 0;
    if (*p == ':') {
        long v = 0;
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            v = v * 10 + (*p - '0');
            if (++digits > 5) return 0;
        }
        *port = digits && v >= 1 && v <= 65535 ? v : 0;
        if (*port == 0) return 0;
    }
    return *p == 0 || *p == '/' || *p == '?' || *p == '#';
}

static const char *san_name(int type)
{
    switch (type) {
    case ES_SAN_IP:
        return "IP";
    case ES_SAN_DNS:
        return "DNS";
    case ES_SAN_URI:
        return "URI";
    case ES_SAN_EMAIL:
        return "email";
    }
    return "?";
}

static void lint_san(const pki_lint_in *in, es_pki_lint *l)
{
    const es_profile *p = in->profile;
    const es_pki_tbs *t = in->tbs;
    int port_seen = 0;
    if (p->san == ES_PRESENCE_NONE && t->n_san)
        pki_lint_add(l, "subjectAltName: profile %s takes none", p->name);
    if (p->san == ES_PRESENCE_REQUIRED && !t->n_san)
        pki_lint_add(l, "subjectAltName: required by profile %s (--san IP:... / DNS:... / URI:...)",
                     p->name);
    if (t->n_san > ES_PKI_SAN_MAX) {
        pki_lint_add(l, "subjectAltName: more than %d entries", ES_PKI_SAN_MAX);
        return;
    }
    for (size_t i = 0; i < t->n_san; i++) {
        const es_pki_san *s = &t->san[i];
        uint8_t ip[16];
        long port;
        if (p->san != ES_PRESENCE_NONE && !(p->san_types & ES_SAN_BIT(s->type)))
            pki_lint_add(l, "subjectAltName: %s entries are not allowed by profile %s",
                         san_name(s->type), p->name);
        for (size_t j = 0; j < i; j++)
            if (t->san[j].type == s->type && strcmp(t->san[j].value, s->value) == 0)
                pki_lint_add(l, "subjectAltName: %s:%s given twice", san_name(s->type), s->value);
        switch (s->type) {
        case ES_SAN_IP:
            if (!pki_ip_parse(s->value, ip))
                pki_lint_add(l, "subjectAltName: IP '%s' is not an IPv4 or IPv6 address", s->value);
            break;
        case ES_SAN_DNS:
            if (!dns_ok(s->value))
                pki_lint_add(l, "subjectAltName: DNS '%s' is not a host name", s->value);
            break;
        case ES_SAN_URI:
            if (!uri_ok(s->value, &port))
                pki_lint_add(l,
                             "subjectAltName: URI '%s' is not scheme://host[:port][/path] "
                             "with a port of 1-65535",
                             s->value);
            else if (port > 0)
                port_seen = 1;
            break;
        case ES_SAN_EMAIL: {
            const char *at = strchr(s->value, '@');
            if (!ascii_graphic(s->value) || !at || at == s->value || !at[1] || strchr(at + 1, '@'))
                pki_lint_add(l, "subjectAltName: email '%s' is not an address", s->value);
            break;
        }
        default:
            pki_lint_add(l, "subjectAltName: an entry of unknown type");
        }
    }
    /* LD/T 01.1 7.3.2 a, 7.3.3 a: a system registers its IP address and port. */
    if (p->san_port && !port_seen)
        pki_lint_add(l,
                     "subjectAltName: profile %s needs the system's port in a URI "
                     "(URI:https://10.0.0.1:8443/)",
                     p->name);
}

static void lint_validity(const pki_lint_in *in, es_pki_lint *l)
{
    const es_profile *p = in->profile;
    const es_pki_tbs *t = in->tbs;
    char a[32], b[32];
    if (t->not_before >= t->not_after) {
        pki_lint_add(l, "validity: notBefore is not before notAfter");
        return;
    }
    if (t->not_after <= in->now) pki_lint_add(l, "validity: notAfter is in the past");
    if (p->max_days && t->not_after - t->not_before > (es_time)p->max_days * DAY)
        pki_lint_add(l, "validity: %lld days, more than max_days %ld of profile %s",
                     (long long)((t->not_after - t->not_before + DAY - 1) / DAY), p->max_days,
                     p->name);
    if (!in->issuer) return;
    const es_pki_cert *is = in->issuer;
    if (t->not_before < is->not_before) {
        es_time_format_iso(is->not_before, a);
        pki_lint_add(l, "validity: starts before the issuer's certificate (%s)", a);
    }
    if (t->not_after > is->not_after) {
        es_time_format_iso(t->not_after, a);
        es_time_format_iso(is->not_after, b);
        pki_lint_add(l, "validity: ends %s, after the issuer's certificate (%s); use fewer --days",
                     a, b);
    }
    if (in->now < is->not_before || in->now > is->not_after)
        pki_lint_add(l, "validity: the issuer's certificate is not valid now");
}

static void lint_usage(const pki_lint_in *in, es_pki_lint *l)
{
    const es_profile *p = in->profile;
    if (!p->key_usage) pki_lint_add(l, "keyUsage: profile %s sets none", p->name);
    if (p->is_ca && !(p->key_usage & ES_KU_KEY_CERT_SIGN))
        pki_lint_add(l, "keyUsage: a CA certificate needs keyCertSign");
    if (!p->is_ca && (p->key_usage & (ES_KU_KEY_CERT_SIGN | ES_KU_CRL_SIGN)))
        pki_lint_add(l, "keyUsage: keyCertSign/cRLSign in a certificate that is not a CA's");
    if (!in->issuer) return;
    const es_pki_cert *is = in->issuer;
    if (!is->is_ca) pki_lint_add(l, "issuer: its certificate is not a CA's (basicConstraints)");
    if (is->has_key_usage && !(is->key_usage & ES_KU_KEY_CERT_SIGN))
        pki_lint_add(l, "issuer: its keyUsage lacks keyCertSign");
    if (p->is_ca && is->pathlen >= 0) {
        /* RFC 5280 4.2.1.9: pathLenConstraint counts the CA certificates below the issuer. */
        if (is->pathlen == 0)
            pki_lint_add(l, "issuer: pathlen 0 forbids issuing CA certificates");
        else if (p->pathlen < 0 || p->pathlen >= is->pathlen)
            pki_lint_add(l, "pathlen: profile %s must set a pathlen below the issuer's (%d)",
                         p->name, is->pathlen);
    }
}

static void lint_key(const pki_lint_in *in, es_pki_lint *l)
{
    const es_pki_tbs *t = in->tbs;
    if (es_sm2_pub_check(t->pub) != ES_OK)
        pki_lint_add(l, "public key: not a point on the SM2 curve");
    if (in->issuer && in->issuer->is_sm2 && memcmp(in->issuer->pub, t->pub, ES_SM2_PUB_LEN) == 0)
        pki_lint_add(l, "public key: the issuer's own key");
}

static void lint_serial(const pki_lint_in *in, es_pki_lint *l)
{
    const es_pki_tbs *t = in->tbs;
    size_t i = 0;
    while (i < t->serial_len && t->serial[i] == 0) i++;
    if (t->serial_len == 0 || i == t->serial_len)
        pki_lint_add(l, "serial: must be positive (RFC 5280 4.1.2.2)");
    else if (t->serial_len - i + ((t->serial[i] & 0x80) ? 1 : 0) > ES_PKI_SERIAL_MAX)
        pki_lint_add(l, "serial: longer than 20 octets (RFC 5280 4.1.2.2)");
    if (in->serial_taken) pki_lint_add(l, "serial: already issued by this CA");
}

void pki_lint(const pki_lint_in *in, es_pki_lint *l)
{
    const es_profile *p = in->profile;
    const es_pki_tbs *t = in->tbs;
    lint_serial(in, l);
    lint_validity(in, l);
    lint_usage(in, l);
    lint_key(in, l);
    lint_subject(in, l);
    lint_san(in, l);
    if (p->seal_source == ES_PRESENCE_NONE && t->seal_source != ES_SEAL_SOURCE_NONE)
        pki_lint_add(l, "seal source: profile %s takes none", p->name);
    if (p->seal_source == ES_PRESENCE_REQUIRED && t->seal_source == ES_SEAL_SOURCE_NONE)
        pki_lint_add(l, "seal source: required by profile %s (government or hrss)", p->name);
    if (t->seal_source != ES_SEAL_SOURCE_NONE && !es_pki_seal_source_name(t->seal_source))
        pki_lint_add(l, "seal source: unknown value %d", t->seal_source);
    if (!in->self_signed && in->issuer) {
        es_buf sub;
        es_buf_init(&sub, ES_MAX_CERT_DER);
        if (es_pki_name_to_der(t->subject, &sub) == ES_OK &&
            es_slice_eq(es_slice_make(sub.p, sub.len), in->issuer->subject))
            pki_lint_add(l, "subject: the same name as the issuer's");
        es_buf_cleanup(&sub);
    }
}
