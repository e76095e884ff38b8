/* The PostgreSQL backend, through libpq.
 *
 * Statements go with PQexecParams ('?' numbered to $1, $2... outside quotes), prepared once per
 * connection (the statement text and its parameter types are the key) and then executed by
 * name, so that the server parses and plans each statement once; integers as
 * int8 text, text with its type left to the server, blobs as binary BYTEA. Results come in
 * text form and, for queries, in single-row mode so that a long result (an audit export)
 * is never held whole; BYTEA columns are decoded when read.
 *
 * The session runs with default_transaction_read_only = on and es_store_begin opens
 * READ WRITE transactions: a write outside a transaction is refused by the server itself
 * (SQLSTATE 25006, ES_ERR_ARG), as the SQLite backend refuses it.
 *
 * Durability: es_store_commit returns once the commit is flushed (as the server's
 * synchronous_commit has it). A write transaction runs with synchronous_commit = off, so its
 * COMMIT releases its row locks (the audit chain's tip) without waiting for the WAL flush;
 * then a barrier, a one-row write in table store_flush under the session's own
 * synchronous_commit, waits for a flush that covers the commit (WAL is written in order).
 * Writers that queue for one row (every audited write) no longer wait for each other's
 * flush, and the server flushes the barriers of many connections at once (group commit).
 * Until the table exists (before migration 5) commits wait for their own flush.
 *
 * Backup and restore run pg_dump -Fc and pg_restore as child processes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/internal.h"

extern char **environ;

#define OID_INT8  20
#define OID_BYTEA 17

/* The key of the advisory lock migrations take (any constant; "eseal" in ASCII). */
#define MIGRATION_LOCK "435727720812"

/* Prepared statements of a connection: the key is the parameter types then the text; slot i
 * is the server's statement "es_i". Full: the rest go unprepared. */
#define PREP_SLOTS 256

typedef struct pgc {
    PGconn *conn;
    char *prep[PREP_SLOTS];
    /* BYTEA values of the current row, decoded on demand (freed after each row). */
    unsigned char **blob;
    size_t *blob_len;
    int nblob;
    int barrier; /* 1: store_flush exists: write transactions commit early, then barrier */
    int early;   /* the open write transaction runs with synchronous_commit = off */
    int pending; /* a write transaction begun but not yet sent: its BEGIN goes with the first
                    statement, in one round trip (pipeline mode) */
    int recheck; /* a script ran: look for the table again after the next commit */
} pgc;

static PGconn *conn_of(const es_store *s)
{
    return ((pgc *)s->impl)->conn;
}

/* Forgets the prepared statements (the server's are gone with a reset connection, or
 * deallocated after a script that may have changed tables). */
static void prep_clear(pgc *c)
{
    for (int i = 0; i < PREP_SLOTS; i++) {
        free(c->prep[i]);
        c->prep[i] = NULL;
    }
}

static es_err result_err(es_store *s, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : "";
    if (!msg || !*msg) msg = PQerrorMessage(conn_of(s));
    store_set_error(s, "%s", msg);
    if (!state) return ES_ERR_IO;
    if (strcmp(state, "23505") == 0) return ES_ERR_EXISTS; /* unique_violation */
    if (strcmp(state, "25006") == 0) {                     /* read_only_sql_transaction */
        store_set_error(s, "%s",
                        s->tx == TX_READ ? "a read-only transaction refuses writes"
                                         : "writes need a transaction "
                                           "(es_store_begin)");
        return ES_ERR_ARG;
    }
    if (strcmp(state, "25P02") == 0) return ES_ERR_ARG; /* in_failed_sql_transaction */
    return ES_ERR_IO;
}

/* Runs a statement without parameters and checks it succeeded. */
static es_err simple(es_store *s, const char *sql)
{
    PGresult *r = PQexec(conn_of(s), sql);
    ExecStatusType st = PQresultStatus(r);
    es_err rv = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? ES_OK : result_err(s, r);
    PQclear(r);
    return rv;
}

/* Server notices ("relation already exists, skipping") are not errors: not printed. */
static void no_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Whether the barrier's table exists (after open, a reconnect and each script). */
static void barrier_check(es_store *s)
{
    pgc *c = s->impl;
    PGresult *r = PQexec(c->conn, "SELECT to_regclass('store_flush') IS NOT NULL");
    c->barrier = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                 strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
}

