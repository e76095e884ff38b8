/* audit: the signed trail on SQLite and on PostgreSQL: appends only inside a transaction,
 * records signed before the transaction (es_audit_prepare) and chained under the lock
 * (checked here by recomputing content, hash and signature independently), rollback takes
 * the record with the change, the database refuses edits of its own (INSERT OR REPLACE and
 * upserts included), signed checkpoints at N records and at T ms, concurrent appenders
 * (8 x 200) with a checkpointer on their own connections give one gapless verified chain, a
 * writer killed with SIGKILL mid-load leaves a verifiable trail, a trail of version 1
 * records migrated and continued, listing with filters, tampering below the API (changed
 * fields, a removed record, two records swapped, the tail cut, the head changed, a forged
 * signature or checkpoint, a record re-hashed or rewritten, records removed and re-chained
 * under a checkpoint) each found and named, exports verified offline (and tampered
 * exports), backup -> restore -> verify. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "test.h"

#include "audit/internal.h"
#include "eseal/audit.h"
#include "eseal/der.h"
#include "store/internal.h"
#include "store_test.h"
#include "audit_forge.h"

static const char *label;
static const char *(*fresh)(const char *name);
static es_signer *audit_key;

#define UNIT "某某市人力资源和社会保障局"

/* Appends records 1..n (one transaction each, with a business row in the same one). */
static void make_trail(es_store *s, int from, int to)
{
    static const char *const actors[] = {"alice", "bob", "张三"};
    static const char *const actions[] = {"user.create", "session.login", "seal.make"};
    for (int i = from; i <= to; i++) {
        char obj[32], detail[64], key[32];
        snprintf(obj, sizeof obj, "user:u%d", i);
        snprintf(detail, sizeof detail, "detail-%d %s", i, UNIT);
        snprintf(key, sizeof key, "row-%d", i);
        es_audit_record r = {0};
        r.actor = actors[i % 3];
        r.role = "business_admin";
        r.action = actions[i % 3];
        r.object = obj;
        r.detail = detail;
        es_value kv[2] = {es_v_text(key), es_v_text("v")};
        /* Signed before the transaction: no lock is held while the key works. */
        if (es_audit_prepare(audit_key, &r) != ES_OK || es_store_begin(s) != ES_OK ||
            es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) !=
                ES_OK ||
            es_audit_append(s, NULL, &r) != ES_OK || es_store_commit(s) != ES_OK)
            st_die("append %d: %s", i, es_store_last_error(s));
    }
}

static void checkpoint(es_store *s)
{
    if (es_audit_checkpoint(s, audit_key, NULL) != ES_OK)
        st_die("checkpoint: %s", es_store_last_error(s));
}

/* Records 1..n, all checkpointed (as the daemon leaves them within N records or T ms). */
static es_store *trail(const char *name, int n)
{
    es_store *s = st_open_migrated(fresh(name));
    make_trail(s, 1, n);
    checkpoint(s);
    return s;
}

static int64_t count_of(es_store *s, const char *sql)
{
    int64_t n = -1;
    if (es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) return -1;
    return n;
}

/* Verifies and returns the report (cleaned up by the caller). */
static es_audit_report verify(es_store *s, const uint8_t *pub)
{
    es_audit_report rep;
    if (es_audit_verify_store(s, pub ? pub : audit_key->pub, &rep) != ES_OK)
        st_die("verify: %s", es_store_last_error(s));
    return rep;
}

/* 1 when the report holds a finding of kind about seq (head: about the head). */
static int has(const es_audit_report *r, es_audit_kind kind, int64_t seq, int head)
{
    for (size_t i = 0; i < r->n_kept; i++)
        if (r->findings[i].kind == kind && r->findings[i].seq == seq &&
            r->findings[i].head == head && !r->findings[i].checkpoint)
            return 1;
    return 0;
}

/* The finding of kind about a stored checkpoint, from seq to seq_end; NULL when none. */
static const es_audit_finding *has_cp(const es_audit_report *r, es_audit_kind kind, int64_t seq,
                                      int64_t seq_end)
{
    for (size_t i = 0; i < r->n_kept; i++)
        if (r->findings[i].kind == kind && r->findings[i].checkpoint && r->findings[i].seq == seq &&
            r->findings[i].seq_end == seq_end)
            return &r->findings[i];
    return NULL;
}

static void show(const es_audit_report *r)
{
    es_buf b;
    es_buf_init(&b, 1 << 20);
    if (es_audit_report_print(r, 0, &b) == ES_OK && es_buf_nul(&b) == ES_OK)
        fprintf(stderr, "%s", (const char *)b.p);
    es_buf_cleanup(&b);
}

typedef struct got {
    int n;
    int64_t seq[64];
    char actor[64][32];
    uint8_t prev[64][32], hash[64][32];
    es_buf sig[64];
    int64_t at[64];
    char detail[64][128];
    int version[64];
    uint8_t nonce[64][ES_AUDIT_NONCE_LEN];
} got;

static es_err collect(void *ctx, const es_audit_record *r)
{
    got *g = ctx;
    if (g->n >= 64) return ES_OK;
    int i = g->n++;
    g->seq[i] = r->seq;
    g->at[i] = r->at;
    snprintf(g->actor[i], sizeof g->actor[i], "%s", r->actor);
    snprintf(g->detail[i], sizeof g->detail[i], "%s", r->detail);
    g->version[i] = r->version;
    if (r->nonce.len == ES_AUDIT_NONCE_LEN) memcpy(g->nonce[i], r->nonce.p, ES_AUDIT_NONCE_LEN);
    if (r->prev.len == 32) memcpy(g->prev[i], r->prev.p, 32);
    if (r->hash.len == 32) memcpy(g->hash[i], r->hash.p, 32);
    es_buf_init(&g->sig[i], 256);
    if (es_buf_append(&g->sig[i], r->sig.p, r->sig.len) != ES_OK) return ES_ERR_NOMEM;
    return ES_OK;
}

static void got_cleanup(got *g)
{
    for (int i = 0; i < g->n && i < 64; i++) es_buf_cleanup(&g->sig[i]);
}

/* The definition of docs/audit.md (version 2), written out again with the DER writer:
 * content = SEQUENCE{2, nonce, at, actor, role, action, object, detail}, signed as it is;
 * hash = SM3(prev || SEQUENCE{seq, content}). */
static int independent_check(const got *g, int i, const char *role, const char *action,
                             const char *object)
{
    es_buf c, b;
    es_buf_init(&c, 4096);
    es_buf_init(&b, 8192);
    es_der_w w;
    es_der_w_init(&w, &c);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 2);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, g->nonce[i], ES_AUDIT_NONCE_LEN);
    es_der_w_long(&w, (long)g->at[i]);
    const char *f[5] = {g->actor[i], role, action, object, g->detail[i]};
    for (int k = 0; k < 5; k++) es_der_w_prim(&w, ES_DER_UTF8_STRING, f[k], strlen(f[k]));
    es_der_w_end(&w);
    int good = g->version[i] == 2 && es_der_w_finish(&w) == ES_OK &&
               es_buf_append(&b, g->prev[i], 32) == ES_OK;
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, (long)g->seq[i]);
    es_der_w_raw(&w, c.p, c.len);
    es_der_w_end(&w);
    uint8_t h[32], e[32], r[32], s[32];
    good = good && es_der_w_finish(&w) == ES_OK && es_sm3(b.p, b.len, h) == ES_OK &&
           !memcmp(h, g->hash[i], 32);
    good = good && es_sm2_digest(audit_key->pub, ES_SM2_DEFAULT_ID, 16, c.p, c.len, e) == ES_OK &&
           es_sm2_sig_decode(es_slice_make(g->sig[i].p, g->sig[i].len), r, s, NULL) == ES_OK &&
           es_sm2_verify_digest(audit_key->pub, e, r, s) == ES_OK;
    es_buf_cleanup(&c);
    es_buf_cleanup(&b);
    return good;
}

