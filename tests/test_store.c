/* store: one suite, run on SQLite (temporary files) and on a real PostgreSQL (tests/pg.sh):
 * URLs, migrations (idempotent, concurrent, a newer schema refused), every value type
 * (NULL, integers at their limits, UTF-8 text, blobs with every byte value, empty blobs)
 * in and out, unique violations as ES_ERR_EXISTS, a failed statement aborting the
 * transaction on both backends, rollback, writes outside a transaction refused, durable
 * commits across close and reopen, placeholders inside quotes and comments, the query
 * callback stopping a query, type strictness, and backup / restore. */
#include <pthread.h>
#include <stdint.h>

#include "test.h"

#include "store/internal.h"
#include "store_test.h"

static const char *label;
static const char *(*fresh)(const char *name);

#define UNIT "某某市人力资源和社会保障局"

static int64_t count_of(es_store *s, const char *sql)
{
    int64_t n = -1;
    if (es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) return -1;
    return n;
}

static void t_urls_refused(void)
{
    es_store *s = NULL;
    ok(es_store_open("mysql://localhost/x", &s) == ES_ERR_CONFIG && !s, "unknown scheme");
    ok(*es_store_last_error(NULL), "a reason for the unknown scheme");
    ok(es_store_open("sqlite:", &s) == ES_ERR_CONFIG, "sqlite: without a path");
    ok(es_store_open("sqlite:/nonexistent-dir/x/y.db", &s) == ES_ERR_IO, "sqlite: missing dir");
    ok(strstr(es_store_last_error(NULL), "nonexistent") != NULL, "the path is named: %s",
       es_store_last_error(NULL));
    es_value v = es_v_text(NULL);
    ok(v.type == ES_V_NULL, "es_v_text(NULL) is NULL");
    v = es_v_text("abc");
    ok(v.type == ES_V_TEXT && v.len == 3, "es_v_text");
    ok(es_store_schema_latest() >= 1, "a schema version");
    /* A file that is not a database. */
    char path[600];
    snprintf(path, sizeof path, "%s/not-a-db", st_tmp());
    FILE *f = fopen(path, "w");
    fputs("this is not a database, just text long enough to fill a header page...\n", f);
    fclose(f);
    char url[700];
    snprintf(url, sizeof url, "sqlite:%s", path);
    ok(es_store_open(url, &s) == ES_ERR_IO, "a text file is not a SQLite database");
    if (st_pg_ready()) {
        ok(es_store_open("postgresql:///nodb?host=/nonexistent-socket-dir", &s) == ES_ERR_IO,
           "PostgreSQL unreachable");
        ok(*es_store_last_error(NULL), "libpq's reason");
    }
}

static void t_migrate(void)
{
    const char *url = fresh("migrate");
    es_store *s = st_open(url);
    int v = -1;
    ok(!strcmp(es_store_kind(s), label), "%s: kind %s", label, es_store_kind(s));
    ok(es_store_schema_version(s, &v) == ES_OK && v == 0, "%s: a new database is version 0 (%d)",
       label, v);
    ok(es_store_migrate(s, &v) == ES_OK && v == es_store_schema_latest(), "%s: migrated to %d",
       label, v);
    ok(es_store_migrate(s, &v) == ES_OK && v == es_store_schema_latest(),
       "%s: migrating again changes nothing", label);
    ok(count_of(s, "SELECT count(*) FROM schema_version") == (int64_t)store_n_migrations,
       "%s: one schema_version row per migration", label);
    v = -1;
    ok(es_store_schema_version(s, &v) == ES_OK && v == es_store_schema_latest(),
       "%s: schema version read back", label);
    ok(count_of(s, "SELECT count(*) FROM audit_head") == 1, "%s: the genesis head", label);
    /* A database from a newer build is refused, not "downgraded". */
    st_sql(s, "INSERT INTO schema_version (version, applied_at, what) VALUES (999, 0, 'future')");
    ok(es_store_migrate(s, &v) == ES_ERR_UNSUPPORTED, "%s: a newer schema is refused", label);
    ok(strstr(es_store_last_error(s), "999") != NULL, "%s: says which version: %s", label,
       es_store_last_error(s));
    ok(!es_store_in_tx(s), "%s: no transaction left open", label);
    es_store_close(s);
}

typedef struct mig_arg {
    const char *url;
    pthread_barrier_t *go;
    es_err rv;
    int version;
    char why[256];
} mig_arg;

static void *migrate_thread(void *p)
{
    mig_arg *a = p;
    es_store *s = NULL;
    a->rv = es_store_open(a->url, &s);
    pthread_barrier_wait(a->go);
    if (a->rv == ES_OK) a->rv = es_store_migrate(s, &a->version);
    if (a->rv != ES_OK) snprintf(a->why, sizeof a->why, "%s", es_store_last_error(s));
    es_store_close(s);
    return NULL;
}

