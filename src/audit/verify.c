/* Verification of the audit trail, in a store or in an export (docs/audit.md).
 *
 * Records are fed in order to one engine. Pass 1 checks each record on its own (its hash,
 * its signature) and against the record before it (seq + 1, prev = that record's hash),
 * collects gaps, and compares the last record with the signed head. A record that fails
 * its hash or its link is kept aside; when there are such records, pass 2 reads the trail
 * again to tell what happened to them: a record that hashes correctly under another
 * suspicious record's seq, or under a seq missing from the trail (a gap, or past its end),
 * was moved (reordered; the place it left is not reported as removed, the place it took is
 * when nothing else was moved from there); one that hashes under no seq was changed;
 * an intact record whose prev is not its predecessor's hash no longer follows it
 * (reordered). A link that breaks only because the record before was itself found
 * changed or re-signed is not reported twice. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"

static const uint8_t zero_hash[ES_SM3_LEN];

/* Beyond this many suspicious records, moved records are not searched for (each search
 * rehashes a record once per candidate seq). */
#define MAX_MOVE_CANDIDATES 64

typedef struct pending {
    int64_t seq;
    uint8_t prev[ES_SM3_LEN];
    int hash_bad;       /* the fields do not hash to the stored hash */
    int link_bad;       /* prev is not the predecessor's hash */
    int64_t moved_from; /* pass 2: the seq under which it hashes correctly */
    int64_t pred;       /* pass 2: the seq whose stored hash is its prev */
} pending;

typedef struct range {
    int64_t a, b;
} range;

/* A stored checkpoint and what pass 1 saw at its seq. */
typedef struct checkpoint {
    int64_t seq, at;
    uint8_t hash[ES_SM3_LEN];
    uint8_t sig[ES_AUDIT_MAX_SIG];
    size_t sig_len;
    int bad;     /* not 32 bytes of hash, or a signature too long */
    int seen;    /* the record of its seq was read */
    int match;   /* and its stored hash is the checkpoint's */
    int flagged; /* and that record was found changed, moved or re-signed itself */
} checkpoint;

typedef struct engine {
    uint8_t pub[ES_SM2_PUB_LEN];
    es_audit_report *rep;
    int check_gaps, check_start, check_end;
    int have_last;
    int64_t last_seq;
    uint8_t last_hash[ES_SM3_LEN];
    int last_flagged;
    int64_t max_seq;
    range *miss;
    size_t nmiss, capmiss;
    pending *pend;
    size_t npend, cappend;
    int overflow;       /* pending list full: classified at once, without pass 2 */
    es_err err;         /* first internal error (memory, crypto) */
    int64_t max_v1_seq; /* the newest record of version 1 */
    checkpoint *cps;    /* the stored checkpoints in seq order (a database) */
    size_t ncps, capcps, cpi;
    int64_t want_seq; /* the seq of the head: its record's hash is wanted */
    int want_found;
    uint8_t want_hash[ES_SM3_LEN];
    int head_reported; /* a finding about the end of the trail was made */
    /* The tip (a database) is compared with the last record after pass 2, when records
     * moved past the end are known: tip_want is its seq when that record's hash is needed. */
    int64_t tip_want;
    int tip_found;
    uint8_t tip_hash[ES_SM3_LEN];
    /* The witness's checkpoints (sorted by seq, a copy) and what pass 1 saw at each seq. */
    es_audit_witnessed *wit;
    size_t nwit, wi;
    unsigned char *wseen, *wmatch;
} engine;

const char *es_audit_kind_name(es_audit_kind k)
{
    static const char *const names[ES_AUDIT_KIND_COUNT] = {
        "changed",   "removed",   "reordered",  "truncated", "bad_signature",
        "duplicate", "malformed", "checkpoint", "witness"};
    return (unsigned)k < ES_AUDIT_KIND_COUNT ? names[k] : "unknown";
}

