/* eseal audit: the signed audit trail (LD/T 01.1 9.4: key operations signed, traceable
 * afterwards). docs/audit.md defines the record, the hashes, the signatures, the checkpoints
 * and the export format.
 *
 * Every state change and security event appends a record in the same store transaction as
 * the change. Records are numbered (seq = 1, 2, ...) and chained. A record of version 2
 * (every record written now) is signed over its own content, before it takes its place in
 * the chain, so that no signature is computed while the chain is locked:
 *
 *   content = DER SEQUENCE { version INTEGER (2), nonce OCTET STRING (16 random bytes),
 *                            at INTEGER (ms since 1970, UTC), actor UTF8String,
 *                            role UTF8String, action UTF8String, object UTF8String,
 *                            detail UTF8String }
 *   sig     = SM2 signature (default ID "1234567812345678", DER SEQUENCE{r, s}) of content
 *   hash    = SM3(prev || DER SEQUENCE { seq INTEGER, content })
 *   prev    = the hash of record seq-1 (32 zero bytes for record 1)
 *
 * Records of version 1 (trails written before) are signed over their hash, which chains
 * them: hash = SM3(prev || DER SEQUENCE { seq, at, actor, role, action, object, detail }),
 * sig = SM2 signature of the 32 hash bytes. Both verify.
 *
 * Signed checkpoints, DER SEQUENCE { seq INTEGER, hash OCTET STRING, at INTEGER }, fix the
 * chain up to a record (es_audit_checkpoint, run by the daemon at least every N records or
 * T ms); the head row shows the newest one, so that removing checkpointed records, at the
 * end or anywhere, is detected. Records after the newest checkpoint are reported as not yet
 * checkpointed.
 *
 * There is no function to change or delete a record. What es_audit_verify detects is
 * tampering below the API, in the database or in an export: changed, removed, reordered
 * and truncated records, checkpoints that no longer match, and signatures that are not the
 * audit key's.
 *
 * Thread safety: as the store (one connection per thread) and the signer; the verifier and
 * report are plain objects.
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
#define ES_AUDIT_EXPORT_VERSION 2 /* 1 (no record of version 2) is read too */

/* The record format written now, and the nonce of a record of that version. */
#define ES_AUDIT_RECORD_VERSION 2
#define ES_AUDIT_NONCE_LEN      16

/* One record. Strings are UTF-8 without NUL bytes.
 *
 * For es_audit_prepare / es_audit_append the caller fills at (0: now) and the five texts
 * (NULL reads as ""); es_audit_prepare sets version, nonce, at and sig; es_audit_append sets
 * seq, prev and hash (and signs first when the record was not prepared). The slices point
 * into own[]. Records handed to callbacks are borrowed and valid during the callback only
 * (version 1 records have an empty nonce). */
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
    int version;        /* 1 or 2 (ES_AUDIT_RECORD_VERSION) */
    es_slice nonce;     /* version 2: ES_AUDIT_NONCE_LEN bytes */
    int prepared;       /* set by es_audit_prepare */
    /* storage for prev, hash, sig, nonce, and the SM3 of the signed content (prepared) */
    uint8_t own[3 * ES_SM3_LEN + ES_AUDIT_MAX_SIG + ES_AUDIT_NONCE_LEN];
} es_audit_record;

/* Signs a record (version 2) with signer (the audit key; any es_signer) before it is
 * chained: a fresh random nonce, at (0: now), the signature of the content. Needs no store
 * and no transaction: call it before es_store_begin so that the signature is computed
 * while no lock is held (on SQLite a write transaction holds the database's only write
 * lock from its start). ES_ERR_LIMIT when a text is longer than its limit, ES_ERR_ARG when
 * a text is not UTF-8; a signer error is returned as it is. The texts must not change
 * afterwards (es_audit_append refuses the record then). A prepared record is one record:
 * append it once (again only after a rollback). Thread-safe if the signer is. */
es_err es_audit_prepare(es_signer *signer, es_audit_record *rec) ES_MUST_CHECK;

/* Appends a record inside the caller's open write transaction (ES_ERR_ARG outside one).
 * A record not prepared yet is prepared first with signer (before the chain is locked; on
 * SQLite inside the caller's write lock: prefer es_audit_prepare before es_store_begin);
 * signer may be NULL for a prepared record. Then it locks the chain's tip (PostgreSQL:
 * SELECT ... FOR UPDATE on the head row; SQLite has one writer), numbers the record tip+1,
 * chains it (SM3 only), stores it and moves the tip. Concurrent appenders on other
 * connections wait for the lock, so the sequence has no gaps and no duplicates. No
 * signature is computed under the lock; the signed head moves with es_audit_checkpoint.
 * ES_ERR_ARG for a prepared record whose texts or time changed since. On any error the
 * caller rolls back the transaction (the change and its record go together). */