static void t_append(void)
{
    es_store *s = st_open_migrated(fresh("append"));
    es_audit_record r = {0};
    r.actor = "alice";
    r.role = "system_admin";
    r.action = "user.create";
    r.object = "user:bob";
    r.detail = "{\"display_name\":\"" UNIT "\"}";
    ok(es_audit_append(s, audit_key, &r) == ES_ERR_ARG, "%s: refused outside a transaction", label);
    ok(count_of(s, "SELECT count(*) FROM audit") == 0, "%s: nothing written", label);
    ok(es_store_begin_read(s) == ES_OK && es_audit_append(s, audit_key, &r) != ES_OK,
       "%s: refused in a read-only transaction", label);
    es_store_rollback(s);

    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_audit_append(s, audit_key, &r) == ES_OK, "%s: append: %s", label, es_store_last_error(s));
    ok(r.seq == 1 && r.at > 1700000000000LL, "%s: seq 1, at now in ms (%lld)", label,
       (long long)r.at);
    static const uint8_t zero[32];
    ok(r.prev.len == 32 && !memcmp(r.prev.p, zero, 32), "%s: record 1 chains to zeros", label);
    ok(r.hash.len == 32 && r.sig.len >= 8, "%s: hash and signature returned", label);
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);

    /* Rolled back with the change it recorded. */
    es_audit_record r2 = r;
    r2.at = 0;
    r2.prepared = 0; /* a copy of a record appended: signed again as a new one */
    ok(es_store_begin(s) == ES_OK && es_audit_append(s, audit_key, &r2) == ES_OK && r2.seq == 2,
       "%s: a second append", label);
    es_store_rollback(s);
    es_audit_head h;
    ok(es_audit_head_get(s, &h) == ES_OK && h.tip_seq == 1 && h.seq == 0,
       "%s: rolled back: the tip is at 1, nothing checkpointed yet", label);
    ok(count_of(s, "SELECT count(*) FROM audit") == 1, "%s: one record", label);

    /* Texts: limits, UTF-8, NULL as "". */
    char big[ES_AUDIT_MAX_FIELD + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    es_audit_record bad = r;
    bad.actor = big;
    ok(es_store_begin(s) == ES_OK && es_audit_append(s, audit_key, &bad) == ES_ERR_LIMIT,
       "%s: an actor over the limit", label);
    bad = r;
    bad.detail = "\xc3\x28 not UTF-8";
    ok(es_audit_append(s, audit_key, &bad) == ES_ERR_ARG, "%s: text that is not UTF-8", label);
    bad.detail = "\xed\xa0\x80 a surrogate";
    ok(es_audit_append(s, audit_key, &bad) == ES_ERR_ARG, "%s: a UTF-16 surrogate", label);
    bad.detail = "\xe5\x8d";
    ok(es_audit_append(s, audit_key, &bad) == ES_ERR_ARG, "%s: a cut sequence", label);
    es_audit_record nul = {0};
    nul.action = "system.start";
    nul.at = 1767225600123LL; /* a given time is kept */
    ok(es_audit_append(s, audit_key, &nul) == ES_OK && nul.seq == 2 && nul.at == 1767225600123LL,
       "%s: NULL texts read as empty, a given time is kept", label);
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);

    make_trail(s, 3, 12);
    checkpoint(s);
    got g = {0};
    ok(es_audit_list(s, NULL, collect, &g) == ES_OK && g.n == 12, "%s: 12 records listed (%d)",
       label, g.n);
    int chain = 1;
    for (int i = 1; i < g.n; i++)
        chain &= g.seq[i] == i + 1 && !memcmp(g.prev[i], g.hash[i - 1], 32);
    ok(chain, "%s: each prev is the hash before it", label);
    ok(independent_check(&g, 0, "system_admin", "user.create", "user:bob"),
       "%s: record 1 as docs/audit.md defines it (SM3 over prev || DER, SM2 signature)", label);
    ok(independent_check(&g, 4, "business_admin", "seal.make", "user:u5"), "%s: record 5 too",
       label);
    got_cleanup(&g);

    es_audit_report rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.records == 12 && rep.first == 1 && rep.last == 12 &&
           rep.has_head && rep.head.seq == 12 && rep.complete && rep.checkpoints == 1 &&
           rep.pending == 0,
       "%s: the trail verifies: %zu findings", label, rep.n_findings);
    if (!es_audit_report_ok(&rep)) show(&rep);
    es_audit_report_cleanup(&rep);

    es_signer *other = st_signer();
    rep = verify(s, other->pub);
    ok(rep.counts[ES_AUDIT_BAD_SIGNATURE] == 14 && has(&rep, ES_AUDIT_BAD_SIGNATURE, 12, 1) &&
           has_cp(&rep, ES_AUDIT_BAD_SIGNATURE, 12, 12),
       "%s: another key: every record, the checkpoint and the head refused (%zu)", label,
       rep.counts[ES_AUDIT_BAD_SIGNATURE]);
    es_audit_report_cleanup(&rep);
    es_signer_free(other);

    /* The database itself refuses edits (append-only triggers). */
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "UPDATE audit SET detail = 'x' WHERE seq = 3", NULL, 0, NULL) != ES_OK,
       "%s: UPDATE of a record refused by the database", label);
    es_store_rollback(s);
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "DELETE FROM audit WHERE seq = 12", NULL, 0, NULL) != ES_OK,
       "%s: DELETE refused", label);
    es_store_rollback(s);
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "UPDATE audit_head SET seq = 5 WHERE id = 1", NULL, 0, NULL) != ES_OK,
       "%s: setting the head back refused", label);
    es_store_rollback(s);
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s,
                         "INSERT INTO audit (seq, at, actor, role, action, object, detail, prev, "
                         "hash, sig) SELECT seq + 5, at, actor, role, action, object, detail, "
                         "prev, hash, sig FROM audit WHERE seq = 12",
                         NULL, 0, NULL) != ES_OK,
       "%s: a record out of sequence refused", label);
    es_store_rollback(s);
    /* INSERT OR REPLACE (SQLite) and upserts (PostgreSQL) rewrite a row without UPDATE or
     * DELETE triggers firing: the BEFORE INSERT triggers refuse them. */
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    static const char *const replace_sqlite[] = {
        "INSERT OR REPLACE INTO audit (" AUDIT_COLUMNS ") SELECT seq, at, 'mallory', role, "
        "action, object, detail, prev, hash, sig, ver, nonce FROM audit WHERE seq = 3",
        "REPLACE INTO audit_head (id, seq, hash, sig, at, tip_seq, tip_hash) VALUES "
        "(1, 0, zeroblob(32), X'', 0, 0, zeroblob(32))",
        "INSERT OR REPLACE INTO audit_checkpoint (seq, hash, at, sig) SELECT seq, hash, 0, sig "
        "FROM audit_checkpoint",
        "UPDATE audit_checkpoint SET at = 0",
        "DELETE FROM audit_checkpoint",
        NULL};
    static const char *const replace_pg[] = {
        "INSERT INTO audit (" AUDIT_COLUMNS ") SELECT seq, at, 'mallory', role, action, object, "
        "detail, prev, hash, sig, ver, nonce FROM audit WHERE seq = 3 ON CONFLICT (seq) DO "
        "UPDATE SET actor = EXCLUDED.actor",
        "INSERT INTO audit_head (id, seq, hash, sig, at, tip_seq, tip_hash) VALUES (1, 0, "
        "'\\x00'::bytea, ''::bytea, 0, 0, ''::bytea) ON CONFLICT (id) DO UPDATE SET seq = 0",
        "INSERT INTO audit_checkpoint (seq, hash, at, sig) SELECT seq, hash, 0, sig FROM "
        "audit_checkpoint ON CONFLICT (seq) DO UPDATE SET at = 0",
        "UPDATE audit_checkpoint SET at = 0",
        "DELETE FROM audit_checkpoint",
        "TRUNCATE audit_checkpoint",
        NULL};
    for (const char *const *q = pg ? replace_pg : replace_sqlite; *q; q++) {
        ok(es_store_begin(s) == ES_OK && es_store_exec(s, *q, NULL, 0, NULL) != ES_OK,
           "%s: refused: %.60s...", label, *q);
        es_store_rollback(s);
    }
    rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.records == 12 && rep.checkpoints == 1, "%s: still intact",
       label);
    if (!es_audit_report_ok(&rep)) show(&rep);
    es_audit_report_cleanup(&rep);

    /* A prepared record whose texts change before it is appended is refused: its signature
     * would not be of what is stored. */
    es_audit_record pr = {0};
    pr.actor = "alice";
    pr.action = "seal.make";
    ok(es_audit_prepare(audit_key, &pr) == ES_OK && pr.prepared && pr.version == 2 &&
           pr.nonce.len == ES_AUDIT_NONCE_LEN && pr.sig.len > 8 && pr.at > 0,
       "%s: prepared outside any transaction", label);
    pr.action = "seal.revoke";
    ok(es_store_begin(s) == ES_OK && es_audit_append(s, NULL, &pr) == ES_ERR_ARG,
       "%s: a prepared record changed afterwards is refused", label);
    es_store_rollback(s);
    es_audit_record np = {0};
    np.action = "seal.make";
    ok(es_store_begin(s) == ES_OK && es_audit_append(s, NULL, &np) == ES_ERR_ARG,
       "%s: no signer and not prepared: refused", label);
    es_store_rollback(s);
    ok(es_audit_checkpoint(s, audit_key, NULL) == ES_OK, "%s: a checkpoint with nothing new",
       label);
    ok(count_of(s, "SELECT count(*) FROM audit_checkpoint") == 1, "%s: writes nothing", label);
    ok(es_store_begin(s) == ES_OK && es_audit_checkpoint(s, audit_key, NULL) == ES_ERR_ARG,
       "%s: a checkpoint inside a transaction is refused", label);
    es_store_rollback(s);
    es_store_close(s);
}