static es_err session_setup(es_store *s)
{
    PQsetNoticeProcessor(conn_of(s), no_notice, NULL);
    es_err rv = simple(s, "SET default_transaction_read_only = on; SET TIME ZONE 'UTC'");
    if (rv == ES_OK) barrier_check(s);
    return rv;
}

static es_err pg_open(es_store *s, const char *url)
{
    pgc *c = calloc(1, sizeof *c);
    if (!c) return ES_ERR_NOMEM;
    s->impl = c;
    /* Defaults first: what the URL says overrides them (expand_dbname). */
    const char *const kw[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                              NULL};
    const char *const val[] = {"10", "eseal", "UTF8", url, NULL};
    c->conn = PQconnectdbParams(kw, val, 1);
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        store_set_error(s, "%s", c->conn ? PQerrorMessage(c->conn) : "out of memory");
        PQfinish(c->conn);
        free(c);
        s->impl = NULL;
        return ES_ERR_IO;
    }
    es_err rv = session_setup(s);
    if (rv != ES_OK) {
        PQfinish(c->conn);
        free(c);
        s->impl = NULL;
    }
    return rv;
}

static void free_blobs(pgc *c)
{
    for (int i = 0; i < c->nblob; i++) PQfreemem(c->blob[i]);
    free(c->blob);
    free(c->blob_len);
    c->blob = NULL;
    c->blob_len = NULL;
    c->nblob = 0;
}

static void pg_close(es_store *s)
{
    pgc *c = s->impl;
    if (!c) return;
    free_blobs(c);
    prep_clear(c);
    PQfinish(c->conn);
    free(c);
    s->impl = NULL;
}

/* A daemon's connection may have been cut (server restart, failover): one new try between
 * transactions, never inside one (what the transaction did is lost with it). */
static es_err reconnect(es_store *s)
{
    if (s->tx || PQstatus(conn_of(s)) != CONNECTION_BAD) return ES_OK;
    prep_clear(s->impl);
    PQreset(conn_of(s));
    if (PQstatus(conn_of(s)) != CONNECTION_OK) {
        store_set_error(s, "%s", PQerrorMessage(conn_of(s)));
        return ES_ERR_IO;
    }
    return session_setup(s);
}

/* The statements that open a write transaction (see pending and the top). */
static const char begin_write[] = "BEGIN READ WRITE";
static const char begin_early[] = "SET LOCAL synchronous_commit = off";

static es_err pg_begin(es_store *s, tx_mode mode)
{
    pgc *c = s->impl;
    es_err rv = reconnect(s);
    if (rv != ES_OK) return rv;
    c->early = 0;
    c->pending = 0;
    if (mode != TX_WRITE) return simple(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    /* Sent with the first statement (pg_exec) or before it (pg_query); a transaction with no
     * statement is never sent. */
    c->pending = 1;
    c->early = c->barrier;
    return ES_OK;
}

/* Sends the pending BEGIN on its own (before a query, and before a script). */
static es_err begin_flush(es_store *s)
{
    pgc *c = s->impl;
    if (!c->pending) return ES_OK;
    c->pending = 0;
    return simple(s, c->early ? "BEGIN READ WRITE; SET LOCAL synchronous_commit = off"
                              : "BEGIN READ WRITE");
}

/* The end of a write transaction whose COMMIT was sent: checks the COMMIT's result (a COMMIT
 * of an aborted transaction succeeds as a ROLLBACK). */
static es_err commit_result(es_store *s, PGresult *r)
{
    es_err rv = ES_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rv = result_err(s, r);
        if (rv == ES_OK) rv = ES_ERR_IO;
    } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        store_set_error(s, "the transaction was rolled back by the server");
        rv = ES_ERR_IO;
    }
    return rv;
}

/* An early commit and its barrier (see the top) in one round trip: the COMMIT (its locks
 * released at once, synchronous_commit off), then a one-row write under the session's
 * synchronous_commit, which returns once the WAL is flushed past both. The server runs the
 * statements of one message in order and skips the rest after an error. */