static void t_migrate_concurrent(void)
{
    enum { N = 4 };
    const char *url = fresh("migrate_conc");
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    pthread_t th[N];
    mig_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (mig_arg){url, &go, ES_OK, 0, ""};
        pthread_create(&th[i], NULL, migrate_thread, &a[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++)
        ok(a[i].rv == ES_OK && a[i].version == es_store_schema_latest(),
           "%s: concurrent migrator %d: %s (%s)", label, i, es_err_name(a[i].rv), a[i].why);
    es_store *s = st_open(url);
    ok(count_of(s, "SELECT count(*) FROM schema_version") == (int64_t)store_n_migrations,
       "%s: each migration applied once by %d migrators", label, N);
    ok(count_of(s, "SELECT count(*) FROM audit_head") == 1, "%s: one genesis head", label);
    es_store_close(s);
}

typedef struct user_row {
    int n;
    int64_t id, must, failed, locked, created;
    int hash_null, locked_null;
    char name[64], display[128];
    size_t display_len;
} user_row;

static es_err user_cb(void *ctx, const es_row *r)
{
    user_row *u = ctx;
    u->n++;
    ok(es_row_columns(r) == 8, "8 columns");
    u->id = es_row_int(r, 0);
    snprintf(u->name, sizeof u->name, "%s", es_row_text(r, 1, NULL));
    snprintf(u->display, sizeof u->display, "%s", es_row_text(r, 2, &u->display_len));
    u->hash_null = es_row_is_null(r, 3);
    u->must = es_row_int(r, 4);
    u->failed = es_row_int(r, 5);
    u->locked_null = es_row_is_null(r, 6);
    u->locked = es_row_int(r, 6);
    u->created = es_row_int(r, 7);
    /* Out of range: harmless defaults. */
    ok(es_row_is_null(r, 8) && es_row_int(r, -1) == 0 && !*es_row_text(r, 99, NULL) &&
           es_row_blob(r, 8).len == 0,
       "columns out of range");
    ok(*es_row_text(r, 3, NULL) == 0, "NULL text reads as \"\"");
    return ES_OK;
}

typedef struct blob_row {
    int n;
    uint8_t got[2][300];
    size_t len[2];
    int is_null[2];
} blob_row;

static es_err blob_cb(void *ctx, const es_row *r)
{
    blob_row *b = ctx;
    if (b->n < 2) {
        es_slice v = es_row_blob(r, 0);
        b->len[b->n] = v.len;
        b->is_null[b->n] = es_row_is_null(r, 0);
        ok(v.p != NULL || b->is_null[b->n], "a non-NULL blob has a pointer, even when empty");
        if (v.len && v.len <= sizeof b->got[0]) memcpy(b->got[b->n], v.p, v.len);
    }
    b->n++;
    return ES_OK;
}

static void t_values(void)
{
    const char *url = fresh("values");
    es_store *s = st_open_migrated(url);
    uint8_t all[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;

    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    es_value u[7] = {es_v_text("张三"),   es_v_text(UNIT), es_v_null(),        es_v_int(1),
                     es_v_int(INT64_MAX), es_v_null(),     es_v_int(INT64_MIN)};
    int64_t id = 0;
    ok(es_store_query_int(s,
                          "INSERT INTO users (name, display_name, password_hash, "
                          "must_change_password, failed_logins, locked_until, created_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                          u, 7, &id) == ES_OK &&
           id > 0,
       "%s: insert with RETURNING: %s", label, es_store_last_error(s));
    es_value c1[3] = {es_v_text("client-1"), es_v_blob(all, sizeof all), es_v_int(1)};
    es_value c2[3] = {es_v_text("client-2"), es_v_blob(NULL, 0), es_v_int(2)};
    int64_t ch = 0;
    ok(es_store_exec(s, "INSERT INTO api_clients (name, cert, created_at) VALUES (?, ?, ?)", c1, 3,
                     &ch) == ES_OK &&
           ch == 1,
       "%s: blob with every byte value: %s", label, es_store_last_error(s));
    ok(es_store_exec(s, "INSERT INTO api_clients (name, cert, created_at) VALUES (?, ?, ?)", c2, 3,
                     NULL) == ES_OK,
       "%s: empty blob: %s", label, es_store_last_error(s));
    es_value r1[2] = {es_v_int(id), es_v_text("operator")};
    ok(es_store_exec(s, "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", r1, 2, NULL) ==
           ES_OK,
       "%s: a role", label);
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);

    user_row ur = {0};
    es_value byname = es_v_text("张三");
    ok(es_store_query(s,
                      "SELECT id, name, display_name, password_hash, must_change_password, "
                      "failed_logins, locked_until, created_at FROM users WHERE name = ?",
                      &byname, 1, user_cb, &ur) == ES_OK &&
           ur.n == 1,
       "%s: read back (outside a transaction)", label);
    ok(ur.id == id && !strcmp(ur.name, "张三"), "%s: id and UTF-8 name", label);
    ok(!strcmp(ur.display, UNIT) && ur.display_len == strlen(UNIT), "%s: UTF-8 text and length",
       label);
    ok(ur.hash_null && ur.locked_null, "%s: NULLs", label);
    ok(ur.must == 1 && ur.failed == INT64_MAX && ur.created == INT64_MIN,
       "%s: integers at their limits (%lld %lld)", label, (long long)ur.failed,
       (long long)ur.created);

    blob_row br = {0};
    ok(es_store_query(s, "SELECT cert FROM api_clients ORDER BY created_at", NULL, 0, blob_cb,
                      &br) == ES_OK &&
           br.n == 2,
       "%s: blobs read", label);
    ok(br.len[0] == 256 && !memcmp(br.got[0], all, 256), "%s: every byte value round-trips", label);
    ok(br.len[1] == 0 && !br.is_null[1], "%s: an empty blob is empty, not NULL", label);

    /* Updates, counts, cascades. */
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_exec(s, "UPDATE users SET failed_logins = 3 WHERE name = ?", &byname, 1, &ch) ==
               ES_OK &&
           ch == 1,
       "%s: update counts one row", label);
    ok(es_store_exec(s, "UPDATE users SET failed_logins = 3 WHERE name = 'nobody'", NULL, 0, &ch) ==
               ES_OK &&
           ch == 0,
       "%s: update counts no row", label);
    ok(es_store_exec(s, "DELETE FROM users WHERE id = ?", &r1[0], 1, &ch) == ES_OK && ch == 1,
       "%s: delete", label);
    ok(count_of(s, "SELECT count(*) FROM user_roles") == 0,
       "%s: roles go with the user (foreign "
       "keys on)",
       label);
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);

    /* The wrong type is refused on both (SQLite STRICT tables). */
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    es_value bad[2] = {es_v_text("typed"), es_v_text("not a number")};
    ok(es_store_exec(s, "INSERT INTO users (name, created_at) VALUES (?, ?)", bad, 2, NULL) ==
           ES_ERR_IO,
       "%s: text into an integer column refused", label);
    es_store_rollback(s);
    /* A missing foreign key is refused too. */
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    es_value orphan[2] = {es_v_int(424242), es_v_text("operator")};
    ok(es_store_exec(s, "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", orphan, 2, NULL) ==
           ES_ERR_IO,
       "%s: a role for no user refused", label);
    es_store_rollback(s);
    es_store_close(s);
}

