/* The CA's state in the store (include/eseal/castore.h, docs/ca.md "State"). One SQL text
 * for both backends; the schema is migration 3 (src/store/migrations.c). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eseal/audit.h"
#include "eseal/castore.h"

#define CS_PATH_MAX  4096
#define CS_MAX_INDEX (256u * 1024 * 1024)
#define CS_COLUMNS                                                                                 \
    "serial, status, not_after, revoked_at, reason, profile, subject, cert, issued_at"

/* --- audit --- */

/* Appends the audit record of a change in the open transaction; nothing without a signer. */
static es_err audit(es_castore *cs, const char *action, const char *object, json_t *detail)
{
    es_err rv = ES_OK;
    if (!cs->audit) {
        json_decref(detail);
        return ES_OK;
    }
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    if (detail && !text) return ES_ERR_NOMEM;
    es_audit_record rec;
    memset(&rec, 0, sizeof rec);
    rec.actor = cs->actor ? cs->actor : "system";
    rec.role = cs->role ? cs->role : "";
    rec.action = action;
    rec.object = object;
    rec.detail = text ? text : "";
    rv = es_audit_append(cs->store, cs->audit, &rec);
    free(text);
    return rv;
}

/* --- the operations --- */

static es_err cs_begin(void *ctx, const char *ca, int write)
{
    es_castore *cs = ctx;
    char lock[96];
    if (!write) return es_store_begin_read(cs->store);
    snprintf(lock, sizeof lock, "eseal.ca:%.64s", ca);
    return es_store_begin_try(cs->store, lock);
}

static es_err cs_commit(void *ctx)
{
    return es_store_commit(((es_castore *)ctx)->store);
}

static void cs_rollback(void *ctx)
{
    es_store_rollback(((es_castore *)ctx)->store);
}

typedef struct row_ctx {
    es_ca_entry_cb cb;
    void *ctx;
    int64_t rows;
} row_ctx;

static es_err row_cb(void *ctx, const es_row *r)
{
    row_ctx *rc = ctx;
    es_ca_entry e;
    memset(&e, 0, sizeof e);
    const char *serial = es_row_text(r, 0, NULL), *status = es_row_text(r, 1, NULL);
    const char *profile = es_row_text(r, 5, NULL);
    if (strlen(serial) >= sizeof e.serial || strlen(profile) >= sizeof e.profile)
        return ES_ERR_FORMAT;
    memcpy(e.serial, serial, strlen(serial) + 1);
    memcpy(e.profile, profile, strlen(profile) + 1);
    e.status = status[0] == 'R' ? ES_CA_REVOKED : ES_CA_VALID;
    e.not_after = es_row_int(r, 2);
    e.revoked_at = es_row_is_null(r, 3) ? ES_TIME_NONE : es_row_int(r, 3);
    e.reason = es_row_is_null(r, 4) ? 0 : (int)es_row_int(r, 4);
    e.subject = es_row_text(r, 6, NULL);
    e.cert = es_row_is_null(r, 7) ? ES_SLICE_NULL : es_row_blob(r, 7);
    e.issued_at = es_row_is_null(r, 8) ? ES_TIME_NONE : es_row_int(r, 8);
    if (e.issued_at == 0) e.issued_at = ES_TIME_NONE;
    rc->rows++;
    return rc->cb(rc->ctx, &e);
}

static es_err cs_get(void *ctx, const char *ca, const char *serial, es_ca_entry_cb cb, void *cbctx)
{
    es_castore *cs = ctx;
    row_ctx rc = {cb, cbctx, 0};
    es_value p[2] = {es_v_text(ca), es_v_text(serial)};
    /* At most one row: the pair is unique. */
    es_err rv =
        es_store_query(cs->store, "SELECT " CS_COLUMNS " FROM ca_certs WHERE ca = ? AND serial = ?",
                       p, 2, row_cb, &rc);
    if (rv == ES_OK && rc.rows == 0) rv = ES_ERR_NOT_FOUND;
    return rv;
}