static es_err commit_early(es_store *s)
{
    PGconn *conn = conn_of(s);
    if (!PQsendQuery(conn, "COMMIT; BEGIN READ WRITE; "
                           "INSERT INTO store_flush (slot, n) "
                           "VALUES (pg_backend_pid() % 4096, 1) ON CONFLICT (slot) "
                           "DO UPDATE SET n = store_flush.n + 1; "
                           "COMMIT")) {
        store_set_error(s, "%s", PQerrorMessage(conn));
        return ES_ERR_IO;
    }
    es_err rv = ES_OK, barrier = ES_OK;
    int i = 0;
    PGresult *r;
    while ((r = PQgetResult(conn))) {
        if (i == 0) {
            rv = commit_result(s, r);
            store_visible(s); /* the row locks are released; the barrier follows */
        } else if (rv == ES_OK && barrier == ES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
            barrier = result_err(s, r);
            store_set_error(s, "the commit is done but not confirmed on disk: %s",
                            PQerrorMessage(conn));
        } else if (rv == ES_OK && barrier == ES_OK && i == 3 &&
                   strcmp(PQcmdStatus(r), "COMMIT") != 0) {
            barrier = ES_ERR_IO;
            store_set_error(s, "the commit is done but not confirmed on disk");
        }
        PQclear(r);
        i++;
    }
    if (rv == ES_OK && barrier == ES_OK && i != 4) {
        barrier = ES_ERR_IO;
        store_set_error(s, "the commit is done but not confirmed on disk");
    }
    if (rv == ES_OK && barrier != ES_OK)
        rv = (barrier == ES_ERR_EXISTS || barrier == ES_ERR_ARG) ? ES_ERR_IO : barrier;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) PQclear(PQexec(conn, "ROLLBACK"));
    return rv;
}

static void pg_rollback(es_store *s)
{
    pgc *c = s->impl;
    if (c->pending) {
        c->pending = 0;
        c->early = 0;
        return;
    }
    if (PQtransactionStatus(conn_of(s)) != PQTRANS_IDLE) PQclear(PQexec(conn_of(s), "ROLLBACK"));
}

static es_err pg_commit(es_store *s)
{
    pgc *c = s->impl;
    es_err rv = ES_OK;
    if (c->pending) {
        /* Nothing was sent: nothing to commit. */
        c->pending = 0;
    } else if (c->early) {
        rv = commit_early(s);
    } else {
        PGresult *r = PQexec(conn_of(s), "COMMIT");
        rv = commit_result(s, r);
        PQclear(r);
        if (rv != ES_OK) pg_rollback(s);
    }
    c->early = 0;
    if (rv == ES_OK && c->recheck) {
        c->recheck = 0;
        barrier_check(s);
    }
    return rv;
}

static es_err pg_lock_migrations(es_store *s)
{
    es_err rv = begin_flush(s);
    if (rv != ES_OK) return rv;
    return simple(s, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")");
}

static es_err pg_script(es_store *s, const char *sql)
{
    pgc *c = s->impl;
    es_err rv = begin_flush(s);
    if (rv != ES_OK) return rv;
    rv = simple(s, sql);
    /* A script may change tables: plans prepared before are dropped, not reused. */
    int any = 0;
    for (int i = 0; i < PREP_SLOTS && !any; i++) any = c->prep[i] != NULL;
    if (any) {
        PQclear(PQexec(c->conn, "DEALLOCATE ALL"));
        prep_clear(c);
    }
    /* A migration may make the barrier's table: looked for once it is committed. */
    if (!c->barrier) c->recheck = 1;
    return rv;
}

/* Parameters in libpq's form. */
typedef struct params {
    const char **val;
    int *len;
    int *fmt;
    Oid *type;
    char *text; /* NUL-terminated copies of text values and integers */
} params;

static void params_free(params *p)
{
    free(p->val);
    free(p->len);
    free(p->fmt);
    free(p->type);
    free(p->text);
}