static void t_unique_and_abort(void)
{
    es_store *s = st_open_migrated(fresh("unique"));
    es_value p[2] = {es_v_text("dup"), es_v_int(1)};
    const char *ins = "INSERT INTO users (name, created_at) VALUES (?, ?)";
    ok(es_store_begin(s) == ES_OK && es_store_exec(s, ins, p, 2, NULL) == ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: first insert", label);
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_exec(s, ins, p, 2, NULL) == ES_ERR_EXISTS, "%s: unique violation is EXISTS (%s)",
       label, es_store_last_error(s));
    ok(*es_store_last_error(s), "%s: with the backend's message", label);
    /* PostgreSQL aborts the transaction on any error; SQLite is made to do the same. */
    es_value q[2] = {es_v_text("other"), es_v_int(2)};
    ok(es_store_exec(s, ins, q, 2, NULL) == ES_ERR_ARG, "%s: the aborted transaction refuses more",
       label);
    int64_t n = 0;
    ok(es_store_query_int(s, "SELECT count(*) FROM users", NULL, 0, &n) == ES_ERR_ARG,
       "%s: reads too", label);
    ok(es_store_commit(s) == ES_ERR_ARG, "%s: commit of an aborted transaction fails", label);
    ok(!es_store_in_tx(s), "%s: and ends it", label);
    ok(count_of(s, "SELECT count(*) FROM users") == 1, "%s: nothing of it was kept", label);
    /* The way to expect a duplicate. */
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    int64_t ch = -1;
    ok(es_store_exec(s, "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                     p, 2, &ch) == ES_OK &&
           ch == 0,
       "%s: ON CONFLICT DO NOTHING counts 0", label);
    ok(es_store_commit(s) == ES_OK, "%s: and the transaction goes on", label);
    /* Unique pairs (nonces). */
    es_value c[3] = {es_v_text("c"), es_v_blob("x", 1), es_v_int(1)};
    int64_t cid = 0;
    ok(es_store_begin(s) == ES_OK &&
           es_store_query_int(s,
                              "INSERT INTO api_clients (name, cert, created_at) VALUES (?, ?, ?) "
                              "RETURNING id",
                              c, 3, &cid) == ES_OK,
       "%s: a client", label);
    es_value nz[3] = {es_v_int(cid), es_v_text("n-1"), es_v_int(5)};
    ok(es_store_exec(s, "INSERT INTO nonces (client_id, nonce, seen_at) VALUES (?, ?, ?)", nz, 3,
                     NULL) == ES_OK,
       "%s: a nonce", label);
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_exec(s, "INSERT INTO nonces (client_id, nonce, seen_at) VALUES (?, ?, ?)", nz, 3,
                     NULL) == ES_ERR_EXISTS,
       "%s: a replayed nonce is EXISTS", label);
    es_store_rollback(s);
    es_store_close(s);
}

/* es_store_exec_batch (one round trip on PostgreSQL), and the first statement of a write
 * transaction, which PostgreSQL sends with the transaction's BEGIN. */
