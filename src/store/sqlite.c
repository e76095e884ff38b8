/* The SQLite backend: one sqlite3 connection per es_store, WAL, foreign keys on, a busy
 * timeout so that writers queue instead of failing. Backups use the online backup API.
 *
 * Durability: a commit is on disk when es_store_commit returns. With synchronous=FULL SQLite
 * would fsync the WAL inside COMMIT, under the write lock, so writers could never share an
 * fsync (0.4 ms each on a server disk: at most ~2,400 commits/s whatever the CPU). Instead
 * the connections of this process run synchronous=NORMAL (COMMIT writes the WAL frames, no
 * fsync; checkpoints still sync the WAL before copying it and the database after) and
 * es_store_commit, after releasing the write lock, waits for a group fsync of the WAL file
 * that started after its COMMIT ended: one fdatasync covers every commit finished before it
 * began (group commit, as PostgreSQL does). A commit is acknowledged only once covered. A
 * connection without the per-database queue (the table is full) keeps synchronous=FULL. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"

/* How long a writer waits for another's transaction before giving up (ms). */
#define SQ_BUSY_TIMEOUT_MS 30000

/* Writers of one database in this process queue on a mutex before BEGIN IMMEDIATE instead
 * of sleeping in SQLite's busy handler, whose back-off gave a write p99 of over a second
 * under load (bench/bench_api.sh). Other processes still meet the busy timeout. One lock
 * per database path as given; the table only grows (a daemon opens few databases). */
#define SQ_MAX_DBS 64

typedef struct sq_wlock {
    char path[1024];
    pthread_mutex_t mu;
    /* Group sync of the WAL (see the top): commits counts COMMITs ended (advanced under mu),
     * synced the highest count covered by a finished fdatasync; syncing: one is running. */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    uint64_t commits, synced, syncs;
    int syncing;
    char wal[1100]; /* the WAL file's path ("" until the first connection sets it) */
} sq_wlock;

static sq_wlock g_wlocks[SQ_MAX_DBS];
static size_t g_nwlocks;
static pthread_mutex_t g_wlocks_mu = PTHREAD_MUTEX_INITIALIZER;

static sq_wlock *wlock_for(const char *path)
{
    sq_wlock *w = NULL;
    pthread_mutex_lock(&g_wlocks_mu);
    for (size_t i = 0; i < g_nwlocks && !w; i++)
        if (strcmp(g_wlocks[i].path, path) == 0) w = &g_wlocks[i];
    if (!w && g_nwlocks < SQ_MAX_DBS && strlen(path) < sizeof g_wlocks[0].path) {
        w = &g_wlocks[g_nwlocks];
        snprintf(w->path, sizeof w->path, "%s", path);
        if (pthread_mutex_init(&w->mu, NULL) == 0 && pthread_mutex_init(&w->sync_mu, NULL) == 0 &&
            pthread_cond_init(&w->sync_cv, NULL) == 0)
            g_nwlocks++;
        else
            w = NULL;
    }
    pthread_mutex_unlock(&g_wlocks_mu);
    return w; /* NULL: no queue for this one (the busy handler still applies) */
}

/* Statements this connection prepared, kept for the next use of the same text (the daemon
 * runs a few dozen texts millions of times; compiling one cost as much as running it). A
 * statement in use (a query whose callback runs another query) is busy: the same text
 * again gets a statement of its own, finalised after. */
#define SQ_CACHE 64

typedef struct sq_cached {
    char *sql;
    uint64_t hash;
    sqlite3_stmt *st;
    int busy;
} sq_cached;

typedef struct sq {
    sqlite3 *db;
    sq_cached cache[SQ_CACHE];
    sq_wlock *wlock;
    int holding;    /* this connection holds wlock (a write transaction is open) */
    int group_sync; /* synchronous=NORMAL + group_sync at commit (else synchronous=FULL) */
} sq;

