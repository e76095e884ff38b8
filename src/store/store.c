/* The store: dispatch to a backend by URL, the transaction rules both backends share,
 * schema migrations, SQL scanning, and small helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"

static _Thread_local char open_error[STORE_ERR_MAX];

es_value es_v_text(const char *s)
{
    if (!s) return es_v_null();
    es_value v = {ES_V_TEXT, 0, s, strlen(s)};
    return v;
}

void store_set_error(es_store *s, const char *fmt, ...)
{
    char *dst = s ? s->err : open_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, STORE_ERR_MAX, fmt, ap);
    va_end(ap);
    /* Backends' messages end with a newline (libpq); one line reads better. */
    size_t n = strlen(dst);
    while (n && (dst[n - 1] == '\n' || dst[n - 1] == ' ')) dst[--n] = 0;
}

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

es_err es_store_open(const char *url, es_store **out)
{
    if (!url || !out) return ES_ERR_ARG;
    *out = NULL;
    open_error[0] = 0;
    const store_ops *ops = NULL;
    if (strncmp(url, "sqlite:", 7) == 0)
        ops = &store_sqlite_ops;
    else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        ops = &store_pg_ops;
    if (!ops) {
        store_set_error(NULL, "not a store URL (sqlite:PATH or postgresql://...)");
        return ES_ERR_CONFIG;
    }
    es_store *s = calloc(1, sizeof *s);
    if (!s) return ES_ERR_NOMEM;
    s->ops = ops;
    if (!(s->url = strdup(url))) {
        free(s);
        return ES_ERR_NOMEM;
    }
    es_err rv = ops->open(s, url);
    if (rv != ES_OK) {
        memcpy(open_error, s->err, STORE_ERR_MAX);
        free(s->url);
        free(s);
        return rv;
    }
    *out = s;
    return ES_OK;
}

void es_store_close(es_store *s)
{
    if (!s) return;
    es_store_rollback(s);
    s->ops->close(s);
    free(s->url);
    free(s);
}

const char *es_store_kind(const es_store *s)
{
    return s ? s->ops->kind : "";
}

const char *es_store_last_error(const es_store *s)
{
    return s ? s->err : open_error;
}

/* One statement at a time per connection: PostgreSQL's connection is busy while a result
 * streams, so a query's callback may not use its store, on either backend. */
static es_err not_in_query(es_store *s)
{
    if (!s->in_query) return ES_OK;
    store_set_error(s, "a query's callback cannot use its own store (collect the rows, then "
                       "run the next statement)");
    return ES_ERR_ARG;
}

static es_err begin_mode(es_store *s, tx_mode mode)
{
    if (!s) return ES_ERR_ARG;
    if (not_in_query(s) != ES_OK) return ES_ERR_ARG;
    if (s->tx) {
        store_set_error(s, "a transaction is already open");
        return ES_ERR_ARG;
    }
    s->err[0] = 0;
    es_err rv = s->ops->begin(s, mode);
    if (rv == ES_OK) {
        s->tx = mode;
        s->tx_failed = 0;
    }
    return rv;
}

es_err es_store_begin(es_store *s)
{
    return begin_mode(s, TX_WRITE);
}

/* FNV-1a, 64 bits: a lock name as an advisory lock key. */
static int64_t lock_key(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return (int64_t)(h >> 1);
}

static int is_pg(const es_store *s);

es_err es_store_begin_try(es_store *s, const char *lock)
{
    if (!s || !lock || !*lock) return ES_ERR_ARG;
    if (s->tx) {
        store_set_error(s, "a transaction is already open");
        return ES_ERR_ARG;
    }
    s->err[0] = 0;
    if (!is_pg(s)) {
        /* SQLite: the database's write lock is the only lock there is; it is taken without
         * queueing behind another process's writer. */
        es_err rv = s->ops->begin_try(s);
        if (rv == ES_OK) {
            s->tx = TX_WRITE;
            s->tx_failed = 0;
        }
        return rv;
    }
    /* PostgreSQL: writers of other things go on; this lock is held until the end of the
     * transaction. */
    es_err rv = begin_mode(s, TX_WRITE);
    if (rv != ES_OK) return rv;
    int64_t got = 0;
    es_value p[1] = {es_v_int(lock_key(lock))};
    rv = es_store_query_int(s, "SELECT CASE WHEN pg_try_advisory_xact_lock(?) THEN 1 ELSE 0 END", p,
                            1, &got);
    if (rv == ES_OK && !got) {
        store_set_error(s, "the lock '%s' is held by another connection", lock);
        rv = ES_ERR_BUSY;
    }
    if (rv != ES_OK) {
        char why[STORE_ERR_MAX];
        memcpy(why, s->err, sizeof why);
        es_store_rollback(s);
        memcpy(s->err, why, sizeof why);
    }
    return rv;
}

