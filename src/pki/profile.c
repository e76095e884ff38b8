/* Certificate profiles as data: the INI-like reader and the profiles file (docs/ca.md). */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pki/internal.h"

/* --- profiles --- */

es_slice es_pki_profiles_builtin(void)
{
    return es_slice_make(es_pki_profiles_text, es_pki_profiles_text_len);
}

const es_profile *es_pki_profile_find(const es_profiles *ps, const char *name)
{
    for (size_t i = 0; name && i < ps->n; i++)
        if (strcmp(ps->p[i].name, name) == 0) return &ps->p[i];
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1")) {
        *out = 1;
        return 1;
    }
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0")) {
        *out = 0;
        return 1;
    }
    return 0;
}

static int parse_long(const char *v, long min, long max, long *out)
{
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (!*v || !end || *end || x < min || x > max) return 0;
    *out = x;
    return 1;
}

/* Splits a comma-separated list and maps each item through f; 0 with the bad item in bad. */
static int parse_list(const char *v, unsigned (*f)(const char *), unsigned *out, char *bad,
                      size_t badlen)
{
    char item[64];
    *out = 0;
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',') v++;
        if (!*v) break;
        size_t n = strcspn(v, ",");
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
        if (n >= sizeof item) n = sizeof item - 1;
        memcpy(item, v, n);
        item[n] = 0;
        unsigned bit = f(item);
        if (!bit) {
            snprintf(bad, badlen, "%s", item);
            return 0;
        }
        *out |= bit;
        v += n;
        while (*v && *v != ',') v++;
    }
    return 1;
}

static unsigned name_bit(const char *s)
{
    for (int i = 0; i < ES_NAME_TYPES; i++)
        if (strcasecmp(es_pki_name_type_str(i), s) == 0) return ES_NAME_BIT(i);
    return 0;
}

static unsigned san_bit(const char *s)
{
    if (!strcasecmp(s, "IP")) return ES_SAN_BIT(ES_SAN_IP);
    if (!strcasecmp(s, "DNS")) return ES_SAN_BIT(ES_SAN_DNS);
    if (!strcasecmp(s, "URI")) return ES_SAN_BIT(ES_SAN_URI);
    if (!strcasecmp(s, "email")) return ES_SAN_BIT(ES_SAN_EMAIL);
    return 0;
}

static int parse_presence(const char *v, int *out)
{
    if (!strcasecmp(v, "none"))
        *out = ES_PRESENCE_NONE;
    else if (!strcasecmp(v, "optional"))
        *out = ES_PRESENCE_OPTIONAL;
    else if (!strcasecmp(v, "required"))
        *out = ES_PRESENCE_REQUIRED;
    else
        return 0;
    return 1;
}

#define STD_NAMES                                                                                  \
    (ES_NAME_BIT(ES_NAME_C) | ES_NAME_BIT(ES_NAME_ST) | ES_NAME_BIT(ES_NAME_L) |                   \
     ES_NAME_BIT(ES_NAME_O) | ES_NAME_BIT(ES_NAME_OU) | ES_NAME_BIT(ES_NAME_CN))

static void profile_defaults(es_profile *p, const char *name)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->pathlen = -1;
    p->key_usage_critical = 1;
    p->days = 365;
    p->subject_required = ES_NAME_BIT(ES_NAME_CN);
    p->subject_allowed = STD_NAMES;
    p->san_types = ES_SAN_BIT(ES_SAN_DNS) | ES_SAN_BIT(ES_SAN_IP) | ES_SAN_BIT(ES_SAN_URI) |
                   ES_SAN_BIT(ES_SAN_EMAIL);
    p->crl_dp = 1;
}