/* Checkpoints when due: at N records, at T ms (by the oldest record's time). */
static void t_checkpoint_due(void)
{
    es_store *s = st_open_migrated(fresh("due"));
    int done = -1;
    ok(es_audit_checkpoint_due(s, audit_key, 5, 0, &done) == ES_OK && done == 0,
       "%s: an empty trail: nothing due", label);
    make_trail(s, 1, 4);
    ok(es_audit_checkpoint_due(s, audit_key, 5, 3600 * 1000, &done) == ES_OK && done == 0,
       "%s: 4 records, N = 5, T = 1 h: not due", label);
    make_trail(s, 5, 5);
    es_audit_head h;
    ok(es_audit_checkpoint_due(s, audit_key, 5, 3600 * 1000, &done) == ES_OK && done == 1 &&
           es_audit_head_get(s, &h) == ES_OK && h.seq == 5 && h.tip_seq == 5,
       "%s: 5 records: a checkpoint at 5", label);
    ok(es_audit_checkpoint_due(s, audit_key, 1, 1, &done) == ES_OK && done == 0,
       "%s: nothing after it: nothing due", label);
    /* One record whose time is 2 s ago: due at T = 1 s, not at T = 1 h. */
    es_audit_record r = {0};
    r.actor = "alice";
    r.action = "seal.make";
    r.at = (int64_t)time(NULL) * 1000 - 2000;
    ok(es_audit_prepare(audit_key, &r) == ES_OK && es_store_begin(s) == ES_OK &&
           es_audit_append(s, NULL, &r) == ES_OK && es_store_commit(s) == ES_OK && r.seq == 6,
       "%s: record 6, two seconds old", label);
    ok(es_audit_checkpoint_due(s, audit_key, 100, 3600 * 1000, &done) == ES_OK && done == 0,
       "%s: T = 1 h: not due", label);
    ok(es_audit_checkpoint_due(s, audit_key, 100, 1000, &done) == ES_OK && done == 1 &&
           es_audit_head_get(s, &h) == ES_OK && h.seq == 6,
       "%s: T = 1 s: a checkpoint at 6", label);
    es_audit_report rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.checkpoints == 2 && rep.pending == 0,
       "%s: two checkpoints verify", label);
    es_audit_report_cleanup(&rep);
    make_trail(s, 7, 9);
    rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.pending == 3 && rep.head.seq == 6,
       "%s: 3 records after the newest checkpoint: intact, named as not yet checkpointed", label);
    es_buf b;
    es_buf_init(&b, 1 << 16);
    ok(es_audit_report_print(&rep, 0, &b) == ES_OK && es_buf_nul(&b) == ES_OK &&
           strstr((const char *)b.p, "not yet checkpointed: 3 records after the head (seq 7 to 9)"),
       "%s: and says so", label);
    es_buf_cleanup(&b);
    es_audit_report_cleanup(&rep);
    ok(es_audit_checkpoint_due(NULL, audit_key, 1, 1, &done) == ES_ERR_ARG &&
           es_audit_checkpoint_due(s, audit_key, -1, 1, &done) == ES_ERR_ARG,
       "%s: bad arguments", label);
    es_store_close(s);
}

static void t_list(void)
{
    es_store *s = trail("list", 12);
    got g = {0};
    es_audit_filter f = {0};
    f.actor = "张三"; /* i % 3 == 2: 2, 5, 8, 11 */
    ok(es_audit_list(s, &f, collect, &g) == ES_OK && g.n == 4 && g.seq[0] == 2 && g.seq[3] == 11,
       "%s: by actor (%d)", label, g.n);
    got_cleanup(&g);
    memset(&g, 0, sizeof g);
    f = (es_audit_filter){0};
    f.action = "session.login"; /* i % 3 == 1 */
    f.after = 4;
    f.limit = 2;
    ok(es_audit_list(s, &f, collect, &g) == ES_OK && g.n == 2 && g.seq[0] == 7 && g.seq[1] == 10,
       "%s: by action, after 4, limit 2", label);
    got_cleanup(&g);
    memset(&g, 0, sizeof g);
    ok(es_audit_list(s, NULL, collect, &g) == ES_OK && g.n == 12, "%s: all", label);
    int64_t at5 = g.at[4];
    int mono = 1;
    for (int i = 1; i < g.n; i++) mono &= g.at[i] >= g.at[i - 1];
    ok(mono, "%s: time never goes back along the chain", label);
    int64_t last = g.at[11];
    got_cleanup(&g);
    memset(&g, 0, sizeof g);
    f = (es_audit_filter){0};
    f.from = at5;
    f.to = last + 1;
    ok(es_audit_list(s, &f, collect, &g) == ES_OK && g.n >= 8 && g.seq[g.n - 1] == 12,
       "%s: by time (%d)", label, g.n);
    got_cleanup(&g);
    es_store_close(s);
}

typedef struct app_arg {
    const char *url;
    int n, id;
    pthread_barrier_t *go;
    int failures;
    char why[256];
} app_arg;

static void *append_thread(void *p)
{
    app_arg *a = p;
    es_store *s = NULL;
    if (es_store_open(a->url, &s) != ES_OK) {
        a->failures = a->n;
        pthread_barrier_wait(a->go);
        return NULL;
    }
    pthread_barrier_wait(a->go);
    for (int i = 0; i < a->n; i++) {
        char key[32], obj[32];
        snprintf(key, sizeof key, "t%d-%d", a->id, i);
        snprintf(obj, sizeof obj, "thread:%d", a->id);
        es_value kv[2] = {es_v_text(key), es_v_text("v")};
        es_audit_record r = {0};
        r.actor = "worker";
        r.action = "test.write";
        r.object = obj;
        r.detail = key;
        /* Even threads sign before the transaction, odd ones leave it to es_audit_append
         * (which signs before it locks the chain): both verify. */
        es_err rv = a->id % 2 == 0 ? es_audit_prepare(audit_key, &r) : ES_OK;
        if (rv == ES_OK) rv = es_store_begin(s);
        if (rv == ES_OK)
            rv = es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL);
        if (rv == ES_OK) rv = es_audit_append(s, audit_key, &r);
        if (rv == ES_OK) rv = es_store_commit(s);
        if (rv != ES_OK) {
            a->failures++;
            snprintf(a->why, sizeof a->why, "%s: %s", es_err_name(rv), es_store_last_error(s));
            es_store_rollback(s);
        }
    }
    es_store_close(s);
    return NULL;
}

typedef struct cp_arg {
    const char *url;
    atomic_int *stop;
    int written, failures;
    char why[256];
} cp_arg;

/* The daemon's checkpoint job, on its own connection, while the appenders run. */
static void *checkpoint_thread(void *p)
{
    cp_arg *c = p;
    es_store *s = NULL;
    if (es_store_open(c->url, &s) != ES_OK) {
        c->failures++;
        return NULL;
    }
    while (!atomic_load(c->stop)) {
        int done = 0;
        es_err rv = es_audit_checkpoint_due(s, audit_key, 50, 20, &done);
        if (rv != ES_OK) {
            c->failures++;
            snprintf(c->why, sizeof c->why, "%s: %s", es_err_name(rv), es_store_last_error(s));
        }
        c->written += done;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    es_store_close(s);
    return NULL;
}

static void t_concurrent(void)
{
    enum { THREADS = 8, EACH = 200 };
    const char *url = fresh("concurrent");
    es_store *s = st_open_migrated(url);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    pthread_t th[THREADS], cpt;
    app_arg a[THREADS];
    atomic_int stop = 0;
    cp_arg c = {url, &stop, 0, 0, ""};
    pthread_create(&cpt, NULL, checkpoint_thread, &c);
    for (int i = 0; i < THREADS; i++) {
        a[i] = (app_arg){url, EACH, i, &go, 0, ""};
        pthread_create(&th[i], NULL, append_thread, &a[i]);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        failures += a[i].failures;
        if (a[i].failures) fprintf(stderr, "thread %d: %s\n", i, a[i].why);
    }
    atomic_store(&stop, 1);
    pthread_join(cpt, NULL);
    pthread_barrier_destroy(&go);
    ok(c.failures == 0 && c.written >= 2,
       "%s: checkpoints written meanwhile (%d), no failure (%d%s%s)", label, c.written, c.failures,
       c.failures ? ": " : "", c.why);
    es_audit_head h0;
    if (es_audit_head_get(s, &h0) != ES_OK) st_die("head: %s", es_store_last_error(s));
    checkpoint(s); /* a last one, unless the thread's last one covered everything */
    int last = h0.seq < THREADS * EACH;
    ok(failures == 0, "%s: %d appenders x %d, no failure (%d)", label, THREADS, EACH, failures);
    const int64_t n = THREADS * EACH;
    ok(count_of(s, "SELECT count(*) FROM audit") == n, "%s: %lld records", label, (long long)n);
    ok(count_of(s, "SELECT count(DISTINCT seq) FROM audit") == n, "%s: no duplicate seq", label);
    ok(count_of(s, "SELECT min(seq) FROM audit") == 1 &&
           count_of(s, "SELECT max(seq) FROM audit") == n,
       "%s: seq 1..%lld without gaps", label, (long long)n);
    ok(count_of(s, "SELECT count(*) FROM settings") == n, "%s: each with its change", label);
    es_audit_report rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.records == n && rep.head.seq == n && rep.pending == 0 &&
           rep.checkpoints == c.written + last,
       "%s: one chain of %lld records and %lld checkpoints verifies INTACT (%zu findings)", label,
       (long long)n, (long long)rep.checkpoints, rep.n_findings);
    if (!es_audit_report_ok(&rep)) show(&rep);
    es_audit_report_cleanup(&rep);
    es_store_close(s);
}

/* A writer killed with SIGKILL in the middle of its load: whatever it committed is in the
 * chain and verifies; the records after its last checkpoint are checkpointed at the next
 * start, as the daemon does. */
static void t_kill(void)
{
    const char *url = fresh("killed");
    es_store *s = st_open_migrated(url);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        es_store *w = NULL;
        if (es_store_open(url, &w) != ES_OK) _exit(3);
        for (int i = 0;; i++) {
            es_audit_record r = {0};
            r.actor = "writer";
            r.action = "test.write";
            r.detail = UNIT;
            if (es_audit_prepare(audit_key, &r) != ES_OK || es_store_begin(w) != ES_OK ||
                es_audit_append(w, NULL, &r) != ES_OK || es_store_commit(w) != ES_OK)
                _exit(4);
            if (i % 7 == 6 && es_audit_checkpoint(w, audit_key, NULL) != ES_OK) _exit(5);
        }
    }
    ok(pid > 0, "%s: a writer process", label);
    int64_t n = 0;
    for (int i = 0; i < 3000 && n < 60; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = count_of(s, "SELECT count(*) FROM audit");
    }
    int status = 0;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && n >= 60,
       "%s: killed with SIGKILL after at least %lld records", label, (long long)n);
    es_audit_report rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.records >= n && rep.checkpoints >= 1,
       "%s: the trail it left verifies (%lld records, %lld checkpoints, %lld pending)", label,
       (long long)rep.records, (long long)rep.checkpoints, (long long)rep.pending);
    if (!es_audit_report_ok(&rep)) show(&rep);
    int64_t records = rep.records;
    es_audit_report_cleanup(&rep);
    int64_t seq = 0;
    ok(es_audit_checkpoint(s, audit_key, &seq) == ES_OK && seq == records,
       "%s: the next start checkpoints all of it (%lld)", label, (long long)seq);
    rep = verify(s, NULL);
    ok(es_audit_report_ok(&rep) && rep.pending == 0 && rep.records == records,
       "%s: intact, nothing pending", label);
    es_audit_report_cleanup(&rep);
    es_store_close(s);
}