es_err es_store_begin_read(es_store *s)
{
    return begin_mode(s, TX_READ);
}

void store_visible(es_store *s)
{
    void (*fn)(void *) = s->visible;
    s->visible = NULL;
    if (fn) fn(s->visible_arg);
}

es_err es_store_commit_visible(es_store *s, void (*visible)(void *), void *arg)
{
    if (!s) {
        if (visible) visible(arg);
        return ES_ERR_ARG;
    }
    s->visible = visible;
    s->visible_arg = arg;
    es_err rv;
    if (not_in_query(s) != ES_OK) {
        rv = ES_ERR_ARG;
    } else if (!s->tx) {
        store_set_error(s, "no transaction is open");
        rv = ES_ERR_ARG;
    } else if (s->tx_failed) {
        /* PostgreSQL would roll back here on its own; SQLite is made to do the same. */
        s->ops->rollback(s);
        s->tx = TX_NONE;
        s->tx_failed = 0;
        store_set_error(s, "the transaction was aborted by an earlier error and was rolled "
                           "back");
        rv = ES_ERR_ARG;
    } else {
        rv = s->ops->commit(s);
        s->tx = TX_NONE;
        s->tx_failed = 0;
    }
    store_visible(s);
    return rv;
}

es_err es_store_commit(es_store *s)
{
    return es_store_commit_visible(s, NULL, NULL);
}

void es_store_rollback(es_store *s)
{
    if (!s || !s->tx) return;
    s->ops->rollback(s);
    s->tx = TX_NONE;
    s->tx_failed = 0;
}

int es_store_in_tx(const es_store *s)
{
    return s && s->tx != TX_NONE;
}

static es_err check_params(es_store *s, const char *sql, const es_value *params, size_t n)
{
    if (!sql || (n && !params)) return ES_ERR_ARG;
    if (not_in_query(s) != ES_OK) return ES_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        const es_value *v = &params[i];
        if (v->type != ES_V_NULL && v->type != ES_V_INT && v->type != ES_V_TEXT &&
            v->type != ES_V_BLOB)
            return ES_ERR_ARG;
        if ((v->type == ES_V_TEXT || v->type == ES_V_BLOB) && !v->p && v->len) {
            store_set_error(s, "parameter %zu: NULL pointer with a length", i + 1);
            return ES_ERR_ARG;
        }
    }
    if (s->tx_failed) {
        store_set_error(s, "the transaction was aborted by an earlier error: roll it back");
        return ES_ERR_ARG;
    }
    return ES_OK;
}

es_err es_store_exec(es_store *s, const char *sql, const es_value *params, size_t n,
                     int64_t *changes)
{
    if (!s) return ES_ERR_ARG;
    if (changes) *changes = 0;
    es_err rv = check_params(s, sql, params, n);
    if (rv != ES_OK) return rv;
    if (s->tx != TX_WRITE) {
        store_set_error(s, s->tx == TX_READ ? "a read-only transaction refuses writes"
                                            : "writes need a transaction (es_store_begin)");
        return ES_ERR_ARG;
    }
    s->err[0] = 0;
    rv = s->ops->exec(s, sql, params, n, changes);
    if (rv != ES_OK) s->tx_failed = 1;
    return rv;
}