static es_err cs_list(void *ctx, const char *ca, int revoked_only, es_ca_entry_cb cb, void *cbctx)
{
    es_castore *cs = ctx;
    row_ctx rc = {cb, cbctx, 0};
    es_value p[1] = {es_v_text(ca)};
    return es_store_query(cs->store,
                          revoked_only ? "SELECT " CS_COLUMNS " FROM ca_certs WHERE ca = ? AND "
                                         "status = 'R' ORDER BY id"
                                       : "SELECT " CS_COLUMNS
                                         " FROM ca_certs WHERE ca = ? ORDER BY id",
                          p, 1, row_cb, &rc);
}

static es_err insert(es_castore *cs, const char *ca, const es_ca_entry *e, int64_t *changes)
{
    char status[2] = {(char)e->status, 0};
    int revoked = e->status == ES_CA_REVOKED;
    es_value p[10] = {
        es_v_text(ca),
        es_v_text(e->serial),
        es_v_text(status),
        es_v_int(e->not_after),
        revoked ? es_v_int(e->revoked_at) : es_v_null(),
        revoked ? es_v_int(e->reason) : es_v_null(),
        es_v_text(e->profile),
        es_v_text(e->subject ? e->subject : ""),
        e->cert.len ? es_v_blob(e->cert.p, e->cert.len) : es_v_null(),
        es_v_int(e->issued_at == ES_TIME_NONE ? 0 : e->issued_at),
    };
    /* A serial taken already is no error of the transaction: the caller draws again. */
    return es_store_exec(cs->store,
                         "INSERT INTO ca_certs (ca, serial, status, not_after, revoked_at, reason, "
                         "profile, subject, cert, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING",
                         p, 10, changes);
}

/* The detail of a ca.issue record (JSON text, the caller frees). */
static char *issue_detail(const char *ca, const es_ca_entry *e)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:I}", "ca", ca, "profile", e->profile, "subject",
                          e->subject ? e->subject : "", "not_after", (json_int_t)e->not_after);
    if (!d) return NULL;
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return text;
}

static es_err cs_record(void *ctx, const char *ca, const es_ca_entry *e)
{
    es_castore *cs = ctx;
    int64_t changes = 0;
    char object[64];
    es_castore_issued *pre = cs->issued;
    snprintf(object, sizeof object, "cert:%s", e->serial);
    /* A record prepared for another certificate or CA is refused before anything is written. */
    if (pre && cs->audit &&
        (!pre->ready || strcmp(pre->object, object) != 0 || strcmp(pre->ca, ca) != 0))
        return ES_ERR_ARG;
    es_err rv = insert(cs, ca, e, &changes);
    if (rv == ES_OK && changes != 1) rv = ES_ERR_EXISTS;
    if (rv != ES_OK) return rv;
    if (!cs->audit) return ES_OK;
    if (pre) return es_audit_append(cs->store, NULL, &pre->rec);
    char *text = issue_detail(ca, e);
    if (!text) return ES_ERR_NOMEM;
    es_audit_record rec;
    memset(&rec, 0, sizeof rec);
    rec.actor = cs->actor ? cs->actor : "system";
    rec.role = cs->role ? cs->role : "";
    rec.action = "ca.issue";
    rec.object = object;
    rec.detail = text;
    rv = es_audit_append(cs->store, cs->audit, &rec);
    free(text);
    return rv;
}

