/* What an attacker with the site's files does to the audit trail (issue 13, item 3): the
 * audit key and its passphrase lie in var/keys, so every record, checkpoint and the head can
 * be signed again. Used by tests/test_audit.c and tests/audit_fixture.c (for
 * tests/cli/audit.sh); the witness is what finds it (docs/audit.md "Witness"). */
#ifndef ESEAL_TEST_AUDIT_FORGE_H
#define ESEAL_TEST_AUDIT_FORGE_H

#include <stdio.h>
#include <string.h>

#include "audit/internal.h"
#include "eseal/audit.h"
#include "eseal/signer.h"
#include "eseal/store.h"
#include "store_test.h"

/* st_unguard, and the guards of the checkpoints and the head (schema version 4). */
static inline void forge_unguard(es_store *s)
{
    static const char *const sqlite_sql[] = {"DROP TRIGGER IF EXISTS audit_head_no_insert",
                                             "DROP TRIGGER IF EXISTS audit_checkpoint_in_order",
                                             "DROP TRIGGER IF EXISTS audit_checkpoint_no_update",
                                             "DROP TRIGGER IF EXISTS audit_checkpoint_no_delete",
                                             NULL};
    static const char *const pg_sql[] = {
        "DROP TRIGGER IF EXISTS audit_head_no_insert ON audit_head",
        "DROP TRIGGER IF EXISTS audit_checkpoint_in_order ON audit_checkpoint",
        "DROP TRIGGER IF EXISTS audit_checkpoint_no_change ON audit_checkpoint",
        "DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint", NULL};
    st_unguard(s);
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    for (const char *const *q = pg ? pg_sql : sqlite_sql; *q; q++) st_sql(s, *q);
}

typedef struct forge_rec {
    int64_t seq, at;
    char f[AF_COUNT][256];
    uint8_t nonce[ES_AUDIT_NONCE_LEN], hash[ES_SM3_LEN];
} forge_rec;

typedef struct forge_set {
    int n;
    forge_rec r[64];
} forge_set;

static inline es_err forge_row(void *ctx, const es_row *row)
{
    forge_set *fs = ctx;
    audit_raw raw;
    audit_raw_from_row(row, &raw);
    if (fs->n >= 64 || raw.ver != 2 || raw.nonce.len != ES_AUDIT_NONCE_LEN) return ES_ERR_LIMIT;
    forge_rec *r = &fs->r[fs->n++];
    r->seq = raw.seq;
    r->at = raw.at;
    for (int i = 0; i < AF_COUNT; i++)
        snprintf(r->f[i], sizeof r->f[i], "%.*s", (int)raw.f[i].len, (const char *)raw.f[i].p);
    memcpy(r->nonce, raw.nonce.p, ES_AUDIT_NONCE_LEN);
    return ES_OK;
}

/* Rewrites record seq's detail, signs it again with the site's audit key, chains every
 * record again from there, and replaces every checkpoint and the head with ones signed
 * again: what issue 13 did with file access. */