static es_err params_make(es_store *s, const es_value *v, size_t n, params *p)
{
    memset(p, 0, sizeof *p);
    if (!n) return ES_OK;
    size_t room = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == ES_V_TEXT) {
            /* Text values travel NUL-terminated; PostgreSQL text cannot hold a NUL. */
            if (v[i].len && memchr(v[i].p, 0, v[i].len)) {
                store_set_error(s, "parameter %zu: text with a NUL byte", i + 1);
                return ES_ERR_ARG;
            }
            room += v[i].len + 1;
        } else if (v[i].type == ES_V_INT) {
            room += 24;
        }
    }
    p->val = calloc(n, sizeof *p->val);
    p->len = calloc(n, sizeof *p->len);
    p->fmt = calloc(n, sizeof *p->fmt);
    p->type = calloc(n, sizeof *p->type);
    p->text = malloc(room + 1);
    if (!p->val || !p->len || !p->fmt || !p->type || !p->text) {
        params_free(p);
        return ES_ERR_NOMEM;
    }
    char *t = p->text;
    for (size_t i = 0; i < n; i++) {
        switch (v[i].type) {
        case ES_V_NULL:
            break;
        case ES_V_INT:
            p->type[i] = OID_INT8;
            p->val[i] = t;
            t += snprintf(t, 24, "%lld", (long long)v[i].i) + 1;
            break;
        case ES_V_TEXT:
            /* Type left to the server: a text value may fill any column. */
            p->val[i] = t;
            if (v[i].len) memcpy(t, v[i].p, v[i].len);
            t[v[i].len] = 0;
            t += v[i].len + 1;
            break;
        case ES_V_BLOB:
            if (v[i].len > 0x7fffffff) {
                params_free(p);
                return ES_ERR_LIMIT;
            }
            p->type[i] = OID_BYTEA;
            p->fmt[i] = 1;
            p->val[i] = v[i].len ? (const char *)v[i].p : "";
            p->len[i] = (int)v[i].len;
            break;
        }
    }
    return ES_OK;
}

/* The name of the prepared statement for sql with p's types (prepared now if new) in name, or
 * "" to run it unprepared (no free slot, or the server refused to prepare it: running it then
 * gives the error). */
static void prepared(pgc *c, const char *sql, size_t n, const params *p, char name[16])
{
    char types[8 * 24];
    size_t tl = 0;
    name[0] = 0;
    if (n > 16) return;
    for (size_t i = 0; i < n; i++)
        tl += (size_t)snprintf(types + tl, sizeof types - tl, "%u,", (unsigned)p->type[i]);
    size_t sl = strlen(sql);
    char *key = malloc(tl + 1 + sl + 1);
    if (!key) return;
    memcpy(key, types, tl);
    key[tl] = '|';
    memcpy(key + tl + 1, sql, sl + 1);
    uint64_t h = 1469598103934665603ull;
    for (const char *k = key; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
    for (unsigned probe = 0; probe < PREP_SLOTS; probe++) {
        unsigned i = (unsigned)((h + probe) % PREP_SLOTS);
        if (c->prep[i] && strcmp(c->prep[i], key) == 0) {
            snprintf(name, 16, "es_%u", i);
            free(key);
            return;
        }
        if (!c->prep[i]) {
            snprintf(name, 16, "es_%u", i);
            PGresult *r = PQprepare(c->conn, name, sql, (int)n, p->type);
            int good = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!good) {
                name[0] = 0;
                free(key);
                return;
            }
            c->prep[i] = key;
            return;
        }
    }
    free(key);
}

/* '?' to $n, with the checks both backends make. */
static es_err translate(es_store *s, const char *sql, size_t n, es_buf *out)
{
    sql_scan info;
    es_buf_init(out, 16u * 1024 * 1024);
    es_err rv = store_sql_scan(sql, &info, out);
    if (rv != ES_OK) return rv;
    if (info.several) {
        store_set_error(s, "one statement at a time");
        return ES_ERR_ARG;
    }
    if (info.placeholders != n) {
        store_set_error(s, "the statement has %zu placeholders, %zu values given",
                        info.placeholders, n);
        return ES_ERR_ARG;
    }
    return ES_OK;
}

/* A statement ready to send: its text with $n, its parameters, its prepared name ("" for
 * none), where its row count goes (may be NULL). */
typedef struct piped {
    es_buf q;
    params p;
    size_t n;
    char name[16];
    int64_t *changes;
} piped;

/* Statements in one round trip (libpq pipeline mode): the pending BEGIN and the early-commit
 * setting first when the transaction is not sent yet, then the statements, one sync. The
 * first error is the one reported; the server skips the rest of the pipeline after it (the
 * transaction is then open and aborted, or not open, as PQtransactionStatus says: the
 * caller's rollback ends it either way). */