es_err es_audit_append(es_store *s, es_signer *signer, es_audit_record *rec) ES_MUST_CHECK;

/* Writes a signed checkpoint of the chain's tip: reads the tip, signs
 * DER SEQUENCE { seq, hash, at (now, ms) } with signer outside any transaction, then in a
 * short transaction stores it in audit_checkpoint and moves the signed head to it. Nothing
 * is written when the tip is checkpointed already (or another daemon checkpointed further
 * meanwhile). Not inside a transaction (ES_ERR_ARG). *seq (may be NULL) gets the seq the
 * newest checkpoint covers afterwards. Safe from several connections and daemons at once. */
es_err es_audit_checkpoint(es_store *s, es_signer *signer, int64_t *seq) ES_MUST_CHECK;

/* es_audit_checkpoint when it is due: at least max_records records after the newest
 * checkpoint, or the oldest of them at least max_ms old (by its at). 0 disables either
 * rule. *done (may be NULL) is 1 when a checkpoint was written. */
es_err es_audit_checkpoint_due(es_store *s, es_signer *signer, int64_t max_records, int64_t max_ms,
                               int *done) ES_MUST_CHECK;

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

/* The head as stored: the newest signed checkpoint (seq, at, hash, sig) and the chain's
 * tip (the newest record, unsigned). */
typedef struct es_audit_head {
    int64_t seq; /* the record the newest checkpoint covers; 0: none yet */
    int64_t at;
    uint8_t hash[ES_SM3_LEN];
    uint8_t sig[ES_AUDIT_MAX_SIG];
    size_t sig_len;
    int64_t tip_seq; /* the newest record (0: none); -1 when not known (an export) */
    uint8_t tip_hash[ES_SM3_LEN];
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
    ES_AUDIT_CHECKPOINT,    /* a signed checkpoint no longer matches the chain: records it
                               covers were removed, rewritten or re-chained */
    ES_AUDIT_WITNESS,       /* a checkpoint held by the witness outside the site disagrees
                               with the trail, or the trail is shorter than it */
    ES_AUDIT_KIND_COUNT
} es_audit_kind;

/* "changed", "removed", "reordered", "truncated", "bad_signature", "duplicate",
 * "malformed", "checkpoint", "witness". */
const char *es_audit_kind_name(es_audit_kind k);