/* Waits for the database's write turn, as long as the busy timeout would have. */
static es_err wlock_take(es_store *s, sq *q)
{
    if (!q->wlock) return ES_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SQ_BUSY_TIMEOUT_MS / 1000;
    if (pthread_mutex_timedlock(&q->wlock->mu, &until) != 0) {
        store_set_error(s, "database is busy: another writer held it for %d s",
                        SQ_BUSY_TIMEOUT_MS / 1000);
        return ES_ERR_IO;
    }
    q->holding = 1;
    return ES_OK;
}

static void wlock_release(sq *q)
{
    if (!q->holding) return;
    q->holding = 0;
    pthread_mutex_unlock(&q->wlock->mu);
}

static sqlite3 *db_of(const es_store *s)
{
    return ((sq *)s->impl)->db;
}

static es_err sq_fail(es_store *s, sqlite3 *db, const char *what)
{
    int ext = sqlite3_extended_errcode(db);
    store_set_error(s, "%s: %s", what, sqlite3_errmsg(db));
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return ES_ERR_EXISTS;
    return ES_ERR_IO;
}

static es_err sq_script_db(es_store *s, sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return ES_OK;
    int ext = sqlite3_extended_errcode(db);
    store_set_error(s, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return ES_ERR_EXISTS;
    return ES_ERR_IO;
}

static int text_cb(void *ctx, int n, char **vals, char **names)
{
    (void)names;
    if (n > 0 && vals[0]) snprintf(ctx, 32, "%s", vals[0]);
    return 0;
}

static es_err sq_open(es_store *s, const char *url)
{
    const char *path = url + strlen("sqlite:");
    if (!*path) {
        store_set_error(s, "sqlite: needs a file name (sqlite:PATH)");
        return ES_ERR_CONFIG;
    }
    /* The database holds password hashes and session digests: created private. */
    if (strcmp(path, ":memory:") != 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        else if (errno != EEXIST) {
            store_set_error(s, "%s: %s", path, strerror(errno));
            return ES_ERR_IO;
        }
    }
    sq *q = calloc(1, sizeof *q);
    if (!q) return ES_ERR_NOMEM;
    s->impl = q;
    es_err rv = ES_ERR_IO;
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        store_set_error(s, "%s: %s", path, q->db ? sqlite3_errmsg(q->db) : "cannot open");
        goto fail;
    }
    if (strcmp(path, ":memory:") != 0) q->wlock = wlock_for(path);
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, SQ_BUSY_TIMEOUT_MS);
    char mode[32] = "";
    char *msg = NULL;
    /* Turning a new database to WAL needs an exclusive lock. Two connections doing it at
     * once would deadlock upgrading their shared locks, so SQLite answers BUSY at once,
     * without the busy handler: wait and try again here. */
    int rc, tries = 0;
    while ((rc = sqlite3_exec(q->db, "PRAGMA journal_mode=WAL", text_cb, mode, &msg)) ==
               SQLITE_BUSY &&
           ++tries < SQ_BUSY_TIMEOUT_MS / 10) {
        sqlite3_free(msg);
        msg = NULL;
        sqlite3_sleep(10);
    }
    if (rc != SQLITE_OK) {
        store_set_error(s, "%s: %s", path, msg ? msg : sqlite3_errmsg(q->db));
        sqlite3_free(msg);
        goto fail;
    }
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        store_set_error(s, "%s: WAL mode refused (journal_mode is %s)", path, mode);
        goto fail;
    }
    if ((rv = sq_script_db(s, q->db, "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF")) != ES_OK)
        goto fail;
    /* Group commit where this process queues its writers (see the top), else FULL. */
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(q->db, "main"));
    q->group_sync =
        q->wlock && strcmp(mode, "wal") == 0 && wal && *wal && strlen(wal) < sizeof q->wlock->wal;
    if (q->group_sync) {
        pthread_mutex_lock(&q->wlock->sync_mu);
        if (!q->wlock->wal[0]) snprintf(q->wlock->wal, sizeof q->wlock->wal, "%s", wal);
        pthread_mutex_unlock(&q->wlock->sync_mu);
    }
    if ((rv = sq_script_db(
             s, q->db, q->group_sync ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL")) !=
        ES_OK)
        goto fail;
    return ES_OK;
fail:
    sqlite3_close(q->db);
    free(q);
    s->impl = NULL;
    return rv == ES_OK ? ES_ERR_IO : rv;
}

static void sq_rollback(es_store *s);

/* Finalises every cached statement (at close, and after a script that may change tables). */
static void cache_clear(sq *q)
{
    for (int i = 0; i < SQ_CACHE; i++) {
        if (q->cache[i].busy) continue; /* finalised by its user when done */
        sqlite3_finalize(q->cache[i].st);
        free(q->cache[i].sql);
        q->cache[i] = (sq_cached){0};
    }
}

static void sq_close(es_store *s)
{
    sq *q = s->impl;
    if (!q) return;
    sq_rollback(s);
    cache_clear(q);
    sqlite3_close(q->db);
    free(q);
    s->impl = NULL;
}

static es_err sq_begin(es_store *s, tx_mode mode)
{
    if (mode == TX_WRITE) {
        sq *q = s->impl;
        es_err rv = wlock_take(s, q);
        if (rv == ES_OK && (rv = sq_script_db(s, q->db, "BEGIN IMMEDIATE")) != ES_OK)
            wlock_release(q);
        return rv;
    }
    /* A deferred transaction takes its snapshot at its first read: read now. */
    es_err rv = sq_script_db(s, db_of(s), "BEGIN; SELECT count(*) FROM sqlite_master");
    if (rv != ES_OK && !sqlite3_get_autocommit(db_of(s)))
        sqlite3_exec(db_of(s), "ROLLBACK", 0, 0, 0);
    return rv;
}

static es_err sq_begin_try(es_store *s)
{
    sq *q = s->impl;
    if (q->wlock) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)ES_STORE_TRY_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        if (pthread_mutex_timedlock(&q->wlock->mu, &until) != 0) {
            store_set_error(s, "database is busy: another writer of this process holds it");
            return ES_ERR_BUSY;
        }
        q->holding = 1;
    }
    sqlite3_busy_timeout(q->db, ES_STORE_TRY_MS);
    es_err rv = sq_script_db(s, q->db, "BEGIN IMMEDIATE");
    int busy = (sqlite3_extended_errcode(q->db) & 0xff) == SQLITE_BUSY;
    sqlite3_busy_timeout(q->db, SQ_BUSY_TIMEOUT_MS);
    if (rv != ES_OK) {
        wlock_release(q);
        if (busy) rv = ES_ERR_BUSY;
    }
    return rv;
}