static es_err pipeline(es_store *s, piped *st, size_t n)
{
    pgc *c = s->impl;
    PGconn *conn = c->conn;
    es_err rv = ES_OK;
    size_t lead = c->pending ? (c->early ? 2 : 1) : 0, nq = lead + n;
    c->pending = 0;
    if (!PQenterPipelineMode(conn)) {
        store_set_error(s, "%s", PQerrorMessage(conn));
        return ES_ERR_IO;
    }
    int sent = 1;
    if (lead) sent = PQsendQueryParams(conn, begin_write, 0, NULL, NULL, NULL, NULL, 0);
    if (sent && lead > 1) sent = PQsendQueryParams(conn, begin_early, 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; sent && i < n; i++) {
        const params *p = &st[i].p;
        sent = st[i].name[0]
                   ? PQsendQueryPrepared(conn, st[i].name, (int)st[i].n, p->val, p->len, p->fmt, 0)
                   : PQsendQueryParams(conn, (const char *)st[i].q.p, (int)st[i].n, p->type, p->val,
                                       p->len, p->fmt, 0);
    }
    if (sent) sent = PQpipelineSync(conn);
    if (!sent) {
        store_set_error(s, "%s", PQerrorMessage(conn));
        rv = ES_ERR_IO;
        (void)PQpipelineSync(conn);
    }
    /* Every result is read until the sync's, so that the connection leaves pipeline mode:
     * each query's results end with a NULL (an aborted one's too), the sync's result comes
     * last. More NULLs than queries: the connection is gone. */
    size_t qi = 0;
    for (;;) {
        PGresult *r = PQgetResult(conn);
        if (!r) {
            if (++qi > nq || PQstatus(conn) == CONNECTION_BAD) break;
            continue;
        }
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
            if (qi >= lead && qi < nq && st[qi - lead].changes)
                *st[qi - lead].changes = strtoll(PQcmdTuples(r), NULL, 10);
        } else if (rv == ES_OK && rs != PGRES_PIPELINE_ABORTED) {
            rv = result_err(s, r);
            if (rv == ES_OK) rv = ES_ERR_IO;
        }
        PQclear(r);
    }
    if (!PQexitPipelineMode(conn)) {
        /* Results left: drain them (a broken connection is found by the next reconnect). */
        PGresult *r;
        while ((r = PQgetResult(conn))) PQclear(r);
        PQexitPipelineMode(conn);
        if (rv == ES_OK) {
            store_set_error(s, "%s", PQerrorMessage(conn));
            rv = ES_ERR_IO;
        }
    }
    return rv;
}

/* Makes st ready to send (translation, parameters, prepared name). */
static es_err piped_make(es_store *s, const char *sql, const es_value *v, size_t n,
                         int64_t *changes, piped *st)
{
    memset(&st->p, 0, sizeof st->p);
    st->n = n;
    st->name[0] = 0;
    st->changes = changes;
    es_err rv = translate(s, sql, n, &st->q);
    if (rv == ES_OK) rv = params_make(s, v, n, &st->p);
    /* Not inside a failed transaction: a Parse there would fail too, and be counted. */
    if (rv == ES_OK && PQtransactionStatus(conn_of(s)) != PQTRANS_INERROR)
        prepared(s->impl, (const char *)st->q.p, n, &st->p, st->name);
    return rv;
}

static void piped_free(piped *st)
{
    params_free(&st->p);
    es_buf_cleanup(&st->q);
}

static es_err pg_exec_batch(es_store *s, es_stmt *stmts, size_t n)
{
    if (n == 0) return ES_OK;
    piped *st = calloc(n, sizeof *st);
    if (!st) return ES_ERR_NOMEM;
    es_err rv = ES_OK;
    size_t made = 0;
    for (; made < n && rv == ES_OK; made++)
        rv = piped_make(s, stmts[made].sql, stmts[made].params, stmts[made].n, &stmts[made].changes,
                        &st[made]);
    if (rv == ES_OK) rv = pipeline(s, st, n);
    for (size_t i = 0; i < made; i++) piped_free(&st[i]);
    free(st);
    return rv;
}

static es_err pg_exec(es_store *s, const char *sql, const es_value *v, size_t n, int64_t *changes)
{
    piped st;
    pgc *c = s->impl;
    es_err rv = piped_make(s, sql, v, n, changes, &st);
    if (rv == ES_OK && c->pending) {
        /* The transaction's BEGIN goes with this statement. */
        rv = pipeline(s, &st, 1);
    } else if (rv == ES_OK) {
        PGresult *r =
            st.name[0] ? PQexecPrepared(c->conn, st.name, (int)n, st.p.val, st.p.len, st.p.fmt, 0)
                       : PQexecParams(c->conn, (const char *)st.q.p, (int)n, st.p.type, st.p.val,
                                      st.p.len, st.p.fmt, 0);
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
            if (changes) *changes = strtoll(PQcmdTuples(r), NULL, 10);
        } else {
            rv = result_err(s, r);
        }
        PQclear(r);
    }
    piped_free(&st);
    return rv;
}

