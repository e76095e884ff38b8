/* What the keys protect: registrations of sealed columns, rotation, the re-encryption pass,
 * KEK rotation, status and the check (include/eseal/protect.h, docs/protect.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/protect/internal.h"

#define DEFAULT_AAD "{table}/{id}/{column}"
#define LIST_MAX    (ES_PROTECT_MAX_COLUMNS * 64 + 16)
#define BATCH_ROWS  64
#define BATCH_BYTES (16u * 1024 * 1024) /* a batch stops growing past this many bytes */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- Registration. */

typedef struct reg {
    char table[64], id_col[64], aad[256], mac_col[64];
    char sealed[ES_PROTECT_MAX_COLUMNS][64];
    size_t n_sealed;
    char mac_over[ES_PROTECT_MAX_COLUMNS][64];
    size_t n_mac_over;
} reg;

/* A pattern holds text and the placeholders {table}, {id}, {column}; nothing else in braces. */
static int pattern_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= 256) return 0;
    for (const char *c = s; *c; c++) {
        if (*c == '}') return 0;
        if (*c != '{') continue;
        if (strncmp(c, "{table}", 7) == 0)
            c += 6;
        else if (strncmp(c, "{id}", 4) == 0)
            c += 3;
        else if (strncmp(c, "{column}", 8) == 0)
            c += 7;
        else
            return 0;
    }
    return 1;
}

static es_err join(const char *const *names, size_t n, char *out, size_t outlen, char *why,
                   size_t whylen, const char *what)
{
    size_t at = 0;
    out[0] = 0;
    if (n > ES_PROTECT_MAX_COLUMNS || (n && !names)) {
        snprintf(why, whylen, "%s: at most %d columns", what, ES_PROTECT_MAX_COLUMNS);
        return ES_ERR_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        if (!protect_ident_ok(names[i])) {
            snprintf(why, whylen, "%s: '%.64s' is not a column name", what,
                     names[i] ? names[i] : "(null)");
            return ES_ERR_ARG;
        }
        at += (size_t)snprintf(out + at, outlen - at, "%s%s", i ? "," : "", names[i]);
    }
    return ES_OK;
}