es_err es_castore_issue_prepare(es_castore *cs, const es_ca *ca, const es_ca_issued *p,
                                es_castore_issued *out)
{
    if (!cs || !ca || !p || !out || !p->entry.subject) return ES_ERR_ARG;
    es_castore_issued_free(out);
    if (!cs->audit) return ES_OK;
    snprintf(out->ca, sizeof out->ca, "%s", es_ca_id(ca));
    snprintf(out->object, sizeof out->object, "cert:%s", p->entry.serial);
    out->actor = strdup(cs->actor ? cs->actor : "system");
    out->role = strdup(cs->role ? cs->role : "");
    out->detail = issue_detail(out->ca, &p->entry);
    if (!out->actor || !out->role || !out->detail) {
        es_castore_issued_free(out);
        return ES_ERR_NOMEM;
    }
    memset(&out->rec, 0, sizeof out->rec);
    out->rec.actor = out->actor;
    out->rec.role = out->role;
    out->rec.action = "ca.issue";
    out->rec.object = out->object;
    out->rec.detail = out->detail;
    es_err rv = es_audit_prepare(cs->audit, &out->rec);
    if (rv != ES_OK) {
        es_castore_issued_free(out);
        return rv;
    }
    out->ready = 1;
    return ES_OK;
}

void es_castore_issued_free(es_castore_issued *p)
{
    if (!p) return;
    free(p->actor);
    free(p->role);
    free(p->detail);
    memset(p, 0, sizeof *p);
}

/* A hold released (status V): valid again, audited as ca.release. */
static es_err cs_release(es_castore *cs, const char *ca, const es_ca_entry *e)
{
    int64_t changes = 0;
    char object[64];
    es_value p[2] = {es_v_text(ca), es_v_text(e->serial)};
    es_err rv = es_store_exec(cs->store,
                              "UPDATE ca_certs SET status = 'V', revoked_at = NULL, reason = NULL "
                              "WHERE ca = ? AND serial = ? AND status = 'R' AND reason = 6",
                              p, 2, &changes);
    if (rv == ES_OK && changes != 1) rv = ES_ERR_NOT_FOUND;
    if (rv != ES_OK) return rv;
    snprintf(object, sizeof object, "cert:%s", e->serial);
    json_t *d = json_pack("{s:s, s:s}", "ca", ca, "reason", "removeFromCRL");
    if (!d) return ES_ERR_NOMEM;
    return audit(cs, "ca.release", object, d);
}

static es_err cs_revoke(void *ctx, const char *ca, const es_ca_entry *e)
{
    es_castore *cs = ctx;
    int64_t changes = 0;
    char object[64];
    if (e->status == ES_CA_VALID) return cs_release(cs, ca, e);
    es_value p[4] = {es_v_int(e->revoked_at), es_v_int(e->reason), es_v_text(ca),
                     es_v_text(e->serial)};
    es_err rv = es_store_exec(cs->store,
                              "UPDATE ca_certs SET status = 'R', revoked_at = ?, reason = ? "
                              "WHERE ca = ? AND serial = ?",
                              p, 4, &changes);
    if (rv == ES_OK && changes != 1) rv = ES_ERR_NOT_FOUND;
    if (rv != ES_OK) return rv;
    snprintf(object, sizeof object, "cert:%s", e->serial);
    const char *reason = es_pki_reason_name(e->reason);
    json_t *d = json_pack("{s:s, s:s, s:I}", "ca", ca, "reason", reason ? reason : "", "revoked_at",
                          (json_int_t)e->revoked_at);
    if (!d) return ES_ERR_NOMEM;
    return audit(cs, "ca.revoke", object, d);
}

/* The next CRL number is kept in ca_state: 1 for a CA never seen. */
static es_err cs_crl_next(void *ctx, const char *ca, uint64_t *number)
{
    es_castore *cs = ctx;
    int64_t n = 0;
    es_value p[1] = {es_v_text(ca)};
    es_err rv =
        es_store_query_int(cs->store, "SELECT crl_number FROM ca_state WHERE ca = ?", p, 1, &n);
    if (rv == ES_ERR_NOT_FOUND) {
        n = 1;
        es_value q[2] = {es_v_text(ca), es_v_int(2)};
        rv = es_store_exec(cs->store, "INSERT INTO ca_state (ca, crl_number) VALUES (?, ?)", q, 2,
                           NULL);
    } else if (rv == ES_OK) {
        if (n < 1 || n >= INT64_MAX / 2) return ES_ERR_FORMAT;
        rv = es_store_exec(
            cs->store, "UPDATE ca_state SET crl_number = crl_number + 1 WHERE ca = ?", p, 1, NULL);
    }
    if (rv == ES_OK) *number = (uint64_t)n;
    return rv;
}