es_err es_store_exec_batch(es_store *s, es_stmt *stmts, size_t n)
{
    if (!s || (n && !stmts)) return ES_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        stmts[i].changes = 0;
        es_err rv = check_params(s, stmts[i].sql, stmts[i].params, stmts[i].n);
        if (rv != ES_OK) return rv;
    }
    if (s->tx != TX_WRITE) {
        store_set_error(s, s->tx == TX_READ ? "a read-only transaction refuses writes"
                                            : "writes need a transaction (es_store_begin)");
        return ES_ERR_ARG;
    }
    s->err[0] = 0;
    es_err rv = ES_OK;
    if (s->ops->exec_batch) {
        rv = s->ops->exec_batch(s, stmts, n);
    } else {
        for (size_t i = 0; rv == ES_OK && i < n; i++)
            rv = s->ops->exec(s, stmts[i].sql, stmts[i].params, stmts[i].n, &stmts[i].changes);
    }
    if (rv != ES_OK) s->tx_failed = 1;
    return rv;
}

es_err es_store_query(es_store *s, const char *sql, const es_value *params, size_t n, es_row_cb cb,
                      void *ctx)
{
    if (!s || !cb) return ES_ERR_ARG;
    es_err rv = check_params(s, sql, params, n);
    if (rv != ES_OK) return rv;
    s->err[0] = 0;
    int stopped = 0;
    s->in_query = 1;
    rv = s->ops->query(s, sql, params, n, cb, ctx, &stopped);
    s->in_query = 0;
    if (rv != ES_OK && !stopped && s->tx) s->tx_failed = 1;
    return rv;
}

typedef struct first_int {
    int found;
    int64_t v;
} first_int;

static es_err first_int_cb(void *ctx, const es_row *row)
{
    first_int *f = ctx;
    f->found = 1;
    f->v = es_row_int(row, 0);
    return ES_ERR_LIMIT; /* the first row is enough: stop */
}

es_err es_store_query_int(es_store *s, const char *sql, const es_value *params, size_t n,
                          int64_t *out)
{
    if (!s || !out) return ES_ERR_ARG;
    es_err rv = check_params(s, sql, params, n);
    if (rv != ES_OK) return rv;
    s->err[0] = 0;
    first_int f = {0, 0};
    int stopped = 0;
    s->in_query = 1;
    rv = s->ops->query(s, sql, params, n, first_int_cb, &f, &stopped);
    s->in_query = 0;
    if (stopped && f.found) rv = ES_OK;
    if (rv != ES_OK) {
        if (s->tx) s->tx_failed = 1;
        return rv;
    }
    if (!f.found) return ES_ERR_NOT_FOUND;
    *out = f.v;
    return ES_OK;
}

int es_row_columns(const es_row *r)
{
    return r ? r->ncols : 0;
}

#define COL_OK(r, col) ((r) && (col) >= 0 && (col) < (r)->ncols)

int es_row_is_null(const es_row *r, int col)
{
    return COL_OK(r, col) ? r->s->ops->row_is_null(r, col) : 1;
}

int64_t es_row_int(const es_row *r, int col)
{
    return COL_OK(r, col) ? r->s->ops->row_int(r, col) : 0;
}

const char *es_row_text(const es_row *r, int col, size_t *len)
{
    if (!COL_OK(r, col)) {
        if (len) *len = 0;
        return "";
    }
    return r->s->ops->row_text(r, col, len);
}

es_slice es_row_blob(const es_row *r, int col)
{
    return COL_OK(r, col) ? r->s->ops->row_blob(r, col) : ES_SLICE_NULL;
}

/* --- Migrations --- */

/* Versions are increasing; a gap is allowed (the parts of one issue reserve their numbers
 * before they are merged in order), so the newest is the last one's. */
int es_store_schema_latest(void)
{
    return store_n_migrations ? store_migrations[store_n_migrations - 1].version : 0;
}

static int is_pg(const es_store *s)
{
    return s->ops == &store_pg_ops;
}

es_err es_store_schema_version(es_store *s, int *version)
{
    if (!s || !version) return ES_ERR_ARG;
    int64_t have = 0, v = 0;
    es_err rv = es_store_query_int(
        s,
        is_pg(s) ? "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
                   "current_schema() AND tablename = 'schema_version'"
                 : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                   "'schema_version'",
        NULL, 0, &have);
    if (rv == ES_OK && have)
        rv = es_store_query_int(s, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, 0,
                                &v);
    if (rv == ES_OK) *version = (int)v;
    return rv;
}