static void sq_rollback(es_store *s)
{
    if (!sqlite3_get_autocommit(db_of(s))) sqlite3_exec(db_of(s), "ROLLBACK", NULL, NULL, NULL);
    wlock_release(s->impl);
}

/* fdatasync of the WAL file. A missing WAL is fine: the last connection to close
 * checkpointed it into the database (synced) and removed it. */
static int sync_wal(const char *wal)
{
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : errno;
    int rc = fdatasync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Returns once an fdatasync of the WAL that began after commit number ticket ended has
 * finished (one thread syncs for all who wait). */
static es_err group_sync(es_store *s, sq_wlock *w, uint64_t ticket)
{
    es_err rv = ES_OK;
    pthread_mutex_lock(&w->sync_mu);
    while (w->synced < ticket) {
        if (w->syncing) {
            pthread_cond_wait(&w->sync_cv, &w->sync_mu);
            continue;
        }
        w->syncing = 1;
        /* Every commit counted here has written its frames: the sync below covers them. */
        uint64_t target = __atomic_load_n(&w->commits, __ATOMIC_ACQUIRE);
        pthread_mutex_unlock(&w->sync_mu);
        int err = sync_wal(w->wal);
        pthread_mutex_lock(&w->sync_mu);
        w->syncing = 0;
        if (!err) {
            if (target > w->synced) w->synced = target;
            w->syncs++;
        }
        pthread_cond_broadcast(&w->sync_cv);
        if (err) {
            store_set_error(s, "%s: the commit is not confirmed on disk: fdatasync: %s", w->wal,
                            strerror(err));
            rv = ES_ERR_IO;
            break;
        }
    }
    pthread_mutex_unlock(&w->sync_mu);
    return rv;
}

static es_err sq_commit(es_store *s)
{
    sq *q = s->impl;
    es_err rv = sq_script_db(s, q->db, "COMMIT");
    if (rv != ES_OK) sq_rollback(s);
    uint64_t ticket = 0;
    if (rv == ES_OK && q->holding && q->group_sync)
        ticket = __atomic_add_fetch(&q->wlock->commits, 1, __ATOMIC_RELEASE);
    wlock_release(q);
    store_visible(s);
    if (ticket) rv = group_sync(s, q->wlock, ticket);
    return rv;
}

void store_sqlite_sync_stats(const char *path, uint64_t *commits, uint64_t *synced, uint64_t *syncs)
{
    *commits = *synced = *syncs = 0;
    pthread_mutex_lock(&g_wlocks_mu);
    for (size_t i = 0; i < g_nwlocks; i++)
        if (strcmp(g_wlocks[i].path, path) == 0) {
            pthread_mutex_lock(&g_wlocks[i].sync_mu);
            *commits = __atomic_load_n(&g_wlocks[i].commits, __ATOMIC_ACQUIRE);
            *synced = g_wlocks[i].synced;
            *syncs = g_wlocks[i].syncs;
            pthread_mutex_unlock(&g_wlocks[i].sync_mu);
        }
    pthread_mutex_unlock(&g_wlocks_mu);
}

static es_err sq_lock_migrations(es_store *s)
{
    (void)s; /* BEGIN IMMEDIATE holds the write lock already */
    return ES_OK;
}

static es_err sq_script(es_store *s, const char *sql)
{
    cache_clear(s->impl);
    return sq_script_db(s, db_of(s), sql);
}

static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* Gives back a statement from prepare(): reset into the cache, or finalised if not cached. */
static void stmt_done(es_store *s, sqlite3_stmt *st)
{
    sq *q = s->impl;
    if (!st) return;
    for (int i = 0; i < SQ_CACHE; i++)
        if (q->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            q->cache[i].busy = 0;
            return;
        }
    sqlite3_finalize(st);
}

/* A compiled statement for sql: from the cache, or compiled (and cached when there is room).
 * The text must be one statement. */
static es_err compile(es_store *s, const char *sql, sqlite3_stmt **out)
{
    sq *q = s->impl;
    sqlite3 *db = q->db;
    uint64_t h = sql_hash(sql);
    int free_slot = -1;
    *out = NULL;
    for (int i = 0; i < SQ_CACHE; i++) {
        sq_cached *c = &q->cache[i];
        if (!c->st) {
            if (free_slot < 0) free_slot = i;
        } else if (!c->busy && c->hash == h && strcmp(c->sql, sql) == 0) {
            c->busy = 1;
            *out = c->st;
            return ES_OK;
        }
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, free_slot >= 0 ? SQLITE_PREPARE_PERSISTENT : 0, &st,
                           &tail) != SQLITE_OK)
        return sq_fail(s, db, "prepare");
    if (!st) {
        store_set_error(s, "empty statement");
        return ES_ERR_ARG;
    }
    /* One statement at a time: what follows may only be blank or comments. */
    sqlite3_stmt *more = NULL;
    if (tail && *tail && (sqlite3_prepare_v2(db, tail, -1, &more, NULL) != SQLITE_OK || more)) {
        sqlite3_finalize(more);
        sqlite3_finalize(st);
        store_set_error(s, "one statement at a time");
        return ES_ERR_ARG;
    }
    char *copy = free_slot >= 0 ? strdup(sql) : NULL;
    if (copy) q->cache[free_slot] = (sq_cached){copy, h, st, 1};
    *out = st;
    return ES_OK;
}