static es_err cs_crl_record(void *ctx, const char *ca, uint64_t number, es_slice der, es_time at)
{
    es_castore *cs = ctx;
    char object[128];
    es_value p[3] = {es_v_blob(der.p, der.len), es_v_int(at), es_v_text(ca)};
    es_err rv = es_store_exec(cs->store, "UPDATE ca_state SET crl = ?, crl_at = ? WHERE ca = ?", p,
                              3, NULL);
    if (rv != ES_OK) return rv;
    snprintf(object, sizeof object, "crl:%.64s/%llu", ca, (unsigned long long)number);
    json_t *d = json_pack("{s:s, s:I, s:I}", "ca", ca, "crl_number", (json_int_t)number,
                          "this_update", (json_int_t)at);
    if (!d) return ES_ERR_NOMEM;
    return audit(cs, "ca.crl", object, d);
}

static es_err crl_row(void *ctx, const es_row *r)
{
    es_slice b = es_row_is_null(r, 0) ? ES_SLICE_NULL : es_row_blob(r, 0);
    return b.len ? es_buf_append(ctx, b.p, b.len) : ES_OK;
}

/* The complete CRL kept by cs_crl_record (delta CRLs are made against it). */
static es_err cs_crl_base(void *ctx, const char *ca, es_buf *der)
{
    es_castore *cs = ctx;
    es_value p[1] = {es_v_text(ca)};
    size_t start = der->len;
    es_err rv =
        es_store_query(cs->store, "SELECT crl FROM ca_state WHERE ca = ?", p, 1, crl_row, der);
    if (rv == ES_OK && der->len == start) rv = ES_ERR_NOT_FOUND;
    return rv;
}

/* A delta CRL is audited; the complete CRL stays the one kept. */
static es_err cs_crl_delta_record(void *ctx, const char *ca, uint64_t number, uint64_t base,
                                  es_time at)
{
    es_castore *cs = ctx;
    char object[128];
    snprintf(object, sizeof object, "crl:%.64s/%llu", ca, (unsigned long long)number);
    json_t *d = json_pack("{s:s, s:I, s:I, s:I}", "ca", ca, "crl_number", (json_int_t)number,
                          "base_crl_number", (json_int_t)base, "this_update", (json_int_t)at);
    if (!d) return ES_ERR_NOMEM;
    return audit(cs, "ca.crl_delta", object, d);
}

/* The default state of es_ca_open / es_ca_open_url: a connection of its own. */
typedef struct owned_state {
    es_castore cs;
    char actor[256];
} owned_state;

static void cs_close(void *ctx)
{
    es_castore *cs = ctx;
    if (!cs) return;
    es_store_close(cs->store);
    free(cs);
}

const es_ca_state_ops es_castore_ops = {
    .begin = cs_begin,
    .commit = cs_commit,
    .rollback = cs_rollback,
    .get = cs_get,
    .list = cs_list,
    .record = cs_record,
    .revoke = cs_revoke,
    .crl_next = cs_crl_next,
    .crl_record = cs_crl_record,
    .crl_base = cs_crl_base,
    .crl_delta_record = cs_crl_delta_record,
    .close = NULL,
};