es_err es_protect_register(es_store *st, const es_protect_table *t, char *why, size_t whylen)
{
    char scratch[8], sealed[LIST_MAX], over[LIST_MAX];
    const char *aad;
    es_err rv;
    if (!why || whylen == 0) {
        why = scratch;
        whylen = sizeof scratch;
    }
    why[0] = 0;
    if (!st || !t) return ES_ERR_ARG;
    aad = t->aad ? t->aad : DEFAULT_AAD;
    if (!protect_ident_ok(t->table) || !protect_ident_ok(t->id_column)) {
        snprintf(why, whylen, "the table and its id column must be SQL names ([a-z_][a-z0-9_]*)");
        return ES_ERR_ARG;
    }
    if (t->n_sealed == 0) {
        snprintf(why, whylen, "no sealed column");
        return ES_ERR_ARG;
    }
    if ((rv = join(t->sealed, t->n_sealed, sealed, sizeof sealed, why, whylen, "sealed")) !=
            ES_OK ||
        (rv = join(t->mac_over, t->n_mac_over, over, sizeof over, why, whylen, "mac_over")) !=
            ES_OK)
        return rv;
    if (!pattern_ok(aad) || !strstr(aad, "{id}")) {
        snprintf(why, whylen, "the aad pattern needs {id} and knows {table}, {id}, {column} only");
        return ES_ERR_ARG;
    }
    if (t->n_sealed > 1 && !strstr(aad, "{column}")) {
        snprintf(why, whylen, "with several sealed columns the aad pattern needs {column}");
        return ES_ERR_ARG;
    }
    if (t->mac_column ? !protect_ident_ok(t->mac_column) || t->n_mac_over == 0
                      : t->n_mac_over != 0) {
        snprintf(why, whylen, "a record MAC needs its column and the columns it covers");
        return ES_ERR_ARG;
    }
    es_value v[6] = {es_v_text(t->table),
                     es_v_text(t->id_column),
                     es_v_text(sealed),
                     es_v_text(aad),
                     es_v_text(t->mac_column ? t->mac_column : ""),
                     es_v_text(over)};
    if ((rv = es_store_begin(st)) != ES_OK) return rv;
    rv = es_store_exec(st, "DELETE FROM protect_tables WHERE tbl = ?", v, 1, NULL);
    if (rv == ES_OK)
        rv = es_store_exec(
            st,
            "INSERT INTO protect_tables (tbl, id_col, sealed, aad, mac_col, mac_over) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            v, 6, NULL);
    if (rv == ES_OK) rv = es_store_commit(st);
    es_store_rollback(st);
    if (rv != ES_OK) snprintf(why, whylen, "cannot record it: %s", es_store_last_error(st));
    return rv;
}

static size_t split(const char *list, char out[][64], size_t max)
{
    size_t n = 0;
    for (const char *p = list; *p && n < max;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        snprintf(out[n++], 64, "%.*s", (int)(len < 63 ? len : 63), p);
        p += len + (c ? 1 : 0);
    }
    return n;
}

typedef struct regs {
    reg *r;
    size_t n, cap;
} regs;

static es_err regs_cb(void *ctx, const es_row *row)
{
    regs *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        reg *r = realloc(g->r, cap * sizeof *r);
        if (!r) return ES_ERR_NOMEM;
        g->r = r;
        g->cap = cap;
    }
    reg *r = &g->r[g->n];
    memset(r, 0, sizeof *r);
    snprintf(r->table, sizeof r->table, "%s", es_row_text(row, 0, NULL));
    snprintf(r->id_col, sizeof r->id_col, "%s", es_row_text(row, 1, NULL));
    r->n_sealed = split(es_row_text(row, 2, NULL), r->sealed, ES_PROTECT_MAX_COLUMNS);
    snprintf(r->aad, sizeof r->aad, "%s", es_row_text(row, 3, NULL));
    snprintf(r->mac_col, sizeof r->mac_col, "%s", es_row_text(row, 4, NULL));
    r->n_mac_over = split(es_row_text(row, 5, NULL), r->mac_over, ES_PROTECT_MAX_COLUMNS);
    /* What the store says is checked again before it goes into SQL text. */
    if (!protect_ident_ok(r->table) || !protect_ident_ok(r->id_col) || !pattern_ok(r->aad) ||
        (r->mac_col[0] && !protect_ident_ok(r->mac_col)))
        return ES_ERR_FORMAT;
    for (size_t i = 0; i < r->n_sealed; i++)
        if (!protect_ident_ok(r->sealed[i])) return ES_ERR_FORMAT;
    for (size_t i = 0; i < r->n_mac_over; i++)
        if (!protect_ident_ok(r->mac_over[i])) return ES_ERR_FORMAT;
    g->n++;
    return ES_OK;
}

static es_err load_regs(es_store *st, const char *only, regs *g)
{
    es_value v[1] = {es_v_text(only)};
    memset(g, 0, sizeof *g);
    es_err rv = es_store_query(st,
                               only ? "SELECT tbl, id_col, sealed, aad, mac_col, mac_over FROM "
                                      "protect_tables WHERE tbl = ?"
                                    : "SELECT tbl, id_col, sealed, aad, mac_col, mac_over FROM "
                                      "protect_tables ORDER BY tbl",
                               v, only ? 1 : 0, regs_cb, g);
    if (rv != ES_OK) {
        free(g->r);
        memset(g, 0, sizeof *g);
    }
    return rv;
}

