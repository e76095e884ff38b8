/* eseal report: the result of a verification, as a list of named checks.
 *
 * A report covers one file and holds one entry per signature (a bare seal is one entry).
 * Each entry has checks with a result and a detail, an overall indication, the quirks that
 * were tolerated, and two small ordered key/value lists describing the seal and the signer.
 *
 * Overall indication of an entry (as EU DSS does): FAILED when any check FAILED;
 * otherwise INDETERMINATE when any check is INDETERMINATE; otherwise PASSED. WARNING and
 * SKIPPED do not change the indication. The file's indication is the worst of its entries
 * (FAILED > INDETERMINATE > PASSED); a file with no entry is INDETERMINATE.
 *
 * All memory is owned by the report; es_report_cleanup frees it.
 */
#ifndef ESEAL_REPORT_H
#define ESEAL_REPORT_H

#include <stddef.h>

#include "eseal/err.h"
#include "eseal/quirk.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef enum es_result {
    ES_PASSED = 0,
    ES_FAILED,
    ES_INDETERMINATE,
    ES_WARNING,
    ES_SKIPPED,
} es_result;

/* Fixed check names (docs/verification.md explains each). */
#define ES_CHECK_FORMAT               "format"
#define ES_CHECK_DATA_HASH            "data_hash"
#define ES_CHECK_SIGNATURE            "signature"
#define ES_CHECK_SEAL_SIGNATURE       "seal_signature"
#define ES_CHECK_SEAL_VALIDITY        "seal_validity"
#define ES_CHECK_SIGNER_CERT_MATCH    "signer_cert_match"
#define ES_CHECK_SIGNER_CERT_VALIDITY "signer_cert_validity"
#define ES_CHECK_CHAIN_TRUST          "chain_trust"
#define ES_CHECK_STATUS               "status"
#define ES_CHECK_POLICY               "policy"

typedef struct es_check {
    char *name;
    es_result result;
    char *detail;
} es_check;

typedef struct es_kv {
    char *key;
    char *value;
    int is_number; /* rendered without quotes in JSON */
} es_kv;

typedef struct es_kvlist {
    es_kv *items;
    size_t n;
} es_kvlist;

typedef struct es_entry {
    char *id;   /* signature ID ("-" for a bare seal or file) */
    char *kind; /* "seal", "ses_signature", "cms_signed_data", ... */
    es_result indication;
    es_check *checks;
    size_t n_checks;
    es_quirks quirks;
    es_kvlist seal;
    es_kvlist signer;
} es_entry;

typedef struct es_report {
    char *file;
    es_result indication;
    es_entry *entries;
    size_t n_entries;
} es_report;

const char *es_result_name(es_result r); /* "PASSED", ... */

void es_report_init(es_report *r);
void es_report_cleanup(es_report *r);
es_err es_report_set_file(es_report *r, const char *file) ES_MUST_CHECK;
/* Adds an empty entry and returns it in *out (owned by the report). */
es_err es_report_add_entry(es_report *r, const char *id, const char *kind,
                           es_entry **out) ES_MUST_CHECK;
/* Sets a check on an entry: replaces the result and detail when the name is present. */
es_err es_entry_set(es_entry *e, const char *name, es_result result, const char *fmt,
                    ...) ES_MUST_CHECK
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Returns the check with that name, or NULL. */
const es_check *es_entry_get(const es_entry *e, const char *name);
es_err es_kv_add(es_kvlist *l, const char *key, const char *value) ES_MUST_CHECK;
es_err es_kv_add_num(es_kvlist *l, const char *key, long long v) ES_MUST_CHECK;
/* A slice as text (invalid UTF-8 and control characters replaced), a time as ISO 8601. */
es_err es_kv_add_slice(es_kvlist *l, const char *key, es_slice v) ES_MUST_CHECK;
es_err es_kv_add_time(es_kvlist *l, const char *key, es_time t) ES_MUST_CHECK;
/* Copies a slice into a new NUL-terminated string (free()), invalid UTF-8 and control
 * characters replaced; NULL when out of memory. */
char *es_slice_strdup(es_slice s);
/* Empty string when absent. */
const char *es_kv_get(const es_kvlist *l, const char *key);
/* Computes every entry's indication and the file's. */
void es_report_finish(es_report *r);

/* Renders the report as JSON ({"file", "indication", "signatures": [...]}) or as text. */
es_err es_report_json(const es_report *r, es_buf *out) ES_MUST_CHECK;
es_err es_report_text(const es_report *r, es_buf *out) ES_MUST_CHECK;

/* JSON string escaping helper (appends "..." with the quotes). */
es_err es_json_str(es_buf *out, const char *s, size_t len) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