/* Prepares one statement and binds its parameters. */
static es_err prepare(es_store *s, const char *sql, const es_value *params, size_t n,
                      sqlite3_stmt **out)
{
    sqlite3 *db = db_of(s);
    sqlite3_stmt *st = NULL;
    *out = NULL;
    es_err rv = compile(s, sql, &st);
    if (rv != ES_OK) return rv;
    if ((size_t)sqlite3_bind_parameter_count(st) != n) {
        store_set_error(s, "the statement has %d placeholders, %zu values given",
                        sqlite3_bind_parameter_count(st), n);
        stmt_done(s, st);
        return ES_ERR_ARG;
    }
    if (s->tx != TX_WRITE && !sqlite3_stmt_readonly(st)) {
        store_set_error(s, s->tx == TX_READ ? "a read-only transaction refuses writes"
                                            : "writes need a transaction (es_store_begin)");
        stmt_done(s, st);
        return ES_ERR_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        int k = (int)i + 1, rc = SQLITE_OK;
        const es_value *v = &params[i];
        switch (v->type) {
        case ES_V_NULL:
            rc = sqlite3_bind_null(st, k);
            break;
        case ES_V_INT:
            rc = sqlite3_bind_int64(st, k, v->i);
            break;
        case ES_V_TEXT:
            rc = sqlite3_bind_text64(st, k, v->p ? v->p : "", v->len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case ES_V_BLOB:
            /* A NULL pointer would bind SQL NULL: an empty blob is a zero-length blob. */
            rc = v->len ? sqlite3_bind_blob64(st, k, v->p, v->len, SQLITE_STATIC)
                        : sqlite3_bind_zeroblob(st, k, 0);
            break;
        }
        if (rc != SQLITE_OK) {
            rv = sq_fail(s, db, "bind");
            stmt_done(s, st);
            return rv;
        }
    }
    *out = st;
    return ES_OK;
}

static es_err sq_exec(es_store *s, const char *sql, const es_value *params, size_t n,
                      int64_t *changes)
{
    sqlite3_stmt *st = NULL;
    es_err rv = prepare(s, sql, params, n, &st);
    if (rv != ES_OK) return rv;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc == SQLITE_DONE) {
        if (changes) *changes = sqlite3_changes64(db_of(s));
    } else {
        rv = sq_fail(s, db_of(s), "exec");
    }
    stmt_done(s, st);
    return rv;
}