static void t_batch(void)
{
    es_store *s = st_open_migrated(fresh("batch"));
    const char *ins = "INSERT INTO settings (key, value) VALUES (?, ?)";
    es_value a[2] = {es_v_text("a"), es_v_text("1")}, b[2] = {es_v_text("b"), es_v_text("2")};
    es_value c[2] = {es_v_text("c"), es_v_text("3")}, d[2] = {es_v_text("d"), es_v_text("4")};
    es_stmt st[3] = {
        {ins, a, 2, -1}, {ins, b, 2, -1}, {"UPDATE settings SET value = 'x'", NULL, 0, -1}};
    ok(es_store_exec_batch(s, st, 3) == ES_ERR_ARG, "%s: a batch outside a transaction refused",
       label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 0, "%s: nothing written", label);
    ok(es_store_begin(s) == ES_OK && es_store_exec_batch(s, st, 3) == ES_OK,
       "%s: a batch as the transaction's first statements (%s)", label, es_store_last_error(s));
    ok(st[0].changes == 1 && st[1].changes == 1 && st[2].changes == 2,
       "%s: each statement's row count (%lld %lld %lld)", label, (long long)st[0].changes,
       (long long)st[1].changes, (long long)st[2].changes);
    ok(count_of(s, "SELECT count(*) FROM settings WHERE value = 'x'") == 2,
       "%s: in order: the update saw both inserts", label);
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 2, "%s: kept", label);

    /* A failure in the middle: the error of that statement, nothing after it runs, the
     * transaction is failed and keeps nothing. */
    es_stmt bad[3] = {{ins, c, 2, -1}, {ins, a, 2, -1}, {ins, d, 2, -1}};
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_exec_batch(s, bad, 3) == ES_ERR_EXISTS, "%s: the duplicate's EXISTS (%s)", label,
       es_store_last_error(s));
    ok(es_store_in_tx(s), "%s: still in the (failed) transaction", label);
    ok(es_store_exec(s, ins, d, 2, NULL) == ES_ERR_ARG, "%s: which refuses more", label);
    ok(es_store_commit(s) == ES_ERR_ARG, "%s: and does not commit", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 2 &&
           count_of(s, "SELECT count(*) FROM settings WHERE key IN ('c', 'd')") == 0,
       "%s: nothing of the failed batch kept", label);

    /* Later in a transaction, after a read. */
    ok(es_store_begin(s) == ES_OK && count_of(s, "SELECT count(*) FROM settings") == 2 &&
           es_store_exec_batch(s, bad, 1) == ES_OK && es_store_commit(s) == ES_OK,
       "%s: a batch after a read in the transaction", label);
    ok(count_of(s, "SELECT count(*) FROM settings WHERE key = 'c'") == 1, "%s: kept", label);
    ok(es_store_begin(s) == ES_OK && es_store_exec_batch(s, bad, 0) == ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: an empty batch", label);

    /* Write transactions with nothing in them, or only reads: commit and roll back. */
    ok(es_store_begin(s) == ES_OK && es_store_commit(s) == ES_OK, "%s: an empty transaction",
       label);
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    es_store_rollback(s);
    ok(!es_store_in_tx(s), "%s: an empty transaction rolled back", label);
    ok(es_store_begin(s) == ES_OK && count_of(s, "SELECT count(*) FROM settings") == 3 &&
           es_store_commit(s) == ES_OK,
       "%s: a write transaction that only read", label);
    /* The first statement fails: the connection is usable after the rollback. */
    ok(es_store_begin(s) == ES_OK && es_store_exec(s, ins, a, 2, NULL) == ES_ERR_EXISTS,
       "%s: the transaction's first statement fails", label);
    es_store_rollback(s);
    ok(es_store_begin(s) == ES_OK && es_store_exec(s, ins, d, 2, NULL) == ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: the next transaction works", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 4, "%s: all four rows", label);
    es_store_close(s);
}

static void t_transactions(void)
{
    const char *url = fresh("tx");
    es_store *s = st_open_migrated(url);
    es_value kv[2] = {es_v_text("k"), es_v_text("v")};
    const char *ins = "INSERT INTO settings (key, value) VALUES (?, ?)";

    ok(es_store_exec(s, ins, kv, 2, NULL) == ES_ERR_ARG, "%s: exec outside a transaction refused",
       label);
    int64_t n = 0;
    ok(es_store_query_int(s, "INSERT INTO settings (key, value) VALUES ('a', 'b') RETURNING 1",
                          NULL, 0, &n) == ES_ERR_ARG,
       "%s: a write through query outside a transaction refused (%s)", label,
       es_store_last_error(s));
    ok(count_of(s, "SELECT count(*) FROM settings") == 0, "%s: nothing written", label);
    ok(es_store_commit(s) == ES_ERR_ARG, "%s: commit without a transaction", label);
    es_store_rollback(s); /* harmless */

    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_begin(s) == ES_ERR_ARG, "%s: no nested transaction", label);
    ok(es_store_begin_read(s) == ES_ERR_ARG, "%s: nor a read one inside", label);
    ok(es_store_in_tx(s), "%s: in a transaction", label);
    ok(es_store_exec(s, ins, kv, 2, NULL) == ES_OK, "%s: insert", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 1, "%s: seen inside", label);
    es_store_rollback(s);
    ok(!es_store_in_tx(s), "%s: rolled back", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 0, "%s: rollback leaves nothing", label);

    /* A read transaction refuses writes, through exec and through query. */
    ok(es_store_begin_read(s) == ES_OK, "%s: begin_read", label);
    ok(es_store_exec(s, ins, kv, 2, NULL) == ES_ERR_ARG, "%s: read-only refuses exec", label);
    ok(es_store_commit(s) == ES_OK, "%s: a read transaction commits", label);
    ok(es_store_begin_read(s) == ES_OK, "%s: begin_read", label);
    ok(es_store_query_int(s, "INSERT INTO settings (key, value) VALUES ('a', 'b') RETURNING 1",
                          NULL, 0, &n) == ES_ERR_ARG,
       "%s: read-only refuses a write through query", label);
    es_store_rollback(s);

    /* Closing with a transaction open rolls it back. */
    ok(es_store_begin(s) == ES_OK && es_store_exec(s, ins, kv, 2, NULL) == ES_OK,
       "%s: an insert left open", label);
    es_store_close(s);
    s = st_open(url);
    ok(count_of(s, "SELECT count(*) FROM settings") == 0, "%s: close rolled it back", label);

    /* A snapshot: a second connection's commit is not seen inside it. */
    es_store *w = st_open(url);
    ok(es_store_begin_read(s) == ES_OK, "%s: snapshot", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 0, "%s: empty in the snapshot", label);
    ok(es_store_begin(w) == ES_OK && es_store_exec(w, ins, kv, 2, NULL) == ES_OK &&
           es_store_commit(w) == ES_OK,
       "%s: another connection writes", label);
    ok(count_of(s, "SELECT count(*) FROM settings") == 0, "%s: not seen in the snapshot", label);
    es_store_rollback(s);
    ok(count_of(s, "SELECT count(*) FROM settings") == 1, "%s: seen after it", label);
    es_store_close(w);
    es_store_close(s);
}

static void t_durable(void)
{
    const char *url = fresh("durable");
    es_store *s = st_open_migrated(url);
    es_value kv[2] = {es_v_text("durable"), es_v_text("印章 ✓")};
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: write and commit", label);
    es_store_close(s);
    s = st_open(url);
    int64_t n = 0;
    es_value v = es_v_text("印章 ✓");
    ok(es_store_query_int(s, "SELECT count(*) FROM settings WHERE key = 'durable' AND value = ?",
                          &v, 1, &n) == ES_OK &&
           n == 1,
       "%s: there after close and reopen", label);
    es_store_close(s);
}

/* es_store_commit_visible: the callback runs once, when another connection already sees the
 * commit and may write (the write lock is released), before the wait for the disk (SQLite: the
 * group sync has not covered the commit yet); once also when the commit fails or there is no
 * transaction. */
typedef struct vis_ctx {
    es_store *other;
    const char *path; /* SQLite: the database file, for the group-sync counters */
    int calls, seen, wrote, unsynced;
} vis_ctx;

static void on_visible(void *arg)
{
    vis_ctx *v = arg;
    v->calls++;
    if (v->path) {
        uint64_t commits, synced, syncs;
        store_sqlite_sync_stats(v->path, &commits, &synced, &syncs);
        v->unsynced = synced < commits;
    }
    int64_t n = 0;
    v->seen = es_store_query_int(v->other, "SELECT count(*) FROM settings WHERE key = 'visible'",
                                 NULL, 0, &n) == ES_OK &&
              n == 1;
    es_value kv[2] = {es_v_text("visible-2"), es_v_text("b")};
    v->wrote = es_store_begin_try(v->other, "visible") == ES_OK &&
               es_store_exec(v->other, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2,
                             NULL) == ES_OK &&
               es_store_commit(v->other) == ES_OK;
}

static void t_commit_visible(void)
{
    const char *url = fresh("visible");
    es_store *s = st_open_migrated(url), *o = st_open(url);
    vis_ctx v = {o, strncmp(url, "sqlite:", 7) == 0 ? url + 7 : NULL, 0, 0, 0, 0};
    es_value kv[2] = {es_v_text("visible"), es_v_text("a")};
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_OK &&
           es_store_commit_visible(s, on_visible, &v) == ES_OK,
       "%s: commit_visible commits", label);
    ok(v.calls == 1 && v.seen, "%s: the callback ran once and another connection saw the row",
       label);
    ok(v.wrote, "%s: another connection could write from the callback (the lock was released)",
       label);
    if (v.path)
        ok(v.unsynced, "%s: the callback ran before the group sync covered the commit", label);
    /* A failed transaction: rolled back, the callback called once all the same. */
    v = (vis_ctx){o, NULL, 0, 0, 0, 0};
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_ERR_EXISTS &&
           es_store_commit_visible(s, on_visible, &v) == ES_ERR_ARG && v.calls == 1,
       "%s: a failed transaction: refused, the callback called once", label);
    v = (vis_ctx){o, NULL, 0, 0, 0, 0};
    ok(es_store_commit_visible(s, on_visible, &v) == ES_ERR_ARG && v.calls == 1,
       "%s: no transaction: refused, the callback called once", label);
    es_store_close(o);
    es_store_close(s);
}