static void expand(const reg *r, int64_t id, const char *column, char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = 0;
    for (const char *c = r->aad; *c && at + 1 < outlen; c++) {
        if (strncmp(c, "{table}", 7) == 0) {
            at += (size_t)snprintf(out + at, outlen - at, "%s", r->table);
            c += 6;
        } else if (strncmp(c, "{id}", 4) == 0) {
            at += (size_t)snprintf(out + at, outlen - at, "%lld", (long long)id);
            c += 3;
        } else if (strncmp(c, "{column}", 8) == 0) {
            at += (size_t)snprintf(out + at, outlen - at, "%s", column);
            c += 7;
        } else {
            out[at++] = *c;
            out[at] = 0;
        }
        if (at >= outlen) at = outlen - 1;
    }
}

es_err es_protect_aad(es_store *st, const char *table, int64_t id, const char *column, char *out,
                      size_t outlen)
{
    regs g;
    if (!st || !protect_ident_ok(table) || !protect_ident_ok(column) || !out || outlen < 2)
        return ES_ERR_ARG;
    es_err rv = load_regs(st, table, &g);
    if (rv == ES_OK && g.n == 0) rv = ES_ERR_NOT_FOUND;
    if (rv == ES_OK) expand(&g.r[0], id, column, out, outlen);
    free(g.r);
    return rv;
}

/* ---- Rotation. */

es_err es_protect_rotate_in(es_protect *p, es_store *st, int64_t *id)
{
    if (!p || !st) return ES_ERR_ARG;
    es_err rv = es_store_exec(st,
                              "UPDATE protect_keys SET state = 'previous' WHERE purpose = 'data' "
                              "AND state = 'current'",
                              NULL, 0, NULL);
    if (rv != ES_OK) return rv;
    /* insert_key is protect.c's; the same steps, here through the public wrap. */
    uint8_t key[PROTECT_DK_LEN];
    int64_t next = 0;
    es_buf w;
    es_buf_init(&w, PROTECT_WRAP_MAX);
    if ((rv = es_store_query_int(st, "SELECT coalesce(max(id), 0) + 1 FROM protect_keys", NULL, 0,
                                 &next)) != ES_OK)
        goto out;
    if (next > (int64_t)UINT32_MAX) {
        rv = ES_ERR_LIMIT;
        goto out;
    }
    if ((rv = es_random(key, sizeof key)) != ES_OK ||
        (rv = protect_wrap(p, next, "data", key, sizeof key, &w)) != ES_OK)
        goto out;
    es_value v[4] = {es_v_int(next), es_v_text(es_protect_kek_id(p)), es_v_blob(w.p, w.len),
                     es_v_int(es_time_now())};
    rv = es_store_exec(st,
                       "INSERT INTO protect_keys (id, purpose, state, kek, wrapped, created_at) "
                       "VALUES (?, 'data', 'current', ?, ?, ?)",
                       v, 4, NULL);
    if (rv == ES_OK && id) *id = next;
out:
    es_wipe(key, sizeof key);
    es_buf_cleanup(&w);
    return rv;
}

es_err es_protect_rotate(es_protect *p, es_store *st, int64_t *id)
{
    if (!p || !st) return ES_ERR_ARG;
    /* One rotation at a time: two at once on PostgreSQL would wait on each other's current
     * key (a deadlock); the second is told "busy" at once instead. */
    es_err rv = es_store_begin_try(st, "eseal-protect-rotate");
    if (rv != ES_OK) return rv;
    if ((rv = es_protect_rotate_in(p, st, id)) == ES_OK) rv = es_store_commit(st);
    es_store_rollback(st);
    return rv == ES_ERR_EXISTS ? ES_ERR_BUSY : rv;
}

/* ---- Rows copied out of a query (a callback may not use the store). */

typedef struct cell {
    es_vtype type;
    int64_t i;
    uint8_t *p;
    size_t len;
} cell;

typedef struct rowset {
    size_t ncols, nrows, cap, bytes, max_rows;
    int cut; /* rows left out for the byte limit: the next batch starts after the last kept */
    int64_t *ids;
    cell *cells; /* nrows * ncols */
} rowset;