/* A trail of 10, tampered with by sql (after the guards are dropped), then verified. */
static es_audit_report tampered(const char *name, const char *const *sql)
{
    es_store *s = trail(name, 10);
    forge_unguard(s);
    for (; *sql; sql++) st_sql(s, *sql);
    es_audit_report rep = verify(s, NULL);
    es_store_close(s);
    return rep;
}

#define SQL(...) ((const char *const[]){__VA_ARGS__, NULL})

static void t_tamper(void)
{
    es_audit_report r;

    r = tampered("t_detail", SQL("UPDATE audit SET detail = 'nothing happened' WHERE seq = 4"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 4, 0), "%s: a changed detail: record 4",
       label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_at", SQL("UPDATE audit SET at = at - 86400000 WHERE seq = 5"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 5, 0), "%s: a changed time: record 5", label);
    es_audit_report_cleanup(&r);

    r = tampered("t_actor", SQL("UPDATE audit SET actor = 'mallory' WHERE seq = 6"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 6, 0), "%s: a changed actor: record 6",
       label);
    es_audit_report_cleanup(&r);

    r = tampered("t_delete", SQL("DELETE FROM audit WHERE seq = 5"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_REMOVED, 5, 0), "%s: a removed record: 5", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_delete_first", SQL("DELETE FROM audit WHERE seq <= 2"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_REMOVED, 1, 0) && r.findings[0].seq_end == 2,
       "%s: the first two removed: 1..2", label);
    es_audit_report_cleanup(&r);

    r = tampered("t_swap", SQL("UPDATE audit SET seq = 1003 WHERE seq = 3",
                               "UPDATE audit SET seq = 3 WHERE seq = 6",
                               "UPDATE audit SET seq = 6 WHERE seq = 1003"));
    ok(r.n_findings == 2 && has(&r, ES_AUDIT_REORDERED, 3, 0) && has(&r, ES_AUDIT_REORDERED, 6, 0),
       "%s: records 3 and 6 swapped: both reordered", label);
    ok(r.n_kept == 2 && r.findings[0].other == 6 && r.findings[1].other == 3,
       "%s: each named as the other", label);
    if (r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_swap_adj", SQL("UPDATE audit SET seq = 1007 WHERE seq = 7",
                                   "UPDATE audit SET seq = 7 WHERE seq = 8",
                                   "UPDATE audit SET seq = 8 WHERE seq = 1007"));
    ok(r.n_findings == 2 && has(&r, ES_AUDIT_REORDERED, 7, 0) && has(&r, ES_AUDIT_REORDERED, 8, 0),
       "%s: neighbours 7 and 8 swapped", label);
    es_audit_report_cleanup(&r);

    /* Issue 13, item 14: a record moved to another position is reordered, named by where
     * it was written; the place it left is not reported as removed. */
    r = tampered("t_move_gap",
                 SQL("DELETE FROM audit WHERE seq = 6", "UPDATE audit SET seq = 6 WHERE seq = 3"));
    ok(has(&r, ES_AUDIT_REORDERED, 6, 0) && !has(&r, ES_AUDIT_CHANGED, 6, 0) &&
           !has(&r, ES_AUDIT_REMOVED, 3, 0) && has(&r, ES_AUDIT_REMOVED, 6, 0) && r.n_findings == 2,
       "%s: record 6 removed and record 3 moved into its place: reordered 6 (record 3), "
       "removed 6",
       label);
    ok(r.n_kept == 2 && r.findings[1].kind == ES_AUDIT_REORDERED && r.findings[1].other == 3 &&
           strstr(r.findings[1].text, "stored as seq 6 is record 3") &&
           strstr(r.findings[0].text, "record 3 was put in its place"),
       "%s: the moved record named as record 3, the removed one as replaced by it", label);
    if (r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_move_end", SQL("UPDATE audit SET seq = 11 WHERE seq = 3"));
    ok(has(&r, ES_AUDIT_REORDERED, 11, 0) && !has(&r, ES_AUDIT_CHANGED, 11, 0) &&
           !has(&r, ES_AUDIT_REMOVED, 3, 0) && r.n_findings == 1,
       "%s: record 3 moved after the last one: reordered 11 (record 3), nothing else", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_move_back",
                 SQL("DELETE FROM audit WHERE seq = 2", "UPDATE audit SET seq = 2 WHERE seq = 8",
                     "DELETE FROM audit WHERE seq = 9", "UPDATE audit SET seq = 9 WHERE seq = 10",
                     "UPDATE audit_head SET tip_seq = 9, tip_hash = (SELECT hash "
                     "FROM audit WHERE seq = 9)"));
    ok(has(&r, ES_AUDIT_REORDERED, 2, 0) && has(&r, ES_AUDIT_REORDERED, 9, 0) &&
           !has(&r, ES_AUDIT_CHANGED, 2, 0) && !has(&r, ES_AUDIT_CHANGED, 9, 0),
       "%s: records 8 and 10 moved to 2 and 9: both reordered", label);
    ok(has(&r, ES_AUDIT_REMOVED, 2, 0) && has(&r, ES_AUDIT_REMOVED, 9, 0) &&
           !has(&r, ES_AUDIT_REMOVED, 8, 0) && r.counts[ES_AUDIT_TRUNCATED] == 1 &&
           r.n_findings == 5,
       "%s: 2 and 9 removed (replaced), 8 not (moved), 10 named by the cut", label);
    if (r.n_findings != 5) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_tail", SQL("DELETE FROM audit WHERE seq >= 9"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_TRUNCATED, 9, 1) && r.findings[0].seq_end == 10,
       "%s: the tail cut: 9..10 truncated", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_tail_head",
                 SQL("DELETE FROM audit WHERE seq >= 9",
                     "UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit WHERE seq = "
                     "8), at = (SELECT at FROM audit WHERE seq = 8)"));
    ok(r.n_findings == 2 && has(&r, ES_AUDIT_BAD_SIGNATURE, 8, 1) &&
           has_cp(&r, ES_AUDIT_TRUNCATED, 9, 10),
       "%s: the tail cut and the head moved back: the head's signature fails, the checkpoint "
       "names the cut",
       label);
    if (r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);

    r = tampered("t_head", SQL("UPDATE audit_head SET seq = 11"));
    ok(has(&r, ES_AUDIT_BAD_SIGNATURE, 11, 1) && has(&r, ES_AUDIT_TRUNCATED, 11, 1) &&
           r.n_findings == 2,
       "%s: a changed head: signature and count", label);
    es_audit_report_cleanup(&r);

    r = tampered("t_head_gone", SQL("DELETE FROM audit_head"));
    ok(r.n_findings == 1 && r.counts[ES_AUDIT_TRUNCATED] == 1 && !r.has_head, "%s: no head at all",
       label);
    es_audit_report_cleanup(&r);

    r = tampered("t_appended", SQL("INSERT INTO audit (" AUDIT_COLUMNS ") SELECT seq + 1, at, "
                                   "actor, role, action, object, detail, hash, hash, sig, ver, "
                                   "nonce FROM audit WHERE seq = 10"));
    ok(r.n_findings == 2 && has(&r, ES_AUDIT_TRUNCATED, 11, 1) && has(&r, ES_AUDIT_CHANGED, 11, 0),
       "%s: a copy of record 10 slipped in after the head", label);
    if (r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);

    /* Rewritten in place by INSERT OR REPLACE (SQLite) or an upsert (PostgreSQL), once the
     * guards are gone: the content no longer hashes, nor matches its signature. */
    r = tampered("t_replace",
                 strcmp(label, "sqlite") == 0
                     ? SQL("INSERT OR REPLACE INTO audit (" AUDIT_COLUMNS ") SELECT seq, at, "
                           "'mallory', role, action, object, detail, prev, hash, sig, ver, nonce "
                           "FROM audit WHERE seq = 4")
                     : SQL("INSERT INTO audit (" AUDIT_COLUMNS ") SELECT seq, at, 'mallory', "
                           "role, action, object, detail, prev, hash, sig, ver, nonce FROM audit "
                           "WHERE seq = 4 ON CONFLICT (seq) DO UPDATE SET actor = EXCLUDED.actor"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 4, 0),
       "%s: record 4 rewritten by INSERT OR REPLACE / upsert: changed", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);

    /* A signature by another key. */
    {
        es_store *s = trail("t_forge", 10);
        forge_unguard(s);
        got g = {0};
        es_audit_filter f = {0};
        f.after = 6;
        f.limit = 1;
        es_signer *mallory = st_signer();
        es_buf sig;
        es_buf_init(&sig, 128);
        ok(es_audit_list(s, &f, collect, &g) == ES_OK && g.n == 1 &&
               es_signer_sign_message(mallory, NULL, g.hash[0], 32, &sig) == ES_OK,
           "%s: a forged signature of record 7", label);
        es_value p = es_v_blob(sig.p, sig.len);
        ok(es_store_begin(s) == ES_OK &&
               es_store_exec(s, "UPDATE audit SET sig = ? WHERE seq = 7", &p, 1, NULL) == ES_OK &&
               es_store_commit(s) == ES_OK,
           "%s: put in place", label);
        es_audit_report rep = verify(s, NULL);
        ok(rep.n_findings == 1 && has(&rep, ES_AUDIT_BAD_SIGNATURE, 7, 0),
           "%s: a forged signature: record 7", label);
        es_audit_report_cleanup(&rep);

        /* Record 4 changed and re-hashed (no key to sign it): its signature fails, and the
         * link after it is not reported twice. */
        es_slice fields[AF_COUNT] = {es_slice_make("alice", 5), es_slice_make("business_admin", 14),
                                     es_slice_make("user.create", 11), es_slice_make("user:u4", 7),
                                     es_slice_make("nothing", 7)};
        got g4 = {0};
        f.after = 3;
        uint8_t h[32];
        es_buf content;
        es_buf_init(&content, 4096);
        ok(es_audit_list(s, &f, collect, &g4) == ES_OK && g4.n == 1 &&
               audit_content_der(g4.nonce[0], ES_AUDIT_NONCE_LEN, g4.at[0], fields, &content) ==
                   ES_OK &&
               audit_record_hash2(g4.prev[0], 32, 4, content.p, content.len, h) == ES_OK,
           "%s: record 4 re-hashed", label);
        es_buf_cleanup(&content);
        es_value q[6] = {es_v_text("alice"),   es_v_text("user.create"), es_v_text("user:u4"),
                         es_v_text("nothing"), es_v_blob(h, 32),         es_v_int(4)};
        ok(es_store_begin(s) == ES_OK &&
               es_store_exec(s,
                             "UPDATE audit SET actor = ?, action = ?, object = ?, detail = ?, "
                             "hash = ? WHERE seq = ?",
                             q, 6, NULL) == ES_OK &&
               es_store_commit(s) == ES_OK,
           "%s: put in place", label);
        rep = verify(s, NULL);
        ok(rep.n_findings == 2 && has(&rep, ES_AUDIT_BAD_SIGNATURE, 4, 0) &&
               has(&rep, ES_AUDIT_BAD_SIGNATURE, 7, 0),
           "%s: a re-hashed record: 4 (and 7 still)", label);
        if (rep.n_findings != 2) show(&rep);
        es_audit_report_cleanup(&rep);
        got_cleanup(&g);
        got_cleanup(&g4);
        es_buf_cleanup(&sig);
        es_signer_free(mallory);
        es_store_close(s);
    }
}