typedef struct es_audit_finding {
    es_audit_kind kind;
    int64_t seq;     /* the record concerned (the head's seq when head is set) */
    int64_t seq_end; /* REMOVED, TRUNCATED: the last missing seq; otherwise seq */
    int64_t other;   /* REORDERED: the seq the record belongs at or follows; 0: unknown */
    int head;        /* 1 when the finding is about the head */
    int checkpoint;  /* 1 when it is about the checkpoint of seq (a stored one) */
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
    int64_t checkpoints; /* signed checkpoints checked (a database) */
    /* Records after the newest checkpoint (version 2): not yet covered by a signature that
     * shows where the trail ends. Not a finding: the daemon checkpoints at least every N
     * records or T ms; a cut of this tail is what a witness outside the site closes. */
    int64_t pending;
    /* Checkpoints of a witness compared with the trail (es_audit_verify_*_witness), and the
     * newest of them (seq 0: none). */
    int64_t witnessed, witness_seq, witness_at;
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

/* --- The witness: signed checkpoints kept outside the site (docs/audit.md "Witness") ---
 *
 * Someone with the site's files holds the audit key and its passphrase, and can rewrite the
 * trail and sign it all again, or empty it and reset the head: the trail then verifies on
 * its own. A witness outside the site (an append-only file on another host, or the parent
 * tier's esealsd) keeps the checkpoints as they were signed; a trail that disagrees with
 * one of them, or is shorter than the newest, fails verification against it.
 *
 * A witness line (the file's format, one per checkpoint, JSON, UTF-8):
 *   {"type":"checkpoint","seq":N,"hash":HEX,"at":MS,"time":ISO,"sig":HEX,"key":HEX}
 * seq, hash, at and sig as in the head; key is the signer's id: the lower-case hex SM3 of
 * its public key (04 || x || y, 65 bytes). */

/* One witnessed checkpoint. */
typedef struct es_audit_witnessed {
    int64_t seq, at;
    uint8_t hash[ES_SM3_LEN];
    uint8_t sig[ES_AUDIT_MAX_SIG];
    size_t sig_len;
    uint8_t key_id[ES_SM3_LEN]; /* SM3 of the signer's public key */
    long line;                  /* where it was read (1-based); 0 when not from text */
} es_audit_witnessed;

/* The checkpoints a witness holds, in the order read. Owned: es_audit_witness_cleanup. */
typedef struct es_audit_witness {
    es_audit_witnessed *cp;
    size_t n, cap;
} es_audit_witness;

/* At most this many checkpoints are read from a witness (a year of one a minute). */
#define ES_AUDIT_WITNESS_MAX (1u << 20)

/* The key id of a public key: SM3(04 || x || y). */
es_err es_audit_key_id(const uint8_t pub[ES_SM2_PUB_LEN], uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;

/* Appends the witness line of the signed head h (its seq, hash, at, sig) signed by the key
 * pub, with a newline. ES_ERR_ARG for the genesis head (nothing signed yet). */
es_err es_audit_witness_line(const es_audit_head *h, const uint8_t pub[ES_SM2_PUB_LEN],
                             es_buf *out) ES_MUST_CHECK;

/* Reads witness lines (empty lines skipped) into w (initialised by the call; clean it up
 * after, also on error). ES_ERR_FORMAT with the line named in why for a line that cannot be
 * read: a witness is not partly trusted. ES_ERR_LIMIT past ES_AUDIT_WITNESS_MAX. */
es_err es_audit_witness_parse(const uint8_t *p, size_t len, es_audit_witness *w, char *why,
                              size_t whylen) ES_MUST_CHECK;
/* ES_OK when c is signed by pub (its key id is pub's, its signature over DER SEQUENCE{seq,
 * hash, at} verifies); ES_ERR_VERIFY when not. */
es_err es_audit_witnessed_verify(const es_audit_witnessed *c,
                                 const uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;
/* The signed head a witnessed checkpoint is (tip unknown: -1). */
void es_audit_witnessed_head(const es_audit_witnessed *c, es_audit_head *h);
/* Adds one checkpoint (copied). */
es_err es_audit_witness_add(es_audit_witness *w, const es_audit_witnessed *c) ES_MUST_CHECK;
void es_audit_witness_cleanup(es_audit_witness *w);

/* Appends the signed head h to the witness file path (created 0640 when missing), under an
 * fcntl write lock (NFS: with its lock manager), then fsync. Reads the file's last line
 * first: nothing is written when it holds h already or a newer checkpoint of the same
 * chain (*written 0); ES_ERR_WITNESS with a sentence in why when the file's last checkpoint
 * disagrees with h (the same seq and another hash) or is newer than h while h is the
 * site's head (the site went back: an alarm, never overwritten). ES_ERR_IO with why when
 * the file cannot be written. written may be NULL. Never truncates or rewrites the file. */
es_err es_audit_witness_file_append(const char *path, const es_audit_head *h,
                                    const uint8_t pub[ES_SM2_PUB_LEN], int *written, char *why,
                                    size_t whylen) ES_MUST_CHECK;

/* The newest checkpoint of the witness file path (its last line), under a read lock:
 * *found 0 when the file is empty or missing. ES_ERR_IO with why when it cannot be read. */
es_err es_audit_witness_file_newest(const char *path, es_audit_witnessed *out, int *found,
                                    char *why, size_t whylen) ES_MUST_CHECK;

/* ES_OK when the store's record c->seq is there with the hash c witnessed; ES_ERR_WITNESS
 * with a sentence in why when it is missing (the trail is shorter than what was witnessed)
 * or has another hash (rewritten). The sender checks this before it sends: a trail that went
 * back or was rewritten is an alarm even when its head is newer than what was witnessed. */
es_err es_audit_witness_check(es_store *s, const es_audit_witnessed *c, char *why,
                              size_t whylen) ES_MUST_CHECK;

/* es_audit_verify_store / es_audit_verify_export, and every checkpoint of w (may be NULL)
 * compared with the trail: each must be signed by pub (its key id pub's), and the record of
 * its seq must be there with the hash it witnessed; a trail that ends before the newest
 * witnessed seq (cut, or emptied and reset) is shorter than what was witnessed. Each
 * disagreement is a finding ES_AUDIT_WITNESS naming the checkpoint. */
es_err es_audit_verify_store_witness(es_store *s, const uint8_t pub[ES_SM2_PUB_LEN],
                                     const es_audit_witness *w, es_audit_report *rep) ES_MUST_CHECK;
es_err es_audit_verify_export_witness(const es_audit_lines *in, const uint8_t pub[ES_SM2_PUB_LEN],
                                      const es_audit_witness *w,
                                      es_audit_report *rep) ES_MUST_CHECK;

/* The JSON Lines form of one record (no newline), as an export writes it. */
es_err es_audit_record_json(const es_audit_record *rec, es_buf *out) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