static void rowset_free(rowset *rs)
{
    for (size_t i = 0; i < rs->nrows * rs->ncols; i++) {
        if (rs->cells[i].p) es_wipe(rs->cells[i].p, rs->cells[i].len);
        free(rs->cells[i].p);
    }
    free(rs->cells);
    free(rs->ids);
    rs->cells = NULL;
    rs->ids = NULL;
    rs->nrows = rs->cap = rs->bytes = 0;
}

/* Column 0 is the id; columns 1..ncols the values. */
static es_err rowset_cb(void *ctx, const es_row *row)
{
    rowset *rs = ctx;
    if (rs->nrows >= rs->max_rows) return ES_OK;
    if (rs->nrows && rs->bytes > BATCH_BYTES) {
        rs->cut = 1;
        return ES_OK;
    }
    if (rs->nrows == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        int64_t *ids = realloc(rs->ids, cap * sizeof *ids);
        if (!ids) return ES_ERR_NOMEM;
        rs->ids = ids;
        cell *cells = realloc(rs->cells, cap * rs->ncols * sizeof *cells);
        if (!cells) return ES_ERR_NOMEM;
        rs->cells = cells;
        rs->cap = cap;
    }
    cell *c = &rs->cells[rs->nrows * rs->ncols];
    memset(c, 0, rs->ncols * sizeof *c);
    rs->ids[rs->nrows++] = es_row_int(row, 0);
    for (size_t i = 0; i < rs->ncols; i++) {
        int col = (int)i + 1;
        if (es_row_is_null(row, col)) {
            c[i].type = ES_V_NULL;
            continue;
        }
        /* The bytes of the value: a blob's, or the text form of TEXT and INTEGER columns (both
         * backends give those as blobs too). One call only: on SQLite asking for the text
         * after the blob may convert the value and free the bytes the blob pointed to. */
        es_slice s = es_row_blob(row, col);
        c[i].type = ES_V_BLOB;
        c[i].len = s.p ? s.len : 0;
        c[i].p = malloc(c[i].len + 1);
        if (!c[i].p) return ES_ERR_NOMEM;
        if (c[i].len) memcpy(c[i].p, s.p, c[i].len);
        c[i].p[c[i].len] = 0;
        rs->bytes += c[i].len;
    }
    return ES_OK;
}

/* ---- The re-encryption pass. */

static es_err reencrypt_column(es_protect *p, es_store *st, const reg *r, const char *col,
                               uint32_t current, size_t budget, es_protect_pass *out)
{
    char sql[512], aad[ES_PROTECT_MAX_AAD];
    uint8_t cur[4];
    int64_t after = INT64_MIN;
    es_err rv = ES_OK;
    put_be32(cur, current);
    /* The key id is bytes 3..6 of a blob (1-based, as substr counts on both backends). */
    snprintf(sql, sizeof sql,
             "SELECT %s, %s FROM %s WHERE %s > ? AND %s IS NOT NULL AND substr(%s, 3, 4) <> ? "
             "ORDER BY %s LIMIT %d",
             r->id_col, col, r->table, r->id_col, col, col, r->id_col, BATCH_ROWS);
    for (;;) {
        rowset rs = {1, 0, 0, 0, BATCH_ROWS, 0, NULL, NULL};
        es_value v[2] = {es_v_int(after), es_v_blob(cur, 4)};
        if ((rv = es_store_query(st, sql, v, 2, rowset_cb, &rs)) != ES_OK) {
            rowset_free(&rs);
            return rv;
        }
        if (rs.nrows == 0) {
            rowset_free(&rs);
            return ES_OK;
        }
        if ((rv = es_store_begin(st)) != ES_OK) {
            rowset_free(&rs);
            return rv;
        }
        for (size_t i = 0; i < rs.nrows && rv == ES_OK; i++) {
            cell *c = &rs.cells[i];
            es_buf plain, sealed;
            after = rs.ids[i];
            if (out->rewritten + out->failed >= budget) {
                out->more = 1;
                break;
            }
            es_buf_init(&plain, ES_PROTECT_MAX_PLAIN);
            es_buf_init(&sealed, ES_PROTECT_MAX_BLOB);
            expand(r, rs.ids[i], col, aad, sizeof aad);
            es_slice blob = es_slice_make(c->p, c->len), a = es_slice_make(aad, strlen(aad));
            es_err orv = es_protect_open(p, st, blob, a, &plain);
            if (orv != ES_OK) {
                out->failed++; /* left as it is: es_protect_check lists it */
            } else if ((rv = es_protect_seal(p, st, es_slice_make(plain.p, plain.len), a,
                                             &sealed)) == ES_OK) {
                char upd[384];
                int64_t changed = 0;
                snprintf(upd, sizeof upd, "UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?", r->table,
                         col, r->id_col, col);
                es_value u[3] = {es_v_blob(sealed.p, sealed.len), es_v_int(rs.ids[i]),
                                 es_v_blob(c->p, c->len)};
                /* Only if nobody wrote the column meanwhile (they wrote it under the current
                 * key then). */
                if ((rv = es_store_exec(st, upd, u, 3, &changed)) == ES_OK && changed == 1)
                    out->rewritten++;
            }
            es_buf_cleanup_secret(&plain);
            es_buf_cleanup(&sealed);
        }
        if (rv == ES_OK) rv = es_store_commit(st);
        es_store_rollback(st);
        size_t got = rs.nrows;
        int cut = rs.cut;
        rowset_free(&rs);
        if (rv != ES_OK || out->more || (got < BATCH_ROWS && !cut)) return rv;
    }
}