/* Owned bindings are closed with the CA. */
static const es_ca_state_ops owned_ops = {
    .begin = cs_begin,
    .commit = cs_commit,
    .rollback = cs_rollback,
    .get = cs_get,
    .list = cs_list,
    .record = cs_record,
    .revoke = cs_revoke,
    .crl_next = cs_crl_next,
    .crl_record = cs_crl_record,
    .crl_base = cs_crl_base,
    .crl_delta_record = cs_crl_delta_record,
    .close = cs_close,
};

es_ca_state es_castore_state(es_castore *cs)
{
    es_ca_state st = {&es_castore_ops, cs};
    return st;
}

/* Joined: the unit is the caller's (es_castore_begin_joined .. its own commit or rollback). */
static es_err joined_begin(void *ctx, const char *ca, int write)
{
    (void)ctx;
    (void)ca;
    (void)write;
    return ES_OK;
}

static es_err joined_commit(void *ctx)
{
    (void)ctx;
    return ES_OK;
}

static void joined_rollback(void *ctx)
{
    (void)ctx;
}

static const es_ca_state_ops joined_ops = {
    .begin = joined_begin,
    .commit = joined_commit,
    .rollback = joined_rollback,
    .get = cs_get,
    .list = cs_list,
    .record = cs_record,
    .revoke = cs_revoke,
    .crl_next = cs_crl_next,
    .crl_record = cs_crl_record,
    .crl_base = cs_crl_base,
    .crl_delta_record = cs_crl_delta_record,
    .close = NULL,
};

es_err es_castore_begin_joined(es_castore *cs, const es_ca *ca)
{
    if (!cs || !cs->store || !ca) return ES_ERR_ARG;
    return cs_begin(cs, es_ca_id(ca), 1);
}

es_ca_state es_castore_joined_state(es_castore *cs)
{
    es_ca_state st = {&joined_ops, cs};
    return st;
}

/* --- import of an old directory --- */

typedef struct import_ctx {
    es_castore *cs;
    const char *ca;
    const char *dir;
    int64_t rows;
    es_buf file, der;
} import_ctx;

static es_err import_row(void *ctx, const es_ca_entry *e)
{
    import_ctx *ic = ctx;
    char path[CS_PATH_MAX];
    es_ca_entry row = *e;
    int64_t changes = 0;
    /* The certificate itself when its file is there (certs/SERIAL.pem of the old layout). */
    ic->file.len = ic->der.len = 0;
    int n = snprintf(path, sizeof path, "%s/certs/%s.pem", ic->dir, e->serial);
    if (n > 0 && (size_t)n < sizeof path && es_file_read(path, &ic->file) == ES_OK &&
        es_pki_pem_decode(ic->file.p, ic->file.len, "CERTIFICATE", &ic->der) == ES_OK)
        row.cert = es_slice_make(ic->der.p, ic->der.len);
    es_err rv = insert(ic->cs, ic->ca, &row, &changes);
    if (rv == ES_OK && changes != 1) rv = ES_ERR_EXISTS;
    if (rv == ES_OK) ic->rows++;
    return rv;
}

