/* eseal store: persistence behind one interface, two backends with the same behaviour
 * (ARCHITECTURE.md: the daemon keeps no state outside the store).
 *
 *   sqlite:PATH                       SQLite 3, WAL; a commit is durable when es_store_commit
 *                                     returns (group fsync of the WAL, docs/store.md)
 *   postgresql://... or postgres://... PostgreSQL through libpq (a conninfo URI)
 *
 * SQL is written once with '?' placeholders; the PostgreSQL backend numbers them ($1, $2...).
 * Migrations are written once, with dialect words for types ({INT64}, {BLOB}, {ID}, {STRICT},
 * docs/store.md); one text per backend only where more differs (version 1's triggers).
 * Values are typed (es_value): integers, text, blobs (BLOB / BYTEA) and NULL.
 *
 * Thread safety: an es_store is one connection, used by one thread at a time. The daemon
 * opens one per worker. Transactions: es_store_begin .. es_store_commit / es_store_rollback;
 * writes outside a transaction are refused (ES_ERR_ARG) so every change is atomic with its
 * audit record. SQLite begins IMMEDIATE (one writer); PostgreSQL uses READ COMMITTED and
 * explicit row locks where order matters (the audit head). Reads need no transaction;
 * es_store_begin_read gives several reads one consistent snapshot.
 *
 * Both backends behave the same where PostgreSQL is the stricter one: any failed statement
 * inside a transaction aborts it (later statements are refused with ES_ERR_ARG and
 * es_store_commit rolls back and fails) until es_store_rollback. Use
 * "INSERT ... ON CONFLICT DO NOTHING" and the change count where a duplicate is expected.
 * SQLite tables are STRICT, so a value of the wrong type is refused as PostgreSQL refuses it.
 *
 * docs/store.md describes the schema, the migrations and backup / restore.
 */
#ifndef ESEAL_STORE_H
#define ESEAL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef struct es_store es_store;

/* Opens a connection. ES_ERR_CONFIG for a URL of no known backend, ES_ERR_IO when the
 * database cannot be reached or opened (es_store_last_error(NULL) says why). A new SQLite
 * file is created with mode 0600. */
es_err es_store_open(const char *url, es_store **out) ES_MUST_CHECK;
/* Rolls back an open transaction and closes; NULL is a no-op. */
void es_store_close(es_store *s);
/* "sqlite" or "postgresql". */
const char *es_store_kind(const es_store *s);
/* The backend's message for the last failure on this connection ("" when none); with NULL,
 * why the last es_store_open of this thread failed. Borrowed, valid until the next call. */
const char *es_store_last_error(const es_store *s);

/* Brings the schema to the newest version, one transaction per migration, and returns the
 * version in *version (may be NULL). Safe to run from several processes at once (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: pg_advisory_xact_lock). ES_ERR_UNSUPPORTED when the database
 * has a newer schema than this build knows. */
es_err es_store_migrate(es_store *s, int *version) ES_MUST_CHECK;
/* The newest schema version this build knows. */
int es_store_schema_latest(void);
/* The schema version of the database (0 for a database never migrated). */
es_err es_store_schema_version(es_store *s, int *version) ES_MUST_CHECK;

/* Opens a read-write transaction. ES_ERR_ARG when one is already open. */
es_err es_store_begin(es_store *s) ES_MUST_CHECK;
/* Opens a read-write transaction holding the named lock, without waiting for it: ES_ERR_BUSY
 * (es_store_last_error says which lock) when another connection holds it. For writers that
 * must say "in use" at once instead of hanging (the CA, docs/ca.md).
 * SQLite: the lock is the database's write lock (BEGIN IMMEDIATE): writers of this process
 * queue for at most ES_STORE_TRY_MS, another process's writer is waited for at most as long.
 * PostgreSQL: BEGIN READ WRITE and pg_try_advisory_xact_lock on a 63-bit hash of lock, held
 * until commit or rollback; other writers are not held up. */
#define ES_STORE_TRY_MS 250
es_err es_store_begin_try(es_store *s, const char *lock) ES_MUST_CHECK;
/* Opens a read-only transaction over one consistent snapshot (SQLite: a deferred
 * transaction in WAL mode; PostgreSQL: REPEATABLE READ READ ONLY). Writes are refused with
 * ES_ERR_ARG; end it with es_store_commit or es_store_rollback. */
es_err es_store_begin_read(es_store *s) ES_MUST_CHECK;
es_err es_store_commit(es_store *s) ES_MUST_CHECK;
/* Commits as es_store_commit does, and calls visible(arg) once, as soon as the transaction's
 * end is seen by other transactions (its locks released), before waiting for it to be on
 * disk; whatever the outcome (on a failure, when the transaction is over). For what waits on
 * this transaction's order rather than its durability: a crash keeps a prefix of the commits
 * (the log is written in order), so a later transaction that saw this one is lost with it.
 * The callback must not use s. */
