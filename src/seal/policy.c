/* The policy check (docs/verification.md "Policy"): what LD/T 01.1 and the national
 * conventions ask of a seal beyond its signatures. The seal code is its certificate's CN
 * (spec/national.md), the seal's validity lies within its certificate's, and (under the
 * LD/T policy, for seals checked against our own roots) the maker certificate is a making
 * system's. Another vendor's seal that breaks a rule gets a WARNING; under ES_POLICY_LDT the
 * same is FAILED. */
#include <stdio.h>
#include <string.h>

#include "eseal/der.h"
#include "eseal/seal.h"
#include "seal/internal.h"

/* The first commonName of a certificate's subject (UTF-8 or PrintableString as stored, no
 * conversion: codes are ASCII digits and letters); "" when it has none. */
static void subject_cn(const es_x509 *c, char *out, size_t n)
{
    es_der names, rdn, atv;
    es_der_tlv set, seq;
    out[0] = 0;
    es_der_init(&names, c->subject, NULL);
    es_der_tlv name;
    if (es_der_expect(&names, ES_DER_SEQUENCE, &name) != ES_OK) return;
    es_der_init(&rdn, name.val, NULL);
    while (es_der_more(&rdn)) {
        if (es_der_expect(&rdn, ES_DER_SET, &set) != ES_OK) return;
        es_der sets;
        es_der_init(&sets, set.val, NULL);
        while (es_der_more(&sets)) {
            es_slice oid, v;
            unsigned tag;
            if (es_der_expect(&sets, ES_DER_SEQUENCE, &seq) != ES_OK) return;
            es_der_init(&atv, seq.val, NULL);
            if (es_der_read_oid(&atv, &oid) != ES_OK || es_der_read_string(&atv, &v, &tag) != ES_OK)
                continue;
            if (es_oid_is(oid, ES_OID_ID_AT_CN)) {
                snprintf(out, n, "%.*s", (int)v.len, (const char *)v.p);
                return;
            }
        }
    }
}

/* 1 when the EKU list of c holds the purpose id. */
static int eku_has(const es_x509 *c, es_oid_id id)
{
    es_der d;
    es_der_init(&d, c->eku, NULL);
    while (es_der_more(&d)) {
        es_slice oid;
        if (es_der_read_oid(&d, &oid) != ES_OK) return 0;
        if (es_oid_is(oid, id)) return 1;
    }
    return 0;
}

/* A making system's certificate as eseal's CAs issue them (docs/ca.md, profile maker-system):
 * not a CA; keyUsage digitalSignature and nonRepudiation; extendedKeyUsage serverAuth and
 * clientAuth (a system certificate); no seal-source extension (not a seal's certificate). A
 * seal certificate, a person's certificate and a status system's (no nonRepudiation) fail. */
static int is_maker_system(const es_x509 *c)
{
    es_slice v;
    const unsigned ku = ES_KU_DIGITAL_SIGNATURE | ES_KU_NON_REPUDIATION;
    return !c->is_ca && c->has_key_usage && (c->key_usage & ku) == ku && c->has_eku &&
           eku_has(c, ES_OID_ID_KP_SERVER_AUTH) && eku_has(c, ES_OID_ID_KP_CLIENT_AUTH) &&
           es_x509_ext_find(c, ES_OID_ID_SEAL_SOURCE, &v) == ES_ERR_NOT_FOUND;
}

es_err seal_check_policy(es_entry *e, const es_seal *s, es_slice signer_cert,
                         const es_verify_opts *o)
{
    const int strict = o && o->policy == ES_POLICY_LDT;
    char code[64], cn[64] = "", a[32], b[32], c[32], d[32];
    char broken[600] = "", unknown[300] = "";
    size_t bl = 0, ul = 0;
    es_x509 own, maker;
    int have_own = 0;
    snprintf(code, sizeof code, "%.*s", (int)(s->es_id.len < 60 ? s->es_id.len : 60),
             (const char *)s->es_id.p);
    /* The seal's own certificate: the signer's for a signature, else the listed one whose CN
     * is the code, else the first listed. */
    if (signer_cert.len && es_x509_parse(signer_cert, 0, &own) == ES_OK) {
        have_own = 1;
        subject_cn(&own, cn, sizeof cn);
    }
    for (size_t i = 0; !signer_cert.len && s->cert_list_type != 2 && i < s->n_certs; i++) {
        es_x509 x;
        char xcn[sizeof cn];
        if (es_x509_parse(s->certs[i], 0, &x) != ES_OK) continue;
        subject_cn(&x, xcn, sizeof xcn);
        if (!have_own || !strcmp(xcn, code)) {
            own = x;
            have_own = 1;
            snprintf(cn, sizeof cn, "%s", xcn);
            if (!strcmp(xcn, code)) break;
        }
    }
    if (!have_own) {
        ul += (size_t)snprintf(unknown + ul, sizeof unknown - ul,
                               "no certificate of the seal to compare with (%s)",
                               s->cert_list_type == 2 ? "listed by digest" : "none readable");
    } else {
        if (strcmp(cn, code) != 0)
            bl += (size_t)snprintf(broken + bl, sizeof broken - bl,
                                   "%sthe seal code %s is not its certificate's CN (%s)",
                                   bl ? "; " : "", code, cn[0] ? cn : "none");
        if (s->valid_start < own.not_before || s->valid_end > own.not_after) {
            seal_fmt_time(s->valid_start, a);
            seal_fmt_time(s->valid_end, b);
            seal_fmt_time(own.not_before, c);
            seal_fmt_time(own.not_after, d);
            bl += (size_t)snprintf(broken + bl, sizeof broken - bl,
                                   "%sthe seal's validity %s to %s is not within its "
                                   "certificate's %s to %s",
                                   bl ? "; " : "", a, b, c, d);
        }
    }
    if (strict) {
        if (es_x509_parse(s->maker_cert, 0, &maker) != ES_OK)
            bl += (size_t)snprintf(broken + bl, sizeof broken - bl,
                                   "%sthe maker certificate cannot be read", bl ? "; " : "");
        else if (!is_maker_system(&maker))
            bl += (size_t)snprintf(broken + bl, sizeof broken - bl,
                                   "%sthe maker certificate is not a making system's "
                                   "(maker-system profile: keyUsage digitalSignature and "
                                   "nonRepudiation, extendedKeyUsage serverAuth and clientAuth, "
                                   "not a CA, no seal source)",
                                   bl ? "; " : "");
    }
    if (bl >= sizeof broken) broken[sizeof broken - 1] = 0;
    if (ul >= sizeof unknown) unknown[sizeof unknown - 1] = 0;
    const char *name = strict ? "LD/T 01.1 policy" : "national conventions";
    if (broken[0])
        return es_entry_set(e, ES_CHECK_POLICY, strict ? ES_FAILED : ES_WARNING, "%s: %s%s%s", name,
                            broken, unknown[0] ? "; " : "", unknown);
    if (unknown[0])
        return es_entry_set(e, ES_CHECK_POLICY, strict ? ES_INDETERMINATE : ES_SKIPPED, "%s: %s",
                            name, unknown);
    return es_entry_set(e, ES_CHECK_POLICY, ES_PASSED,
                        strict ? "%s: the code is the certificate's CN, the seal's validity is "
                                 "within the certificate's, the maker is a making system"
                               : "%s: the code is the certificate's CN, the seal's validity is "
                                 "within the certificate's",
                        name);
}