/* --- Checkpoints under attack --- */

static es_err to_buf(void *ctx, const void *p, size_t len);
static es_audit_report verify_text(const char *text);
static char *replace(const char *text, const char *from, const char *to);

typedef struct rows {
    int n;
    int64_t seq[64], at[64];
    char f[64][AF_COUNT][160];
    uint8_t hash[64][32], nonce[64][ES_AUDIT_NONCE_LEN];
    uint8_t sig[64][ES_AUDIT_MAX_SIG];
    size_t sig_len[64];
} rows;

static es_err row_copy(void *ctx, const es_row *row)
{
    rows *r = ctx;
    if (r->n >= 64) return ES_ERR_LIMIT;
    audit_raw a;
    audit_raw_from_row(row, &a);
    int i = r->n++;
    r->seq[i] = a.seq;
    r->at[i] = a.at;
    for (int k = 0; k < AF_COUNT; k++)
        snprintf(r->f[i][k], sizeof r->f[i][k], "%.*s", (int)a.f[k].len, (const char *)a.f[k].p);
    memcpy(r->hash[i], a.hash.p, 32);
    memcpy(r->nonce[i], a.nonce.p, ES_AUDIT_NONCE_LEN);
    memcpy(r->sig[i], a.sig.p, a.sig.len);
    r->sig_len[i] = a.sig.len;
    return ES_OK;
}

/* What someone with the database and without the key can do to records of version 2: remove
 * record gone and chain the ones after it again, one seq down, with hashes recomputed (each
 * keeps its own valid signature); the tip follows. */
static void rechain_without(es_store *s, int64_t gone)
{
    rows *r = calloc(1, sizeof *r);
    es_value p = es_v_int(gone - 1), pg = es_v_int(gone);
    if (!r || es_store_query(s, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq >= ? ORDER BY seq",
                             &p, 1, row_copy, r) != ES_OK)
        st_die("rechain: %s", es_store_last_error(s));
    if (es_store_begin(s) != ES_OK ||
        es_store_exec(s, "DELETE FROM audit WHERE seq >= ?", &pg, 1, NULL) != ES_OK)
        st_die("rechain: %s", es_store_last_error(s));
    uint8_t prev[32];
    memcpy(prev, r->hash[0], 32); /* record gone - 1 */
    for (int i = 2; i < r->n; i++) {
        int64_t seq = r->seq[i] - 1;
        es_slice f[AF_COUNT];
        for (int k = 0; k < AF_COUNT; k++) f[k] = es_slice_make(r->f[i][k], strlen(r->f[i][k]));
        es_buf c;
        es_buf_init(&c, 4096);
        uint8_t h[32];
        if (audit_content_der(r->nonce[i], ES_AUDIT_NONCE_LEN, r->at[i], f, &c) != ES_OK ||
            audit_record_hash2(prev, 32, seq, c.p, c.len, h) != ES_OK)
            st_die("rechain: hash");
        es_buf_cleanup(&c);
        es_value v[12] = {es_v_int(seq),         es_v_int(r->at[i]),
                          es_v_text(r->f[i][0]), es_v_text(r->f[i][1]),
                          es_v_text(r->f[i][2]), es_v_text(r->f[i][3]),
                          es_v_text(r->f[i][4]), es_v_blob(prev, 32),
                          es_v_blob(h, 32),      es_v_blob(r->sig[i], r->sig_len[i]),
                          es_v_int(2),           es_v_blob(r->nonce[i], ES_AUDIT_NONCE_LEN)};
        if (es_store_exec(s,
                          "INSERT INTO audit (" AUDIT_COLUMNS
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          v, 12, NULL) != ES_OK)
            st_die("rechain: %s", es_store_last_error(s));
        memcpy(prev, h, 32);
        if (i == r->n - 1) {
            es_value t[2] = {es_v_int(seq), es_v_blob(h, 32)};
            if (es_store_exec(s, "UPDATE audit_head SET tip_seq = ?, tip_hash = ?", t, 2, NULL) !=
                ES_OK)
                st_die("rechain: %s", es_store_last_error(s));
        }
    }
    if (es_store_commit(s) != ES_OK) st_die("rechain: %s", es_store_last_error(s));
    free(r);
}

static void t_checkpoint_tamper(void)
{
    /* Records removed and the chain rebuilt under checkpoint 8: every record verifies on its
     * own and the chain is unbroken, but checkpoint 8 no longer matches record 8. */
    es_store *s = st_open_migrated(fresh("cp_rechain"));
    make_trail(s, 1, 4);
    checkpoint(s);
    make_trail(s, 5, 8);
    checkpoint(s);
    make_trail(s, 9, 10);
    forge_unguard(s);
    rechain_without(s, 6);
    es_audit_report r = verify(s, NULL);
    const es_audit_finding *f = has_cp(&r, ES_AUDIT_CHECKPOINT, 5, 8);
    ok(f && r.n_findings == 2 && r.records == 9 && r.counts[ES_AUDIT_REMOVED] == 0,
       "%s: record 6 removed and the rest re-chained: checkpoint 8 names records 5 to 8", label);
    ok(has(&r, ES_AUDIT_TRUNCATED, 8, 1), "%s: and the head is not record 8's hash", label);
    if (!f || r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);
    es_store_close(s);

    /* A checkpoint forged with another key, and the head moved to it. */
    s = trail("cp_forged", 10);
    make_trail(s, 11, 12);
    forge_unguard(s);
    es_audit_head h;
    es_signer *mallory = st_signer();
    es_buf tbs, sig;
    es_buf_init(&tbs, 256);
    es_buf_init(&sig, 256);
    int64_t at = (int64_t)time(NULL) * 1000;
    ok(es_audit_head_get(s, &h) == ES_OK && h.tip_seq == 12 &&
           audit_head_tbs(12, h.tip_hash, at, &tbs) == ES_OK &&
           es_signer_sign_message(mallory, NULL, tbs.p, tbs.len, &sig) == ES_OK,
       "%s: a checkpoint of record 12 signed by another key", label);
    es_value cp[4] = {es_v_int(12), es_v_blob(h.tip_hash, 32), es_v_int(at),
                      es_v_blob(sig.p, sig.len)};
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "INSERT INTO audit_checkpoint (seq, hash, at, sig) VALUES (?, ?, ?, ?)",
                         cp, 4, NULL) == ES_OK &&
           es_store_exec(s, "UPDATE audit_head SET seq = ?, hash = ?, at = ?, sig = ?", cp, 4,
                         NULL) == ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: put in place, the head with it", label);
    r = verify(s, NULL);
    ok(has_cp(&r, ES_AUDIT_BAD_SIGNATURE, 12, 12) && has(&r, ES_AUDIT_BAD_SIGNATURE, 12, 1) &&
           r.n_findings == 2,
       "%s: the forged checkpoint and the head found", label);
    if (r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
    es_signer_free(mallory);
    es_store_close(s);

    /* The checkpointed tail cut, with records after the checkpoint, the tip set back too. */
    r = tampered("cp_tail", SQL("DELETE FROM audit WHERE seq >= 9",
                                "UPDATE audit_head SET tip_seq = 8, tip_hash = (SELECT hash FROM "
                                "audit WHERE seq = 8)"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_TRUNCATED, 9, 1) && r.findings[0].seq_end == 10,
       "%s: a checkpointed tail cut: 9..10 truncated", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);

    /* A record removed under a checkpoint, without re-chaining: a gap. */
    r = tampered("cp_removed", SQL("DELETE FROM audit WHERE seq = 7"));
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_REMOVED, 7, 0), "%s: a checkpointed record removed",
       label);
    es_audit_report_cleanup(&r);

    /* Past the newest checkpoint: cutting the tail without the tip is seen... */
    s = trail("cp_pending_cut", 10);
    make_trail(s, 11, 12);
    forge_unguard(s);
    st_sql(s, "DELETE FROM audit WHERE seq = 12");
    r = verify(s, NULL);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_TRUNCATED, 12, 1),
       "%s: an un-checkpointed record cut, the tip left: truncated", label);
    es_audit_report_cleanup(&r);
    /* ...with the tip set back too, it is not (docs/audit.md: the witness closes this). */
    st_sql(s, "UPDATE audit_head SET tip_seq = 11, tip_hash = (SELECT hash FROM audit WHERE seq "
              "= 11)");
    r = verify(s, NULL);
    ok(es_audit_report_ok(&r) && r.pending == 1 && r.records == 11,
       "%s: ... and with the tip set back, only a witness outside the site would see it", label);
    es_audit_report_cleanup(&r);
    es_store_close(s);
}