es_err es_protect_reencrypt(es_protect *p, es_store *st, size_t max_rows, es_protect_pass *out)
{
    es_protect_pass scratch;
    regs g;
    int64_t current = 0;
    if (!out) out = &scratch;
    memset(out, 0, sizeof *out);
    if (!p || !st || max_rows == 0) return ES_ERR_ARG;
    es_err rv = es_store_query_int(st,
                                   "SELECT id FROM protect_keys WHERE purpose = 'data' AND state = "
                                   "'current'",
                                   NULL, 0, &current);
    if (rv == ES_ERR_NOT_FOUND) return ES_ERR_PROTECT_NO_KEY;
    if (rv != ES_OK || (rv = load_regs(st, NULL, &g)) != ES_OK) return rv;
    for (size_t i = 0; i < g.n && rv == ES_OK && !out->more; i++)
        for (size_t j = 0; j < g.r[i].n_sealed && rv == ES_OK && !out->more; j++)
            rv = reencrypt_column(p, st, &g.r[i], g.r[i].sealed[j], (uint32_t)current, max_rows,
                                  out);
    free(g.r);
    if (rv == ES_OK && !out->more && out->failed == 0) {
        /* Nothing under the previous keys any more (that this pass saw). */
        es_value v[1] = {es_v_int(es_time_now())};
        if ((rv = es_store_begin(st)) == ES_OK &&
            (rv = es_store_exec(st,
                                "UPDATE protect_keys SET state = 'retired', retired_at = ? WHERE "
                                "purpose = 'data' AND state = 'previous'",
                                v, 1, NULL)) == ES_OK)
            rv = es_store_commit(st);
        es_store_rollback(st);
    }
    return rv;
}

/* ---- KEK rotation. */

typedef struct keys_all {
    int64_t id[64];
    char purpose[64][8];
    char kek[64][65];
    uint8_t *wrapped[64];
    size_t wlen[64];
    size_t n;
    int more;
} keys_all;