static es_err pg_query(es_store *s, const char *sql, const es_value *v, size_t n, es_row_cb cb,
                       void *ctx, int *stopped)
{
    es_buf q;
    params p;
    pgc *c = s->impl;
    es_err rv = reconnect(s);
    if (rv != ES_OK) return rv;
    if ((rv = begin_flush(s)) != ES_OK) return rv;
    rv = translate(s, sql, n, &q);
    if (rv != ES_OK) {
        es_buf_cleanup(&q);
        return rv;
    }
    if ((rv = params_make(s, v, n, &p)) != ES_OK) {
        es_buf_cleanup(&q);
        return rv;
    }
    char name[16];
    name[0] = 0;
    if (PQtransactionStatus(c->conn) != PQTRANS_INERROR)
        prepared(c, (const char *)q.p, n, &p, name);
    if (!(name[0] ? PQsendQueryPrepared(c->conn, name, (int)n, p.val, p.len, p.fmt, 0)
                  : PQsendQueryParams(c->conn, (const char *)q.p, (int)n, p.type, p.val, p.len,
                                      p.fmt, 0))) {
        store_set_error(s, "%s", PQerrorMessage(c->conn));
        params_free(&p);
        es_buf_cleanup(&q);
        return ES_ERR_IO;
    }
    params_free(&p);
    es_buf_cleanup(&q);
    PQsetSingleRowMode(c->conn);
    es_err db_rv = ES_OK, cb_rv = ES_OK;
    PGresult *r;
    /* Every result is read, even after the callback stopped: the connection must be idle
     * again for the next statement (a cancel would abort the transaction). */
    while ((r = PQgetResult(c->conn))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            if (cb_rv == ES_OK && db_rv == ES_OK) {
                es_row row = {s, r, PQnfields(r)};
                cb_rv = cb(ctx, &row);
                free_blobs(c);
            }
        } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && db_rv == ES_OK) {
            db_rv = result_err(s, r);
        }
        PQclear(r);
    }
    if (db_rv != ES_OK) return db_rv;
    if (cb_rv != ES_OK) *stopped = 1;
    return cb_rv;
}

static int pg_row_is_null(const es_row *r, int col)
{
    return PQgetisnull(r->h, 0, col);
}

static int64_t pg_row_int(const es_row *r, int col)
{
    const char *t = PQgetvalue(r->h, 0, col);
    if (t[0] == 't' && !t[1]) return 1; /* boolean */
    return strtoll(t, NULL, 10);
}

static const char *pg_row_text(const es_row *r, int col, size_t *len)
{
    if (len) *len = (size_t)PQgetlength(r->h, 0, col);
    return PQgetvalue(r->h, 0, col);
}

static es_slice pg_row_blob(const es_row *r, int col)
{
    if (PQgetisnull(r->h, 0, col)) return ES_SLICE_NULL;
    if (PQftype(r->h, col) != OID_BYTEA)
        return es_slice_make(PQgetvalue(r->h, 0, col), (size_t)PQgetlength(r->h, 0, col));
    pgc *c = r->s->impl;
    int n = PQnfields(r->h);
    if (!c->blob) {
        c->blob = calloc((size_t)n, sizeof *c->blob);
        c->blob_len = calloc((size_t)n, sizeof *c->blob_len);
        if (!c->blob || !c->blob_len) {
            free_blobs(c);
            return ES_SLICE_NULL;
        }
        c->nblob = n;
    }
    if (!c->blob[col]) {
        c->blob[col] =
            PQunescapeBytea((const unsigned char *)PQgetvalue(r->h, 0, col), &c->blob_len[col]);
        if (!c->blob[col]) return ES_SLICE_NULL;
    }
    return es_slice_make(c->blob[col], c->blob_len[col]);
}

static es_err pg_is_empty(es_store *s, int *empty)
{
    int64_t n = 0;
    es_err rv = es_store_query_int(
        s,
        "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
        "c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN "
        "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname "
        "NOT LIKE 'pg_temp%'",
        NULL, 0, &n);
    if (rv == ES_OK) *empty = n == 0;
    return rv;
}

/* --- pg_dump and pg_restore --- */

