/* The audit trail: appending signed, chained records inside the caller's transaction,
 * listing them and exporting them as JSON Lines (docs/audit.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/internal.h"
#include "eseal/der.h"

/* 0 when the two digests are equal (in constant time). */
static int digest_differs(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0;
    for (size_t i = 0; i < ES_SM3_LEN; i++) d |= (uint8_t)(a[i] ^ b[i]);
    return d;
}

static const char *const field_name[AF_COUNT] = {"actor", "role", "action", "object", "detail"};

/* INTEGER from an int64 (two's complement, minimal octets): seq and at. */
static void w_int64(es_der_w *w, int64_t v)
{
    uint8_t b[9];
    uint64_t u = (uint64_t)v;
    b[0] = v < 0 ? 0xff : 0x00;
    for (int i = 0; i < 8; i++) b[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    size_t k = 0;
    while (k < 8 && ((b[k] == 0x00 && !(b[k + 1] & 0x80)) || (b[k] == 0xff && (b[k + 1] & 0x80))))
        k++;
    es_der_w_prim(w, ES_DER_INTEGER, b + k, 9 - k);
}

es_err audit_record_hash(const uint8_t *prev, size_t prev_len, int64_t seq, int64_t at,
                         const es_slice f[AF_COUNT], uint8_t out[ES_SM3_LEN])
{
    size_t room = prev_len + 64;
    for (int i = 0; i < AF_COUNT; i++) room += f[i].len + 8;
    es_buf b;
    es_buf_init(&b, room);
    es_err rv = es_buf_append(&b, prev, prev_len);
    if (rv == ES_OK) {
        es_der_w w;
        es_der_w_init(&w, &b);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        w_int64(&w, seq);
        w_int64(&w, at);
        for (int i = 0; i < AF_COUNT; i++) es_der_w_prim(&w, ES_DER_UTF8_STRING, f[i].p, f[i].len);
        es_der_w_end(&w);
        rv = es_der_w_finish(&w);
    }
    if (rv == ES_OK) rv = es_sm3(b.p, b.len, out);
    es_buf_cleanup(&b);
    return rv;
}

es_err audit_content_der(const uint8_t *nonce, size_t nonce_len, int64_t at,
                         const es_slice f[AF_COUNT], es_buf *out)
{
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    w_int64(&w, ES_AUDIT_RECORD_VERSION);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, nonce, nonce_len);
    w_int64(&w, at);
    for (int i = 0; i < AF_COUNT; i++) es_der_w_prim(&w, ES_DER_UTF8_STRING, f[i].p, f[i].len);
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

es_err audit_record_hash2(const uint8_t *prev, size_t prev_len, int64_t seq, const uint8_t *content,
                          size_t content_len, uint8_t out[ES_SM3_LEN])
{
    es_buf b;
    es_buf_init(&b, prev_len + content_len + 32);
    es_err rv = es_buf_append(&b, prev, prev_len);
    if (rv == ES_OK) {
        es_der_w w;
        es_der_w_init(&w, &b);
        es_der_w_begin(&w, ES_DER_SEQUENCE);
        w_int64(&w, seq);
        es_der_w_raw(&w, content, content_len);
        es_der_w_end(&w);
        rv = es_der_w_finish(&w);
    }
    if (rv == ES_OK) rv = es_sm3(b.p, b.len, out);
    es_buf_cleanup(&b);
    return rv;
}

/* Room for the content of a record with these texts. */
static size_t content_room(const es_slice f[AF_COUNT])
{
    size_t room = 96;
    for (int i = 0; i < AF_COUNT; i++) room += f[i].len + 8;
    return room;
}

es_err audit_raw_hash(const audit_raw *r, int64_t seq, uint8_t out[ES_SM3_LEN])
{
    if (r->ver != 2) return audit_record_hash(r->prev.p, r->prev.len, seq, r->at, r->f, out);
    es_buf c;
    es_buf_init(&c, content_room(r->f));
    es_err rv = audit_content_der(r->nonce.p, r->nonce.len, r->at, r->f, &c);
    if (rv == ES_OK) rv = audit_record_hash2(r->prev.p, r->prev.len, seq, c.p, c.len, out);
    es_buf_cleanup(&c);
    return rv;
}

es_err audit_raw_sig_verify(const uint8_t pub[ES_SM2_PUB_LEN], const audit_raw *r)
{
    if (r->ver != 2) return audit_sig_verify(pub, r->hash.p, r->hash.len, r->sig);
    es_buf c;
    es_buf_init(&c, content_room(r->f));
    es_err rv = audit_content_der(r->nonce.p, r->nonce.len, r->at, r->f, &c);
    if (rv == ES_OK) rv = audit_sig_verify(pub, c.p, c.len, r->sig);
    es_buf_cleanup(&c);
    return rv;
}

es_err audit_head_tbs(int64_t seq, const uint8_t hash[ES_SM3_LEN], int64_t at, es_buf *out)
{
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    w_int64(&w, seq);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, hash, ES_SM3_LEN);
    w_int64(&w, at);
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

es_err audit_sig_verify(const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t *msg, size_t len,
                        es_slice sig)
{
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    es_err rv = es_sm2_digest(pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), msg, len, e);
    if (rv != ES_OK) return rv;
    if (es_sm2_sig_decode(sig, r, s, NULL) != ES_OK) return ES_ERR_VERIFY;
    return es_sm2_verify_digest(pub, e, r, s);
}