/* --- A trail of version 1, migrated --- */

/* The schema before the audit trail's version 4 (migrations 1 and 2), as an older build
 * left it. */
static void migrate_to_v2(es_store *s)
{
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    if (es_store_begin(s) != ES_OK ||
        s->ops->script(s, pg ? "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                               "applied_at BIGINT NOT NULL, what TEXT NOT NULL)"
                             : "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                               "applied_at INTEGER NOT NULL, what TEXT NOT NULL) STRICT") != ES_OK)
        st_die("schema_version: %s", es_store_last_error(s));
    for (int i = 0; i < 2; i++) {
        const store_migration *m = &store_migrations[i];
        es_value p[3] = {es_v_int(m->version), es_v_int(0), es_v_text(m->what)};
        es_buf text;
        es_buf_init(&text, 1u << 20);
        /* A migration is one text with dialect words, or one text per backend. */
        if (m->sql ? store_sql_dialect(m->sql, pg, &text) != ES_OK
                   : es_buf_append_str(&text, pg ? m->pg : m->sqlite) != ES_OK)
            st_die("migration %d: dialect", m->version);
        if (es_buf_nul(&text) != ES_OK) st_die("memory");
        es_err sr = s->ops->script(s, (const char *)text.p);
        es_buf_cleanup(&text);
        if (sr != ES_OK ||
            es_store_exec(s, "INSERT INTO schema_version VALUES (?, ?, ?)", p, 3, NULL) != ES_OK)
            st_die("migration %d: %s", m->version, es_store_last_error(s));
    }
    if (es_store_commit(s) != ES_OK) st_die("commit: %s", es_store_last_error(s));
}

/* A record as the previous build appended it: signed over its hash, the head signed too. */
static void append_v1(es_store *s, int64_t seq, uint8_t prev[32])
{
    char obj[32];
    snprintf(obj, sizeof obj, "user:old%lld", (long long)seq);
    es_slice f[AF_COUNT] = {es_slice_make("alice", 5), es_slice_make("system_admin", 12),
                            es_slice_make("user.create", 11), es_slice_make(obj, strlen(obj)),
                            es_slice_make(UNIT, strlen(UNIT))};
    int64_t at = 1767225600000LL + seq;
    uint8_t h[32];
    es_buf sig, tbs, hsig;
    es_buf_init(&sig, 128);
    es_buf_init(&tbs, 128);
    es_buf_init(&hsig, 128);
    if (audit_record_hash(prev, 32, seq, at, f, h) != ES_OK ||
        es_signer_sign_message(audit_key, NULL, h, 32, &sig) != ES_OK ||
        audit_head_tbs(seq, h, at, &tbs) != ES_OK ||
        es_signer_sign_message(audit_key, NULL, tbs.p, tbs.len, &hsig) != ES_OK)
        st_die("v1 signatures");
    es_value v[10] = {es_v_int(seq),
                      es_v_int(at),
                      es_v_text("alice"),
                      es_v_text("system_admin"),
                      es_v_text("user.create"),
                      es_v_text(obj),
                      es_v_text(UNIT),
                      es_v_blob(prev, 32),
                      es_v_blob(h, 32),
                      es_v_blob(sig.p, sig.len)};
    es_value hv[4] = {es_v_int(seq), es_v_blob(h, 32), es_v_blob(hsig.p, hsig.len), es_v_int(at)};
    if (es_store_begin(s) != ES_OK ||
        es_store_exec(s,
                      "INSERT INTO audit (seq, at, actor, role, action, object, detail, prev, "
                      "hash, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      v, 10, NULL) != ES_OK ||
        es_store_exec(s, "UPDATE audit_head SET seq = ?, hash = ?, sig = ?, at = ? WHERE id = 1",
                      hv, 4, NULL) != ES_OK ||
        es_store_commit(s) != ES_OK)
        st_die("v1 append %lld: %s", (long long)seq, es_store_last_error(s));
    memcpy(prev, h, 32);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&hsig);
}

static void t_legacy(void)
{
    es_store *s = st_open(fresh("legacy"));
    migrate_to_v2(s);
    uint8_t prev[32] = {0};
    for (int64_t i = 1; i <= 5; i++) append_v1(s, i, prev);
    int v = 0;
    ok(es_store_migrate(s, &v) == ES_OK && v >= 3, "%s: a trail of 5 version 1 records migrated",
       label);
    es_audit_report r = verify(s, NULL);
    ok(es_audit_report_ok(&r) && r.records == 5 && r.checkpoints == 1 && r.head.seq == 5 &&
           r.pending == 0,
       "%s: it verifies as it did: its head is its first checkpoint", label);
    if (!es_audit_report_ok(&r)) show(&r);
    es_audit_report_cleanup(&r);
    make_trail(s, 6, 8);
    r = verify(s, NULL);
    ok(es_audit_report_ok(&r) && r.records == 8 && r.pending == 3,
       "%s: version 2 records continue the chain (3 not yet checkpointed)", label);
    es_audit_report_cleanup(&r);
    checkpoint(s);
    got g = {0};
    ok(es_audit_list(s, NULL, collect, &g) == ES_OK && g.n == 8 && g.version[0] == 1 &&
           g.version[5] == 2 && !memcmp(g.prev[5], g.hash[4], 32),
       "%s: record 6 (version 2) chains to record 5 (version 1)", label);
    got_cleanup(&g);
    es_buf b;
    es_buf_init(&b, 1 << 20);
    ok(es_audit_export(s, NULL, to_buf, &b, NULL) == ES_OK && es_buf_nul(&b) == ES_OK,
       "%s: exported", label);
    r = verify_text((const char *)b.p);
    ok(es_audit_report_ok(&r) && r.records == 8 && r.complete, "%s: the export verifies", label);
    es_audit_report_cleanup(&r);
    char *t = replace((const char *)b.p, "user:old3", "user:old9");
    r = verify_text(t);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 3, 0), "%s: a version 1 record changed",
       label);
    es_audit_report_cleanup(&r);
    free(t);
    es_buf_cleanup(&b);
    forge_unguard(s);
    st_sql(s, "UPDATE audit SET detail = 'x' WHERE seq = 2");
    r = verify(s, NULL);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 2, 0), "%s: and in the database", label);
    es_audit_report_cleanup(&r);
    es_store_close(s);
}

/* --- Exports --- */

static es_err to_buf(void *ctx, const void *p, size_t len)
{
    return es_buf_append(ctx, p, len);
}

static es_audit_report verify_text(const char *text)
{
    es_audit_report rep;
    if (es_audit_verify_export_mem((const uint8_t *)text, strlen(text), audit_key->pub, &rep) !=
        ES_OK)
        st_die("verify export failed");
    return rep;
}

/* Line n (0-based) of text, removed or swapped with line m, or edited by replacing from with
 * to. Returns a new string (free()). */
static char *edit_lines(const char *text, int drop, int swap_a, int swap_b)
{
    char *lines[256];
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    if (swap_a >= 0) {
        char *t = lines[swap_a];
        lines[swap_a] = lines[swap_b];
        lines[swap_b] = t;
    }
    es_buf b;
    es_buf_init(&b, 1 << 24);
    for (int i = 0; i < n; i++) {
        if (i == drop) continue;
        if (es_buf_append_str(&b, lines[i]) != ES_OK || es_buf_append_byte(&b, '\n') != ES_OK)
            st_die("edit");
    }
    free(copy);
    if (es_buf_nul(&b) != ES_OK) st_die("edit");
    size_t len;
    return (char *)es_buf_steal(&b, &len);
}

