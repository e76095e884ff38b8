/* eseal audit: the signed audit trail (LD/T 01.1 9.4: key operations signed, traceable
 * afterwards). docs/audit.md defines the record, the hashes, the signatures and the export
 * format.
 *
 * Every state change and security event appends a record in the same store transaction as
 * the change. Records are numbered (seq = 1, 2, ...) and chained:
 *
 *   hash = SM3(prev || DER SEQUENCE { seq INTEGER, at INTEGER (ms since 1970, UTC),
 *                                     actor UTF8String, role UTF8String,
 *                                     action UTF8String, object UTF8String,
 *                                     detail UTF8String })
 *   prev = the hash of record seq-1 (32 zero bytes for record 1)
 *   sig  = SM2 signature (default ID "1234567812345678", DER SEQUENCE{r, s}) over the
 *          32-byte hash, by the daemon's audit key
 *
 * A head (one row) holds the newest seq and hash, signed over
 * DER SEQUENCE { seq INTEGER, hash OCTET STRING, at INTEGER }, so that removing records at
 * the end is detected as well.
 *
 * There is no function to change or delete a record. What es_audit_verify detects is
 * tampering below the API, in the database or in an export: changed, removed, reordered
 * and truncated records, and signatures that are not the audit key's.
 *
 * Thread safety: as the store (one connection per thread); the verifier and report are
 * plain objects.
 */
#ifndef ESEAL_AUDIT_H
#define ESEAL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/signer.h"
#include "eseal/store.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Limits (bytes) of a record's text fields. */
#define ES_AUDIT_MAX_FIELD  1024u         /* actor, role, action, object */
#define ES_AUDIT_MAX_DETAIL (64u * 1024)  /* detail (free text or JSON) */
#define ES_AUDIT_MAX_LINE   (512u * 1024) /* one line of an export */
#define ES_AUDIT_MAX_SIG    80u           /* DER SEQUENCE{r, s} of SM2 */
/* Findings kept in a report (all are counted). */
#define ES_AUDIT_MAX_FINDINGS 1000u

/* The export format's name (its header line says it). */
#define ES_AUDIT_EXPORT_FORMAT  "eseal-audit-export"
#define ES_AUDIT_EXPORT_VERSION 1

/* One record. Strings are UTF-8 without NUL bytes.
 *
 * For es_audit_append the caller fills at (0: now) and the five texts (NULL reads as "");
 * on success seq, at, prev, hash and sig are set (prev, hash and sig point into own[]).
 * Records handed to callbacks are borrowed and valid during the callback only. */
typedef struct es_audit_record {
    int64_t seq;
    int64_t at;         /* milliseconds since 1970-01-01T00:00:00Z */
    const char *actor;  /* who: a user name, an API client name, "system" */
    const char *role;   /* the role acted in ("" when none) */
    const char *action; /* what: "user.create", "session.login_failed", ... */
    const char *object; /* on what: "user:alice", "seal:...", "" */
    const char *detail; /* more: free text or JSON */
    es_slice prev;      /* 32 bytes */
    es_slice hash;      /* 32 bytes */
    es_slice sig;       /* DER SEQUENCE{r, s} */
    uint8_t own[2 * ES_SM3_LEN + ES_AUDIT_MAX_SIG]; /* storage for the three above */
} es_audit_record;

/* Appends a record inside the caller's open write transaction (ES_ERR_ARG outside one):
 * locks the head (PostgreSQL: SELECT ... FOR UPDATE; SQLite has one writer), numbers the
 * record head+1, chains, signs it with signer (the audit key; any es_signer), stores it and
 * moves the signed head. Concurrent appenders on other connections wait for the lock, so
 * the sequence has no gaps and no duplicates. ES_ERR_LIMIT when a text is longer than its
 * limit, ES_ERR_ARG when a text is not UTF-8; a signer error is returned as it is. On any
 * error the caller rolls back the transaction (the change and its record go together). */
es_err es_audit_append(es_store *s, es_signer *signer, es_audit_record *rec) ES_MUST_CHECK;

/* Which records es_audit_list and es_audit_export give. Zero / NULL fields do not filter. */
typedef struct es_audit_filter {
    int64_t from;       /* at >= from (ms); 0: no lower bound */
    int64_t to;         /* at < to (ms); 0: no upper bound */
    const char *actor;  /* exactly this actor */
    const char *action; /* exactly this action */
    int64_t after;      /* seq > after (paging) */
    int64_t limit;      /* at most this many (es_audit_list; 0: all) */
} es_audit_filter;

typedef es_err (*es_audit_record_cb)(void *ctx, const es_audit_record *rec);

/* Calls cb for each matching record in seq order. filter may be NULL (all). */
es_err es_audit_list(es_store *s, const es_audit_filter *filter, es_audit_record_cb cb,
                     void *ctx) ES_MUST_CHECK;