es_err es_store_commit_visible(es_store *s, void (*visible)(void *), void *arg) ES_MUST_CHECK;
/* Never fails in a way the caller can act on; safe to call when no transaction is open. */
void es_store_rollback(es_store *s);
/* 1 inside a transaction. */
int es_store_in_tx(const es_store *s);

typedef enum es_vtype {
    ES_V_NULL = 0,
    ES_V_INT,
    ES_V_TEXT,
    ES_V_BLOB,
} es_vtype;

typedef struct es_value {
    es_vtype type;
    int64_t i;
    const void *p; /* text (UTF-8) or blob bytes, borrowed */
    size_t len;
} es_value;

static inline es_value es_v_int(int64_t i)
{
    es_value v = {ES_V_INT, i, NULL, 0};
    return v;
}
es_value es_v_text(const char *s); /* NULL gives ES_V_NULL */
static inline es_value es_v_blob(const void *p, size_t len)
{
    es_value v = {ES_V_BLOB, 0, p, len};
    return v;
}
static inline es_value es_v_null(void)
{
    es_value v = {ES_V_NULL, 0, NULL, 0};
    return v;
}

/* Runs a statement that returns no rows; *changes (may be NULL) gets the rows affected.
 * ES_ERR_EXISTS on a unique-constraint violation, ES_ERR_IO on other database errors. */
es_err es_store_exec(es_store *s, const char *sql, const es_value *params, size_t n,
                     int64_t *changes) ES_MUST_CHECK;

/* One statement of es_store_exec_batch; changes is set for each statement that ran. */
typedef struct es_stmt {
    const char *sql;
    const es_value *params;
    size_t n;
    int64_t changes;
} es_stmt;

/* Runs statements that return no rows, in order, inside the open write transaction, as
 * es_store_exec would one after the other, but in one round trip to the server where the
 * backend can (PostgreSQL: pipeline mode). Stops at the first failure (its error as
 * es_store_exec's; the transaction is then failed). For statements whose results are not
 * needed before the next is sent. */
es_err es_store_exec_batch(es_store *s, es_stmt *stmts, size_t n) ES_MUST_CHECK;

/* A row handed to a query callback; valid during the callback only. */
typedef struct es_row es_row;
int es_row_columns(const es_row *r);
int es_row_is_null(const es_row *r, int col);
int64_t es_row_int(const es_row *r, int col);
/* Text of a column (NUL-terminated, borrowed); "" for NULL. len may be NULL. */
const char *es_row_text(const es_row *r, int col, size_t *len);
/* Blob bytes (borrowed; decoded from BYTEA for PostgreSQL); p is non-NULL unless the value is
 * NULL (an empty blob has len 0 and a valid p). */
es_slice es_row_blob(const es_row *r, int col);

/* Returns ES_OK to go on; any other value stops the query and is returned by it. */
typedef es_err (*es_row_cb)(void *ctx, const es_row *row);

/* Runs a query and calls cb for each row, in order. The callback may not use s (ES_ERR_ARG on
 * both backends: a PostgreSQL connection is busy while its result streams). */
es_err es_store_query(es_store *s, const char *sql, const es_value *params, size_t n, es_row_cb cb,
                      void *ctx) ES_MUST_CHECK;

/* Convenience: the first column of the first row as an integer (ES_ERR_NOT_FOUND with no
 * row). */
es_err es_store_query_int(es_store *s, const char *sql, const es_value *params, size_t n,
                          int64_t *out) ES_MUST_CHECK;

/* Backup and restore (docs/store.md). The only store functions that write files.
 *
 * es_store_backup takes a consistent online backup of the database into the file path
 * (replaced atomically, mode 0600): SQLite through its online backup API (the file is a
 * SQLite database), PostgreSQL through pg_dump -Fc (a password in the URL reaches pg_dump in
 * its environment, never on its command line). Writers go on meanwhile. Not inside a
 * transaction (ES_ERR_ARG).
 *
 * es_store_restore replaces the contents of the database with a backup of the same backend:
 * ES_ERR_EXISTS when the database already holds tables, unless force; ES_ERR_FORMAT when
 * the file is not a backup for this backend; ES_ERR_IO when the restore fails (nothing is
 * changed then: SQLite restores in one step, pg_restore runs as a single transaction).
 * Other connections to the database should be closed first.
 *
 * PostgreSQL: pg_dump and pg_restore are looked up in $ESEAL_PG_BINDIR, then the newest
 * /usr/lib/postgresql/N/bin, then PATH. */
es_err es_store_backup(es_store *s, const char *path) ES_MUST_CHECK;
es_err es_store_restore(es_store *s, const char *path, int force) ES_MUST_CHECK;
/* 1 when the database holds no tables at all (a restore target). */
es_err es_store_is_empty(es_store *s, int *empty) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