static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at) st_die("'%s' not in the export", from);
    size_t n = strlen(text) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void t_export(void)
{
    es_store *s = trail("export", 10);
    es_buf b;
    es_buf_init(&b, 1 << 24);
    int64_t n = 0;
    ok(es_audit_export(s, NULL, to_buf, &b, &n) == ES_OK && n == 10, "%s: export of 10 records",
       label);
    ok(es_buf_nul(&b) == ES_OK, "nul");
    const char *text = (const char *)b.p;
    static const char hdr[] =
        "{\"type\":\"header\",\"format\":\"eseal-audit-export\",\"version\":2,";
    ok(!strncmp(text, hdr, sizeof hdr - 1), "%s: the header line first", label);
    ok(strstr(text, "\n{\"type\":\"head\",\"seq\":10,") != NULL, "%s: the head line last", label);
    ok(strstr(text, UNIT) != NULL, "%s: UTF-8 as it is", label);
    es_audit_report r = verify_text(text);
    ok(es_audit_report_ok(&r) && r.records == 10 && r.complete && !strcmp(r.scope, "full") &&
           r.head.seq == 10,
       "%s: the export verifies offline", label);
    if (!es_audit_report_ok(&r)) show(&r);
    es_audit_report_cleanup(&r);

    char *t = replace(text, "detail-4 ", "detail-X ");
    r = verify_text(t);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_CHANGED, 4, 0), "%s: export: changed detail 4", label);
    es_audit_report_cleanup(&r);
    free(t);

    t = edit_lines(text, 5, -1, -1); /* line 5: record 5 */
    r = verify_text(t);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_REMOVED, 5, 0), "%s: export: record 5 removed", label);
    es_audit_report_cleanup(&r);
    free(t);

    t = edit_lines(text, -1, 3, 4); /* records 3 and 4 swapped */
    r = verify_text(t);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_REORDERED, 3, 0), "%s: export: 3 after 4", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);
    free(t);

    t = edit_lines(text, 10, -1, -1); /* the last record */
    r = verify_text(t);
    ok(r.n_findings == 1 && has(&r, ES_AUDIT_TRUNCATED, 10, 1), "%s: export: the last cut", label);
    es_audit_report_cleanup(&r);
    free(t);

    t = edit_lines(text, 11, -1, -1); /* the head */
    r = verify_text(t);
    ok(r.n_findings == 1 && r.counts[ES_AUDIT_TRUNCATED] == 1 && !r.has_head, "%s: export: no head",
       label);
    es_audit_report_cleanup(&r);
    free(t);

    t = edit_lines(text, 0, -1, -1); /* the header */
    r = verify_text(t);
    ok(r.n_findings == 1 && r.counts[ES_AUDIT_MALFORMED] == 1 && r.complete,
       "%s: export: no header, checked as full", label);
    es_audit_report_cleanup(&r);
    free(t);

    t = replace(text, "\"scope\":\"full\"", "\"scope\":\"selection\"");
    r = verify_text(t);
    ok(r.counts[ES_AUDIT_MALFORMED] == 1, "%s: export: a scope its filter does not say", label);
    es_audit_report_cleanup(&r);
    free(t);

    char dup[1 << 16];
    const char *l3 = strstr(text, "{\"type\":\"record\",\"seq\":3,");
    const char *l3e = strchr(l3, '\n');
    snprintf(dup, sizeof dup, "%s%.*s\n", text, (int)(l3e - l3), l3);
    r = verify_text(dup);
    ok(has(&r, ES_AUDIT_DUPLICATE, 3, 0), "%s: export: a record twice", label);
    es_audit_report_cleanup(&r);

    t = replace(text, "\"seq\":6,", "\"seq\":\"6\",");
    r = verify_text(t);
    ok(r.counts[ES_AUDIT_MALFORMED] == 1 && has(&r, ES_AUDIT_REMOVED, 6, 0),
       "%s: export: an unreadable record (and so a gap)", label);
    es_audit_report_cleanup(&r);
    free(t);

    t = replace(text, "\"time\":\"", "\"time\":\"1999");
    r = verify_text(t);
    ok(r.counts[ES_AUDIT_MALFORMED] == 1, "%s: export: a time that is not its at", label);
    es_audit_report_cleanup(&r);
    free(t);

    /* A selection: each record verifies, completeness is not claimed. */
    es_buf sel;
    es_buf_init(&sel, 1 << 24);
    es_audit_filter f = {0};
    f.actor = "bob";
    ok(es_audit_export(s, &f, to_buf, &sel, &n) == ES_OK && n == 4 && es_buf_nul(&sel) == ES_OK,
       "%s: export of one actor (%lld)", label, (long long)n);
    r = verify_text((const char *)sel.p);
    ok(es_audit_report_ok(&r) && !r.complete && !strcmp(r.scope, "selection"),
       "%s: a selection verifies, not as complete", label);
    es_audit_report_cleanup(&r);
    t = replace((const char *)sel.p, "\"actor\":\"bob\",\"role", "\"actor\":\"eve\",\"role");
    r = verify_text(t);
    ok(r.n_findings == 1 && r.counts[ES_AUDIT_CHANGED] == 1, "%s: a changed record in it", label);
    es_audit_report_cleanup(&r);
    free(t);
    es_buf_cleanup(&sel);

    /* A range up to now: contiguous, ends at the head. */
    got g = {0};
    ok(es_audit_list(s, NULL, collect, &g) == ES_OK, "list");
    es_buf rng;
    es_buf_init(&rng, 1 << 24);
    f = (es_audit_filter){0};
    f.from = g.at[3];
    ok(es_audit_export(s, &f, to_buf, &rng, &n) == ES_OK && n >= 7 && es_buf_nul(&rng) == ES_OK,
       "%s: export of a time range", label);
    r = verify_text((const char *)rng.p);
    ok(es_audit_report_ok(&r) && !r.complete && !strcmp(r.scope, "range"), "%s: a range verifies",
       label);
    es_audit_report_cleanup(&r);
    got_cleanup(&g);
    es_buf_cleanup(&rng);

    /* The JSON report. */
    r = verify_text(text);
    es_buf out;
    es_buf_init(&out, 1 << 20);
    ok(es_audit_report_print(&r, 1, &out) == ES_OK && es_buf_nul(&out) == ES_OK &&
           strstr((const char *)out.p, "\"intact\": true"),
       "%s: JSON report", label);
    es_audit_report_cleanup(&r);
    es_buf_cleanup(&out);

    /* An empty trail exports and verifies. */
    es_store *e = st_open_migrated(fresh("export_empty"));
    es_buf eb;
    es_buf_init(&eb, 1 << 20);
    ok(es_audit_export(e, NULL, to_buf, &eb, &n) == ES_OK && n == 0 && es_buf_nul(&eb) == ES_OK,
       "%s: an empty export", label);
    r = verify_text((const char *)eb.p);
    ok(es_audit_report_ok(&r) && r.records == 0, "%s: verifies", label);
    es_audit_report_cleanup(&r);
    es_buf_cleanup(&eb);
    es_store_close(e);

    es_buf_cleanup(&b);
    es_store_close(s);
}

static void t_backup(void)
{
    es_store *s = trail("bk", 10);
    char path[700];
    snprintf(path, sizeof path, "%s/%s-audit.backup", st_tmp(), label);
    ok(es_store_backup(s, path) == ES_OK, "%s: backup: %s", label, es_store_last_error(s));
    make_trail(s, 11, 12); /* after the backup: not in it */

    es_store *t = st_open(fresh("bk_restored"));
    ok(es_store_restore(t, path, 0) == ES_OK, "%s: restore: %s", label, es_store_last_error(t));
    es_audit_report r = verify(t, NULL);
    ok(es_audit_report_ok(&r) && r.records == 10 && r.head.seq == 10,
       "%s: the chain verifies after the restore", label);
    if (!es_audit_report_ok(&r)) show(&r);
    es_audit_report_cleanup(&r);
    ok(es_store_restore(t, path, 0) == ES_ERR_EXISTS, "%s: restore refuses a non-empty target",
       label);
    /* Appending goes on from the restored head. */
    make_trail(t, 11, 11);
    r = verify(t, NULL);
    ok(es_audit_report_ok(&r) && r.records == 11, "%s: and appending goes on after it", label);
    es_audit_report_cleanup(&r);
    ok(es_store_restore(t, path, 1) == ES_OK, "%s: forced: %s", label, es_store_last_error(t));
    r = verify(t, NULL);
    ok(es_audit_report_ok(&r) && r.records == 10, "%s: back to the backup's 10", label);
    es_audit_report_cleanup(&r);
    es_store_close(t);
    es_store_close(s);
}

/* --- Issue 13, item 3 (a): the witness. An attacker with the site's files holds the audit
 * key (its passphrase lies beside it): these helpers do what such an attacker does. --- */

/* The witness line of the store's signed head, appended to w and to the file path. */
static void witness_head(es_store *s, es_audit_witness *w, const char *path)
{
    es_audit_head h;
    es_buf line;
    es_buf_init(&line, 1024);
    char why[300] = "";
    int written = 0;
    es_audit_witness more;
    if (es_audit_head_get(s, &h) != ES_OK ||
        es_audit_witness_line(&h, audit_key->pub, &line) != ES_OK ||
        es_audit_witness_parse(line.p, line.len, &more, why, sizeof why) != ES_OK || more.n != 1 ||
        es_audit_witness_add(w, &more.cp[0]) != ES_OK)
        st_die("witness line: %s", why);
    es_audit_witness_cleanup(&more);
    if (path && (es_audit_witness_file_append(path, &h, audit_key->pub, &written, why,
                                              sizeof why) != ES_OK ||
                 !written))
        st_die("witness file: %s", why);
    es_buf_cleanup(&line);
}

/* An export in memory, as lines. */
typedef struct mem_src {
    const uint8_t *p;
    size_t len, off;
} mem_src;

static es_err mem_src_next(void *ctx, es_buf *line, int *eof)
{
    mem_src *m = ctx;
    *eof = m->off >= m->len;
    if (*eof) return ES_OK;
    const uint8_t *q = m->p + m->off, *nl = memchr(q, '\n', m->len - m->off);
    size_t n = nl ? (size_t)(nl - q) : m->len - m->off;
    m->off += n + (nl ? 1 : 0);
    return es_buf_append(line, q, n);
}