/* One step: brings the schema one version further (or notes it is current). *done is set
 * when nothing was left to do. */
static es_err migrate_step(es_store *s, int *version, int *done)
{
    const int latest = es_store_schema_latest();
    es_err rv = es_store_begin(s);
    if (rv != ES_OK) return rv;
    if ((rv = s->ops->lock_migrations(s)) != ES_OK) goto out;
    rv = s->ops->script(s, is_pg(s) ? "CREATE TABLE IF NOT EXISTS schema_version ("
                                      "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL, "
                                      "what TEXT NOT NULL)"
                                    : "CREATE TABLE IF NOT EXISTS schema_version ("
                                      "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, "
                                      "what TEXT NOT NULL) STRICT");
    if (rv != ES_OK) goto out;
    int64_t cur = 0;
    if ((rv = es_store_query_int(s, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, 0,
                                 &cur)) != ES_OK)
        goto out;
    if (cur > latest) {
        store_set_error(s, "the database has schema version %lld; this build knows %d",
                        (long long)cur, latest);
        rv = ES_ERR_UNSUPPORTED;
        goto out;
    }
    if (cur == latest) {
        *done = 1;
        *version = (int)cur;
        rv = es_store_commit(s);
        return rv;
    }
    size_t next = 0;
    while (next < store_n_migrations && store_migrations[next].version <= cur) next++;
    if (next == store_n_migrations) {
        rv = ES_ERR_INTERNAL;
        goto out;
    }
    const store_migration *m = &store_migrations[next];
    es_buf text;
    es_buf_init(&text, 1u << 20);
    if (m->sql)
        rv = store_sql_dialect(m->sql, is_pg(s), &text);
    else
        rv = es_buf_append_str(&text, is_pg(s) ? m->pg : m->sqlite);
    if (rv == ES_OK) rv = es_buf_nul(&text);
    if (rv == ES_OK) rv = s->ops->script(s, (const char *)text.p);
    es_buf_cleanup(&text);
    if (rv != ES_OK) {
        char why[STORE_ERR_MAX];
        memcpy(why, s->err, sizeof why);
        store_set_error(s, "migration %d (%s): %s", m->version, m->what, why);
        goto out;
    }
    es_value p[3] = {es_v_int(m->version), es_v_int(store_now_ms()), es_v_text(m->what)};
    if ((rv = es_store_exec(s,
                            "INSERT INTO schema_version (version, applied_at, what) VALUES "
                            "(?, ?, ?)",
                            p, 3, NULL)) != ES_OK)
        goto out;
    rv = es_store_commit(s);
    if (rv == ES_OK) *version = m->version;
    return rv;
out:
    es_store_rollback(s);
    return rv;
}