/* The tool's path: $ESEAL_PG_BINDIR, the newest /usr/lib/postgresql/N/bin, or its bare name
 * for a PATH search. */
static void find_tool(const char *name, char *out, size_t outlen)
{
    const char *dir = getenv("ESEAL_PG_BINDIR");
    if (dir && *dir) {
        snprintf(out, outlen, "%s/%s", dir, name);
        return;
    }
    snprintf(out, outlen, "%s", name);
    DIR *d = opendir("/usr/lib/postgresql");
    if (!d) return;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        long v = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || v <= best) continue;
        char path[512];
        snprintf(path, sizeof path, "/usr/lib/postgresql/%s/bin/%s", e->d_name, name);
        if (access(path, X_OK) == 0) {
            best = v;
            snprintf(out, outlen, "%s", path);
        }
    }
    closedir(d);
}

/* The connection as a conninfo string for the tool's --dbname, without the password,
 * which goes in PGPASSWORD. */
static es_err tool_conn(es_store *s, es_buf *conninfo, char **password)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(s->url, &msg);
    if (!opts) {
        store_set_error(s, "%s", msg ? msg : "cannot parse the URL");
        PQfreemem(msg);
        return ES_ERR_CONFIG;
    }
    es_err rv = ES_OK;
    *password = NULL;
    for (PQconninfoOption *o = opts; o->keyword && rv == ES_OK; o++) {
        if (!o->val || !*o->val) continue;
        if (strcmp(o->keyword, "password") == 0) {
            if (!(*password = strdup(o->val))) rv = ES_ERR_NOMEM;
            continue;
        }
        if (conninfo->len) rv = es_buf_append_byte(conninfo, ' ');
        if (rv == ES_OK) rv = es_buf_printf(conninfo, "%s='", o->keyword);
        for (const char *c = o->val; *c && rv == ES_OK; c++) {
            if (*c == '\'' || *c == '\\') rv = es_buf_append_byte(conninfo, '\\');
            if (rv == ES_OK) rv = es_buf_append_byte(conninfo, (uint8_t)*c);
        }
        if (rv == ES_OK) rv = es_buf_append_byte(conninfo, '\'');
    }
    if (rv == ES_OK) rv = es_buf_nul(conninfo);
    PQconninfoFree(opts);
    return rv;
}

/* Runs a tool, its output collected for the error message. */
static es_err run_tool(es_store *s, const char *name, char **argv, const char *password)
{
    char tool[1024];
    find_tool(name, tool, sizeof tool);
    argv[0] = tool;

    /* The environment as it is, with the password added (never on the command line). */
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + 2, sizeof *envp);
    char *pw = NULL;
    if (!envp) return ES_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!password || strncmp(environ[i], "PGPASSWORD=", 11) != 0) envp[k++] = environ[i];
    if (password) {
        size_t pl = strlen(password) + 12;
        if (!(pw = malloc(pl))) {
            free(envp);
            return ES_ERR_NOMEM;
        }
        snprintf(pw, pl, "PGPASSWORD=%s", password);
        envp[k++] = pw;
    }
    envp[k] = NULL;

    es_err rv = ES_ERR_IO;
    int pfd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int have_fa = 0;
    pid_t pid = -1;
    if (pipe(pfd) != 0) goto out;
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    if (posix_spawn_file_actions_init(&fa) != 0) goto out;
    have_fa = 1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    int err = posix_spawnp(&pid, tool, &fa, NULL, argv, envp);
    close(pfd[1]);
    pfd[1] = -1;
    if (err != 0) {
        store_set_error(s, "%s: %s (install the PostgreSQL client or set ESEAL_PG_BINDIR)", tool,
                        strerror(err));
        goto out;
    }
    char msg[STORE_ERR_MAX] = "", buf[512];
    size_t used = 0;
    ssize_t got;
    while ((got = read(pfd[0], buf, sizeof buf)) != 0) {
        if (got < 0) {
            if (errno == EINTR) continue;
            break;
        }
        size_t take = (size_t)got < sizeof msg - 1 - used ? (size_t)got : sizeof msg - 1 - used;
        memcpy(msg + used, buf, take);
        used += take;
        msg[used] = 0;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        rv = ES_OK;
    } else {
        for (char *c = msg; *c; c++)
            if (*c == '\n') *c = ' ';
        store_set_error(s, "%s failed: %s", name, *msg ? msg : "no message");
    }