static es_err keys_all_cb(void *ctx, const es_row *r)
{
    keys_all *k = ctx;
    if (k->n == 64) {
        k->more = 1;
        return ES_OK;
    }
    es_slice w = es_row_blob(r, 3);
    if (!w.p || w.len > PROTECT_WRAP_MAX) return ES_ERR_FORMAT;
    k->id[k->n] = es_row_int(r, 0);
    snprintf(k->purpose[k->n], 8, "%s", es_row_text(r, 1, NULL));
    snprintf(k->kek[k->n], 65, "%s", es_row_text(r, 2, NULL));
    if (!(k->wrapped[k->n] = malloc(w.len))) return ES_ERR_NOMEM;
    memcpy(k->wrapped[k->n], w.p, w.len);
    k->wlen[k->n++] = w.len;
    return ES_OK;
}

static void keys_all_free(keys_all *k)
{
    for (size_t i = 0; i < k->n; i++) free(k->wrapped[i]);
    k->n = 0;
}

es_err es_protect_rekek(es_protect *p, es_protect *to, es_store *st, char *why, size_t whylen)
{
    char scratch[8];
    int64_t after = 0;
    size_t moved = 0;
    es_err rv;
    if (!why || whylen == 0) {
        why = scratch;
        whylen = sizeof scratch;
    }
    why[0] = 0;
    if (!p || !to || !st) return ES_ERR_ARG;
    if ((rv = es_store_begin(st)) != ES_OK) return rv;
    for (;;) {
        keys_all k;
        memset(&k, 0, sizeof k);
        es_value v[1] = {es_v_int(after)};
        rv = es_store_query(st,
                            "SELECT id, purpose, kek, wrapped FROM protect_keys WHERE id > ? "
                            "ORDER BY id",
                            v, 1, keys_all_cb, &k);
        for (size_t i = 0; i < k.n && rv == ES_OK; i++) {
            uint8_t key[PROTECT_KEY_LEN];
            size_t len = 0;
            es_buf w;
            after = k.id[i];
            if (strcmp(k.kek[i], es_protect_kek_id(to)) == 0) continue; /* done before */
            if (strcmp(k.kek[i], es_protect_kek_id(p)) != 0) {
                snprintf(why, whylen, "key %lld is wrapped by neither key-encryption key",
                         (long long)k.id[i]);
                rv = ES_ERR_PROTECT_KEK;
                break;
            }
            es_buf_init(&w, PROTECT_WRAP_MAX);
            rv = protect_unwrap(p, k.id[i], k.purpose[i], es_slice_make(k.wrapped[i], k.wlen[i]),
                                key, &len);
            if (rv == ES_OK) rv = protect_wrap(to, k.id[i], k.purpose[i], key, len, &w);
            es_wipe(key, sizeof key);
            if (rv == ES_OK) {
                es_value u[3] = {es_v_blob(w.p, w.len), es_v_text(es_protect_kek_id(to)),
                                 es_v_int(k.id[i])};
                rv = es_store_exec(st, "UPDATE protect_keys SET wrapped = ?, kek = ? WHERE id = ?",
                                   u, 3, NULL);
                moved++;
            } else if (!why[0]) {
                snprintf(why, whylen, "key %lld: %s", (long long)k.id[i], es_err_str(rv));
            }
            es_buf_cleanup(&w);
        }
        int more = k.more;
        keys_all_free(&k);
        if (rv != ES_OK || !more) break;
    }
    if (rv == ES_OK) rv = es_store_commit(st);
    es_store_rollback(st);
    if (rv == ES_OK) {
        protect_cache_clear(p);
        snprintf(why, whylen, "%zu keys rewrapped", moved);
    } else if (!why[0]) {
        snprintf(why, whylen, "%s (%s)", es_err_str(rv), es_store_last_error(st));
    }
    return rv;
}

/* ---- Status. */

static es_err status_key_cb(void *ctx, const es_row *r)
{
    es_buf *out = ctx;
    char at[32];
    es_time_format_iso(es_row_int(r, 4), at);
    return es_buf_printf(out, "key %lld %s %s kek=%.16s created=%s%s%s\n",
                         (long long)es_row_int(r, 0), es_row_text(r, 1, NULL),
                         es_row_text(r, 2, NULL), es_row_text(r, 3, NULL), at,
                         es_row_is_null(r, 5) ? "" : " retired=",
                         es_row_is_null(r, 5) ? "" : es_row_text(r, 5, NULL));
}