static es_err mem_src_rewind(void *ctx)
{
    ((mem_src *)ctx)->off = 0;
    return ES_OK;
}

static es_audit_report verify_w(es_store *s, const es_audit_witness *w)
{
    es_audit_report rep;
    if (es_audit_verify_store_witness(s, audit_key->pub, w, &rep) != ES_OK)
        st_die("verify: %s", es_store_last_error(s));
    return rep;
}

static void t_witness(void)
{
    char path[700], why[300];
    snprintf(path, sizeof path, "%s/%s-witness.jsonl", st_tmp(), label);
    unlink(path);
    es_audit_witness w = {0};
    es_audit_report r;

    /* A record rewritten and everything signed again with the site's own key. */
    es_store *s = trail("w_rewrite", 6);
    witness_head(s, &w, path); /* checkpoint 6 sent */
    make_trail(s, 7, 10);
    checkpoint(s);
    witness_head(s, &w, path); /* checkpoint 10 sent */
    r = verify_w(s, &w);
    ok(es_audit_report_ok(&r) && r.witnessed == 2 && r.witness_seq == 10,
       "%s: witness: an intact trail agrees with both witnessed checkpoints", label);
    es_audit_report_cleanup(&r);
    forge_rewrite(s, audit_key, 4, "nothing happened");
    r = verify(s, NULL);
    ok(es_audit_report_ok(&r) && r.records == 10,
       "%s: witness: record 4 rewritten, re-signed and re-chained with the site's key: INTACT "
       "without the witness (the attack of issue 13)",
       label);
    es_audit_report_cleanup(&r);
    r = verify_w(s, &w);
    ok(!es_audit_report_ok(&r) && r.counts[ES_AUDIT_WITNESS] == 2 && r.n_findings == 2 &&
           r.findings[0].kind == ES_AUDIT_WITNESS && r.findings[0].seq == 6 &&
           strstr(r.findings[0].text, "record 6 is not the record witnessed"),
       "%s: witness: FAILED with it, naming checkpoint 6 first (then 10)", label);
    if (r.n_findings != 2) show(&r);
    es_audit_report_cleanup(&r);
    /* The same offline: an export of the forged trail, alone and against the witness. */
    es_buf ex;
    es_buf_init(&ex, 1 << 20);
    ok(es_audit_export(s, NULL, to_buf, &ex, NULL) == ES_OK, "%s: witness: an export of it", label);
    r = (es_audit_report){0};
    ok(es_audit_verify_export_mem(ex.p, ex.len, audit_key->pub, &r) == ES_OK &&
           es_audit_report_ok(&r),
       "%s: witness: the export verifies INTACT alone", label);
    es_audit_report_cleanup(&r);
    mem_src m = {ex.p, ex.len, 0};
    es_audit_lines in = {mem_src_next, mem_src_rewind, &m};
    ok(es_audit_verify_export_witness(&in, audit_key->pub, &w, &r) == ES_OK &&
           r.counts[ES_AUDIT_WITNESS] == 2 && r.n_findings == 2,
       "%s: witness: and FAILS against the witness", label);
    es_audit_report_cleanup(&r);
    es_buf_cleanup(&ex);
    /* The daemon's next send: the file refuses the rewritten head (an alarm). */
    es_audit_head h;
    int written = 1;
    ok(es_audit_head_get(s, &h) == ES_OK &&
           es_audit_witness_file_append(path, &h, audit_key->pub, &written, why, sizeof why) ==
               ES_ERR_WITNESS &&
           !written && strstr(why, "another hash"),
       "%s: witness: the file refuses a head that disagrees with it (%s)", label, why);
    es_store_close(s);

    /* Every record deleted and the head reset. */
    s = trail("w_wipe", 5);
    es_audit_witness w2 = {0};
    witness_head(s, &w2, NULL);
    forge_wipe(s);
    r = verify(s, NULL);
    ok(es_audit_report_ok(&r) && r.records == 0,
       "%s: witness: every record deleted and the head reset: INTACT, 0 records, without it",
       label);
    es_audit_report_cleanup(&r);
    r = verify_w(s, &w2);
    ok(!es_audit_report_ok(&r) && r.n_findings == 1 && r.counts[ES_AUDIT_WITNESS] == 1 &&
           strstr(r.findings[0].text, "ends at record 0 but the witness holds checkpoint 5"),
       "%s: witness: FAILED with it: shorter than what was witnessed", label);
    if (r.n_findings != 1) show(&r);
    es_audit_report_cleanup(&r);
    /* Records written again after the reset: still shorter, and the file refuses it. */
    make_trail(s, 11, 13);
    checkpoint(s);
    r = verify_w(s, &w2);
    ok(!es_audit_report_ok(&r) && r.counts[ES_AUDIT_WITNESS] == 1,
       "%s: witness: a new trail of 3 after the reset: still FAILED", label);
    es_audit_report_cleanup(&r);
    char p2[720];
    snprintf(p2, sizeof p2, "%s.wipe", path);
    unlink(p2);
    es_audit_witness w3 = {0};
    es_store *s5 = trail("w_wipe_file", 5);
    witness_head(s5, &w3, p2);
    es_audit_witness_cleanup(&w3);
    forge_wipe(s5);
    make_trail(s5, 11, 13);
    checkpoint(s5);
    ok(es_audit_head_get(s5, &h) == ES_OK &&
           es_audit_witness_file_append(p2, &h, audit_key->pub, &written, why, sizeof why) ==
               ES_ERR_WITNESS &&
           strstr(why, "shorter"),
       "%s: witness: the file refuses a head behind it (%s)", label, why);
    es_store_close(s5);
    es_store_close(s);

    /* The file: what was appended reads back as the witness; a second append of the same
     * head writes nothing; nothing but appends. */
    es_buf b;
    es_buf_init(&b, 1 << 20);
    es_audit_witness fw = {0};
    ok(es_file_read(path, &b) == ES_OK &&
           es_audit_witness_parse(b.p, b.len, &fw, why, sizeof why) == ES_OK && fw.n == 2 &&
           fw.cp[0].seq == 6 && fw.cp[1].seq == 10 && fw.cp[1].line == 2,
       "%s: witness: the file holds the two checkpoints, one line each", label);
    es_audit_witness_cleanup(&fw);
    s = trail("w_same", 3);
    size_t before = b.len;
    snprintf(p2, sizeof p2, "%s.same", path);
    unlink(p2);
    int w1 = 0, w2b = 1;
    ok(es_audit_head_get(s, &h) == ES_OK &&
           es_audit_witness_file_append(p2, &h, audit_key->pub, &w1, why, sizeof why) == ES_OK &&
           es_audit_witness_file_append(p2, &h, audit_key->pub, &w2b, why, sizeof why) == ES_OK &&
           w1 == 1 && w2b == 0,
       "%s: witness: the same head twice: written once", label);
    (void)before;
    /* A witness line of another key, and one that is no line. */
    es_audit_witness bad = {0};
    es_audit_witnessed c = w.cp[0];
    c.key_id[0] ^= 1;
    ok(es_audit_witness_add(&bad, &c) == ES_OK, "%s: witness: a line of another key", label);
    es_audit_report_cleanup(&r);
    es_store_close(s);
    s = trail("w_other", 6);
    r = verify_w(s, &bad);
    ok(r.counts[ES_AUDIT_WITNESS] == 1 && strstr(r.findings[0].text, "another key"),
       "%s: witness: a checkpoint of another key is a finding", label);
    es_audit_report_cleanup(&r);
    es_store_close(s);
    es_audit_witness_cleanup(&bad);
    es_audit_witness junk;
    ok(es_audit_witness_parse((const uint8_t *)"{\"type\":\"checkpoint\"}\n", 23, &junk, why,
                              sizeof why) == ES_ERR_FORMAT &&
           strstr(why, "line 1"),
       "%s: witness: a line that is no checkpoint is refused (%s)", label, why);
    es_audit_witness_cleanup(&junk);
    es_buf_cleanup(&b);
    es_audit_witness_cleanup(&w);
    es_audit_witness_cleanup(&w2);
}

static void suite(const char *name, const char *(*fresh_db)(const char *))
{
    label = name;
    fresh = fresh_db;
    t_append();
    t_list();
    t_concurrent();
    t_kill();
    t_checkpoint_due();
    t_tamper();
    t_checkpoint_tamper();
    t_legacy();
    t_export();
    t_backup();
    t_witness();
}

int main(void)
{
    audit_key = st_signer();
    int before = t_pass;
    suite("sqlite", st_sqlite_db);
    printf("sqlite: %d checks passed\n", t_pass - before);
    if (st_pg_ready()) {
        before = t_pass;
        suite("postgresql", st_pg_db);
        printf("postgresql: %d checks passed\n", t_pass - before);
        /* A backup of one backend is not restored into the other. */
        es_store *pg = st_open(st_pg_db("cross"));
        char path[700];
        snprintf(path, sizeof path, "%s/sqlite-audit.backup", st_tmp());
        ok(es_store_restore(pg, path, 0) == ES_ERR_FORMAT, "a SQLite backup into PostgreSQL");
        es_store_close(pg);
        es_store *sq = st_open(st_sqlite_db("cross"));
        snprintf(path, sizeof path, "%s/postgresql-audit.backup", st_tmp());
        ok(es_store_restore(sq, path, 0) == ES_ERR_FORMAT, "a PostgreSQL backup into SQLite");
        es_store_close(sq);
    }
    es_signer_free(audit_key);
    return t_done();
}