es_err es_castore_import(es_castore *cs, es_ca *ca, int *imported, char *why, size_t whylen)
{
    char path[CS_PATH_MAX], done[CS_PATH_MAX];
    es_buf index, num;
    import_ctx ic;
    es_err rv;
    int64_t have = 0;
    uint64_t crl_number = 1;
    if (imported) *imported = 0;
    if (why && whylen) why[0] = 0;
    if (!cs || !cs->store || !ca) return ES_ERR_ARG;
    const char *dir = es_ca_dir(ca), *id = es_ca_id(ca);
    int n1 = snprintf(path, sizeof path, "%s/index.txt", dir);
    int n2 = snprintf(done, sizeof done, "%s/index.txt.migrated", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof done) return ES_ERR_LIMIT;
    struct stat sb;
    if (stat(path, &sb) != 0) return ES_OK;
    es_buf_init(&index, CS_MAX_INDEX);
    es_buf_init(&num, 64);
    memset(&ic, 0, sizeof ic);
    es_buf_init(&ic.file, ES_MAX_CERT_DER * 2);
    es_buf_init(&ic.der, ES_MAX_CERT_DER);
    if ((rv = es_file_read(path, &index)) != ES_OK) {
        if (why) snprintf(why, whylen, "%s: cannot be read", path);
        goto out;
    }
    /* The number of the next CRL, when the old layout kept one. */
    int nn = snprintf(done, sizeof done, "%s/crlnumber", dir);
    if (nn > 0 && (size_t)nn < sizeof done && es_file_read(done, &num) == ES_OK) {
        char *end = NULL;
        if ((rv = es_buf_nul(&num)) != ES_OK) goto out;
        unsigned long long v = strtoull((const char *)num.p, &end, 10);
        if (end == (char *)num.p || (*end && *end != '\n') || v == 0 || v >= (1ull << 62)) {
            if (why) snprintf(why, whylen, "crlnumber: not a positive number");
            rv = ES_ERR_CONFIG;
            goto out;
        }
        crl_number = v;
    }
    snprintf(done, sizeof done, "%s/index.txt.migrated", dir);

    if ((rv = cs_begin(cs, id, 1)) != ES_OK) goto out;
    es_value p[1] = {es_v_text(id)};
    if ((rv = es_store_query_int(cs->store, "SELECT count(*) FROM ca_state WHERE ca = ?", p, 1,
                                 &have)) != ES_OK)
        goto fail;
    if (!have) {
        ic.cs = cs;
        ic.ca = id;
        ic.dir = dir;
        if ((rv = es_ca_index_read(es_slice_make(index.p, index.len), import_row, &ic, why,
                                   whylen)) != ES_OK) {
            if (rv == ES_ERR_EXISTS && why)
                snprintf(why, whylen, "index.txt: a serial is listed twice (row %lld)",
                         (long long)ic.rows + 1);
            goto fail;
        }
        es_value q[2] = {es_v_text(id), es_v_int((int64_t)crl_number)};
        if ((rv = es_store_exec(cs->store, "INSERT INTO ca_state (ca, crl_number) VALUES (?, ?)", q,
                                2, NULL)) != ES_OK)
            goto fail;
        char object[96];
        snprintf(object, sizeof object, "ca:%.64s", id);
        json_t *d = json_pack("{s:s, s:I, s:I}", "dir", dir, "certificates", (json_int_t)ic.rows,
                              "crl_number", (json_int_t)crl_number);
        if (!d) {
            rv = ES_ERR_NOMEM;
            goto fail;
        }
        if ((rv = audit(cs, "ca.import", object, d)) != ES_OK) goto fail;
    }
    if ((rv = es_store_commit(cs->store)) != ES_OK) goto out;
    if (rename(path, done) != 0) {
        if (why) snprintf(why, whylen, "cannot rename %s: %s", path, strerror(errno));
        rv = ES_ERR_IO;
        goto out;
    }
    if (imported) *imported = !have;
    goto out;
fail:
    es_store_rollback(cs->store);
out:
    es_buf_cleanup(&index);
    es_buf_cleanup(&num);
    es_buf_cleanup(&ic.file);
    es_buf_cleanup(&ic.der);
    return rv;
}

/* --- opening --- */

