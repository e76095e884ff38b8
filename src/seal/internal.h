/* Private to the seal layer. */
#ifndef ESEAL_SEAL_INTERNAL_H
#define ESEAL_SEAL_INTERNAL_H

#include "eseal/der.h"
#include "eseal/seal.h"

/* Reads one SESeal element at the cursor (the building block of both parsers). */
es_err seal_read(es_der *d, es_seal *s) ES_MUST_CHECK;
/* 1 when the stored picture type names the sniffed format ("jpeg" = "JPG", any case). */
int seal_picture_type_matches(es_slice type, const char *sniffed);
/* The message the maker signed: SES_SealInfo as stored (v4/v5), or for GM/T 0031 the DER of
 * SEQUENCE { SealInfo, cert, signatureAlgorithm } (canonicalised when stored as BER). */
es_err seal_tbs(const es_seal *s, es_buf *out) ES_MUST_CHECK;

/* GB/T 35275 CMS SignedData (in a ContentInfo or bare): adds one entry to rep. */
es_err seal_cms_verify(es_slice in, const es_verify_opts *o, es_report *rep) ES_MUST_CHECK;
/* Shared check builders (checks.c), used by verify.c and cms.c alike. */
/* The signer's certificate and the signing time, with where that time comes from
 * (time_source: docs/verification.md "Time"). */
es_err seal_describe_signer(es_kvlist *l, const es_cert_info *ci, int ok, es_time t,
                            const char *time_source) ES_MUST_CHECK;
/* signer_cert_validity at time at (ES_TIME_NONE: INDETERMINATE); ok = the cert was read. */
es_err seal_check_cert_validity(es_entry *e, const es_cert_info *ci, int ok, es_time at,
                                const char *what) ES_MUST_CHECK;
/* policy (policy.c): the seal code is its certificate's CN, the seal's validity within the
 * certificate's, and under ES_POLICY_LDT the maker a making system. signer_cert: the signer's
 * certificate of a signature (the seal's own), or empty for a bare seal (its list is used). */
es_err seal_check_policy(es_entry *e, const es_seal *s, es_slice signer_cert,
                         const es_verify_opts *o) ES_MUST_CHECK;
es_err seal_check_data_hash(es_entry *e, es_slice stored, const es_verify_opts *o) ES_MUST_CHECK;
es_err seal_check_chain(es_entry *e, const es_verify_opts *o, es_slice signer_cert, es_time at,
                        const es_seal *seal) ES_MUST_CHECK;
/* The chain of cert (with the seal's certificates as intermediates) to t's anchors at time at:
 * PASSED, INDETERMINATE (no path) or FAILED, the reason in why. */
es_result seal_chain_one(const es_trust *t, es_slice cert, const es_seal *s, es_time at, char *why,
                         size_t whylen);
/* "2026-12-07T10:00:00Z", or "unknown" for ES_TIME_NONE. */
void seal_fmt_time(es_time t, char out[32]);

#endif
