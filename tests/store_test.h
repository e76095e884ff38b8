/* Databases for the store and audit tests: SQLite files in a temporary directory, and
 * PostgreSQL databases created in the cluster that tests/pg.sh runs ($ESEAL_PG_URL, set by
 * CTest with the "pg" fixture). Every test gets a fresh, empty database by name.
 *
 * When PostgreSQL cannot be reached: with CI set in the environment the test program fails
 * (CI must test both backends); otherwise it says so, runs the SQLite half only, and t_done
 * exits T_SKIP_CODE (77) when that half passed: CTest reports the test as skipped. */
#ifndef ESEAL_STORE_TEST_H
#define ESEAL_STORE_TEST_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eseal/crypto.h"
#include "eseal/signer.h"
#include "eseal/store.h"
#include "test.h"

static char st_dir[512];
static char st_urls[64][1024];
static int st_nurls;
static char st_dbs[256][64];
static int st_ndbs;

__attribute__((format(printf, 1, 2))) static inline void st_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static inline void st_rm_dir(void)
{
    if (!st_dir[0]) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", st_dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", st_dir);
}

static inline const char *st_tmp(void)
{
    if (!st_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(st_dir, sizeof st_dir, "%s/eseal-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(st_dir)) st_die("mkdtemp %s failed", st_dir);
        atexit(st_rm_dir);
    }
    return st_dir;
}

static inline char *st_url_slot(void)
{
    return st_urls[st_nurls++ % 64];
}

/* A fresh SQLite database (a new file) named name. */
static inline const char *st_sqlite_db(const char *name)
{
    char *u = st_url_slot();
    snprintf(u, 1024, "sqlite:%s/%s.db", st_tmp(), name);
    return u;
}

static int st_pg_state; /* 0 unknown, 1 ready, -1 unavailable */

/* 1 when PostgreSQL can be used. */
static inline int st_pg_ready(void)
{
    if (st_pg_state) return st_pg_state > 0;
    const char *url = getenv("ESEAL_PG_URL");
    const char *why = NULL;
    char msg[512] = "";
    if (!url || !*url) {
        why = "ESEAL_PG_URL is not set (run through ctest, which starts tests/pg.sh)";
    } else {
        PGconn *c = PQconnectdb(url);
        if (PQstatus(c) != CONNECTION_OK) {
            snprintf(msg, sizeof msg, "cannot connect to %s: %s", url, PQerrorMessage(c));
            why = msg;
        }
        PQfinish(c);
    }
    if (!why) {
        st_pg_state = 1;
        return 1;
    }
    const char *ci = getenv("CI");
    if (ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0) {
        fprintf(stderr, "FAIL: PostgreSQL is required in CI: %s\n", why);
        exit(1);
    }
    printf("SKIP PostgreSQL: %s\n", why);
    t_skipped++;
    st_pg_state = -1;
    return 0;
}

static inline void st_pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static inline void st_pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("ESEAL_PG_URL"));
    PQsetNoticeProcessor(c, st_pg_quiet, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        st_die("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static inline void st_pg_drop_all(void)
{
    char sql[160];
    for (int i = 0; i < st_ndbs; i++) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%.63s\" WITH (FORCE)", st_dbs[i]);
        st_pg_admin(sql);
    }
    st_ndbs = 0;
}

/* The URL of database db in the cluster of base. */
static inline void st_pg_url_of(const char *base, const char *db, char *out, size_t outlen)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    if (!opts) st_die("ESEAL_PG_URL: %s", err ? err : "cannot parse");
    size_t n = (size_t)snprintf(out, outlen, "postgresql:///%s", db);
    char sep = '?';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val || strcmp(o->keyword, "dbname") == 0) continue;
        n += (size_t)snprintf(out + n, outlen - n, "%c%s=", sep, o->keyword);
        sep = '&';
        for (const unsigned char *c = (const unsigned char *)o->val; *c && n + 4 < outlen; c++) {
            if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                strchr("-._~/", *c))
                out[n++] = (char)*c;
            else
                n += (size_t)snprintf(out + n, outlen - n, "%%%02X", *c);
        }
        out[n] = 0;
    }
    PQconninfoFree(opts);
}

/* A fresh PostgreSQL database named name (with the pid: test programs run in parallel). */
static inline const char *st_pg_db(const char *name)
{
    if (st_ndbs == 0) atexit(st_pg_drop_all);
    if (st_ndbs >= 256) st_die("too many test databases");
    char *db = st_dbs[st_ndbs++];
    snprintf(db, 64, "es_%s_%ld", name, (long)getpid());
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db);
    st_pg_admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", db);
    st_pg_admin(sql);
    char *u = st_url_slot();
    st_pg_url_of(getenv("ESEAL_PG_URL"), db, u, 1024);
    return u;
}

/* Opens url or ends the test program. */
static inline es_store *st_open(const char *url)
{
    es_store *s = NULL;
    if (es_store_open(url, &s) != ES_OK) st_die("open %s: %s", url, es_store_last_error(NULL));
    return s;
}

static inline es_store *st_open_migrated(const char *url)
{
    es_store *s = st_open(url);
    int v = 0;
    if (es_store_migrate(s, &v) != ES_OK) st_die("migrate %s: %s", url, es_store_last_error(s));
    return s;
}

/* A signer over a fresh in-memory SM2 key. */
static inline es_signer *st_signer(void)
{
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &s) != ES_OK)
        st_die("cannot make an SM2 key");
    return s;
}

/* Runs statements in one transaction, ending the program on failure: tampering below the
 * API, as someone with access to the database would. */
static inline void st_sql(es_store *s, const char *sql)
{
    if (es_store_begin(s) != ES_OK || es_store_exec(s, sql, NULL, 0, NULL) != ES_OK ||
        es_store_commit(s) != ES_OK)
        st_die("%s: %s", sql, es_store_last_error(s));
}

/* Drops the triggers that keep the audit trail append-only (what an intruder with database
 * access can do; es_audit_verify is what finds it). */
static inline void st_unguard(es_store *s)
{
    static const char *const sqlite_sql[] = {
        "DROP TRIGGER IF EXISTS audit_no_update",    "DROP TRIGGER IF EXISTS audit_no_delete",
        "DROP TRIGGER IF EXISTS audit_in_order",     "DROP TRIGGER IF EXISTS audit_head_no_delete",
        "DROP TRIGGER IF EXISTS audit_head_advance", NULL};
    static const char *const pg_sql[] = {
        "DROP TRIGGER IF EXISTS audit_no_change ON audit",
        "DROP TRIGGER IF EXISTS audit_no_truncate ON audit",
        "DROP TRIGGER IF EXISTS audit_in_order ON audit",
        "DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head",
        "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
        "DROP TRIGGER IF EXISTS audit_head_advance ON audit_head",
        NULL};
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    for (const char *const *q = pg ? pg_sql : sqlite_sql; *q; q++) st_sql(s, *q);
}

/* Audit records with this action; -1 when the store cannot say. */
static inline int st_audit_count(es_store *s, const char *action)
{
    int64_t n = -1;
    es_value p[1] = {es_v_text(action)};
    if (es_store_query_int(s, "SELECT COUNT(*) FROM audit WHERE action = ?", p, 1, &n) != ES_OK)
        return -1;
    return (int)n;
}

#endif