out:
    if (have_fa) posix_spawn_file_actions_destroy(&fa);
    if (pfd[0] >= 0) close(pfd[0]);
    if (pfd[1] >= 0) close(pfd[1]);
    free(envp);
    if (pw) {
        es_wipe(pw, strlen(pw));
        free(pw);
    }
    return rv;
}

static es_err pg_backup(es_store *s, const char *path)
{
    es_buf ci;
    es_buf_init(&ci, 64 * 1024);
    char *password = NULL, *tmp = NULL;
    int fd = -1;
    es_err rv = tool_conn(s, &ci, &password);
    if (rv != ES_OK) goto out;
    if ((rv = store_tmp_path(path, &tmp, &fd)) != ES_OK) {
        store_set_error(s, "%s: %s", path, strerror(errno));
        goto out;
    }
    close(fd);
    size_t fl = strlen(tmp) + 8, dl = ci.len + 16;
    char *fileopt = malloc(fl), *dbopt = malloc(dl);
    if (!fileopt || !dbopt) {
        free(fileopt);
        free(dbopt);
        rv = ES_ERR_NOMEM;
        goto out;
    }
    snprintf(fileopt, fl, "--file=%s", tmp);
    snprintf(dbopt, dl, "--dbname=%s", (const char *)ci.p);
    /* -Fc: pg_dump's custom format (compressed, restorable with pg_restore); one snapshot,
     * so the backup is consistent while writers go on. */
    char *argv[] = {NULL, "--format=custom", "--no-password", fileopt, dbopt, NULL};
    rv = run_tool(s, "pg_dump", argv, password);
    free(fileopt);
    free(dbopt);
    if (rv == ES_OK && (rv = store_commit_file(tmp, path)) != ES_OK)
        store_set_error(s, "%s: %s", path, strerror(errno));
out:
    if (tmp) {
        if (rv != ES_OK) unlink(tmp);
        free(tmp);
    }
    if (password) {
        es_wipe(password, strlen(password));
        free(password);
    }
    es_buf_cleanup(&ci);
    return rv;
}

static es_err pg_restore(es_store *s, const char *path, int force)
{
    char magic[5] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        store_set_error(s, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO;
    }
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    if (got != (ssize_t)sizeof magic || memcmp(magic, "PGDMP", 5) != 0) {
        store_set_error(s, "%s: not a PostgreSQL backup (pg_dump -Fc)", path);
        return ES_ERR_FORMAT;
    }
    int empty = 0;
    es_err rv = pg_is_empty(s, &empty);
    if (rv != ES_OK) return rv;
    if (!empty && !force) {
        store_set_error(s, "the database is not empty (restoring would overwrite it)");
        return ES_ERR_EXISTS;
    }
    es_buf ci;
    es_buf_init(&ci, 64 * 1024);
    char *password = NULL, *dbopt = NULL, *file = strdup(path);
    if (!file) rv = ES_ERR_NOMEM;
    if (rv == ES_OK) rv = tool_conn(s, &ci, &password);
    if (rv == ES_OK && !(dbopt = malloc(ci.len + 16))) rv = ES_ERR_NOMEM;
    if (rv == ES_OK) {
        snprintf(dbopt, ci.len + 16, "--dbname=%s", (const char *)ci.p);
        /* One transaction: a failed restore changes nothing. --clean (with --force) drops
         * the objects the backup holds before making them again. */
        char *argv[] = {NULL,
                        "--no-password",
                        "--single-transaction",
                        "--exit-on-error",
                        "--no-owner",
                        "--no-privileges",
                        dbopt,
                        force ? "--clean" : file,
                        force ? "--if-exists" : NULL,
                        force ? file : NULL,
                        NULL};
        rv = run_tool(s, "pg_restore", argv, password);
    }
    free(dbopt);
    free(file);
    if (password) {
        es_wipe(password, strlen(password));
        free(password);
    }
    es_buf_cleanup(&ci);
    return rv;
}

const store_ops store_pg_ops = {
    .kind = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock_migrations = pg_lock_migrations,
    .script = pg_script,
    .exec = pg_exec,
    .exec_batch = pg_exec_batch,
    .query = pg_query,
    .row_is_null = pg_row_is_null,
    .row_int = pg_row_int,
    .row_text = pg_row_text,
    .row_blob = pg_row_blob,
    .is_empty = pg_is_empty,
    .backup = pg_backup,
    .restore = pg_restore,
};