static inline void forge_rewrite(es_store *s, es_signer *key, int64_t seq, const char *detail)
{
    forge_set fs = {0};
    if (es_store_query(s, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq", NULL, 0, forge_row,
                       &fs) != ES_OK)
        st_die("forge: read: %s", es_store_last_error(s));
    forge_unguard(s);
    if (es_store_begin(s) != ES_OK) st_die("forge: begin");
    uint8_t prev[ES_SM3_LEN] = {0};
    for (int i = 0; i < fs.n; i++) {
        forge_rec *r = &fs.r[i];
        if (r->seq == seq) snprintf(r->f[AF_DETAIL], sizeof r->f[AF_DETAIL], "%s", detail);
        es_slice f[AF_COUNT];
        for (int k = 0; k < AF_COUNT; k++) f[k] = es_slice_make(r->f[k], strlen(r->f[k]));
        es_buf c, sig;
        es_buf_init(&c, 4096);
        es_buf_init(&sig, ES_AUDIT_MAX_SIG);
        if (audit_content_der(r->nonce, ES_AUDIT_NONCE_LEN, r->at, f, &c) != ES_OK ||
            audit_record_hash2(prev, ES_SM3_LEN, r->seq, c.p, c.len, r->hash) != ES_OK ||
            es_signer_sign_message(key, NULL, c.p, c.len, &sig) != ES_OK)
            st_die("forge: sign");
        es_value v[5] = {es_v_text(r->f[AF_DETAIL]), es_v_blob(prev, ES_SM3_LEN),
                         es_v_blob(r->hash, ES_SM3_LEN), es_v_blob(sig.p, sig.len),
                         es_v_int(r->seq)};
        if (es_store_exec(s,
                          "UPDATE audit SET detail = ?, prev = ?, hash = ?, sig = ? WHERE seq = ?",
                          v, 5, NULL) != ES_OK)
            st_die("forge: update: %s", es_store_last_error(s));
        memcpy(prev, r->hash, ES_SM3_LEN);
        es_buf_cleanup(&c);
        es_buf_cleanup(&sig);
    }
    /* Every checkpoint again, and the head: the newest record, signed now. */
    if (es_store_exec(s, "DELETE FROM audit_checkpoint", NULL, 0, NULL) != ES_OK)
        st_die("forge: checkpoints: %s", es_store_last_error(s));
    forge_rec *last = &fs.r[fs.n - 1];
    es_buf tbs, sig;
    es_buf_init(&tbs, 128);
    es_buf_init(&sig, ES_AUDIT_MAX_SIG);
    int64_t at = last->at + 1;
    if (audit_head_tbs(last->seq, last->hash, at, &tbs) != ES_OK ||
        es_signer_sign_message(key, NULL, tbs.p, tbs.len, &sig) != ES_OK)
        st_die("forge: head");
    es_value cp[4] = {es_v_int(last->seq), es_v_blob(last->hash, ES_SM3_LEN), es_v_int(at),
                      es_v_blob(sig.p, sig.len)};
    es_value hd[6] = {es_v_int(last->seq), es_v_blob(last->hash, ES_SM3_LEN),
                      es_v_int(at),        es_v_blob(sig.p, sig.len),
                      es_v_int(last->seq), es_v_blob(last->hash, ES_SM3_LEN)};
    if (es_store_exec(s, "INSERT INTO audit_checkpoint (seq, hash, at, sig) VALUES (?, ?, ?, ?)",
                      cp, 4, NULL) != ES_OK ||
        es_store_exec(s,
                      "UPDATE audit_head SET seq = ?, hash = ?, at = ?, sig = ?, tip_seq = ?, "
                      "tip_hash = ? WHERE id = 1",
                      hd, 6, NULL) != ES_OK ||
        es_store_commit(s) != ES_OK)
        st_die("forge: checkpoint: %s", es_store_last_error(s));
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
}

/* Deletes every record and checkpoint and sets the head back to the genesis state. */
static inline void forge_wipe(es_store *s)
{
    static const uint8_t zero[ES_SM3_LEN];
    forge_unguard(s);
    st_sql(s, "DELETE FROM audit");
    st_sql(s, "DELETE FROM audit_checkpoint");
    es_value hd[3] = {es_v_blob(zero, ES_SM3_LEN), es_v_blob("", 0), es_v_blob(zero, ES_SM3_LEN)};
    if (es_store_begin(s) != ES_OK ||
        es_store_exec(s,
                      "UPDATE audit_head SET seq = 0, hash = ?, at = 0, sig = ?, tip_seq = 0, "
                      "tip_hash = ? WHERE id = 1",
                      hd, 3, NULL) != ES_OK ||
        es_store_commit(s) != ES_OK)
        st_die("forge: wipe: %s", es_store_last_error(s));
}

#endif