/* The same statement text used again and again (SQLite caches compiled statements, PostgreSQL
 * prepares them): inside its own query's callback (refused on both backends), after a failure,
 * outside and inside a transaction (the read-only rule is checked at each use), and with more texts
 * than either cache holds. */
typedef struct nest_ctx {
    es_store *s;
    int outer, inner;
    es_err rv;
} nest_ctx;

static es_err count_inner(void *ctx, const es_row *r)
{
    (void)r;
    ++((nest_ctx *)ctx)->inner;
    return ES_OK;
}

static es_err nest_outer(void *ctx, const es_row *r)
{
    nest_ctx *n = ctx;
    (void)r;
    n->outer++;
    es_value v = es_v_text("stmt-%");
    es_err rv = es_store_query(n->s, "SELECT key FROM settings WHERE key LIKE ? ORDER BY key", &v,
                               1, count_inner, n);
    if (rv != ES_OK) n->rv = rv;
    return ES_OK;
}

static void t_statements_reused(void)
{
    es_store *s = st_open_migrated(fresh("stmt_cache"));
    const char *ins = "INSERT INTO settings (key, value) VALUES (?, ?)";
    int good = 1;
    for (int i = 0; i < 3 && good; i++) {
        char key[16];
        snprintf(key, sizeof key, "stmt-%d", i);
        es_value kv[2] = {es_v_text(key), es_v_text("v")};
        good = es_store_begin(s) == ES_OK && es_store_exec(s, ins, kv, 2, NULL) == ES_OK &&
               es_store_commit(s) == ES_OK;
    }
    ok(good, "%s: one insert text, three rows", label);
    es_value dup[2] = {es_v_text("stmt-0"), es_v_text("again")};
    ok(es_store_begin(s) == ES_OK && es_store_exec(s, ins, dup, 2, NULL) == ES_ERR_EXISTS,
       "%s: the same text, a duplicate: ES_ERR_EXISTS", label);
    es_store_rollback(s);
    es_value kv3[2] = {es_v_text("stmt-3"), es_v_text("v")};
    ok(es_store_exec(s, ins, kv3, 2, NULL) == ES_ERR_ARG,
       "%s: the same write text outside a transaction is still refused", label);
    ok(es_store_begin(s) == ES_OK && es_store_exec(s, ins, kv3, 2, NULL) == ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: and works again inside one after the failures", label);
    nest_ctx n = {s, 0, 0, ES_OK};
    es_value v = es_v_text("stmt-%");
    ok(es_store_query(s, "SELECT key FROM settings WHERE key LIKE ? ORDER BY key", &v, 1,
                      nest_outer, &n) == ES_OK &&
           n.rv == ES_ERR_ARG && n.outer == 4 && n.inner == 0,
       "%s: a query's callback using its store is refused: %d outer rows, %d inner (%s)", label,
       n.outer, n.inner, es_err_name(n.rv));
    int64_t four = 0;
    ok(es_store_query_int(s, "SELECT count(*) FROM settings WHERE key LIKE 'stmt-%'", NULL, 0,
                          &four) == ES_OK &&
           four == 4,
       "%s: and the store works after it", label);
    int distinct_ok = 1;
    for (int i = 0; i < 300 && distinct_ok; i++) {
        char sql[96];
        int64_t got = -1;
        snprintf(sql, sizeof sql, "SELECT count(*) + %d FROM settings WHERE key LIKE 'stmt-%%'", i);
        distinct_ok = es_store_query_int(s, sql, NULL, 0, &got) == ES_OK && got == 4 + i;
        if (distinct_ok && i % 7 == 0) /* an old text comes back among the new ones */
            distinct_ok =
                es_store_query_int(s, "SELECT count(*) + 0 FROM settings WHERE key LIKE 'stmt-%'",
                                   NULL, 0, &got) == ES_OK &&
                got == 4;
    }
    ok(distinct_ok, "%s: 300 distinct texts, more than the caches hold, each right", label);
    es_store_close(s);
}

/* SQLite group commit: the connections run synchronous=NORMAL in WAL, and es_store_commit
 * returns only once an fdatasync of the WAL that began after the COMMIT has ended. Each
 * writer reads the commit count before its commit (its own is later) and, once committed,
 * the count the syncs have covered: that must include its own. */
typedef struct gc_arg {
    const char *url, *path;
    int id, bad, failed;
} gc_arg;

enum { GC_THREADS = 8, GC_EACH = 40 };

static void *group_commit_thread(void *p)
{
    gc_arg *a = p;
    es_store *s = NULL;
    if (es_store_open(a->url, &s) != ES_OK) {
        a->failed = GC_EACH;
        return NULL;
    }
    for (int i = 0; i < GC_EACH; i++) {
        char key[48];
        snprintf(key, sizeof key, "gc-%d-%d", a->id, i);
        es_value kv[2] = {es_v_text(key), es_v_text("v")};
        uint64_t before, synced, syncs, now;
        store_sqlite_sync_stats(a->path, &before, &synced, &syncs);
        if (es_store_begin(s) != ES_OK ||
            es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) !=
                ES_OK ||
            es_store_commit(s) != ES_OK) {
            es_store_rollback(s);
            a->failed++;
            continue;
        }
        store_sqlite_sync_stats(a->path, &now, &synced, &syncs);
        if (synced <= before) a->bad++;
    }
    es_store_close(s);
    return NULL;
}

