/* The witness daemon's service (include/eseal/witness.h, docs/audit.md "Witness"): the
 * checkpoints of the sites below it, kept in its own audit trail (append-only, signed,
 * chained), one record each. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/witness.h"
#include "svc/internal.h"

#define ACTION_CHECKPOINT "witness.checkpoint"
#define ACTION_REFUSED    "witness.refused"

typedef struct newest {
    int found, bad;
    es_audit_witnessed c;
} newest;

static es_err newest_row(void *ctx, const es_row *row)
{
    newest *n = ctx;
    size_t len = 0;
    const char *t = es_row_text(row, 0, &len);
    es_audit_witness w;
    char why[8];
    n->found = 1;
    if (es_audit_witness_parse((const uint8_t *)t, len, &w, why, sizeof why) != ES_OK || w.n != 1)
        n->bad = 1;
    else
        n->c = w.cp[0];
    es_audit_witness_cleanup(&w);
    return ES_OK;
}

/* The newest checkpoint held for object, before record seq (0: any). */
static es_err newest_held(es_store *s, const char *object, int64_t before, newest *out)
{
    memset(out, 0, sizeof *out);
    es_value p[3] = {es_v_text(ACTION_CHECKPOINT), es_v_text(object), es_v_int(before)};
    return es_store_query(s,
                          before ? "SELECT detail FROM audit WHERE action = ? AND object = ? AND "
                                   "seq < ? ORDER BY seq DESC LIMIT 1"
                                 : "SELECT detail FROM audit WHERE action = ? AND object = ? "
                                   "ORDER BY seq DESC LIMIT 1",
                          p, before ? 3 : 2, newest_row, out);
}

/* The body: a witness line and "pub". */
static es_err parse_body(const uint8_t *body, size_t len, es_audit_witnessed *c,
                         uint8_t pub[ES_SM2_PUB_LEN], char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *p = json_object_get(o, "pub");
    es_err rv = ES_ERR_ARG;
    char *line = NULL;
    es_buf b;
    es_buf_init(&b, ES_SM2_PUB_LEN);
    es_audit_witness w = {0};
    if (!json_is_object(o) || !json_is_string(p) ||
        es_hex_decode(json_string_value(p), json_string_length(p), &b) != ES_OK ||
        b.len != ES_SM2_PUB_LEN || es_sm2_pub_check(b.p) != ES_OK) {
        snprintf(why, whylen, "the body is a witness line with pub, the hex of the public key");
        goto out;
    }
    memcpy(pub, b.p, ES_SM2_PUB_LEN);
    json_object_del(o, "pub");
    line = json_dumps(o, JSON_COMPACT);
    char inner[120] = "";
    if (!line ||
        es_audit_witness_parse((const uint8_t *)line, strlen(line), &w, inner, sizeof inner) !=
            ES_OK ||
        w.n != 1) {
        snprintf(why, whylen, "not a witness line: %s", inner[0] ? inner : "empty");
        goto out;
    }
    *c = w.cp[0];
    c->line = 0;
    if (es_audit_witnessed_verify(c, pub) != ES_OK) {
        snprintf(why, whylen, "checkpoint %lld is not signed by the key pub", (long long)c->seq);
        rv = ES_ERR_VERIFY;
        goto out;
    }
    rv = ES_OK;
out:
    free(line);
    json_decref(o);
    es_buf_cleanup(&b);
    es_audit_witness_cleanup(&w);
    return rv;
}

/* ES_OK when c may follow held; ES_ERR_WITNESS with why when not; *same when it is held. */
static es_err compare(const newest *held, const es_audit_witnessed *c, int *same, char *why,
                      size_t whylen)
{
    *same = 0;
    if (!held->found) return ES_OK;
    if (held->bad) {
        snprintf(why, whylen, "the newest checkpoint held cannot be read");
        return ES_ERR_INTERNAL;
    }
    const es_audit_witnessed *h = &held->c;
    if (memcmp(h->key_id, c->key_id, ES_SM3_LEN) != 0) {
        snprintf(why, whylen, "checkpoint %lld is signed by another key than the ones held",
                 (long long)c->seq);
        return ES_ERR_WITNESS;
    }
    if (c->seq == h->seq && memcmp(c->hash, h->hash, ES_SM3_LEN) == 0) {
        *same = 1;
        return ES_OK;
    }
    if (c->seq == h->seq) {
        snprintf(why, whylen,
                 "checkpoint %lld disagrees with the one held: another hash for the same record "
                 "(the site's trail was rewritten)",
                 (long long)c->seq);
        return ES_ERR_WITNESS;
    }
    if (c->seq < h->seq) {
        snprintf(why, whylen,
                 "checkpoint %lld is behind the one held (%lld): the site's trail is shorter "
                 "than what was witnessed",
                 (long long)c->seq, (long long)h->seq);
        return ES_ERR_WITNESS;
    }
    return ES_OK;
}