void audit_time_iso(int64_t at, char out[40])
{
    int64_t sec = at / 1000, ms = at % 1000;
    if (ms < 0) {
        ms += 1000;
        sec--;
    }
    char iso[32];
    es_time_format_iso(sec, iso);
    /* "...T08:00:00Z" -> "...T08:00:00.123Z" */
    size_t n = strlen(iso);
    if (n && iso[n - 1] == 'Z') iso[n - 1] = 0;
    snprintf(out, 40, "%s.%03dZ", iso, (int)ms);
}

void audit_raw_from_row(const es_row *row, audit_raw *out)
{
    out->seq = es_row_int(row, 0);
    out->at = es_row_int(row, 1);
    for (int i = 0; i < AF_COUNT; i++) {
        size_t len = 0;
        const char *t = es_row_text(row, 2 + i, &len);
        out->f[i] = es_slice_make(t, len);
    }
    out->prev = es_row_blob(row, 7);
    out->hash = es_row_blob(row, 8);
    out->sig = es_row_blob(row, 9);
    out->ver = es_row_int(row, 10);
    out->nonce = es_row_blob(row, 11);
}

/* --- Append --- */

typedef struct head_row {
    int found;
    int64_t seq, at, tip_seq;
    uint8_t hash_buf[ES_SM3_LEN];
    uint8_t tip_hash[ES_SM3_LEN];
    uint8_t sig[ES_AUDIT_MAX_SIG];
    size_t sig_len;
    int bad;
} head_row;

static es_err head_cb(void *ctx, const es_row *row)
{
    head_row *h = ctx;
    h->found = 1;
    h->seq = es_row_int(row, 0);
    es_slice hash = es_row_blob(row, 1);
    h->at = es_row_int(row, 2);
    es_slice sig = es_row_blob(row, 3);
    h->tip_seq = es_row_int(row, 4);
    es_slice tip = es_row_blob(row, 5);
    if (hash.len != ES_SM3_LEN || tip.len != ES_SM3_LEN || sig.len > sizeof h->sig) {
        h->bad = 1;
        return ES_OK;
    }
    memcpy(h->hash_buf, hash.p, ES_SM3_LEN);
    memcpy(h->tip_hash, tip.p, ES_SM3_LEN);
    if (sig.len) memcpy(h->sig, sig.p, sig.len);
    h->sig_len = sig.len;
    return ES_OK;
}

static es_err read_head(es_store *s, int lock, head_row *h)
{
    memset(h, 0, sizeof *h);
    /* PostgreSQL: the row lock orders concurrent appenders (the next one waits here until
     * this transaction ends, then reads the tip it left). SQLite: BEGIN IMMEDIATE already
     * made this connection the only writer. */
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    es_err rv = es_store_query(s,
                               lock && pg ? "SELECT seq, hash, at, sig, tip_seq, tip_hash FROM "
                                            "audit_head WHERE id = 1 FOR UPDATE"
                                          : "SELECT seq, hash, at, sig, tip_seq, tip_hash FROM "
                                            "audit_head WHERE id = 1",
                               NULL, 0, head_cb, h);
    if (rv != ES_OK) return rv;
    if (!h->found || h->bad) return ES_ERR_FORMAT;
    return ES_OK;
}

