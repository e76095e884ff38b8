/* The checks a seal signature (verify.c) and a GB/T 35275 SignedData (cms.c) share: the
 * signer certificate's validity at a time, the chain to the trust anchors, the data's SM3,
 * the signer's description. Both verifiers call these; neither calls the other's checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/seal.h"
#include "seal/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

void seal_fmt_time(es_time t, char out[32])
{
    if (t == ES_TIME_NONE)
        snprintf(out, 32, "unknown");
    else
        es_time_format_iso(t, out);
}

es_result seal_chain_one(const es_trust *t, es_slice cert, const es_seal *s, es_time at, char *why,
                         size_t whylen)
{
    es_slice extra[ES_SEAL_MAX_CERTS + 1];
    size_t n = 0;
    for (size_t i = 0; i < s->n_certs && s->cert_list_type != 2; i++) extra[n++] = s->certs[i];
    extra[n++] = s->maker_cert;
    es_err rv = es_trust_verify(t, cert, extra, n, at, why, whylen);
    return rv == ES_OK ? ES_PASSED : rv == ES_ERR_NOT_FOUND ? ES_INDETERMINATE : ES_FAILED;
}

es_err seal_check_cert_validity(es_entry *e, const es_cert_info *ci, int ok, es_time at,
                                const char *what)
{
    char a[32], b[32], c[32];
    if (!ok)
        return es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, ES_FAILED,
                            "signer certificate cannot be read");
    seal_fmt_time(ci->not_before, a);
    seal_fmt_time(ci->not_after, b);
    seal_fmt_time(at, c);
    if (at == ES_TIME_NONE)
        return es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, ES_INDETERMINATE,
                            "%s unknown; certificate valid %s to %s", what, a, b);
    /* ETSI EN 319 102-1 reasoning: a certificate that had expired at the claimed signing
     * time is INDETERMINATE (OUT_OF_BOUNDS_NO_POE: nothing proves the signature is older than
     * the expiry); a claimed time before the certificate existed contradicts itself. */
    if (at < ci->not_before)
        return es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, ES_FAILED,
                            "%s %s is before the certificate's validity %s to %s", what, c, a, b);
    if (at > ci->not_after)
        return es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, ES_INDETERMINATE,
                            "%s %s is after the certificate expired (%s to %s); no proof that the "
                            "signature existed while it was valid",
                            what, c, a, b);
    return es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, ES_PASSED,
                        "%s %s is within the certificate's validity %s to %s", what, c, a, b);
}

es_err seal_describe_signer(es_kvlist *l, const es_cert_info *ci, int ok, es_time t,
                            const char *time_source)
{
    es_err rv;
    CHECK(es_kv_add(l, "subject", ok ? ci->subject : "(unreadable certificate)"));
    CHECK(es_kv_add(l, "issuer", ok ? ci->issuer : ""));
    CHECK(es_kv_add(l, "serial", ok ? ci->serial : ""));
    CHECK(es_kv_add_time(l, "not_before", ok ? ci->not_before : ES_TIME_NONE));
    CHECK(es_kv_add_time(l, "not_after", ok ? ci->not_after : ES_TIME_NONE));
    CHECK(es_kv_add_time(l, "signing_time", t));
    CHECK(es_kv_add(l, "signing_time_source", time_source));
out:
    return rv;
}

es_err seal_check_data_hash(es_entry *e, es_slice stored, const es_verify_opts *o)
{
    if (!o || !o->data_sm3)
        return es_entry_set(e, ES_CHECK_DATA_HASH, ES_SKIPPED,
                            "no data given to compare the signed hash with");
    if (stored.len != ES_SM3_LEN)
        return es_entry_set(e, ES_CHECK_DATA_HASH, ES_FAILED,
                            "signed hash is %zu bytes, not an SM3 value", stored.len);
    if (memcmp(stored.p, o->data_sm3, ES_SM3_LEN) != 0)
        return es_entry_set(e, ES_CHECK_DATA_HASH, ES_FAILED,
                            "SM3 of the data differs from the signed hash: the data changed");
    return es_entry_set(e, ES_CHECK_DATA_HASH, ES_PASSED, "SM3 of the data equals the signed hash");
}

es_err seal_check_chain(es_entry *e, const es_verify_opts *o, es_slice signer_cert, es_time at,
                        const es_seal *seal)
{
    if (!o || !o->trust)
        return es_entry_set(e, ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE,
                            "no trust anchors configured (--trust)");
    char why[160] = "", why2[160] = "";
    es_seal none;
    memset(&none, 0, sizeof none);
    const es_seal *s = seal ? seal : &none;
    es_result r1 = seal_chain_one(o->trust, signer_cert, s, at == ES_TIME_NONE ? es_time_now() : at,
                                  why, sizeof why);
    es_result r2 = ES_PASSED;
    if (seal)
        r2 = seal_chain_one(o->trust, seal->maker_cert, s, seal->create_date, why2, sizeof why2);
    es_result r = r1 == ES_FAILED || r2 == ES_FAILED                 ? ES_FAILED
                  : r1 == ES_INDETERMINATE || r2 == ES_INDETERMINATE ? ES_INDETERMINATE
                                                                     : ES_PASSED;
    if (r == ES_PASSED)
        return es_entry_set(e, ES_CHECK_CHAIN_TRUST, ES_PASSED,
                            seal ? "signer and maker certificates chain to a trust anchor"
                                 : "signer certificate chains to a trust anchor");
    return es_entry_set(e, ES_CHECK_CHAIN_TRUST, r, "%s%s%s%s%s", r1 != ES_PASSED ? "signer: " : "",
                        r1 != ES_PASSED ? why : "", r1 != ES_PASSED && r2 != ES_PASSED ? "; " : "",
                        r2 != ES_PASSED ? "maker: " : "", r2 != ES_PASSED ? why2 : "");
}