static es_err status_count_cb(void *ctx, const es_row *r)
{
    es_buf *out = ctx;
    es_slice k = es_row_blob(r, 0);
    uint32_t id = k.p && k.len == 4 ? (uint32_t)k.p[0] << 24 | (uint32_t)k.p[1] << 16 |
                                          (uint32_t)k.p[2] << 8 | k.p[3]
                                    : 0;
    return es_buf_printf(out, " key%lu=%lld", (unsigned long)id, (long long)es_row_int(r, 1));
}

es_err es_protect_status(es_protect *p, es_store *st, es_buf *out)
{
    regs g;
    if (!st || !out) return ES_ERR_ARG;
    es_err rv =
        es_buf_printf(out, "kek %s%s\n", p ? es_protect_kek_id(p) : "(not opened)", p ? "" : "");
    if (rv == ES_OK)
        rv = es_store_query(st,
                            "SELECT id, purpose, state, kek, created_at, retired_at FROM "
                            "protect_keys ORDER BY id",
                            NULL, 0, status_key_cb, out);
    if (rv != ES_OK || (rv = load_regs(st, NULL, &g)) != ES_OK) return rv;
    for (size_t i = 0; i < g.n && rv == ES_OK; i++) {
        const reg *r = &g.r[i];
        rv = es_buf_printf(out, "table %s id=%s aad=%s mac=%s\n", r->table, r->id_col, r->aad,
                           r->mac_col[0] ? r->mac_col : "-");
        for (size_t j = 0; j < r->n_sealed && rv == ES_OK; j++) {
            char sql[512];
            snprintf(sql, sizeof sql,
                     "SELECT substr(%s, 3, 4), count(*) FROM %s WHERE %s IS NOT NULL GROUP BY "
                     "substr(%s, 3, 4) ORDER BY 1",
                     r->sealed[j], r->table, r->sealed[j], r->sealed[j]);
            if ((rv = es_buf_printf(out, "column %s.%s blobs:", r->table, r->sealed[j])) == ES_OK &&
                (rv = es_store_query(st, sql, NULL, 0, status_count_cb, out)) == ES_OK)
                rv = es_buf_append_str(out, "\n");
        }
    }
    free(g.r);
    return rv;
}

/* ---- Check. */

static void fail(es_protect_fail_fn fn, void *ctx, es_protect_counts *c, const char *table,
                 int64_t id, const char *column, es_err rv)
{
    c->failures++;
    if (fn) fn(ctx, table, id, column, rv);
}

static int index_of(const reg *r, const char *col)
{
    for (size_t i = 0; i < r->n_sealed; i++)
        if (strcmp(r->sealed[i], col) == 0) return (int)i;
    return -1;
}