static void t_group_commit(void)
{
    const char *url = fresh("group_commit");
    es_store *s = st_open_migrated(url);
    const char *path = url + strlen("sqlite:");
    int64_t sync = -1;
    ok(es_store_query_int(s, "PRAGMA synchronous", NULL, 0, &sync) == ES_OK && sync == 1,
       "sqlite: synchronous=NORMAL on a queued connection (%lld): the store syncs",
       (long long)sync);
    es_store_close(s);
    uint64_t c0, y0, n0, c1, y1, n1;
    store_sqlite_sync_stats(path, &c0, &y0, &n0);
    pthread_t th[GC_THREADS];
    gc_arg a[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        a[i] = (gc_arg){url, path, i, 0, 0};
        pthread_create(&th[i], NULL, group_commit_thread, &a[i]);
    }
    int bad = 0, failed = 0;
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        bad += a[i].bad;
        failed += a[i].failed;
    }
    store_sqlite_sync_stats(path, &c1, &y1, &n1);
    ok(failed == 0, "sqlite: %d concurrent commits, %d failed", GC_THREADS * GC_EACH, failed);
    ok(bad == 0, "sqlite: every commit returned after an fdatasync covering it (%d did not)", bad);
    ok(c1 - c0 == GC_THREADS * GC_EACH && y1 == c1,
       "sqlite: %llu commits counted, all covered (synced to %llu of %llu)",
       (unsigned long long)(c1 - c0), (unsigned long long)y1, (unsigned long long)c1);
    ok(n1 > n0 && n1 - n0 <= c1 - c0, "sqlite: %llu fdatasyncs for %llu commits",
       (unsigned long long)(n1 - n0), (unsigned long long)(c1 - c0));
    printf("sqlite: group commit: %llu fdatasyncs for %llu commits\n",
           (unsigned long long)(n1 - n0), (unsigned long long)(c1 - c0));
    s = st_open(url);
    ok(count_of(s, "SELECT count(*) FROM settings WHERE key LIKE 'gc-%'") == GC_THREADS * GC_EACH,
       "sqlite: every committed row is there");
    es_store_close(s);
}

static es_err first_text(void *ctx, const es_row *r)
{
    snprintf((char *)ctx, 32, "%s", es_row_text(r, 0, NULL));
    return ES_OK;
}

/* SQLite's durability settings as docs/store.md gives them, asked through the store's own
 * connection (a fresh one and one reopened later): WAL, synchronous=NORMAL (1, the group
 * commit's fdatasync makes a commit durable: t_group_commit) and never OFF, foreign keys on;
 * and WAL in the file's header (bytes 18 and 19 are 2), so a connection opened by anyone else
 * also writes WAL. */
static void t_sqlite_pragmas(void)
{
    const char *url = fresh("pragmas");
    for (int round = 0; round < 2; round++) {
        es_store *s = round ? st_open(url) : st_open_migrated(url);
        char mode[32] = "";
        int64_t sync = -1, fk = -1;
        /* PRAGMA journal_mode counts as a write for SQLite (it could set the mode): asked in a
         * transaction, as the store requires of writes. */
        es_err rv = es_store_begin(s);
        if (rv == ES_OK) rv = es_store_query(s, "PRAGMA journal_mode", NULL, 0, first_text, mode);
        if (rv == ES_OK) rv = es_store_commit(s);
        ok(rv == ES_OK && strcmp(mode, "wal") == 0,
           "sqlite: journal_mode is wal on the store's connection (%s, open %d): %s", mode,
           round + 1, es_store_last_error(s));
        ok(es_store_query_int(s, "PRAGMA synchronous", NULL, 0, &sync) == ES_OK && sync == 1,
           "sqlite: synchronous is NORMAL (1) with the group commit (%lld, open %d)",
           (long long)sync, round + 1);
        ok(es_store_query_int(s, "PRAGMA foreign_keys", NULL, 0, &fk) == ES_OK && fk == 1,
           "sqlite: foreign_keys is on (%lld, open %d)", (long long)fk, round + 1);
        es_store_close(s);
    }
    unsigned char hdr[20] = {0};
    FILE *f = fopen(url + strlen("sqlite:"), "rb");
    size_t got = f ? fread(hdr, 1, sizeof hdr, f) : 0;
    if (f) fclose(f);
    ok(got == sizeof hdr && hdr[18] == 2 && hdr[19] == 2,
       "sqlite: the database file's header says WAL (%u, %u)", hdr[18], hdr[19]);
}

static es_err stop_after_one(void *ctx, const es_row *r)
{
    (void)r;
    ++*(int *)ctx;
    return ES_ERR_LIMIT;
}

static es_err count_rows(void *ctx, const es_row *r)
{
    (void)r;
    ++*(int *)ctx;
    return ES_OK;
}

static void t_sql_text(void)
{
    es_store *s = st_open_migrated(fresh("sqltext"));
    /* '?' inside literals, quoted names and comments is not a placeholder. */
    es_value k = es_v_text("q?");
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s,
                         "INSERT INTO settings (key, \"value\") VALUES (?, 'it''s ? not a "
                         "placeholder') -- nor ? here",
                         &k, 1, NULL) == ES_OK,
       "%s: '?' in a literal and a comment: %s", label, es_store_last_error(s));
    ok(es_store_commit(s) == ES_OK, "%s: commit", label);
    int64_t n = 0;
    ok(es_store_query_int(s,
                          "SELECT count(*) FROM settings /* ? */ WHERE key = ? AND value = 'it''s "
                          "? not a placeholder'",
                          &k, 1, &n) == ES_OK &&
           n == 1,
       "%s: read back by it", label);
    ok(es_store_query_int(s, "SELECT count(*) FROM settings WHERE key = ?", NULL, 0, &n) ==
           ES_ERR_ARG,
       "%s: too few values", label);
    es_value two[2] = {k, k};
    ok(es_store_query_int(s, "SELECT count(*) FROM settings WHERE key = ?", two, 2, &n) ==
           ES_ERR_ARG,
       "%s: too many values", label);
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_exec(s, "DELETE FROM settings; DELETE FROM users", NULL, 0, NULL) == ES_ERR_ARG,
       "%s: one statement at a time", label);
    es_store_rollback(s);
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    ok(es_store_exec(s, "DELETE FROM users WHERE id = -1;  ", NULL, 0, NULL) == ES_OK,
       "%s: a trailing ';' is fine", label);
    ok(es_store_exec(s, "SELEKT nothing", NULL, 0, NULL) == ES_ERR_IO, "%s: a syntax error is IO",
       label);
    es_store_rollback(s);
    ok(es_store_query_int(s, "SELECT count(*) FROM settings WHERE key = 'none' AND 1 = 0", NULL, 0,
                          &n) == ES_OK &&
           n == 0,
       "%s: count of nothing is 0", label);
    ok(es_store_query_int(s, "SELECT 1 FROM settings WHERE 1 = 0", NULL, 0, &n) == ES_ERR_NOT_FOUND,
       "%s: no row is NOT_FOUND", label);

    /* A callback stops a query; the transaction is not aborted by that. */
    ok(es_store_begin(s) == ES_OK, "%s: begin", label);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        es_value kv[2] = {es_v_text(key), es_v_text("v")};
        ok(es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_OK,
           "%s: insert %d", label, i);
    }
    int seen = 0;
    ok(es_store_query(s, "SELECT key FROM settings ORDER BY key", NULL, 0, stop_after_one, &seen) ==
               ES_ERR_LIMIT &&
           seen == 1,
       "%s: the callback's code ends the query (%d rows)", label, seen);
    seen = 0;
    ok(es_store_query(s, "SELECT key FROM settings", NULL, 0, count_rows, &seen) == ES_OK &&
           seen == 6,
       "%s: the transaction goes on (%d rows)", label, seen);
    ok(es_store_commit(s) == ES_OK, "%s: and commits", label);
    es_store_close(s);
}