static es_err sq_query(es_store *s, const char *sql, const es_value *params, size_t n, es_row_cb cb,
                       void *ctx, int *stopped)
{
    sqlite3_stmt *st = NULL;
    es_err rv = prepare(s, sql, params, n, &st);
    if (rv != ES_OK) return rv;
    es_row row = {s, st, sqlite3_column_count(st)};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rv = cb(ctx, &row)) != ES_OK) {
            *stopped = 1;
            break;
        }
    }
    if (rv == ES_OK && rc != SQLITE_DONE) rv = sq_fail(s, db_of(s), "query");
    stmt_done(s, st);
    return rv;
}

static int sq_row_is_null(const es_row *r, int col)
{
    return sqlite3_column_type(r->h, col) == SQLITE_NULL;
}

static int64_t sq_row_int(const es_row *r, int col)
{
    return sqlite3_column_int64(r->h, col);
}

static const char *sq_row_text(const es_row *r, int col, size_t *len)
{
    const unsigned char *t = sqlite3_column_text(r->h, col);
    if (len) *len = t ? (size_t)sqlite3_column_bytes(r->h, col) : 0;
    return t ? (const char *)t : "";
}

static es_slice sq_row_blob(const es_row *r, int col)
{
    const void *p = sqlite3_column_blob(r->h, col);
    size_t n = p ? (size_t)sqlite3_column_bytes(r->h, col) : 0;
    /* SQLite gives NULL for an empty blob: callers get a pointer they may pass to memcpy. */
    if (!p && sqlite3_column_type(r->h, col) != SQLITE_NULL) p = "";
    return es_slice_make(p, n);
}