static es_err check_table(es_protect *p, es_store *st, const reg *r, es_protect_fail_fn fn,
                          void *ctx, es_protect_counts *c)
{
    char sql[4096], aad[ES_PROTECT_MAX_AAD];
    size_t at, ncols = r->n_sealed + (r->mac_col[0] ? 1 + r->n_mac_over : 0);
    int64_t after = INT64_MIN;
    es_err rv = ES_OK;
    at = (size_t)snprintf(sql, sizeof sql, "SELECT %s", r->id_col);
    for (size_t i = 0; i < r->n_sealed; i++)
        at += (size_t)snprintf(sql + at, sizeof sql - at, ", %s", r->sealed[i]);
    if (r->mac_col[0]) {
        at += (size_t)snprintf(sql + at, sizeof sql - at, ", %s", r->mac_col);
        for (size_t i = 0; i < r->n_mac_over; i++)
            at += (size_t)snprintf(sql + at, sizeof sql - at, ", %s", r->mac_over[i]);
    }
    snprintf(sql + at, sizeof sql - at, " FROM %s WHERE %s > ? ORDER BY %s LIMIT %d", r->table,
             r->id_col, r->id_col, BATCH_ROWS);
    for (;;) {
        rowset rs = {ncols, 0, 0, 0, BATCH_ROWS, 0, NULL, NULL};
        es_value v[1] = {es_v_int(after)};
        if ((rv = es_store_query(st, sql, v, 1, rowset_cb, &rs)) != ES_OK) {
            rowset_free(&rs);
            return rv;
        }
        size_t got = rs.nrows;
        int cut = rs.cut;
        for (size_t i = 0; i < rs.nrows && rv == ES_OK; i++) {
            cell *row = &rs.cells[i * ncols];
            es_buf plains[ES_PROTECT_MAX_COLUMNS];
            int opened[ES_PROTECT_MAX_COLUMNS] = {0}, all = 1;
            after = rs.ids[i];
            c->rows++;
            for (size_t j = 0; j < r->n_sealed; j++) {
                es_buf_init(&plains[j], ES_PROTECT_MAX_PLAIN);
                if (row[j].type == ES_V_NULL) continue;
                c->blobs++;
                expand(r, rs.ids[i], r->sealed[j], aad, sizeof aad);
                es_err orv = es_protect_open(p, st, es_slice_make(row[j].p, row[j].len),
                                             es_slice_make(aad, strlen(aad)), &plains[j]);
                if (orv == ES_OK)
                    opened[j] = 1;
                else {
                    all = 0;
                    fail(fn, ctx, c, r->table, rs.ids[i], r->sealed[j], orv);
                }
            }
            if (r->mac_col[0]) {
                const char *names[ES_PROTECT_MAX_COLUMNS];
                es_value vals[ES_PROTECT_MAX_COLUMNS];
                cell *mac = &row[r->n_sealed];
                es_buf rec;
                es_buf_init(&rec, ES_PROTECT_MAX_PLAIN * 2u);
                c->macs++;
                for (size_t j = 0; j < r->n_mac_over; j++) {
                    cell *x = &row[r->n_sealed + 1 + j];
                    int s = index_of(r, r->mac_over[j]);
                    names[j] = r->mac_over[j];
                    if (x->type == ES_V_NULL)
                        vals[j] = es_v_null();
                    else if (s >= 0)
                        vals[j] = es_v_blob(plains[s].p, plains[s].len);
                    else
                        vals[j] = es_v_text((const char *)x->p);
                }
                es_err mrv =
                    !all ? ES_ERR_VERIFY /* a sealed part did not open */
                    : mac->type == ES_V_NULL
                        ? ES_ERR_VERIFY
                        : es_protect_record(r->table, rs.ids[i], names, vals, r->n_mac_over, &rec);
                if (mrv == ES_OK)
                    mrv = es_protect_mac_check(p, es_slice_make(rec.p, rec.len),
                                               (const char *)mac->p);
                if (mrv != ES_OK) fail(fn, ctx, c, r->table, rs.ids[i], "", mrv);
                es_buf_cleanup_secret(&rec);
            }
            for (size_t j = 0; j < r->n_sealed; j++) {
                (void)opened[j];
                es_buf_cleanup_secret(&plains[j]);
            }
        }
        rowset_free(&rs);
        if (rv != ES_OK || (got < BATCH_ROWS && !cut)) return rv;
    }
}

es_err es_protect_check(es_protect *p, es_store *st, es_protect_fail_fn fn, void *ctx,
                        es_protect_counts *out)
{
    es_protect_counts scratch;
    regs g;
    if (!out) out = &scratch;
    memset(out, 0, sizeof *out);
    if (!p || !st) return ES_ERR_ARG;
    es_err rv = load_regs(st, NULL, &g);
    for (size_t i = 0; i < g.n && rv == ES_OK; i++) rv = check_table(p, st, &g.r[i], fn, ctx, out);
    free(g.r);
    if (rv == ES_OK && out->failures) rv = ES_ERR_PROTECT_CHECK;
    return rv;
}