static void t_backup_restore(void)
{
    const char *src_url = fresh("bk_src");
    es_store *s = st_open_migrated(src_url);
    es_value kv[2] = {es_v_text("backed"), es_v_text("up")};
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: a row to back up", label);
    char path[700];
    snprintf(path, sizeof path, "%s/%s-store.backup", st_tmp(), label);
    ok(es_store_begin(s) == ES_OK && es_store_backup(s, path) == ES_ERR_ARG,
       "%s: no backup inside a transaction", label);
    es_store_rollback(s);
    ok(es_store_backup(s, path) == ES_OK, "%s: backup: %s", label, es_store_last_error(s));
    ok(access(path, R_OK) == 0, "%s: the file is there", label);

    es_store *t = st_open(fresh("bk_dst"));
    int empty = 0;
    ok(es_store_is_empty(t, &empty) == ES_OK && empty, "%s: target empty", label);
    ok(es_store_restore(t, path, 0) == ES_OK, "%s: restore: %s", label, es_store_last_error(t));
    ok(count_of(t, "SELECT count(*) FROM settings WHERE key = 'backed'") == 1,
       "%s: the row is there", label);
    int v = 0;
    ok(es_store_schema_version(t, &v) == ES_OK && v == es_store_schema_latest(),
       "%s: the schema version too", label);
    ok(es_store_restore(t, path, 0) == ES_ERR_EXISTS, "%s: a non-empty target is refused", label);
    ok(es_store_restore(t, path, 1) == ES_OK, "%s: unless forced: %s", label,
       es_store_last_error(t));
    ok(count_of(t, "SELECT count(*) FROM settings") == 1, "%s: replaced, not doubled", label);

    char junk[700];
    snprintf(junk, sizeof junk, "%s/junk.backup", st_tmp());
    FILE *f = fopen(junk, "w");
    fputs("not a backup at all", f);
    fclose(f);
    es_store *e = st_open(fresh("bk_junk"));
    ok(es_store_restore(e, junk, 0) == ES_ERR_FORMAT, "%s: a file that is no backup", label);
    snprintf(junk, sizeof junk, "%s/none.backup", st_tmp());
    ok(es_store_restore(e, junk, 0) == ES_ERR_NOT_FOUND, "%s: a missing file", label);
    ok(es_store_is_empty(e, &empty) == ES_OK && empty, "%s: still empty", label);
    es_store_close(e);
    es_store_close(t);
    es_store_close(s);
}

/* PostgreSQL: a connection the server cut (restart, failover) comes back between
 * transactions. */
static void t_reconnect(void)
{
    es_store *s = st_open_migrated(st_pg_db("reconnect"));
    int64_t n = 0;
    ok(es_store_query_int(s, "SELECT count(*) FROM settings", NULL, 0, &n) == ES_OK,
       "postgresql: connected");
    st_pg_admin("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname LIKE "
                "'es\\_reconnect\\_%' AND application_name = 'eseal'");
    int tries = 0;
    es_err rv;
    while ((rv = es_store_query_int(s, "SELECT count(*) FROM settings", NULL, 0, &n)) != ES_OK &&
           ++tries < 3) {
    }
    ok(rv == ES_OK && tries == 1, "postgresql: one failure, then reconnected (%d failed tries)",
       tries);
    es_value kv[2] = {es_v_text("after"), es_v_text("cut")};
    ok(es_store_begin(s) == ES_OK &&
           es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_OK &&
           es_store_commit(s) == ES_OK,
       "postgresql: and writes again, read-only outside transactions as before");
    ok(es_store_query_int(s, "INSERT INTO settings (key, value) VALUES ('x', 'y') RETURNING 1",
                          NULL, 0, &n) == ES_ERR_ARG,
       "postgresql: the session settings are back");
    es_store_close(s);
}

/* PostgreSQL's commit barrier (pg.c, "Durability"): before migration 5 a write transaction
 * waits for its own flush; once store_flush exists (seen after the migration's commit), a
 * write transaction runs with synchronous_commit = off and each commit is followed by one
 * barrier write of this connection's slot, which waits for the flush. */