static es_err profile_key(void *ctx, const char *section, const char *key, const char *v, char *why,
                          size_t whylen)
{
    es_profiles *ps = ctx;
    char bad[64];
    long l;
#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(why, whylen, __VA_ARGS__);                                                        \
        return ES_ERR_CONFIG;                                                                      \
    } while (0)
    if (!key) {
        if (strlen(section) >= sizeof ps->p[0].name) BAD("profile name '%s' too long", section);
        if (es_pki_profile_find(ps, section)) BAD("profile [%s] defined twice", section);
        if (ps->n == ES_PKI_PROFILES_MAX) BAD("more than %d profiles", ES_PKI_PROFILES_MAX);
        profile_defaults(&ps->p[ps->n++], section);
        return ES_OK;
    }
    es_profile *p = &ps->p[ps->n - 1];
    if (!strcmp(key, "description")) {
        snprintf(p->description, sizeof p->description, "%s", v);
    } else if (!strcmp(key, "ca")) {
        if (!parse_bool(v, &p->is_ca)) BAD("ca: yes or no");
    } else if (!strcmp(key, "pathlen")) {
        if (!strcasecmp(v, "none"))
            p->pathlen = -1;
        else if (!parse_long(v, 0, 16, &l))
            BAD("pathlen: 0 to 16, or none");
        else
            p->pathlen = (int)l;
    } else if (!strcmp(key, "key_usage")) {
        if (!parse_list(v, pki_ku_from_name, &p->key_usage, bad, sizeof bad))
            BAD("key_usage: unknown usage '%s' (digitalSignature, nonRepudiation, "
                "keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign)",
                bad);
    } else if (!strcmp(key, "key_usage_critical")) {
        if (!parse_bool(v, &p->key_usage_critical)) BAD("key_usage_critical: yes or no");
    } else if (!strcmp(key, "ext_key_usage")) {
        if (!parse_list(v, pki_eku_from_name, &p->ext_key_usage, bad, sizeof bad))
            BAD("ext_key_usage: unknown usage '%s' (serverAuth, clientAuth, codeSigning, "
                "emailProtection, timeStamping, OCSPSigning)",
                bad);
    } else if (!strcmp(key, "days")) {
        if (!parse_long(v, 1, 36500, &p->days)) BAD("days: 1 to 36500");
    } else if (!strcmp(key, "max_days")) {
        if (!parse_long(v, 0, 36500, &p->max_days)) BAD("max_days: 0 (no limit) to 36500");
    } else if (!strcmp(key, "subject_rule")) {
        if (!strcasecmp(v, "seal"))
            p->subject_rule = ES_SUBJECT_SEAL;
        else if (!strcasecmp(v, "none"))
            p->subject_rule = ES_SUBJECT_ANY;
        else
            BAD("subject_rule: seal or none");
    } else if (!strcmp(key, "subject_required") || !strcmp(key, "subject_allowed")) {
        unsigned m;
        if (!parse_list(v, name_bit, &m, bad, sizeof bad))
            BAD("%s: unknown attribute '%s' (C, ST, L, O, OU, CN, serialNumber, emailAddress)", key,
                bad);
        if (!strcmp(key, "subject_required"))
            p->subject_required = m;
        else
            p->subject_allowed = m;
    } else if (!strcmp(key, "san")) {
        if (!parse_presence(v, &p->san)) BAD("san: none, optional or required");
    } else if (!strcmp(key, "san_types")) {
        if (!parse_list(v, san_bit, &p->san_types, bad, sizeof bad))
            BAD("san_types: unknown type '%s' (DNS, IP, URI, email)", bad);
    } else if (!strcmp(key, "san_port")) {
        int req = 0;
        if (!strcasecmp(v, "required"))
            req = 1;
        else if (strcasecmp(v, "none") && strcasecmp(v, "optional") && !parse_bool(v, &req))
            BAD("san_port: required or none");
        p->san_port = req;
    } else if (!strcmp(key, "seal_source")) {
        if (!parse_presence(v, &p->seal_source)) BAD("seal_source: none, optional or required");
    } else if (!strcmp(key, "seal_source_default")) {
        if (!*v || !strcasecmp(v, "none"))
            p->seal_source_default = ES_SEAL_SOURCE_NONE;
        else if (!(p->seal_source_default = es_pki_seal_source_from_name(v)))
            BAD("seal_source_default: government, hrss or none");
    } else if (!strcmp(key, "seal_source_oid")) {
        es_buf b;
        es_buf_init(&b, 128);
        es_err rv = *v ? es_oid_from_text(v, &b) : ES_OK;
        es_buf_cleanup(&b);
        if (rv != ES_OK || strlen(v) >= sizeof p->seal_source_oid)
            BAD("seal_source_oid: a dotted OID with arcs below 2^64");
        snprintf(p->seal_source_oid, sizeof p->seal_source_oid, "%s", v);
    } else if (!strcmp(key, "code_pattern")) {
        if (strlen(v) >= sizeof p->code_pattern) BAD("code_pattern: too long");
        regex_t re;
        if (*v && regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
            BAD("code_pattern: not a POSIX extended regular expression");
        if (*v) regfree(&re);
        snprintf(p->code_pattern, sizeof p->code_pattern, "%s", v);
    } else if (!strcmp(key, "crl_dp")) {
        if (!parse_bool(v, &p->crl_dp)) BAD("crl_dp: yes or no");
    } else {
        BAD("unknown key '%s' in [%s]", key, section);
    }
#undef BAD
    return ES_OK;
}