es_err store_sql_dialect(const char *sql, int pg, es_buf *out)
{
    static const struct {
        const char *word, *sqlite, *pg;
    } words[] = {
        {"{INT64}", "INTEGER", "BIGINT"},
        {"{BLOB}", "BLOB", "BYTEA"},
        {"{ID}", "INTEGER PRIMARY KEY AUTOINCREMENT",
         "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
        {"{STRICT}", " STRICT", ""},
    };
    es_err rv = ES_OK;
    if (!sql || !out) return ES_ERR_ARG;
    for (const char *p = sql; *p && rv == ES_OK;) {
        const char *open = strchr(p, '{');
        if (!open) {
            rv = es_buf_append_str(out, p);
            break;
        }
        if ((rv = es_buf_append(out, p, (size_t)(open - p))) != ES_OK) break;
        size_t i = 0, n = sizeof words / sizeof words[0];
        while (i < n && strncmp(open, words[i].word, strlen(words[i].word)) != 0) i++;
        if (i == n) return ES_ERR_ARG;
        rv = es_buf_append_str(out, pg ? words[i].pg : words[i].sqlite);
        p = open + strlen(words[i].word);
    }
    return rv;
}

es_err es_store_migrate(es_store *s, int *version)
{
    if (!s) return ES_ERR_ARG;
    if (s->tx) {
        store_set_error(s, "migrations run outside any transaction");
        return ES_ERR_ARG;
    }
    int v = 0, done = 0;
    es_err rv = ES_OK;
    /* One transaction per migration, each under the migration lock: a second migrator
     * waits, then finds the work done. */
    while (!done && (rv = migrate_step(s, &v, &done)) == ES_OK) {
    }
    if (rv == ES_OK && version) *version = v;
    return rv;
}

/* --- SQL scanning --- */

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* Skips white space and comments; returns the position of the next token (or the end). */
static const char *skip_blank(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f') p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n') p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

es_err store_sql_scan(const char *sql, sql_scan *info, es_buf *out)
{
    info->placeholders = 0;
    info->several = 0;
    const char *p = sql, *lit = sql; /* lit: start of text not yet copied */
    es_err rv = ES_OK;
#define FLUSH(upto)                                                                                \
    do {                                                                                           \
        if (out && rv == ES_OK) rv = es_buf_append(out, lit, (size_t)((upto)-lit));                \
    } while (0)
    while (*p && rv == ES_OK) {
        char c = *p;
        if (c == '\'') {
            /* E'...' strings take backslash escapes. */
            int esc =
                p > sql && (p[-1] == 'E' || p[-1] == 'e') && (p - 1 == sql || !ident_char(p[-2]));
            p++;
            while (*p) {
                if (esc && *p == '\\' && p[1]) {
                    p += 2;
                } else if (*p == '\'') {
                    if (p[1] == '\'') {
                        p += 2;
                    } else {
                        break;
                    }
                } else {
                    p++;
                }
            }
            if (*p) p++;
        } else if (c == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) p += (*p == '"') ? 2 : 1;
            if (*p) p++;
        } else if ((c == '-' && p[1] == '-') || (c == '/' && p[1] == '*')) {
            p = skip_blank(p);
        } else if (c == '$' && (p == sql || !ident_char(p[-1])) &&
                   (p[1] == '$' || (ident_char(p[1]) && !(p[1] >= '0' && p[1] <= '9')))) {
            /* A dollar quote $tag$ ... $tag$ (PostgreSQL). */
            const char *t = p + 1;
            while (*t && *t != '$' && ident_char(*t)) t++;
            if (*t != '$') {
                p++;
                continue;
            }
            size_t taglen = (size_t)(t - p) + 1;
            const char *body = t + 1, *e = body;
            while ((e = strchr(e, '$')) && strncmp(e, p, taglen) != 0) e++;
            p = e ? e + taglen : body + strlen(body);
        } else if (c == '?') {
            FLUSH(p);
            info->placeholders++;
            if (out && rv == ES_OK) rv = es_buf_printf(out, "$%zu", info->placeholders);
            lit = ++p;
        } else if (c == ';') {
            p++;
            const char *q = skip_blank(p);
            while (*q == ';') q = skip_blank(q + 1);
            if (*q) info->several = 1;
        } else {
            p++;
        }
    }
    FLUSH(p);
#undef FLUSH
    if (out && rv == ES_OK) rv = es_buf_nul(out);
    return rv;
}

/* --- Files for backups --- */

es_err store_tmp_path(const char *path, char **tmp, int *fd)
{
    return es_file_tmp_create(path, 0600, tmp, fd);
}

es_err store_commit_file(const char *tmp, const char *path)
{
    return es_file_tmp_commit(tmp, path);
}

/* --- Backup and restore --- */

es_err es_store_is_empty(es_store *s, int *empty)
{
    if (!s || !empty) return ES_ERR_ARG;
    return s->ops->is_empty(s, empty);
}

es_err es_store_backup(es_store *s, const char *path)
{
    if (!s || !path || !*path) return ES_ERR_ARG;
    if (s->tx) {
        store_set_error(s, "a backup is not taken inside a transaction");
        return ES_ERR_ARG;
    }
    s->err[0] = 0;
    return s->ops->backup(s, path);
}

es_err es_store_restore(es_store *s, const char *path, int force)
{
    if (!s || !path || !*path) return ES_ERR_ARG;
    if (s->tx) {
        store_set_error(s, "a restore does not run inside a transaction");
        return ES_ERR_ARG;
    }
    s->err[0] = 0;
    return s->ops->restore(s, path, force);
}