static void finding(engine *e, es_audit_kind kind, int64_t seq, int64_t seq_end, int64_t other,
                    int head, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void finding(engine *e, es_audit_kind kind, int64_t seq, int64_t seq_end, int64_t other,
                    int head, const char *fmt, ...)
{
    es_audit_report *r = e->rep;
    r->counts[kind]++;
    r->n_findings++;
    if (r->n_kept >= ES_AUDIT_MAX_FINDINGS) return;
    if (!r->findings) {
        r->findings = calloc(ES_AUDIT_MAX_FINDINGS, sizeof *r->findings);
        if (!r->findings) {
            e->err = ES_ERR_NOMEM;
            return;
        }
    }
    es_audit_finding *f = &r->findings[r->n_kept++];
    f->kind = kind;
    f->seq = seq;
    f->seq_end = seq_end;
    f->other = other;
    f->head = head;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
}

static void engine_init(engine *e, const uint8_t pub[ES_SM2_PUB_LEN], es_audit_report *rep)
{
    memset(e, 0, sizeof *e);
    memcpy(e->pub, pub, ES_SM2_PUB_LEN);
    e->rep = rep;
    e->check_gaps = e->check_start = e->check_end = 1;
}

static void engine_cleanup(engine *e)
{
    free(e->miss);
    free(e->pend);
    free(e->cps);
    free(e->wit);
    free(e->wseen);
    free(e->wmatch);
}

static int witnessed_cmp(const void *a, const void *b)
{
    const es_audit_witnessed *x = a, *y = b;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* The witness's checkpoints, in seq order, for pass 1. */
static es_err engine_witness(engine *e, const es_audit_witness *w)
{
    if (!w || !w->n) return ES_OK;
    e->wit = malloc(w->n * sizeof *e->wit);
    e->wseen = calloc(w->n, 1);
    e->wmatch = calloc(w->n, 1);
    if (!e->wit || !e->wseen || !e->wmatch) return ES_ERR_NOMEM;
    memcpy(e->wit, w->cp, w->n * sizeof *e->wit);
    e->nwit = w->n;
    qsort(e->wit, e->nwit, sizeof *e->wit, witnessed_cmp);
    return ES_OK;
}

/* Marks the newest finding as one about a checkpoint. */
static void about_checkpoint(engine *e)
{
    if (e->rep->n_kept) e->rep->findings[e->rep->n_kept - 1].checkpoint = 1;
}

static void add_missing(engine *e, int64_t a, int64_t b)
{
    if (e->nmiss == e->capmiss) {
        size_t cap = e->capmiss ? 2 * e->capmiss : 16;
        range *m = realloc(e->miss, cap * sizeof *m);
        if (!m) {
            e->err = ES_ERR_NOMEM;
            return;
        }
        e->miss = m;
        e->capmiss = cap;
    }
    e->miss[e->nmiss].a = a;
    e->miss[e->nmiss].b = b;
    e->nmiss++;
}

/* Removes seq from the missing ranges; 1 when it was there. */
static int take_missing(engine *e, int64_t seq)
{
    for (size_t i = 0; i < e->nmiss; i++) {
        range *m = &e->miss[i];
        if (seq < m->a || seq > m->b) continue;
        if (m->a == m->b) {
            e->miss[i] = e->miss[--e->nmiss];
        } else if (seq == m->a) {
            m->a++;
        } else if (seq == m->b) {
            m->b--;
        } else {
            int64_t b = m->b;
            m->b = seq - 1;
            add_missing(e, seq + 1, b);
        }
        return 1;
    }
    return 0;
}

/* 1 when a suspicious record was found to be the record of seq, moved elsewhere. */
static int moved_away(const engine *e, int64_t seq)
{
    for (size_t i = 0; i < e->npend; i++)
        if (e->pend[i].hash_bad && e->pend[i].moved_from == seq) return 1;
    return 0;
}

static void classify(engine *e, const pending *p)
{
    if (p->hash_bad && p->moved_from)
        finding(e, ES_AUDIT_REORDERED, p->seq, p->seq, p->moved_from, 0,
                "the record stored as seq %lld is record %lld: it was moved", (long long)p->seq,
                (long long)p->moved_from);
    else if (p->hash_bad)
        finding(e, ES_AUDIT_CHANGED, p->seq, p->seq, 0, 0,
                "record %lld does not match its hash: its contents were changed",
                (long long)p->seq);
    else if (p->pred)
        finding(e, ES_AUDIT_REORDERED, p->seq, p->seq, p->pred, 0,
                "record %lld does not follow record %lld: it was chained after record %lld",
                (long long)p->seq, (long long)(p->seq - 1), (long long)p->pred);
    else
        finding(e, ES_AUDIT_REORDERED, p->seq, p->seq, 0, 0,
                "record %lld does not follow record %lld: its prev is the hash of no record here",
                (long long)p->seq, (long long)(p->seq - 1));
}

static int raw_ok(const audit_raw *r)
{
    return r->prev.len == ES_SM3_LEN && r->hash.len == ES_SM3_LEN &&
           (r->ver == 1 || (r->ver == 2 && r->nonce.len == ES_AUDIT_NONCE_LEN));
}

/* Pass 1: one record, in the order of the input. */
static void feed1(engine *e, const audit_raw *r)
{
    es_audit_report *rep = e->rep;
    rep->records++;
    if (!rep->first || r->seq < rep->first) rep->first = r->seq;
    if (r->seq > rep->last) rep->last = r->seq;
    if (!raw_ok(r) || r->seq <= 0) {
        finding(e, ES_AUDIT_MALFORMED, r->seq, r->seq, 0, 0, "record %lld: %s", (long long)r->seq,
                r->seq <= 0 ? "its seq is not a positive number"
                : r->prev.len != ES_SM3_LEN || r->hash.len != ES_SM3_LEN
                    ? "its prev or hash is not 32 bytes"
                    : "an unknown version, or a nonce that is not 16 bytes");
        if (r->seq > 0 && (!e->have_last || r->seq > e->last_seq)) {
            if (e->check_gaps && e->have_last && r->seq > e->last_seq + 1)
                add_missing(e, e->last_seq + 1, r->seq - 1);
            e->have_last = 1;
            e->last_seq = r->seq;
            memset(e->last_hash, 0, sizeof e->last_hash);
            e->last_flagged = 1;
            if (r->seq > e->max_seq) e->max_seq = r->seq;
        }
        return;
    }

    uint8_t h[ES_SM3_LEN];
    es_err rv = audit_raw_hash(r, r->seq, h);
    if (rv != ES_OK) {
        e->err = rv;
        return;
    }
    if (r->ver == 1 && r->seq > e->max_v1_seq) e->max_v1_seq = r->seq;
    if (r->seq == e->want_seq) {
        e->want_found = 1;
        memcpy(e->want_hash, r->hash.p, ES_SM3_LEN);
    }
    int hash_ok = memcmp(h, r->hash.p, ES_SM3_LEN) == 0;
    /* Version 2 signs the content: a changed field fails the hash and the signature alike,
     * and is reported once, as changed. */
    int sig_ok = audit_raw_sig_verify(e->pub, r) == ES_OK || (r->ver == 2 && !hash_ok);
    int flagged = 0;
    if (!sig_ok) {
        finding(e, ES_AUDIT_BAD_SIGNATURE, r->seq, r->seq, 0, 0,
                "record %lld: the signature is not the audit key's", (long long)r->seq);
        flagged = 1;
    }

    if (e->have_last && r->seq <= e->last_seq) {
        /* Out of order (an export whose lines were moved): named here; its own hash and
         * signature are still checked. */
        if (r->seq == e->last_seq)
            finding(e, ES_AUDIT_DUPLICATE, r->seq, r->seq, 0, 0, "record %lld appears twice",
                    (long long)r->seq);
        else if (take_missing(e, r->seq) || !e->check_gaps)
            finding(e, ES_AUDIT_REORDERED, r->seq, r->seq, e->last_seq, 0,
                    "record %lld appears after record %lld: out of order", (long long)r->seq,
                    (long long)e->last_seq);
        else
            finding(e, ES_AUDIT_DUPLICATE, r->seq, r->seq, 0, 0,
                    "record %lld appears twice (again after record %lld)", (long long)r->seq,
                    (long long)e->last_seq);
        if (!hash_ok)
            finding(e, ES_AUDIT_CHANGED, r->seq, r->seq, 0, 0,
                    "record %lld does not match its hash: its contents were changed",
                    (long long)r->seq);
        return;
    }

    if (e->check_gaps) {
        if (!e->have_last && e->check_start && r->seq > 1) add_missing(e, 1, r->seq - 1);
        if (e->have_last && r->seq > e->last_seq + 1) add_missing(e, e->last_seq + 1, r->seq - 1);
    }
    int link_ok = 1;
    if (r->seq == 1)
        link_ok = memcmp(r->prev.p, zero_hash, ES_SM3_LEN) == 0;
    else if (e->have_last && r->seq == e->last_seq + 1)
        link_ok = memcmp(r->prev.p, e->last_hash, ES_SM3_LEN) == 0;

    if (!hash_ok || !link_ok) {
        if (hash_ok && e->last_flagged && r->seq == e->last_seq + 1) {
            /* Its link broke because the record before was changed or re-signed, which is
             * reported already. */
        } else {
            pending p = {r->seq, {0}, !hash_ok, !link_ok, 0, 0};
            memcpy(p.prev, r->prev.p, ES_SM3_LEN);
            if (e->npend == e->cappend && e->cappend < ES_AUDIT_MAX_FINDINGS) {
                size_t cap = e->cappend ? 2 * e->cappend : 16;
                pending *np = realloc(e->pend, cap * sizeof *np);
                if (np) {
                    e->pend = np;
                    e->cappend = cap;
                }
            }
            if (e->npend < e->cappend) {
                e->pend[e->npend++] = p;
            } else {
                e->overflow = 1;
                classify(e, &p);
            }
            flagged = 1;
        }
    }
    e->have_last = 1;
    e->last_seq = r->seq;
    memcpy(e->last_hash, r->hash.p, ES_SM3_LEN);
    e->last_flagged = flagged;
    if (r->seq > e->max_seq) e->max_seq = r->seq;
    while (e->cpi < e->ncps && e->cps[e->cpi].seq < r->seq) e->cpi++;
    if (e->cpi < e->ncps && e->cps[e->cpi].seq == r->seq) {
        checkpoint *c = &e->cps[e->cpi];
        c->seen = 1;
        c->match = memcmp(c->hash, r->hash.p, ES_SM3_LEN) == 0;
        c->flagged = flagged;
    }
    while (e->wi < e->nwit && e->wit[e->wi].seq < r->seq) e->wi++;
    for (size_t k = e->wi; k < e->nwit && e->wit[k].seq == r->seq; k++) {
        e->wseen[k] = 1;
        e->wmatch[k] = memcmp(e->wit[k].hash, r->hash.p, ES_SM3_LEN) == 0;
    }
}

static int tbs_sig_ok(engine *e, int64_t seq, const uint8_t hash[ES_SM3_LEN], int64_t at,
                      const uint8_t *sig, size_t sig_len);

/* Every checkpoint the witness holds against the trail read (docs/audit.md "Witness"). */
static void check_witness(engine *e)
{
    es_audit_report *rep = e->rep;
    uint8_t id[ES_SM3_LEN];
    if (!e->nwit) return;
    if (es_audit_key_id(e->pub, id) != ES_OK) {
        e->err = ES_ERR_CRYPTO;
        return;
    }
    /* Records found moved past the end do not make the trail longer. */
    int64_t end = e->max_seq;
    for (size_t i = 0; i < e->npend && end > 0; i++)
        if (e->pend[i].seq == end && e->pend[i].moved_from && e->pend[i].moved_from != end) {
            end--;
            i = (size_t)-1;
        }
    const es_audit_witnessed *beyond = NULL;
    size_t nbeyond = 0;
    for (size_t k = 0; k < e->nwit; k++) {
        const es_audit_witnessed *c = &e->wit[k];
        char at[40], where[48] = "";
        audit_time_iso(c->at, at);
        if (c->line) snprintf(where, sizeof where, " (witness line %ld)", c->line);
        rep->witnessed++;
        if (c->seq > rep->witness_seq) {
            rep->witness_seq = c->seq;
            rep->witness_at = c->at;
        }
        if (memcmp(c->key_id, id, ES_SM3_LEN) != 0) {
            finding(e, ES_AUDIT_WITNESS, c->seq, c->seq, 0, 0,
                    "witnessed checkpoint %lld%s is of another key than this trail's audit key",
                    (long long)c->seq, where);
        } else if (!tbs_sig_ok(e, c->seq, c->hash, c->at, c->sig, c->sig_len)) {
            finding(e, ES_AUDIT_WITNESS, c->seq, c->seq, 0, 0,
                    "witnessed checkpoint %lld%s: the signature is not the audit key's",
                    (long long)c->seq, where);
        } else if (e->wseen[k] && !e->wmatch[k]) {
            finding(e, ES_AUDIT_WITNESS, c->seq, c->seq, 0, 0,
                    "record %lld is not the record witnessed at %s%s: the trail up to it was "
                    "rewritten after the checkpoint was sent to the witness",
                    (long long)c->seq, at, where);
        } else if (!e->wseen[k] && e->rep->complete && c->seq > end) {
            if (!beyond || c->seq >= beyond->seq) beyond = c; /* one finding, the newest */
            nbeyond++;
        } else if (!e->wseen[k] && e->rep->complete) {
            finding(e, ES_AUDIT_WITNESS, c->seq, c->seq, 0, 0,
                    "record %lld, witnessed at %s%s, is not in the trail", (long long)c->seq, at,
                    where);
        }
    }
    if (beyond) {
        char at[40], where[48] = "";
        audit_time_iso(beyond->at, at);
        if (beyond->line) snprintf(where, sizeof where, " (witness line %ld)", beyond->line);
        finding(e, ES_AUDIT_WITNESS, end + 1, beyond->seq, 0, 0,
                "the trail ends at record %lld but the witness holds checkpoint %lld of %s%s: "
                "the trail is shorter than what was witnessed (records %lld to %lld cut, or "
                "the trail emptied and its head reset; %zu witnessed checkpoint%s past its end)",
                (long long)end, (long long)beyond->seq, at, where, (long long)(end + 1),
                (long long)beyond->seq, nbeyond, nbeyond == 1 ? "" : "s");
    }
}

/* Pass 2: the same records again, to explain the suspicious ones. */
static void feed2(engine *e, const audit_raw *r)
{
    if (!raw_ok(r)) return;
    if (r->seq == e->want_seq && !e->want_found) {
        e->want_found = 1;
        memcpy(e->want_hash, r->hash.p, ES_SM3_LEN);
    }
    if (e->tip_want && r->seq == e->tip_want && !e->tip_found) {
        e->tip_found = 1;
        memcpy(e->tip_hash, r->hash.p, ES_SM3_LEN);
    }
    pending *self = NULL;
    size_t nbad = 0;
    for (size_t i = 0; i < e->npend; i++) {
        pending *p = &e->pend[i];
        if (!p->pred && memcmp(p->prev, r->hash.p, ES_SM3_LEN) == 0 && r->seq != p->seq - 1)
            p->pred = r->seq;
        if (p->seq == r->seq && p->hash_bad && !p->moved_from) self = p;
        nbad += p->hash_bad;
    }
    if (!self || nbad > MAX_MOVE_CANDIDATES) return;
    int tries = 0;
    uint8_t h[ES_SM3_LEN];
    /* Under the seq of another suspicious record (two records swapped). */
    for (size_t i = 0; i < e->npend; i++) {
        const pending *q = &e->pend[i];
        if (!q->hash_bad || q->seq == r->seq) continue;
        tries++;
        if (audit_raw_hash(r, q->seq, h) == ES_OK && memcmp(h, r->hash.p, ES_SM3_LEN) == 0) {
            self->moved_from = q->seq;
            return;
        }
    }
    /* Under a seq no record holds now: a gap, or past the end the head or tip counts (a
     * record moved into another's place, or to the end). At most MAX_MOVE_CANDIDATES. */
    for (size_t i = 0; i < e->nmiss && tries < MAX_MOVE_CANDIDATES; i++)
        for (int64_t q = e->miss[i].a; q <= e->miss[i].b && tries < MAX_MOVE_CANDIDATES; q++) {
            tries++;
            if (audit_raw_hash(r, q, h) == ES_OK && memcmp(h, r->hash.p, ES_SM3_LEN) == 0) {
                self->moved_from = q;
                return;
            }
        }
    const es_audit_head *hd = &e->rep->head;
    int64_t end = hd->seq > hd->tip_seq ? hd->seq : hd->tip_seq;
    for (int64_t q = e->max_seq + 1; q <= end && tries < MAX_MOVE_CANDIDATES; q++) {
        tries++;
        if (audit_raw_hash(r, q, h) == ES_OK && memcmp(h, r->hash.p, ES_SM3_LEN) == 0) {
            self->moved_from = q;
            return;
        }
    }
}

static int genesis(const es_audit_head *h)
{
    return h->seq == 0 && h->sig_len == 0 && memcmp(h->hash, zero_hash, ES_SM3_LEN) == 0;
}

/* A signature of the audit key over DER SEQUENCE{seq, hash, at} (a head, a checkpoint). */
static int tbs_sig_ok(engine *e, int64_t seq, const uint8_t hash[ES_SM3_LEN], int64_t at,
                      const uint8_t *sig, size_t sig_len)
{
    es_buf tbs;
    es_buf_init(&tbs, 128);
    es_err rv = audit_head_tbs(seq, hash, at, &tbs);
    int good = rv == ES_OK &&
               audit_sig_verify(e->pub, tbs.p, tbs.len, es_slice_make(sig, sig_len)) == ES_OK;
    if (rv != ES_OK) e->err = rv;
    es_buf_cleanup(&tbs);
    return good;
}

/* The stored checkpoints: each signed by the audit key, each matching the record it covers;
 * the head is the newest of them. */
static void check_checkpoints(engine *e)
{
    es_audit_report *rep = e->rep;
    const es_audit_head *h = &rep->head;
    int64_t before = 0; /* the checkpoint before this one */
    const checkpoint *cut = NULL;
    for (size_t i = 0; i < e->ncps; i++) {
        const checkpoint *c = &e->cps[i];
        rep->checkpoints++;
        if (c->bad) {
            finding(e, ES_AUDIT_MALFORMED, c->seq, c->seq, 0, 0,
                    "checkpoint %lld: its hash is not 32 bytes or its signature cannot be read",
                    (long long)c->seq);
            about_checkpoint(e);
        } else if (!tbs_sig_ok(e, c->seq, c->hash, c->at, c->sig, c->sig_len)) {
            finding(e, ES_AUDIT_BAD_SIGNATURE, c->seq, c->seq, 0, 0,
                    "checkpoint %lld: the signature is not the audit key's", (long long)c->seq);
            about_checkpoint(e);
        } else if (c->seen && !c->match && !c->flagged) {
            finding(e, ES_AUDIT_CHECKPOINT, before + 1, c->seq, 0, 0,
                    "checkpoint %lld no longer matches record %lld: records %lld to %lld were "
                    "removed, rewritten or re-chained after it was signed",
                    (long long)c->seq, (long long)c->seq, (long long)(before + 1),
                    (long long)c->seq);
            about_checkpoint(e);
        } else if (!c->seen && c->seq > e->max_seq && !cut) {
            cut = c;
        }
        before = c->seq;
    }
    const checkpoint *last = e->ncps ? &e->cps[e->ncps - 1] : NULL;
    int head_is_last = last && rep->has_head && h->seq == last->seq && h->at == last->at &&
                       memcmp(h->hash, last->hash, ES_SM3_LEN) == 0 &&
                       h->sig_len == last->sig_len && memcmp(h->sig, last->sig, h->sig_len) == 0;
    /* A cut beyond a checkpoint that is also the head is the head's finding. */
    if (cut && !(head_is_last && cut == last)) {
        finding(e, ES_AUDIT_TRUNCATED, e->max_seq + 1, last->seq, 0, 0,
                "checkpoint %lld covers records up to %lld but the trail ends at %lld: records "
                "%lld to %lld were cut",
                (long long)cut->seq, (long long)last->seq, (long long)e->max_seq,
                (long long)(e->max_seq + 1), (long long)last->seq);
        about_checkpoint(e);
        e->head_reported = 1;
    }
    if (e->head_reported) return; /* the end of the trail is named already */
    if (rep->has_head && last && !head_is_last) {
        finding(e, ES_AUDIT_TRUNCATED, h->seq, h->seq, 0, 1,
                "the head (seq %lld) is not the newest checkpoint (seq %lld): it was set back "
                "or changed",
                (long long)h->seq, (long long)last->seq);
        e->head_reported = 1;
    } else if (rep->has_head && !last && h->seq > 0) {
        finding(e, ES_AUDIT_TRUNCATED, h->seq, h->seq, 0, 1,
                "the head (seq %lld) is no stored checkpoint: there is none", (long long)h->seq);
        e->head_reported = 1;
    }
}

/* End of pass 1: gaps, the head, the checkpoints. */
static void finish1(engine *e)
{
    es_audit_report *rep = e->rep;
    if (!rep->has_head) {
        if (e->check_end)
            finding(e, ES_AUDIT_TRUNCATED, e->max_seq + 1, e->max_seq + 1, 0, 1,
                    "there is no signed head: whether records were cut from the end cannot "
                    "be checked");
        check_checkpoints(e); /* their signatures and records still */
        return;
    }
    const es_audit_head *h = &rep->head;
    if (!genesis(h) && !tbs_sig_ok(e, h->seq, h->hash, h->at, h->sig, h->sig_len))
        finding(e, ES_AUDIT_BAD_SIGNATURE, h->seq, h->seq, 0, 1,
                "the head (seq %lld): the signature is not the audit key's", (long long)h->seq);
    int have_end = e->have_last && e->last_seq == e->max_seq;
    if (e->check_end && h->seq == e->max_seq + 1) {
        finding(e, ES_AUDIT_TRUNCATED, h->seq, h->seq, 0, 1,
                "the signed head counts %lld records but the trail ends at %lld: record %lld "
                "was cut",
                (long long)h->seq, (long long)e->max_seq, (long long)h->seq);
        e->head_reported = 1;
    } else if (e->check_end && h->seq > e->max_seq) {
        finding(e, ES_AUDIT_TRUNCATED, e->max_seq + 1, h->seq, 0, 1,
                "the signed head counts %lld records but the trail ends at %lld: records "
                "%lld to %lld were cut",
                (long long)h->seq, (long long)e->max_seq, (long long)(e->max_seq + 1),
                (long long)h->seq);
        e->head_reported = 1;
    } else if (e->check_end && h->seq < e->max_seq && e->max_v1_seq > h->seq) {
        /* A record of version 1 always moved the signed head with it. */
        finding(e, ES_AUDIT_TRUNCATED, h->seq + 1, e->max_seq, 0, 1,
                "the trail goes on to record %lld after the signed head (seq %lld): the head "
                "was set back, or records were added without it",
                (long long)e->max_seq, (long long)h->seq);
        e->head_reported = 1;
    } else if (e->check_end && h->seq < e->max_seq) {
        rep->pending = e->max_seq - h->seq; /* checked against the head in finish2 */
        if (h->seq > 0) e->want_seq = h->seq;
    } else if (h->seq > 0 && h->seq == e->max_seq && have_end &&
               memcmp(h->hash, e->last_hash, ES_SM3_LEN) != 0) {
        finding(e, ES_AUDIT_TRUNCATED, h->seq, h->seq, 0, 1,
                "the head's hash is not the hash of record %lld, the last one", (long long)h->seq);
        e->head_reported = 1;
    }
    if (e->ncps || !strcmp(rep->scope, "database")) check_checkpoints(e);
    /* The tip is checked after pass 2 (check_tip); the hash of the record it names is
     * wanted when that is not the last one read (a record may have been moved past it). */
    if (h->tip_seq > 0 && h->tip_seq < e->max_seq) e->tip_want = h->tip_seq;
}

/* The tip (a database): the newest record as the appender left it. Records found moved
 * past the end (reordered) do not count as the end. */
static void check_tip(engine *e)
{
    const es_audit_head *h = &e->rep->head;
    if (!e->rep->has_head || h->tip_seq < 0 || e->head_reported || !e->check_end) return;
    int64_t end = e->max_seq;
    for (size_t i = 0; i < e->npend && end > 0; i++)
        if (e->pend[i].seq == end && e->pend[i].moved_from && e->pend[i].moved_from != end) {
            end--;
            i = (size_t)-1; /* again from the start, for the record before */
        }
    int have_end = e->have_last && e->last_seq == e->max_seq;
    int hash_bad = 0;
    if (end > 0 && end == e->max_seq)
        hash_bad = have_end && memcmp(h->tip_hash, e->last_hash, ES_SM3_LEN) != 0;
    else if (end > 0 && end == h->tip_seq && e->tip_found)
        hash_bad = memcmp(h->tip_hash, e->tip_hash, ES_SM3_LEN) != 0;
    if (h->tip_seq == end && !hash_bad) {
        if (end < e->max_seq && h->seq <= end) e->rep->pending = end - h->seq;
        return;
    }
    finding(e, ES_AUDIT_TRUNCATED, h->tip_seq < end ? h->tip_seq + 1 : end + 1,
            h->tip_seq < end ? end : h->tip_seq, 0, 1,
            "the chain's tip in the head (record %lld) is not the last record (%lld): "
            "records were cut from the end or added without it",
            (long long)h->tip_seq, (long long)end);
    e->head_reported = 1;
}

static int finding_cmp(const void *a, const void *b)
{
    const es_audit_finding *x = a, *y = b;
    if (x->head != y->head) return x->head - y->head;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

/* After pass 2 (or without it): the suspicious records, then order. */
static void finish2(engine *e)
{
    for (size_t i = 0; i < e->npend; i++) {
        const pending *p = &e->pend[i];
        classify(e, p);
        if (!p->hash_bad || !p->moved_from) continue;
        /* The place it left is explained (take_missing: it is no gap); the place it took
         * held a record of its own, unless that one was moved too, or the place is past
         * the end the trail had. */
        take_missing(e, p->moved_from);
        const es_audit_head *h = &e->rep->head;
        int existed = p->seq < e->max_seq || p->seq <= h->seq || p->seq <= h->tip_seq;
        if (existed && !moved_away(e, p->seq))
            finding(e, ES_AUDIT_REMOVED, p->seq, p->seq, 0, 0,
                    "record %lld is missing: record %lld was put in its place", (long long)p->seq,
                    (long long)p->moved_from);
    }
    for (size_t i = 0; i < e->nmiss; i++) {
        const range *m = &e->miss[i];
        if (m->a == m->b)
            finding(e, ES_AUDIT_REMOVED, m->a, m->b, 0, 0, "record %lld is missing",
                    (long long)m->a);
        else
            finding(e, ES_AUDIT_REMOVED, m->a, m->b, 0, 0, "records %lld to %lld are missing",
                    (long long)m->a, (long long)m->b);
    }
    check_tip(e);
    check_witness(e);
    /* Records after the head: the head must still be the hash of the record it covers. */
    const es_audit_head *h = &e->rep->head;
    if (e->want_seq && e->want_found && !e->head_reported &&
        memcmp(e->want_hash, h->hash, ES_SM3_LEN) != 0)
        finding(e, ES_AUDIT_TRUNCATED, h->seq, h->seq, 0, 1,
                "the head's hash is not the hash of record %lld, which it covers",
                (long long)h->seq);
    if (e->rep->n_kept > 1)
        qsort(e->rep->findings, e->rep->n_kept, sizeof *e->rep->findings, finding_cmp);
}

static void report_init(es_audit_report *rep, const char *scope)
{
    memset(rep, 0, sizeof *rep);
    snprintf(rep->scope, sizeof rep->scope, "%s", scope);
}

int es_audit_report_ok(const es_audit_report *r)
{
    return r && r->n_findings == 0;
}

void es_audit_report_cleanup(es_audit_report *r)
{
    if (!r) return;
    free(r->findings);
    r->findings = NULL;
    r->n_kept = 0;
}

/* --- The store --- */

typedef struct store_src {
    engine *e;
    int pass;
} store_src;

static es_err store_row(void *ctx, const es_row *row)
{
    store_src *src = ctx;
    audit_raw r;
    audit_raw_from_row(row, &r);
    if (src->pass == 1)
        feed1(src->e, &r);
    else
        feed2(src->e, &r);
    return src->e->err;
}

static es_err checkpoint_row(void *ctx, const es_row *row)
{
    engine *e = ctx;
    if (e->ncps == e->capcps) {
        size_t cap = e->capcps ? 2 * e->capcps : 64;
        checkpoint *c = realloc(e->cps, cap * sizeof *c);
        if (!c) return ES_ERR_NOMEM;
        e->cps = c;
        e->capcps = cap;
    }
    checkpoint *c = &e->cps[e->ncps++];
    memset(c, 0, sizeof *c);
    c->seq = es_row_int(row, 0);
    es_slice hash = es_row_blob(row, 1);
    c->at = es_row_int(row, 2);
    es_slice sig = es_row_blob(row, 3);
    if (hash.len != ES_SM3_LEN || sig.len > sizeof c->sig) {
        c->bad = 1;
        return ES_OK;
    }
    memcpy(c->hash, hash.p, ES_SM3_LEN);
    memcpy(c->sig, sig.p, sig.len);
    c->sig_len = sig.len;
    return ES_OK;
}

static es_err tip_row(void *ctx, const es_row *row)
{
    engine *e = ctx;
    es_slice hash = es_row_blob(row, 0);
    if (hash.len == ES_SM3_LEN) {
        e->tip_found = 1;
        memcpy(e->tip_hash, hash.p, ES_SM3_LEN);
    }
    return ES_OK;
}

static es_err want_row(void *ctx, const es_row *row)
{
    engine *e = ctx;
    es_slice hash = es_row_blob(row, 0);
    if (hash.len == ES_SM3_LEN) {
        e->want_found = 1;
        memcpy(e->want_hash, hash.p, ES_SM3_LEN);
    }
    return ES_OK;
}

es_err es_audit_verify_store(es_store *s, const uint8_t pub[ES_SM2_PUB_LEN], es_audit_report *rep)
{
    return es_audit_verify_store_witness(s, pub, NULL, rep);
}

es_err es_audit_verify_store_witness(es_store *s, const uint8_t pub[ES_SM2_PUB_LEN],
                                     const es_audit_witness *w, es_audit_report *rep)
{
    if (!s || !pub || !rep) return ES_ERR_ARG;
    report_init(rep, "database");
    rep->complete = 1;
    engine e;
    engine_init(&e, pub, rep);
    es_err rv = engine_witness(&e, w);
    if (rv != ES_OK) {
        engine_cleanup(&e);
        return rv;
    }
    /* One snapshot for the records, the checkpoints and the head: appends and checkpoints
     * going on meanwhile are simply not seen. */
    rv = es_store_begin_read(s);
    if (rv != ES_OK) goto out;
    if ((rv = es_store_query(s, "SELECT seq, hash, at, sig FROM audit_checkpoint ORDER BY seq",
                             NULL, 0, checkpoint_row, &e)) != ES_OK)
        goto out;
    rv = es_audit_head_get(s, &rep->head);
    if (rv == ES_OK)
        rep->has_head = 1;
    else if (rv == ES_ERR_FORMAT) /* no head row, or a damaged one */
        rv = ES_OK;
    else
        goto out;
    store_src src = {&e, 1};
    static const char q[] = "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq";
    if ((rv = es_store_query(s, q, NULL, 0, store_row, &src)) != ES_OK) goto out;
    finish1(&e);
    if (e.tip_want) {
        es_value p = es_v_int(e.tip_want);
        if ((rv = es_store_query(s, "SELECT hash FROM audit WHERE seq = ?", &p, 1, tip_row, &e)) !=
            ES_OK)
            goto out;
    }
    if (e.want_seq) {
        es_value p = es_v_int(e.want_seq);
        if ((rv = es_store_query(s, "SELECT hash FROM audit WHERE seq = ?", &p, 1, want_row, &e)) !=
            ES_OK)
            goto out;
    }
    if (e.npend) {
        src.pass = 2;
        if ((rv = es_store_query(s, q, NULL, 0, store_row, &src)) != ES_OK) goto out;
    }
    finish2(&e);
    rv = e.err;
out:
    es_store_rollback(s);
    engine_cleanup(&e);
    return rv;
}

/* --- Exports --- */

/* A line's JSON and the bytes its record points to. */
typedef struct line_rec {
    json_t *j;
    es_buf prev, hash, sig, nonce;
} line_rec;

static void line_rec_init(line_rec *l)
{
    l->j = NULL;
    es_buf_init(&l->prev, 64);
    es_buf_init(&l->hash, 64);
    es_buf_init(&l->sig, 1024);
    es_buf_init(&l->nonce, 64);
}

static void line_rec_clear(line_rec *l)
{
    json_decref(l->j);
    l->j = NULL;
    l->prev.len = l->hash.len = l->sig.len = l->nonce.len = 0;
}

static void line_rec_cleanup(line_rec *l)
{
    json_decref(l->j);
    es_buf_cleanup(&l->prev);
    es_buf_cleanup(&l->hash);
    es_buf_cleanup(&l->sig);
    es_buf_cleanup(&l->nonce);
}

static int only_keys(json_t *o, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int known = 0;
        for (const char *const *x = keys; *x && !known; x++) known = strcmp(*x, k) == 0;
        if (!known) return 0;
    }
    (void)v;
    return 1;
}

static int get_int(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) return 0;
    *out = json_integer_value(v);
    return 1;
}

static int get_hex(json_t *o, const char *k, es_buf *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return 0;
    out->len = 0;
    return es_hex_decode(json_string_value(v), json_string_length(v), out) == ES_OK;
}

/* Reads a record line into r (pointing into l). 0 with *why set when it is not one. */
static int parse_record(line_rec *l, audit_raw *r, const char **why)
{
    static const char *const keys[] = {"type", "seq",    "at",      "time",   "actor",
                                       "role", "action", "object",  "detail", "prev",
                                       "hash", "sig",    "version", "nonce",  NULL};
    static const char *const fields[AF_COUNT] = {"actor", "role", "action", "object", "detail"};
    if (!only_keys(l->j, keys)) {
        *why = "a record with unknown fields";
        return 0;
    }
    if (!get_int(l->j, "seq", &r->seq) || !get_int(l->j, "at", &r->at)) {
        *why = "a record without seq or at";
        return 0;
    }
    for (int i = 0; i < AF_COUNT; i++) {
        json_t *v = json_object_get(l->j, fields[i]);
        if (!json_is_string(v)) {
            *why = "a record without one of actor, role, action, object, detail";
            return 0;
        }
        r->f[i] = es_slice_make(json_string_value(v), json_string_length(v));
    }
    if (!get_hex(l->j, "prev", &l->prev) || !get_hex(l->j, "hash", &l->hash) ||
        !get_hex(l->j, "sig", &l->sig)) {
        *why = "a record whose prev, hash or sig is not hex";
        return 0;
    }
    /* time is for people; it must say what at says. */
    json_t *t = json_object_get(l->j, "time");
    if (t) {
        char iso[40];
        audit_time_iso(r->at, iso);
        if (!json_is_string(t) || strcmp(json_string_value(t), iso) != 0) {
            *why = "a record whose time is not its at";
            return 0;
        }
    }
    /* Version 1 lines have neither version nor nonce; version 2 lines have both. */
    r->ver = 1;
    r->nonce = es_slice_make(NULL, 0);
    if (json_object_get(l->j, "version") || json_object_get(l->j, "nonce")) {
        if (!get_int(l->j, "version", &r->ver) || r->ver != 2 ||
            !get_hex(l->j, "nonce", &l->nonce)) {
            *why = "a record whose version or nonce cannot be read";
            return 0;
        }
        r->nonce = es_slice_make(l->nonce.p, l->nonce.len);
    }
    r->prev = es_slice_make(l->prev.p, l->prev.len);
    r->hash = es_slice_make(l->hash.p, l->hash.len);
    r->sig = es_slice_make(l->sig.p, l->sig.len);
    return 1;
}

static int parse_head(line_rec *l, es_audit_head *h, const char **why)
{
    static const char *const keys[] = {"type", "seq", "at", "hash", "sig", NULL};
    memset(h, 0, sizeof *h);
    if (!only_keys(l->j, keys) || !get_int(l->j, "seq", &h->seq) || !get_int(l->j, "at", &h->at) ||
        !get_hex(l->j, "hash", &l->hash) || !get_hex(l->j, "sig", &l->sig) ||
        l->hash.len != ES_SM3_LEN || l->sig.len > sizeof h->sig) {
        *why = "a head line that cannot be read";
        return 0;
    }
    memcpy(h->hash, l->hash.p, ES_SM3_LEN);
    if (l->sig.len) memcpy(h->sig, l->sig.p, l->sig.len);
    h->sig_len = l->sig.len;
    return 1;
}

/* The header: which checks the export allows. 0 when it is not a usable header. */
static int parse_header(engine *e, json_t *j)
{
    static const char *const keys[] = {"type",  "format", "version", "exported",
                                       "scope", "filter", NULL};
    static const char *const fkeys[] = {"from", "to", "actor", "action", NULL};
    json_t *f = json_object_get(j, "filter");
    json_t *fmt = json_object_get(j, "format");
    int64_t version = 0;
    if (!only_keys(j, keys) || !json_is_string(fmt) ||
        strcmp(json_string_value(fmt), ES_AUDIT_EXPORT_FORMAT) != 0 ||
        !get_int(j, "version", &version) || version < 1 || version > ES_AUDIT_EXPORT_VERSION ||
        !json_is_object(f) || !only_keys(f, fkeys))
        return 0;
    int from = !json_is_null(json_object_get(f, "from")) && json_object_get(f, "from");
    int to = !json_is_null(json_object_get(f, "to")) && json_object_get(f, "to");
    int sel = (json_object_get(f, "actor") && !json_is_null(json_object_get(f, "actor"))) ||
              (json_object_get(f, "action") && !json_is_null(json_object_get(f, "action")));
    const char *scope = sel ? "selection" : (from || to) ? "range" : "full";
    json_t *sc = json_object_get(j, "scope");
    if (!json_is_string(sc) || strcmp(json_string_value(sc), scope) != 0) return 0;
    snprintf(e->rep->scope, sizeof e->rep->scope, "%s", scope);
    /* The filter decides, whatever else the header says: a range export is contiguous, a
     * selection has gaps by design. */
    e->check_gaps = !sel;
    e->check_start = !sel && !from;
    e->check_end = !sel && !to;
    e->rep->complete = !sel && !from && !to;
    return 1;
}

typedef struct export_src {
    const es_audit_lines *in;
    engine *e;
    es_buf line;
    line_rec l;
} export_src;

/* One pass over the lines. */
static es_err export_pass(export_src *x, int pass)
{
    engine *e = x->e;
    es_err rv = ES_OK;
    int eof = 0, heads = 0;
    for (long n = 1; rv == ES_OK && e->err == ES_OK; n++) {
        x->line.len = 0;
        if ((rv = x->in->next(x->in->ctx, &x->line, &eof)) != ES_OK) {
            if (rv == ES_ERR_LIMIT && pass == 1) {
                finding(e, ES_AUDIT_MALFORMED, 0, 0, 0, 0, "line %ld is longer than %u bytes", n,
                        ES_AUDIT_MAX_LINE);
                rv = ES_OK;
                continue;
            }
            break;
        }
        if (eof) break;
        if (x->line.len && x->line.p[x->line.len - 1] == '\r') x->line.len--;
        line_rec_clear(&x->l);
        json_error_t jerr;
        x->l.j = json_loadb((const char *)x->line.p, x->line.len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *type = json_object_get(x->l.j, "type");
        const char *t = json_is_string(type) ? json_string_value(type) : "";
        const char *why = NULL;
        if (n == 1 && pass == 1) {
            if (strcmp(t, "header") == 0) {
                if (!parse_header(e, x->l.j))
                    finding(e, ES_AUDIT_MALFORMED, 0, 0, 0, 0,
                            "line 1: a header of another format, or with an unknown filter: "
                            "checked as a full export");
                continue;
            }
            finding(e, ES_AUDIT_MALFORMED, 0, 0, 0, 0,
                    "line 1 is not the export header: checked as a full export");
        }
        if (strcmp(t, "record") == 0) {
            audit_raw r;
            if (parse_record(&x->l, &r, &why)) {
                if (pass == 1)
                    feed1(e, &r);
                else
                    feed2(e, &r);
                continue;
            }
        } else if (strcmp(t, "head") == 0) {
            if (pass == 2) continue;
            es_audit_head h;
            if (parse_head(&x->l, &h, &why)) {
                if (heads++)
                    finding(e, ES_AUDIT_MALFORMED, h.seq, h.seq, 0, 1, "line %ld: a second head",
                            n);
                else {
                    h.tip_seq = -1; /* an export does not hold the tip */
                    e->rep->head = h;
                    e->rep->has_head = 1;
                }
                continue;
            }
        } else if (!x->l.j) {
            why = "not JSON";
        } else if (n > 1 && strcmp(t, "header") == 0) {
            why = "a header that is not on line 1";
        } else {
            why = "a line of unknown type";
        }
        if (pass == 1) {
            int64_t seq = 0;
            if (x->l.j) get_int(x->l.j, "seq", &seq);
            finding(e, ES_AUDIT_MALFORMED, seq, seq, 0, 0, "line %ld: %s", n, why);
        }
    }
    return rv;
}

es_err es_audit_verify_export(const es_audit_lines *in, const uint8_t pub[ES_SM2_PUB_LEN],
                              es_audit_report *rep)
{
    return es_audit_verify_export_witness(in, pub, NULL, rep);
}

es_err es_audit_verify_export_witness(const es_audit_lines *in, const uint8_t pub[ES_SM2_PUB_LEN],
                                      const es_audit_witness *w, es_audit_report *rep)
{
    if (!in || !in->next || !in->rewind || !pub || !rep) return ES_ERR_ARG;
    report_init(rep, "full");
    rep->complete = 1;
    engine e;
    engine_init(&e, pub, rep);
    export_src x = {in, &e, {0}, {0}};
    es_buf_init(&x.line, ES_AUDIT_MAX_LINE);
    line_rec_init(&x.l);
    es_err rv = engine_witness(&e, w);
    if (rv == ES_OK) rv = export_pass(&x, 1);
    if (rv == ES_OK && e.err == ES_OK) {
        finish1(&e);
        if ((e.npend || (e.want_seq && !e.want_found)) && (rv = in->rewind(in->ctx)) == ES_OK)
            rv = export_pass(&x, 2);
        finish2(&e);
    }
    if (rv == ES_OK) rv = e.err;
    line_rec_cleanup(&x.l);
    es_buf_cleanup(&x.line);
    engine_cleanup(&e);
    return rv;
}

typedef struct mem_lines {
    const uint8_t *p;
    size_t len, off;
} mem_lines;

static es_err mem_next(void *ctx, es_buf *line, int *eof)
{
    mem_lines *m = ctx;
    *eof = 0;
    if (m->off >= m->len) {
        *eof = 1;
        return ES_OK;
    }
    const uint8_t *s = m->p + m->off, *nl = memchr(s, '\n', m->len - m->off);
    size_t n = nl ? (size_t)(nl - s) : m->len - m->off;
    m->off += n + (nl ? 1 : 0);
    return es_buf_append(line, s, n);
}

static es_err mem_rewind(void *ctx)
{
    ((mem_lines *)ctx)->off = 0;
    return ES_OK;
}

es_err es_audit_verify_export_mem(const uint8_t *p, size_t len, const uint8_t pub[ES_SM2_PUB_LEN],
                                  es_audit_report *rep)
{
    if (!p && len) return ES_ERR_ARG;
    mem_lines m = {p, len, 0};
    es_audit_lines in = {mem_next, mem_rewind, &m};
    return es_audit_verify_export(&in, pub, rep);
}

/* --- Printing --- */

static es_err print_text(const es_audit_report *r, es_buf *out)
{
    es_err rv;
    char hash[2 * ES_SM3_LEN + 1];
    if (r->records)
        rv = es_buf_printf(out, "audit trail (%s): %lld records, seq %lld to %lld\n", r->scope,
                           (long long)r->records, (long long)r->first, (long long)r->last);
    else
        rv = es_buf_printf(out, "audit trail (%s): no records\n", r->scope);
    if (rv == ES_OK && r->has_head) {
        char at[40];
        audit_time_iso(r->head.at, at);
        es_hex_encode(r->head.hash, ES_SM3_LEN, hash);
        rv = es_buf_printf(out, "head: seq %lld, %s, hash %s\n", (long long)r->head.seq,
                           r->head.seq ? at : "-", hash);
    }
    if (rv == ES_OK && r->scope[0] == 'd')
        rv = es_buf_printf(out, "signed checkpoints: %lld checked\n", (long long)r->checkpoints);
    if (rv == ES_OK && r->witnessed) {
        char at[40];
        audit_time_iso(r->witness_at, at);
        rv = es_buf_printf(out, "witness: %lld checkpoints compared, the newest of seq %lld (%s)\n",
                           (long long)r->witnessed, (long long)r->witness_seq, at);
    }
    if (rv == ES_OK && r->pending)
        rv = es_buf_printf(out,
                           "not yet checkpointed: %lld record%s after the head (seq %lld to "
                           "%lld): signed and chained, their end not yet fixed by a signature\n",
                           (long long)r->pending, r->pending == 1 ? "" : "s",
                           (long long)(r->last - r->pending + 1), (long long)r->last);
    if (rv != ES_OK) return rv;
    if (!r->n_findings) {
        return es_buf_printf(
            out, "%s\n",
            r->complete          ? "INTACT: every record is signed by the audit key, the chain "
                                   "is unbroken and nothing is missing"
            : r->scope[0] == 's' ? "INTACT: every record present is signed by the audit "
                                   "key (a selection: completeness is not checked)"
                                 : "INTACT: every record is signed by the audit key and "
                                   "the range is unbroken");
    }
    rv =
        es_buf_printf(out, "FAILED: %zu finding%s (", r->n_findings, r->n_findings == 1 ? "" : "s");
    const char *sep = "";
    for (int k = 0; k < ES_AUDIT_KIND_COUNT && rv == ES_OK; k++) {
        if (!r->counts[k]) continue;
        rv =
            es_buf_printf(out, "%s%s %zu", sep, es_audit_kind_name((es_audit_kind)k), r->counts[k]);
        sep = ", ";
    }
    if (rv == ES_OK) rv = es_buf_printf(out, ")\n");
    for (size_t i = 0; i < r->n_kept && rv == ES_OK; i++)
        rv = es_buf_printf(out, "  %-13s %s\n", es_audit_kind_name(r->findings[i].kind),
                           r->findings[i].text);
    if (rv == ES_OK && r->n_kept < r->n_findings)
        rv = es_buf_printf(out, "  ... and %zu more\n", r->n_findings - r->n_kept);
    return rv;
}

static es_err print_json(const es_audit_report *r, es_buf *out)
{
    json_t *o = json_object(), *counts = json_object(), *list = json_array();
    if (!o || !counts || !list) {
        json_decref(o);
        json_decref(counts);
        json_decref(list);
        return ES_ERR_NOMEM;
    }
    json_object_set_new(o, "intact", json_boolean(r->n_findings == 0));
    json_object_set_new(o, "scope", json_string(r->scope));
    json_object_set_new(o, "complete", json_boolean(r->complete));
    json_object_set_new(o, "records", json_integer(r->records));
    json_object_set_new(o, "first", json_integer(r->first));
    json_object_set_new(o, "last", json_integer(r->last));
    json_object_set_new(o, "checkpoints", json_integer(r->checkpoints));
    json_object_set_new(o, "pending", json_integer(r->pending));
    if (r->witnessed)
        json_object_set_new(o, "witness",
                            json_pack("{s:I, s:I, s:I}", "checkpoints", (json_int_t)r->witnessed,
                                      "seq", (json_int_t)r->witness_seq, "at",
                                      (json_int_t)r->witness_at));
    if (r->has_head) {
        char hash[2 * ES_SM3_LEN + 1];
        es_hex_encode(r->head.hash, ES_SM3_LEN, hash);
        json_object_set_new(o, "head",
                            json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)r->head.seq, "at",
                                      (json_int_t)r->head.at, "hash", hash));
    } else {
        json_object_set_new(o, "head", json_null());
    }
    for (int k = 0; k < ES_AUDIT_KIND_COUNT; k++)
        json_object_set_new(counts, es_audit_kind_name((es_audit_kind)k),
                            json_integer((json_int_t)r->counts[k]));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "findings_total", json_integer((json_int_t)r->n_findings));
    for (size_t i = 0; i < r->n_kept; i++) {
        const es_audit_finding *f = &r->findings[i];
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I, s:b, s:b, s:s}", "kind",
                                              es_audit_kind_name(f->kind), "seq",
                                              (json_int_t)f->seq, "seq_end", (json_int_t)f->seq_end,
                                              "other", (json_int_t)f->other, "head", f->head,
                                              "checkpoint", f->checkpoint, "text", f->text));
    }
    json_object_set_new(o, "findings", list);
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!t) return ES_ERR_NOMEM;
    es_err rv = es_buf_append_str(out, t);
    if (rv == ES_OK) rv = es_buf_append_byte(out, '\n');
    free(t);
    return rv;
}

es_err es_audit_report_print(const es_audit_report *r, int json, es_buf *out)
{
    if (!r || !out) return ES_ERR_ARG;
    return json ? print_json(r, out) : print_text(r, out);
}