/* Profiles that could only produce certificates lint refuses are refused when read. */
static es_err profile_check(const es_profile *p, char *why, size_t whylen)
{
#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(why, whylen, "[%s]: ", p->name);                                                  \
        size_t o = strlen(why);                                                                    \
        snprintf(why + o, whylen - o, __VA_ARGS__);                                                \
        return ES_ERR_CONFIG;                                                                      \
    } while (0)
    if (!p->key_usage) BAD("no key_usage");
    if (p->is_ca && !(p->key_usage & ES_KU_KEY_CERT_SIGN))
        BAD("a CA profile needs keyCertSign in key_usage");
    if (!p->is_ca && (p->key_usage & (ES_KU_KEY_CERT_SIGN | ES_KU_CRL_SIGN)))
        BAD("keyCertSign and cRLSign are for CA profiles (ca = yes)");
    if (!p->is_ca && p->pathlen >= 0) BAD("pathlen is for CA profiles");
    if (p->max_days && p->days > p->max_days) BAD("days is more than max_days");
    if (p->subject_required & ~p->subject_allowed)
        BAD("subject_required names an attribute subject_allowed does not");
    if (p->subject_rule == ES_SUBJECT_SEAL &&
        (p->subject_required & (ES_NAME_BIT(ES_NAME_CN) | ES_NAME_BIT(ES_NAME_O))) !=
            (ES_NAME_BIT(ES_NAME_CN) | ES_NAME_BIT(ES_NAME_O)))
        BAD("subject_rule = seal needs CN and O in subject_required");
    if (p->san != ES_PRESENCE_NONE && !p->san_types) BAD("san without san_types");
    if (p->san_port && (p->san == ES_PRESENCE_NONE || !(p->san_types & ES_SAN_BIT(ES_SAN_URI))))
        BAD("san_port needs san and URI in san_types");
    if (p->seal_source == ES_PRESENCE_NONE && p->seal_source_default)
        BAD("seal_source_default without seal_source");
#undef BAD
    return ES_OK;
}

es_err es_pki_profiles_parse(es_slice text, es_profiles *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (text.len > ES_PKI_MAX_PROFILES_FILE) {
        if (why) snprintf(why, whylen, "larger than %u bytes", ES_PKI_MAX_PROFILES_FILE);
        return ES_ERR_CONFIG;
    }
    es_err rv = es_ini_parse(text, profile_key, out, why, whylen);
    for (size_t i = 0; rv == ES_OK && i < out->n; i++) rv = profile_check(&out->p[i], why, whylen);
    if (rv == ES_OK && out->n == 0) {
        if (why) snprintf(why, whylen, "no [profile] defined");
        rv = ES_ERR_CONFIG;
    }
    return rv;
}
