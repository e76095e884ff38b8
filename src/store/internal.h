/* store internals: the backend interface behind es_store (store.c dispatches; sqlite.c and
 * pg.c implement it). */
#ifndef ESEAL_STORE_INTERNAL_H
#define ESEAL_STORE_INTERNAL_H

#include "eseal/store.h"

#define STORE_ERR_MAX 512

typedef enum tx_mode {
    TX_NONE = 0,
    TX_WRITE,
    TX_READ,
} tx_mode;

typedef struct store_ops store_ops;

struct es_store {
    const store_ops *ops;
    void *impl;    /* the backend's connection state */
    char *url;     /* as given to es_store_open (owned) */
    tx_mode tx;    /* the open transaction */
    int tx_failed; /* a statement failed inside it: refuse the rest until rollback */
    char err[STORE_ERR_MAX];
};

/* A row as handed to a query callback: the backend's cursor and which row. */
struct es_row {
    es_store *s;
    void *h; /* sqlite3_stmt * or PGresult * */
    int ncols;
};

struct store_ops {
    const char *kind;
    es_err (*open)(es_store *s, const char *url);
    void (*close)(es_store *s);
    /* Transactions. begin_write is IMMEDIATE / READ WRITE; begin_read a snapshot. */
    es_err (*begin)(es_store *s, tx_mode mode);
    es_err (*commit)(es_store *s);
    void (*rollback)(es_store *s);
    /* Takes the migration lock inside the open transaction (PostgreSQL: an advisory lock;
     * SQLite: nothing, BEGIN IMMEDIATE already excludes other writers). */
    es_err (*lock_migrations)(es_store *s);
    /* Runs several statements without parameters (a migration). */
    es_err (*script)(es_store *s, const char *sql);
    es_err (*exec)(es_store *s, const char *sql, const es_value *params, size_t n,
                   int64_t *changes);
    /* *stopped = 1 when the callback's own return code ended the query (the database is
     * fine then, and the transaction goes on). */
    es_err (*query)(es_store *s, const char *sql, const es_value *params, size_t n, es_row_cb cb,
                    void *ctx, int *stopped);
    /* Row access (col already range-checked by store.c). */
    int (*row_is_null)(const es_row *r, int col);
    int64_t (*row_int)(const es_row *r, int col);
    const char *(*row_text)(const es_row *r, int col, size_t *len);
    es_slice (*row_blob)(const es_row *r, int col);
    es_err (*is_empty)(es_store *s, int *empty);
    es_err (*backup)(es_store *s, const char *path);
    es_err (*restore)(es_store *s, const char *path, int force);
};

extern const store_ops es_store_sqlite_ops;
extern const store_ops es_store_pg_ops;

/* Records the backend's message for the last failure ("" clears it). */
void es_store_set_error(es_store *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* One migration: a version, what it does, and its text for each backend. */
typedef struct store_migration {
    int version;
    const char *what;
    const char *sqlite;
    const char *pg;
} store_migration;

extern const store_migration es_store_migrations[];
extern const size_t es_store_n_migrations;

/* SQL scanning shared by the backends: calls fn for each '?' placeholder outside string
 * literals, quoted identifiers, dollar quotes and comments, and reports whether more than
 * one statement is present. Returns the number of placeholders. */
typedef struct sql_scan {
    size_t placeholders;
    int several; /* a ';' followed by more than white space and comments */
} sql_scan;
/* Rewrites '?' to $1, $2, ... (PostgreSQL) into out when out is not NULL. */
es_err es_store_sql_scan(const char *sql, sql_scan *info, es_buf *out) ES_MUST_CHECK;

/* Milliseconds since the epoch (UTC). */
int64_t es_store_now_ms(void);

/* Writes the database into a temporary file next to path, then renames it (store.c helper
 * for backends): *tmp gets a fresh temporary name (owned) created with mode 0600. */
es_err es_store_tmp_path(const char *path, char **tmp, int *fd) ES_MUST_CHECK;
/* fsync of a file and of the directory of path after a rename. */
es_err es_store_commit_file(const char *tmp, const char *path) ES_MUST_CHECK;

#endif
