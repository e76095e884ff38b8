/* Private to the seal layer. */
#ifndef ESEAL_SEAL_INTERNAL_H
#define ESEAL_SEAL_INTERNAL_H

#include "eseal/der.h"
#include "eseal/seal.h"

/* Reads one SESeal element at the cursor (the building block of both parsers). */
es_err es_seal_read(es_der *d, es_seal *s) ES_MUST_CHECK;
/* 1 when the stored picture type names the sniffed format ("jpeg" = "JPG", any case). */
int es_picture_type_matches(es_slice type, const char *sniffed);
/* The message the maker signed: SES_SealInfo as stored (v4/v5), or for GM/T 0031 the DER of
 * SEQUENCE { SealInfo, cert, signatureAlgorithm } (canonicalised when stored as BER). */
es_err es_seal_tbs(const es_seal *s, es_buf *out) ES_MUST_CHECK;

/* GB/T 35275 CMS SignedData (in a ContentInfo or bare): adds one entry to rep. */
es_err es_cms_verify(es_slice in, const es_verify_opts *o, es_report *rep) ES_MUST_CHECK;
/* Shared check builders. */
es_err es_describe_signer(es_kvlist *l, const es_cert_info *ci, int ok, es_time t) ES_MUST_CHECK;
/* signer_cert_validity at time at (ES_TIME_NONE: INDETERMINATE); ok = the cert was read. */
es_err es_check_cert_validity(es_entry *e, const es_cert_info *ci, int ok, es_time at,
                              const char *what) ES_MUST_CHECK;
es_err es_check_data_hash(es_entry *e, es_slice stored, const es_verify_opts *o) ES_MUST_CHECK;
es_err es_check_chain(es_entry *e, const es_verify_opts *o, es_slice signer_cert, es_time at,
                      const es_seal *seal) ES_MUST_CHECK;

#endif