static es_err sq_is_empty(es_store *s, int *empty)
{
    int64_t n = 0;
    es_err rv = es_store_query_int(s, "SELECT count(*) FROM sqlite_master", NULL, 0, &n);
    if (rv == ES_OK) *empty = n == 0;
    return rv;
}

/* Copies src into dst in one step (one read transaction on src: a consistent copy), waiting
 * while the destination is busy. */
static es_err copy_db(es_store *s, sqlite3 *dst, sqlite3 *src, const char *what)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) return sq_fail(s, dst, what);
    int rc, tries = 0;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (++tries > SQ_BUSY_TIMEOUT_MS / 10) break;
        sqlite3_sleep(10);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        store_set_error(s, "%s: %s", what, sqlite3_errstr(rc));
        return ES_ERR_IO;
    }
    if (sqlite3_errcode(dst) != SQLITE_OK) return sq_fail(s, dst, what);
    return ES_OK;
}

static es_err sq_backup(es_store *s, const char *path)
{
    char *tmp = NULL;
    int fd = -1;
    if (store_tmp_path(path, &tmp, &fd) != ES_OK) {
        store_set_error(s, "%s: %s", path, strerror(errno));
        return ES_ERR_IO;
    }
    close(fd);
    sqlite3 *dst = NULL;
    es_err rv = ES_ERR_IO;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        store_set_error(s, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "cannot open");
        goto out;
    }
    if ((rv = copy_db(s, dst, db_of(s), "backup")) != ES_OK) goto out;
    /* A backup is one self-contained file: no WAL beside it. */
    if ((rv = sq_script_db(s, dst, "PRAGMA journal_mode=DELETE")) != ES_OK) goto out;
    sqlite3_close(dst);
    dst = NULL;
    if ((rv = store_commit_file(tmp, path)) != ES_OK)
        store_set_error(s, "%s: %s", path, strerror(errno));
out:
    sqlite3_close(dst);
    if (rv != ES_OK) unlink(tmp);
    free(tmp);
    return rv;
}

static es_err sq_restore(es_store *s, const char *path, int force)
{
    /* The file must be an intact SQLite database before anything is touched. */
    char magic[16] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        store_set_error(s, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO;
    }
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    if (got != (ssize_t)sizeof magic || memcmp(magic, "SQLite format 3", 16) != 0) {
        store_set_error(s, "%s: not a SQLite backup", path);
        return ES_ERR_FORMAT;
    }
    sqlite3 *src = NULL;
    es_err rv = ES_ERR_IO;
    char check[32] = "";
    if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(src, "PRAGMA quick_check", text_cb, check, NULL) != SQLITE_OK ||
        strcmp(check, "ok") != 0) {
        store_set_error(s, "%s: a damaged SQLite database (%s)", path,
                        src ? sqlite3_errmsg(src) : "cannot open");
        rv = ES_ERR_FORMAT;
        goto out;
    }
    int empty = 0;
    if ((rv = sq_is_empty(s, &empty)) != ES_OK) goto out;
    if (!empty && !force) {
        store_set_error(s, "the database is not empty (restoring would overwrite it)");
        rv = ES_ERR_EXISTS;
        goto out;
    }
    cache_clear(s->impl); /* the tables are replaced: nothing compiled before is kept */
    rv = copy_db(s, db_of(s), src, "restore");
out:
    sqlite3_close(src);
    return rv;
}

const store_ops store_sqlite_ops = {
    .kind = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .begin_try = sq_begin_try,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .lock_migrations = sq_lock_migrations,
    .script = sq_script,
    .exec = sq_exec,
    .query = sq_query,
    .row_is_null = sq_row_is_null,
    .row_int = sq_row_int,
    .row_text = sq_row_text,
    .row_blob = sq_row_blob,
    .is_empty = sq_is_empty,
    .backup = sq_backup,
    .restore = sq_restore,
};