es_err es_audit_head_get(es_store *s, es_audit_head *out)
{
    if (!s || !out) return ES_ERR_ARG;
    head_row h;
    es_err rv = read_head(s, 0, &h);
    if (rv != ES_OK) return rv;
    memset(out, 0, sizeof *out);
    out->seq = h.seq;
    out->at = h.at;
    memcpy(out->hash, h.hash_buf, ES_SM3_LEN);
    memcpy(out->sig, h.sig, h.sig_len);
    out->sig_len = h.sig_len;
    out->tip_seq = h.tip_seq;
    memcpy(out->tip_hash, h.tip_hash, ES_SM3_LEN);
    return ES_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The five texts of rec, checked against their limits. */
static es_err texts_of(const es_audit_record *rec, es_slice f[AF_COUNT])
{
    const char *txt[AF_COUNT] = {rec->actor, rec->role, rec->action, rec->object, rec->detail};
    for (int i = 0; i < AF_COUNT; i++) {
        const char *t = txt[i] ? txt[i] : "";
        size_t n = strlen(t);
        if (n > (i == AF_DETAIL ? ES_AUDIT_MAX_DETAIL : ES_AUDIT_MAX_FIELD)) return ES_ERR_LIMIT;
        if (!es_utf8_valid(t, n)) return ES_ERR_ARG;
        f[i] = es_slice_make(t, n);
    }
    return ES_OK;
}

/* Where in rec->own each part lives. */
#define OWN_PREV   0
#define OWN_HASH   ES_SM3_LEN
#define OWN_DIGEST (2 * ES_SM3_LEN)
#define OWN_NONCE  (3 * ES_SM3_LEN)
#define OWN_SIG    (3 * ES_SM3_LEN + ES_AUDIT_NONCE_LEN)

es_err es_audit_prepare(es_signer *signer, es_audit_record *rec)
{
    if (!signer || !rec) return ES_ERR_ARG;
    es_slice f[AF_COUNT];
    es_err rv = texts_of(rec, f);
    if (rv != ES_OK) return rv;
    uint8_t *nonce = rec->own + OWN_NONCE;
    int64_t at = rec->at ? rec->at : now_ms();
    es_buf content, sig;
    es_buf_init(&content, content_room(f));
    es_buf_init(&sig, ES_AUDIT_MAX_SIG);
    rec->prepared = 0;
    if ((rv = es_random(nonce, ES_AUDIT_NONCE_LEN)) != ES_OK ||
        (rv = audit_content_der(nonce, ES_AUDIT_NONCE_LEN, at, f, &content)) != ES_OK ||
        (rv = es_signer_sign_message(signer, NULL, content.p, content.len, &sig)) != ES_OK ||
        (rv = es_sm3(content.p, content.len, rec->own + OWN_DIGEST)) != ES_OK)
        goto out;
    memcpy(rec->own + OWN_SIG, sig.p, sig.len);
    rec->at = at;
    rec->version = ES_AUDIT_RECORD_VERSION;
    rec->nonce = es_slice_make(nonce, ES_AUDIT_NONCE_LEN);
    rec->sig = es_slice_make(rec->own + OWN_SIG, sig.len);
    rec->prev = rec->hash = es_slice_make(NULL, 0);
    rec->seq = 0;
    rec->prepared = 1;
out:
    es_buf_cleanup(&content);
    es_buf_cleanup(&sig);
    return rv;
}

es_err es_audit_append(es_store *s, es_signer *signer, es_audit_record *rec)
{
    if (!s || !rec || (!signer && !rec->prepared)) return ES_ERR_ARG;
    if (!es_store_in_tx(s)) return ES_ERR_ARG; /* the record goes with the change it records */
    es_err rv;
    /* Signed before the chain is locked: the signature covers the record's own content,
     * not its place in the chain. */
    if (!rec->prepared && (rv = es_audit_prepare(signer, rec)) != ES_OK) return rv;
    es_slice f[AF_COUNT];
    if ((rv = texts_of(rec, f)) != ES_OK) return rv;
    if (rec->sig.len == 0 || rec->sig.len > ES_AUDIT_MAX_SIG) return ES_ERR_ARG;
    /* The slices of a copied record would point into the original: own[] is the record's. */
    rec->sig = es_slice_make(rec->own + OWN_SIG, rec->sig.len);
    rec->nonce = es_slice_make(rec->own + OWN_NONCE, ES_AUDIT_NONCE_LEN);
    es_buf content;
    es_buf_init(&content, content_room(f));
    uint8_t digest[ES_SM3_LEN], hash[ES_SM3_LEN];
    /* The texts signed are the texts stored: a caller that changed them after preparing
     * would store a record whose signature fails. */
    if ((rv = audit_content_der(rec->own + OWN_NONCE, ES_AUDIT_NONCE_LEN, rec->at, f, &content)) !=
            ES_OK ||
        (rv = es_sm3(content.p, content.len, digest)) != ES_OK)
        goto out;
    if (digest_differs(digest, rec->own + OWN_DIGEST) != 0) {
        rv = ES_ERR_ARG;
        goto out;
    }
    head_row h;
    if ((rv = read_head(s, 1, &h)) != ES_OK) goto out;
    int64_t seq = h.tip_seq + 1;
    if ((rv = audit_record_hash2(h.tip_hash, ES_SM3_LEN, seq, content.p, content.len, hash)) !=
        ES_OK)
        goto out;
    es_value p[12] = {es_v_int(seq),
                      es_v_int(rec->at),
                      es_v_blob(NULL, 0),
                      es_v_blob(NULL, 0),
                      es_v_blob(NULL, 0),
                      es_v_blob(NULL, 0),
                      es_v_blob(NULL, 0),
                      es_v_blob(h.tip_hash, ES_SM3_LEN),
                      es_v_blob(hash, sizeof hash),
                      es_v_blob(rec->sig.p, rec->sig.len),
                      es_v_int(ES_AUDIT_RECORD_VERSION),
                      es_v_blob(rec->own + OWN_NONCE, ES_AUDIT_NONCE_LEN)};
    for (int i = 0; i < AF_COUNT; i++) {
        p[2 + i].type = ES_V_TEXT;
        p[2 + i].p = f[i].p;
        p[2 + i].len = f[i].len;
    }
    es_value hp[2] = {es_v_int(seq), es_v_blob(hash, sizeof hash)};
    /* The record and the tip in one round trip: the chain's tip is locked until the commit. */
    es_stmt st[2] = {
        {"INSERT INTO audit (" AUDIT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 12,
         0},
        {"UPDATE audit_head SET tip_seq = ?, tip_hash = ? WHERE id = 1", hp, 2, 0},
    };
    if ((rv = es_store_exec_batch(s, st, 2)) != ES_OK) goto out;
    if (st[1].changes != 1) {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    rec->seq = seq;
    memcpy(rec->own + OWN_PREV, h.tip_hash, ES_SM3_LEN);
    memcpy(rec->own + OWN_HASH, hash, ES_SM3_LEN);
    rec->prev = es_slice_make(rec->own + OWN_PREV, ES_SM3_LEN);
    rec->hash = es_slice_make(rec->own + OWN_HASH, ES_SM3_LEN);
out:
    es_buf_cleanup(&content);
    return rv;
}

/* --- Checkpoints --- */

es_err es_audit_checkpoint(es_store *s, es_signer *signer, int64_t *seq_out)
{
    if (!s || !signer) return ES_ERR_ARG;
    if (es_store_in_tx(s)) return ES_ERR_ARG;
    head_row h;
    es_err rv = read_head(s, 0, &h);
    if (rv != ES_OK) return rv;
    if (seq_out) *seq_out = h.seq;
    if (h.tip_seq <= h.seq) return ES_OK; /* nothing new */
    /* Signed with no transaction open: the tip read is a state of the chain that stays
     * (records are never changed), whatever is appended meanwhile. */
    int64_t at = now_ms();
    if (at < h.at) at = h.at;
    es_buf tbs, sig;
    es_buf_init(&tbs, 128);
    es_buf_init(&sig, ES_AUDIT_MAX_SIG);
    if ((rv = audit_head_tbs(h.tip_seq, h.tip_hash, at, &tbs)) != ES_OK ||
        (rv = es_signer_sign_message(signer, NULL, tbs.p, tbs.len, &sig)) != ES_OK)
        goto out;
    if ((rv = es_store_begin(s)) != ES_OK) goto out;
    head_row now;
    if ((rv = read_head(s, 1, &now)) != ES_OK) goto out;
    if (now.seq >= h.tip_seq) { /* another connection checkpointed as far or further */
        es_store_rollback(s);
        if (seq_out) *seq_out = now.seq;
        goto out;
    }
    es_value cp[4] = {es_v_int(h.tip_seq), es_v_blob(h.tip_hash, ES_SM3_LEN), es_v_int(at),
                      es_v_blob(sig.p, sig.len)};
    int64_t changed = 0;
    if ((rv = es_store_exec(s,
                            "INSERT INTO audit_checkpoint (seq, hash, at, sig) VALUES (?, ?, ?, ?)",
                            cp, 4, NULL)) != ES_OK ||
        (rv = es_store_exec(s,
                            "UPDATE audit_head SET seq = ?, hash = ?, at = ?, sig = ? WHERE id = 1",
                            cp, 4, &changed)) != ES_OK)
        goto out;
    if (changed != 1) {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    if ((rv = es_store_commit(s)) != ES_OK) goto out;
    if (seq_out) *seq_out = h.tip_seq;
out:
    if (rv != ES_OK) es_store_rollback(s);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
    return rv;
}

es_err es_audit_checkpoint_due(es_store *s, es_signer *signer, int64_t max_records, int64_t max_ms,
                               int *done)
{
    if (done) *done = 0;
    if (!s || !signer || max_records < 0 || max_ms < 0) return ES_ERR_ARG;
    if (es_store_in_tx(s)) return ES_ERR_ARG;
    head_row h;
    es_err rv = read_head(s, 0, &h);
    if (rv != ES_OK || h.tip_seq <= h.seq) return rv;
    int due = max_records && h.tip_seq - h.seq >= max_records;
    if (!due && max_ms) {
        int64_t oldest = 0;
        es_value p = es_v_int(h.seq + 1);
        rv = es_store_query_int(s, "SELECT at FROM audit WHERE seq = ?", &p, 1, &oldest);
        if (rv == ES_ERR_NOT_FOUND) rv = ES_OK, due = 1; /* the tip has no record: say so */
        if (rv != ES_OK) return rv;
        due = due || now_ms() - oldest >= max_ms;
    }
    if (!due) return ES_OK;
    int64_t seq = 0;
    if ((rv = es_audit_checkpoint(s, signer, &seq)) != ES_OK) return rv;
    if (done) *done = seq > h.seq;
    return ES_OK;
}

/* --- List --- */

typedef struct where {
    char sql[512];
    es_value v[6];
    size_t n;
} where;

static void where_build(const es_audit_filter *f, int paging, where *w)
{
    w->n = 0;
    snprintf(w->sql, sizeof w->sql, "SELECT " AUDIT_COLUMNS " FROM audit WHERE 1 = 1");
#define ADD(cond, val)                                                                             \
    do {                                                                                           \
        strncat(w->sql, cond, sizeof w->sql - strlen(w->sql) - 1);                                 \
        w->v[w->n++] = (val);                                                                      \
    } while (0)
    /* An export by time only is one contiguous run of seq, from the first record at or
     * after from to the last one before to: records of version 2 take the time they were
     * signed, so two neighbours may be a few milliseconds out of order, and a range cut by
     * at alone could leave a record out (a gap the verifier would call removed). */
    int window = f && !paging && !f->actor && !f->action;
    if (f && window) {
        if (f->from)
            ADD(" AND seq >= (SELECT min(seq) FROM audit WHERE at >= ?)", es_v_int(f->from));
        if (f->to) ADD(" AND seq <= (SELECT max(seq) FROM audit WHERE at < ?)", es_v_int(f->to));
    } else if (f) {
        if (f->from) ADD(" AND at >= ?", es_v_int(f->from));
        if (f->to) ADD(" AND at < ?", es_v_int(f->to));
        if (f->actor) ADD(" AND actor = ?", es_v_text(f->actor));
        if (f->action) ADD(" AND action = ?", es_v_text(f->action));
    }
    if (f && paging && f->after) ADD(" AND seq > ?", es_v_int(f->after));
    strncat(w->sql, " ORDER BY seq", sizeof w->sql - strlen(w->sql) - 1);
    if (paging && f && f->limit > 0) ADD(" LIMIT ?", es_v_int(f->limit));
#undef ADD
}

typedef struct list_ctx {
    es_audit_record_cb cb;
    void *ctx;
} list_ctx;

static es_err list_cb(void *ctx, const es_row *row)
{
    list_ctx *l = ctx;
    audit_raw r;
    audit_raw_from_row(row, &r);
    es_audit_record rec;
    memset(&rec, 0, sizeof rec);
    rec.seq = r.seq;
    rec.at = r.at;
    rec.actor = (const char *)r.f[AF_ACTOR].p;
    rec.role = (const char *)r.f[AF_ROLE].p;
    rec.action = (const char *)r.f[AF_ACTION].p;
    rec.object = (const char *)r.f[AF_OBJECT].p;
    rec.detail = (const char *)r.f[AF_DETAIL].p;
    rec.prev = r.prev;
    rec.hash = r.hash;
    rec.sig = r.sig;
    rec.version = (int)r.ver;
    rec.nonce = r.nonce;
    return l->cb(l->ctx, &rec);
}

es_err es_audit_list(es_store *s, const es_audit_filter *filter, es_audit_record_cb cb, void *ctx)
{
    if (!s || !cb) return ES_ERR_ARG;
    where w;
    where_build(filter, 1, &w);
    list_ctx l = {cb, ctx};
    return es_store_query(s, w.sql, w.v, w.n, list_cb, &l);
}

/* --- Export --- */

static json_t *hex_json(es_slice b)
{
    char *h = malloc(2 * b.len + 1);
    if (!h) return NULL;
    es_hex_encode(b.p, b.len, h);
    json_t *j = json_string(h);
    free(h);
    return j;
}

/* Appends the compact JSON of o and consumes it. ES_ERR_FORMAT when a text is not UTF-8. */
static es_err dump_json(json_t *o, es_buf *out)
{
    if (!o) return ES_ERR_FORMAT;
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!t) return ES_ERR_FORMAT;
    es_err rv = es_buf_append_str(out, t);
    free(t);
    return rv;
}

static es_err raw_json(const audit_raw *r, es_buf *out)
{
    char iso[40];
    audit_time_iso(r->at, iso);
    json_t *o = json_object();
    int bad = !o;
    bad |= json_object_set_new(o, "type", json_string("record"));
    bad |= json_object_set_new(o, "seq", json_integer(r->seq));
    bad |= json_object_set_new(o, "at", json_integer(r->at));
    bad |= json_object_set_new(o, "time", json_string(iso));
    for (int i = 0; i < AF_COUNT && !bad; i++)
        bad |= json_object_set_new(o, field_name[i],
                                   json_stringn((const char *)r->f[i].p, r->f[i].len));
    bad |= json_object_set_new(o, "prev", hex_json(r->prev));
    bad |= json_object_set_new(o, "hash", hex_json(r->hash));
    bad |= json_object_set_new(o, "sig", hex_json(r->sig));
    if (r->ver != 1) { /* version 1 lines are as they always were */
        bad |= json_object_set_new(o, "version", json_integer(r->ver));
        bad |= json_object_set_new(o, "nonce", hex_json(r->nonce));
    }
    if (bad) {
        json_decref(o);
        return ES_ERR_FORMAT; /* json_stringn refuses text that is not UTF-8 */
    }
    return dump_json(o, out);
}

es_err es_audit_record_json(const es_audit_record *rec, es_buf *out)
{
    if (!rec || !out) return ES_ERR_ARG;
    audit_raw r;
    const char *txt[AF_COUNT] = {rec->actor, rec->role, rec->action, rec->object, rec->detail};
    r.seq = rec->seq;
    r.at = rec->at;
    for (int i = 0; i < AF_COUNT; i++)
        r.f[i] = es_slice_make(txt[i] ? txt[i] : "", txt[i] ? strlen(txt[i]) : 0);
    r.prev = rec->prev;
    r.hash = rec->hash;
    r.sig = rec->sig;
    r.ver = rec->version ? rec->version : 1;
    r.nonce = rec->nonce;
    return raw_json(&r, out);
}

typedef struct export_ctx {
    es_audit_write_fn write;
    void *ctx;
    es_buf line;
    int64_t count;
} export_ctx;

static es_err emit(export_ctx *e)
{
    es_err rv = es_buf_append_byte(&e->line, '\n');
    if (rv == ES_OK) rv = e->write(e->ctx, e->line.p, e->line.len);
    e->line.len = 0;
    return rv;
}

static es_err export_cb(void *ctx, const es_row *row)
{
    export_ctx *e = ctx;
    audit_raw r;
    audit_raw_from_row(row, &r);
    es_err rv = raw_json(&r, &e->line);
    if (rv == ES_OK) rv = emit(e);
    if (rv == ES_OK) e->count++;
    return rv;
}

static json_t *opt_int(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

es_err es_audit_export(es_store *s, const es_audit_filter *filter, es_audit_write_fn write,
                       void *ctx, int64_t *count)
{
    if (!s || !write) return ES_ERR_ARG;
    if (count) *count = 0;
    es_audit_filter none = {0};
    const es_audit_filter *f = filter ? filter : &none;
    const char *scope = (f->actor || f->action) ? "selection"
                        : (f->from || f->to)    ? "range"
                                                : "full";
    export_ctx e = {write, ctx, {0}, 0};
    es_buf_init(&e.line, ES_AUDIT_MAX_LINE);
    es_err rv = es_store_begin_read(s);
    if (rv != ES_OK) {
        es_buf_cleanup(&e.line);
        return rv;
    }
    char now[40];
    audit_time_iso(es_time_now() * 1000, now);
    json_t *flt = json_object(), *hdr = json_object();
    if (!flt || !hdr) {
        json_decref(flt);
        json_decref(hdr);
        rv = ES_ERR_NOMEM;
        goto out;
    }
    json_object_set_new(flt, "from", opt_int(f->from));
    json_object_set_new(flt, "to", opt_int(f->to));
    json_object_set_new(flt, "actor", opt_str(f->actor));
    json_object_set_new(flt, "action", opt_str(f->action));
    json_object_set_new(hdr, "type", json_string("header"));
    json_object_set_new(hdr, "format", json_string(ES_AUDIT_EXPORT_FORMAT));
    json_object_set_new(hdr, "version", json_integer(ES_AUDIT_EXPORT_VERSION));
    json_object_set_new(hdr, "exported", json_string(now));
    json_object_set_new(hdr, "scope", json_string(scope));
    json_object_set_new(hdr, "filter", flt);
    if ((rv = dump_json(hdr, &e.line)) != ES_OK || (rv = emit(&e)) != ES_OK) goto out;

    where w;
    where_build(f, 0, &w);
    if ((rv = es_store_query(s, w.sql, w.v, w.n, export_cb, &e)) != ES_OK) goto out;

    es_audit_head h;
    if ((rv = es_audit_head_get(s, &h)) != ES_OK) goto out;
    json_t *ho = json_object();
    if (!ho) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    json_object_set_new(ho, "type", json_string("head"));
    json_object_set_new(ho, "seq", json_integer(h.seq));
    json_object_set_new(ho, "at", json_integer(h.at));
    json_object_set_new(ho, "hash", hex_json(es_slice_make(h.hash, ES_SM3_LEN)));
    json_object_set_new(ho, "sig", hex_json(es_slice_make(h.sig, h.sig_len)));
    if ((rv = dump_json(ho, &e.line)) != ES_OK || (rv = emit(&e)) != ES_OK) goto out;
    if (count) *count = e.count;
out:
    es_store_rollback(s); /* a read-only snapshot: nothing to commit */
    es_buf_cleanup(&e.line);
    return rv;
}