static es_err open_with(const char *dir, const char *url, es_signer *audit_key, const char *actor,
                        es_ca **out, char *why, size_t whylen)
{
    es_ca *ca = NULL;
    owned_state *os = NULL;
    es_err rv = es_ca_load(dir, &ca, why, whylen);
    if (rv != ES_OK) return rv;
    if (!(os = calloc(1, sizeof *os))) {
        rv = ES_ERR_NOMEM;
        goto fail;
    }
    if ((rv = es_store_open(url, &os->cs.store)) != ES_OK) {
        if (why) snprintf(why, whylen, "%s: %s", url, es_store_last_error(NULL));
        goto fail;
    }
    /* Migrating takes the write lock even when there is nothing to do: a current schema is
     * only read, so that a read never waits behind a writer. (A newer schema goes to the
     * migrator too, which refuses it.) */
    int version = 0;
    if ((rv = es_store_schema_version(os->cs.store, &version)) == ES_OK &&
        version != es_store_schema_latest())
        rv = es_store_migrate(os->cs.store, NULL);
    if (rv != ES_OK) {
        if (why) snprintf(why, whylen, "%s: %s", url, es_store_last_error(os->cs.store));
        goto fail;
    }
    os->cs.audit = audit_key;
    if (actor) {
        snprintf(os->actor, sizeof os->actor, "%s", actor);
        os->cs.actor = os->actor;
    }
    if ((rv = es_castore_import(&os->cs, ca, NULL, why, whylen)) != ES_OK) goto fail;
    es_ca_state st = {&owned_ops, &os->cs};
    es_ca_set_state(ca, &st, 1);
    *out = ca;
    return ES_OK;
fail:
    if (os) cs_close(&os->cs);
    es_ca_close(ca);
    return rv;
}

/* DIR/STATE_MARK says that the CA's state is in a daemon's store, not in DIR/ca.db: a directory
 * open (es_ca_open) would otherwise start a second, empty state beside it. */
#define STATE_MARK "state-in-store"

static int state_marked(const char *dir)
{
    char path[CS_PATH_MAX + 32];
    struct stat st;
    snprintf(path, sizeof path, "%s/" STATE_MARK, dir);
    return stat(path, &st) == 0;
}

es_err es_castore_open(const char *dir, es_castore *cs, es_ca **out, char *why, size_t whylen)
{
    es_ca *ca = NULL;
    if (why && whylen) why[0] = 0;
    if (!dir || !cs || !cs->store || !out) return ES_ERR_ARG;
    es_err rv = es_ca_load(dir, &ca, why, whylen);
    if (rv == ES_OK && (rv = es_castore_import(cs, ca, NULL, why, whylen)) != ES_OK) {
        es_ca_close(ca);
        ca = NULL;
    }
    if (rv == ES_OK && !state_marked(dir)) {
        static const char text[] =
            "The state of this CA (index, serials, revocations, CRL numbers) is in a daemon's\n"
            "store, not in ca.db here: use eseal ca --store URL with the daemon's [store] url.\n";
        char path[CS_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/" STATE_MARK, dir);
        if ((rv = es_file_write(path, text, sizeof text - 1)) != ES_OK) {
            if (why && whylen) snprintf(why, whylen, "cannot write %s", path);
            es_ca_close(ca);
            ca = NULL;
        }
    }
    *out = ca;
    return rv;
}

es_err es_ca_open(const char *dir, es_ca **out, char *why, size_t whylen)
{
    char url[CS_PATH_MAX + 16];
    if (why && whylen) why[0] = 0;
    if (!dir || !out) return ES_ERR_ARG;
    if (state_marked(dir)) {
        if (why && whylen)
            snprintf(why, whylen,
                     "the state of the CA in %.200s is in a daemon's store (%.200s/" STATE_MARK
                     "): use --store URL with the daemon's [store] url",
                     dir, dir);
        return ES_ERR_CONFIG;
    }
    int n = snprintf(url, sizeof url, "sqlite:%s/ca.db", dir);
    if (n < 0 || (size_t)n >= sizeof url) return ES_ERR_LIMIT;
    return open_with(dir, url, NULL, NULL, out, why, whylen);
}

es_err es_ca_open_url(const char *dir, const char *url, es_signer *audit_key, const char *actor,
                      es_ca **out, char *why, size_t whylen)
{
    if (why && whylen) why[0] = 0;
    if (!dir || !url || !out) return ES_ERR_ARG;
    return open_with(dir, url, audit_key, actor, out, why, whylen);
}