/* The head as stored. */
typedef struct es_audit_head {
    int64_t seq; /* 0: no record yet */
    int64_t at;
    uint8_t hash[ES_SM3_LEN];
    uint8_t sig[ES_AUDIT_MAX_SIG];
    size_t sig_len;
} es_audit_head;
es_err es_audit_head_get(es_store *s, es_audit_head *out) ES_MUST_CHECK;

/* Writes an export (JSON Lines, docs/audit.md): a header line naming the filter, one line
 * per matching record in seq order, and the head, all from one snapshot of the store
 * (writers go on meanwhile). write is called with consecutive pieces of the text; any
 * return other than ES_OK stops the export. *count (may be NULL) gets the records written.
 * filter->limit and filter->after are ignored. ES_ERR_FORMAT when a stored text is not
 * UTF-8 (only tampering puts one there: verify the database itself). */
typedef es_err (*es_audit_write_fn)(void *ctx, const void *p, size_t len);
es_err es_audit_export(es_store *s, const es_audit_filter *filter, es_audit_write_fn write,
                       void *ctx, int64_t *count) ES_MUST_CHECK;

/* --- Verification --- */

typedef enum es_audit_kind {
    ES_AUDIT_CHANGED = 0,   /* the record's fields do not hash to its stored hash */
    ES_AUDIT_REMOVED,       /* records seq..seq_end are missing (a gap in the sequence) */
    ES_AUDIT_REORDERED,     /* the record is not where it was: moved, out of order, or its
                               prev does not match the hash of the record before it */
    ES_AUDIT_TRUNCATED,     /* the head and the last record disagree: records were cut
                               from the end, or the head was changed */
    ES_AUDIT_BAD_SIGNATURE, /* the record's (or with seq 0 and head set, the head's)
                               signature is not the audit key's */
    ES_AUDIT_DUPLICATE,     /* the same seq twice (an export) */
    ES_AUDIT_MALFORMED,     /* a line or field that cannot be read */
    ES_AUDIT_KIND_COUNT
} es_audit_kind;

/* "changed", "removed", "reordered", "truncated", "bad_signature", "duplicate",
 * "malformed". */
const char *es_audit_kind_name(es_audit_kind k);

typedef struct es_audit_finding {
    es_audit_kind kind;
    int64_t seq;     /* the record concerned (the head's seq when head is set) */
    int64_t seq_end; /* REMOVED, TRUNCATED: the last missing seq; otherwise seq */
    int64_t other;   /* REORDERED: the seq the record belongs at or follows; 0: unknown */
    int head;        /* 1 when the finding is about the head */
    char text[256];  /* one English sentence that names the record */
} es_audit_finding;

typedef struct es_audit_report {
    int64_t records;     /* records read */
    int64_t first, last; /* lowest and highest seq read (0 when none) */
    int has_head;
    es_audit_head head;
    /* 1 when the whole trail was checked (a database, an export without filters): only then
     * does an intact report prove that nothing is missing. */
    int complete;
    char scope[16]; /* "database", "full", "range", "selection" */
    size_t counts[ES_AUDIT_KIND_COUNT];
    size_t n_findings;          /* all findings */
    size_t n_kept;              /* findings[0..n_kept) (at most ES_AUDIT_MAX_FINDINGS) */
    es_audit_finding *findings; /* owned */
} es_audit_report;

/* 1 when the report has no finding. */
int es_audit_report_ok(const es_audit_report *r);
void es_audit_report_cleanup(es_audit_report *r);
/* Appends the report as text (one line per finding and a summary) or as one JSON object. */
es_err es_audit_report_print(const es_audit_report *r, int json, es_buf *out) ES_MUST_CHECK;

/* Verifies the whole trail in the store against the audit public key, in one snapshot.
 * ES_OK when the report was made (read it for the verdict); another code when the trail
 * could not be read. The report is initialised by the call (clean it up after). */
es_err es_audit_verify_store(es_store *s, const uint8_t pub[ES_SM2_PUB_LEN],
                             es_audit_report *rep) ES_MUST_CHECK;

/* An export as lines. next reads the following line into line (emptied first; the newline
 * not included) and sets *eof at the end; rewind goes back to the first line (the verifier
 * reads an export twice when it has to tell a moved record from a changed one). */
typedef struct es_audit_lines {
    es_err (*next)(void *ctx, es_buf *line, int *eof);
    es_err (*rewind)(void *ctx);
    void *ctx;
} es_audit_lines;

/* Verifies an export offline. Unreadable lines are findings (MALFORMED), not errors. */
es_err es_audit_verify_export(const es_audit_lines *in, const uint8_t pub[ES_SM2_PUB_LEN],
                              es_audit_report *rep) ES_MUST_CHECK;
/* The same over an export held in memory. */
es_err es_audit_verify_export_mem(const uint8_t *p, size_t len, const uint8_t pub[ES_SM2_PUB_LEN],
                                  es_audit_report *rep) ES_MUST_CHECK;

/* The JSON Lines form of one record (no newline), as an export writes it. */
es_err es_audit_record_json(const es_audit_record *rec, es_buf *out) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