es_err es_witness_accept(es_accounts *a, const es_actor *by, const char *client,
                         const uint8_t *body, size_t len, int *stored, char *why, size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (stored) *stored = 0;
    if (!a || !by || !client || !*client || (!body && len)) return ES_ERR_ARG;
    char object[ES_AUDIT_MAX_FIELD];
    snprintf(object, sizeof object, "site:%.200s", client);
    es_audit_witnessed c;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_err rv = parse_body(body, len, &c, pub, why, whylen);
    if (rv != ES_OK) return rv;
    es_audit_head h;
    es_audit_witnessed_head(&c, &h);
    es_buf line;
    es_buf_init(&line, 1024);
    svc_rec rec;
    newest held;
    int same = 0;
    /* A cheap look first: most sends are the one held already, or the next. */
    if ((rv = newest_held(a->store, object, 0, &held)) != ES_OK) goto out;
    if ((rv = compare(&held, &c, &same, why, whylen)) != ES_OK || same) goto refused;
    if ((rv = es_audit_witness_line(&h, pub, &line)) != ES_OK || (rv = es_buf_nul(&line)) != ES_OK)
        goto out;
    line.p[--line.len] = 0; /* no newline in the record */
    if ((rv = svc_audit_prepare(a, by, ACTION_CHECKPOINT, object, (const char *)line.p, &rec)) !=
        ES_OK)
        goto out;
    if ((rv = es_store_begin(a->store)) != ES_OK) goto out;
    /* After the append the chain's tip is locked (PostgreSQL) or the database is
     * (SQLite): the newest checkpoint held is read again under it, so that two senders of
     * one site cannot both pass the comparison. */
    if ((rv = svc_audit_append(a, &rec)) != ES_OK ||
        (rv = newest_held(a->store, object, rec.rec.seq, &held)) != ES_OK) {
        es_store_rollback(a->store);
        goto out;
    }
    if ((rv = compare(&held, &c, &same, why, whylen)) != ES_OK || same) {
        es_store_rollback(a->store);
        goto refused;
    }
    if ((rv = es_store_commit(a->store)) != ES_OK) goto out;
    if (stored) *stored = 1;
    goto out;
refused:
    if (rv == ES_ERR_WITNESS) {
        /* The alarm, in this daemon's trail: a site's history went back or was rewritten. */
        char detail[800];
        snprintf(detail, sizeof detail, "{\"seq\":%lld,\"reason\":\"%.600s\"}", (long long)c.seq,
                 why);
        es_err arv = svc_audit_alone(a, by, ACTION_REFUSED, object, detail);
        if (arv != ES_OK) rv = arv;
    }
out:
    es_buf_cleanup(&line);
    return rv;
}

typedef struct list_ctx {
    es_buf *out;
} list_ctx;

static es_err list_row(void *ctx, const es_row *row)
{
    list_ctx *l = ctx;
    size_t len = 0;
    const char *t = es_row_text(row, 0, &len);
    es_err rv = es_buf_append(l->out, t, len);
    if (rv == ES_OK) rv = es_buf_append_byte(l->out, '\n');
    return rv;
}

es_err es_witness_list(es_store *s, const char *client, int only_newest, es_buf *out)
{
    if (!s || !client || !out) return ES_ERR_ARG;
    char object[ES_AUDIT_MAX_FIELD];
    snprintf(object, sizeof object, "site:%.200s", client);
    es_value p[2] = {es_v_text(ACTION_CHECKPOINT), es_v_text(object)};
    list_ctx l = {out};
    return es_store_query(s,
                          only_newest ? "SELECT detail FROM audit WHERE action = ? AND object = ? "
                                        "ORDER BY seq DESC LIMIT 1"
                                      : "SELECT detail FROM audit WHERE action = ? AND object = ? "
                                        "ORDER BY seq",
                          p, 2, list_row, &l);
}