static void t_pg_barrier(void)
{
    es_store *s = st_open(st_pg_db("barrier"));
    const char *early = "SELECT (current_setting('synchronous_commit') = 'off')::int";
    const char *bars = "SELECT coalesce((SELECT n FROM store_flush "
                       "WHERE slot = pg_backend_pid() % 4096), 0)";
    int64_t off = -1, n0 = -1, n1 = -1;
    ok(es_store_begin(s) == ES_OK && es_store_query_int(s, early, NULL, 0, &off) == ES_OK &&
           off == 0 && es_store_commit(s) == ES_OK,
       "postgresql: no barrier table yet: the write transaction waits for its flush (%lld)",
       (long long)off);
    int version = 0;
    ok(es_store_migrate(s, &version) == ES_OK, "postgresql: migrated: %s", es_store_last_error(s));
    ok(es_store_query_int(s, bars, NULL, 0, &n0) == ES_OK, "postgresql: barrier count");
    es_value kv[2] = {es_v_text("barrier"), es_v_text("1")};
    ok(es_store_begin(s) == ES_OK && es_store_query_int(s, early, NULL, 0, &off) == ES_OK &&
           off == 1 &&
           es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL) ==
               ES_OK &&
           es_store_commit(s) == ES_OK,
       "postgresql: after migration the write transaction commits early (%lld)", (long long)off);
    ok(es_store_query_int(s, bars, NULL, 0, &n1) == ES_OK && n1 == n0 + 1,
       "postgresql: and its commit was followed by one barrier (%lld -> %lld)", (long long)n0,
       (long long)n1);
    ok(es_store_query_int(s, early, NULL, 0, &off) == ES_OK && off == 0,
       "postgresql: outside the transaction the session waits for flushes as configured");
    es_store_close(s);
}

/* PostgreSQL: pg_dump that cannot be run, or fails, is an error with its reason. */
static void t_pg_tools(void)
{
    es_store *s = st_open_migrated(st_pg_db("tools"));
    char path[700];
    snprintf(path, sizeof path, "%s/tools.backup", st_tmp());
    setenv("ESEAL_PG_BINDIR", "/nonexistent/bin", 1);
    ok(es_store_backup(s, path) == ES_ERR_IO, "postgresql: no pg_dump");
    ok(strstr(es_store_last_error(s), "pg_dump") != NULL, "postgresql: named: %s",
       es_store_last_error(s));
    ok(access(path, F_OK) != 0, "postgresql: no file left behind");
    unsetenv("ESEAL_PG_BINDIR");
    es_store_close(s);
    /* A database gone before pg_dump reaches it: pg_dump's own message comes back. */
    s = st_open(st_pg_db("tools_gone"));
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE es_tools_gone_%ld WITH (FORCE)", (long)getpid());
    st_pg_admin(sql);
    ok(es_store_backup(s, path) == ES_ERR_IO, "postgresql: pg_dump fails");
    ok(strstr(es_store_last_error(s), "pg_dump failed") &&
           strstr(es_store_last_error(s), "does not exist"),
       "postgresql: with its message: %s", es_store_last_error(s));
    ok(access(path, F_OK) != 0, "postgresql: no file left behind");
    es_store_close(s);
}

static es_err second_col(void *ctx, const es_row *r)
{
    *(int64_t *)ctx = es_row_int(r, 1);
    return ES_OK;
}

/* Statements run many times (prepared once per connection on PostgreSQL) give the same answers,
 * and a script that changes a table is never answered with a plan made before it. */
static void t_prepared(void)
{
    es_store *s = st_open_migrated(fresh("prepared"));
    int good = es_store_begin(s) == ES_OK &&
               s->ops->script(s, "CREATE TABLE prep_t (a BIGINT NOT NULL)") == ES_OK;
    for (int i = 0; good && i < 300; i++) {
        es_value v[1] = {i % 2 ? es_v_int(i) : es_v_int(-i)};
        good = es_store_exec(s, "INSERT INTO prep_t (a) VALUES (?)", v, 1, NULL) == ES_OK;
    }
    good = good && es_store_commit(s) == ES_OK;
    ok(good, "%s: 300 inserts of one statement", label);
    int64_t n = 0, sum = 0, again = 0;
    for (int i = 0; i < 20; i++)
        if (es_store_query_int(s, "SELECT count(*) FROM prep_t WHERE a >= ?",
                               (es_value[]){es_v_int(0)}, 1, &n) != ES_OK)
            n = -1;
    ok(n == 151 && es_store_query_int(s, "SELECT sum(a) FROM prep_t", NULL, 0, &sum) == ES_OK &&
           sum == 22500 - 22350,
       "%s: the same query twenty times: %lld rows, sum %lld", label, (long long)n, (long long)sum);
    /* A NULL where an integer was: another parameter type, another plan. */
    es_value nv[1] = {es_v_null()};
    ok(es_store_query_int(s, "SELECT count(*) FROM prep_t WHERE a >= ?", nv, 1, &again) == ES_OK &&
           again == 0,
       "%s: a NULL parameter in the same text", label);
    int64_t b = 0;
    ok(es_store_query(s, "SELECT * FROM prep_t WHERE a = 1", NULL, 0, second_col, &b) != ES_OK ||
           b == 0,
       "%s: one column before the change", label);
    ok(es_store_begin(s) == ES_OK &&
           s->ops->script(s, "ALTER TABLE prep_t ADD COLUMN b BIGINT NOT NULL DEFAULT 7") ==
               ES_OK &&
           es_store_commit(s) == ES_OK,
       "%s: a script adds a column", label);
    b = 0;
    ok(es_store_query(s, "SELECT * FROM prep_t WHERE a = 1", NULL, 0, second_col, &b) == ES_OK &&
           b == 7,
       "%s: the same SELECT * sees the new column (%lld): no plan from before the change (%s)",
       label, (long long)b, es_store_last_error(s));
    es_store_close(s);
}

static void suite(const char *name, const char *(*fresh_db)(const char *))
{
    label = name;
    fresh = fresh_db;
    t_migrate();
    t_migrate_concurrent();
    t_values();
    t_unique_and_abort();
    t_transactions();
    t_batch();
    t_durable();
    t_commit_visible();
    t_statements_reused();
    if (strcmp(name, "sqlite") == 0) t_sqlite_pragmas();
    t_sql_text();
    t_prepared();
    t_backup_restore();
}

int main(void)
{
    t_urls_refused();
    int before = t_pass;
    suite("sqlite", st_sqlite_db);
    t_group_commit();
    printf("sqlite: %d checks passed\n", t_pass - before);
    if (st_pg_ready()) {
        before = t_pass;
        suite("postgresql", st_pg_db);
        t_reconnect();
        t_pg_barrier();
        t_pg_tools();
        printf("postgresql: %d checks passed\n", t_pass - before);
    }
    return t_done();
}
