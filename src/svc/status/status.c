/* The status model (include/eseal/status.h, docs/status.md "State at a time"): a seal's state
 * now and at any time, read from the making system's records (status_events, seals,
 * seal_certs, migration 7) and the CA's revocations (ca_certs, migration 3). Reads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/pki.h"
#include "eseal/status.h"

static const struct {
    const char *name, *zh;
} states[] = {
    {"active", "正常"},          {"suspended", "停用"}, {"lost", "挂失"},
    {"cancelled", "注销"},       {"revoked", "吊销"},   {"expired", "过期"},
    {"not_yet_valid", "未生效"}, {"unknown", "未知"},
};

const char *es_status_state_name(int s)
{
    return s >= 0 && s <= ES_STATUS_STATE_MAX ? states[s].name : NULL;
}

const char *es_status_state_zh(int s)
{
    return s >= 0 && s <= ES_STATUS_STATE_MAX ? states[s].zh : NULL;
}

int es_status_state_from_name(const char *name)
{
    for (int i = 0; name && i <= ES_STATUS_STATE_MAX; i++)
        if (!strcmp(states[i].name, name)) return i;
    return -1;
}

int es_status_state_valid(int s)
{
    return s == ES_STATUS_ACTIVE;
}

int es_status_code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n >= ES_STATUS_CODE_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int es_status_serial_norm(const char *in, char out[ES_STATUS_SERIAL_MAX])
{
    size_t n = in ? strlen(in) : 0;
    if (n == 0 || n >= ES_STATUS_SERIAL_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
    }
    while (n > 1 && in[0] == '0') {
        in++;
        n--;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'F' ? in[i] + 32 : in[i]);
    out[n] = 0;
    return 1;
}

/* ---- what the store holds about one seal */

#define MAX_CERTS 32

typedef struct cert_row {
    char serial[ES_STATUS_SERIAL_MAX];
    es_time not_before, not_after;
    /* Revoked for good (not on hold): when and why; revoked_at ES_TIME_NONE when not. by_ca:
     * by the CA's operator only (the making system recorded nothing). */
    es_time revoked_at;
    char reason[40];
    int by_ca;
} cert_row;

typedef struct seal_view {
    int found;
    char code[ES_STATUS_CODE_MAX];
    char current[ES_STATUS_SERIAL_MAX];
    size_t n_certs;
    cert_row certs[MAX_CERTS];
} seal_view;

static void copy_text(const es_row *r, int col, char *out, size_t max)
{
    size_t len = 0;
    const char *t = es_row_text(r, col, &len);
    if (!t || len >= max) len = 0;
    if (len) memcpy(out, t, len);
    out[len] = 0;
}

static es_err seal_row(void *ctx, const es_row *r)
{
    seal_view *v = ctx;
    v->found = 1;
    copy_text(r, 0, v->code, sizeof v->code);
    copy_text(r, 1, v->current, sizeof v->current);
    return ES_OK;
}

static es_err code_row(void *ctx, const es_row *r)
{
    seal_view *v = ctx;
    copy_text(r, 0, v->code, sizeof v->code);
    return ES_OK;
}

static es_err cert_rowf(void *ctx, const es_row *r)
{
    seal_view *v = ctx;
    if (v->n_certs >= MAX_CERTS) return ES_OK;
    cert_row *c = &v->certs[v->n_certs++];
    memset(c, 0, sizeof *c);
    copy_text(r, 0, c->serial, sizeof c->serial);
    c->not_before = es_row_int(r, 1);
    c->not_after = es_row_int(r, 2);
    c->revoked_at = ES_TIME_NONE;
    char reason[40];
    copy_text(r, 4, reason, sizeof reason);
    /* A hold is no revocation here: the seal's suspension says it (status_events). */
    if (!es_row_is_null(r, 3) && strcmp(reason, "certificateHold") != 0) {
        c->revoked_at = es_row_int(r, 3);
        snprintf(c->reason, sizeof c->reason, "%s", reason);
    } else if (!es_row_is_null(r, 5)) {
        /* Revoked by the CA's operator: the making system recorded no change of the seal. */
        c->revoked_at = es_row_int(r, 5);
        const char *n = es_pki_reason_name((int)es_row_int(r, 6));
        snprintf(c->reason, sizeof c->reason, "%s", n ? n : "unspecified");
        c->by_ca = 1;
    }
    return ES_OK;
}

static const cert_row *cert_of(const seal_view *v, const char *serial)
{
    for (size_t i = 0; i < v->n_certs; i++)
        if (!strcmp(v->certs[i].serial, serial)) return &v->certs[i];
    return NULL;
}

/* The CA's revocation of a certificate for good (not on hold), when the seal_certs row does
 * not record one: the certificate with that serial and those bytes in ca_certs. */
#define CA_REVOKED(col)                                                                            \
    "(SELECT MIN(c." col ") FROM ca_certs c WHERE c.serial = sc.cert_serial AND c.status = 'R' "   \
    "AND c.reason <> 6 AND (c.cert IS NULL OR c.cert = sc.cert))"

static es_err load_seal(es_store *st, const char *code, seal_view *v)
{
    es_value p[] = {es_v_text(code)};
    es_err rv =
        es_store_query(st, "SELECT code, cert_serial FROM seals WHERE code = ?", p, 1, seal_row, v);
    if (rv != ES_OK || !v->found) return rv;
    /* The latest certificates first (renewals add one each). */
    return es_store_query(
        st,
        "SELECT sc.cert_serial, sc.valid_start, sc.valid_end, sc.revoked_at, "
        "sc.reason, " CA_REVOKED("revoked_at") ", " CA_REVOKED(
            "reason") " FROM seal_certs sc WHERE sc.code = ? ORDER BY sc.id DESC LIMIT 32",
        p, 1, cert_rowf, v);
}

/* ---- the events of one seal, in order */

typedef struct ev_walk {
    es_time at, now;
    const char *serial; /* by certificate: the one asked about */
    /* The last event effective at `at` and at `now`; and (by certificate) the last naming the
     * certificate asked about. */
    int has_at, has_now, has_at_cert, has_now_cert;
    es_status_change ev_at, ev_now, ev_at_cert, ev_now_cert;
    /* The latest ES_STATUS_HISTORY_MAX events (a ring), and how many there were. */
    es_status_change ring[ES_STATUS_HISTORY_MAX];
    size_t n;
} ev_walk;

static es_err ev_row(void *ctx, const es_row *r)
{
    ev_walk *w = ctx;
    es_status_change c;
    memset(&c, 0, sizeof c);
    char state[16];
    c.seq = es_row_int(r, 0);
    copy_text(r, 1, c.cert_serial, sizeof c.cert_serial);
    copy_text(r, 2, state, sizeof state);
    c.effective_at = es_row_int(r, 3);
    copy_text(r, 4, c.reason, sizeof c.reason);
    c.state = es_status_state_from_name(state);
    if (c.state < 0) c.state = ES_STATUS_UNKNOWN;
    int named = w->serial && !strcmp(c.cert_serial, w->serial);
    if (c.effective_at <= w->at) {
        w->ev_at = c;
        w->has_at = 1;
        if (named) {
            w->ev_at_cert = c;
            w->has_at_cert = 1;
        }
    }
    if (c.effective_at <= w->now) {
        w->ev_now = c;
        w->has_now = 1;
        if (named) {
            w->ev_now_cert = c;
            w->has_now_cert = 1;
        }
    }
    w->ring[w->n % ES_STATUS_HISTORY_MAX] = c;
    w->n++;
    return ES_OK;
}

/* The state at t given the last event effective then (ev, NULL: none) and the certificate
 * that state is about (NULL: not in seal_certs). Final states first: lost and cancelled say
 * more than the certificate's revocation that came with them. */
static int state_of(const es_status_change *ev, const cert_row *c, es_time t)
{
    if (!ev) return ES_STATUS_NOT_YET_VALID;
    if (ev->state == ES_STATUS_LOST || ev->state == ES_STATUS_CANCELLED) return ev->state;
    if (c && c->revoked_at != ES_TIME_NONE && c->revoked_at <= t) return ES_STATUS_REVOKED;
    if (c && t < c->not_before) return ES_STATUS_NOT_YET_VALID;
    if (c && t > c->not_after) return ES_STATUS_EXPIRED;
    return ev->state;
}

/* Inserts c into the history kept in time order (a stable insertion: equal times keep the
 * order of arrival). */
static void history_add(es_status_result *out, const es_status_change *c)
{
    if (out->n_history >= ES_STATUS_HISTORY_MAX) {
        /* Full: the oldest goes (the history says it is not complete). */
        memmove(&out->history[0], &out->history[1],
                (ES_STATUS_HISTORY_MAX - 1) * sizeof out->history[0]);
        out->n_history--;
        out->history_complete = 0;
    }
    size_t i = out->n_history;
    while (i > 0 && out->history[i - 1].effective_at > c->effective_at) {
        out->history[i] = out->history[i - 1];
        i--;
    }
    out->history[i] = *c;
    out->n_history++;
}

es_err es_status_version(es_store *st, int64_t *seq, int64_t *revocations)
{
    *seq = *revocations = 0;
    es_err rv = es_store_query_int(
        st, "SELECT value FROM making_counters WHERE name = 'status_events'", NULL, 0, seq);
    if (rv == ES_ERR_NOT_FOUND) rv = ES_OK;
    if (rv != ES_OK) return rv;
    rv = es_store_query_int(st, "SELECT COUNT(*) FROM ca_certs WHERE status = 'R' AND reason <> 6",
                            NULL, 0, revocations);
    return rv == ES_ERR_NOT_FOUND ? ES_OK : rv;
}

es_err es_status_lookup(es_store *st, int by, const char *key, es_time at, es_time now,
                        es_status_result *out)
{
    memset(out, 0, sizeof *out);
    out->by = by;
    out->at = at;
    out->state_now = out->state_at = ES_STATUS_UNKNOWN;
    out->history_complete = 1;
    char serial[ES_STATUS_SERIAL_MAX] = "";
    if (by == ES_STATUS_BY_CODE) {
        if (!es_status_code_ok(key)) return ES_ERR_ARG;
        snprintf(out->code, sizeof out->code, "%s", key);
    } else if (by == ES_STATUS_BY_CERT) {
        if (!es_status_serial_norm(key, serial)) return ES_ERR_ARG;
        snprintf(out->cert_serial, sizeof out->cert_serial, "%s", serial);
    } else {
        return ES_ERR_ARG;
    }
    int64_t revs = 0;
    es_err rv = es_status_version(st, &out->seq, &revs);
    if (rv != ES_OK) return rv;
    seal_view *v = calloc(1, sizeof *v);
    ev_walk *w = calloc(1, sizeof *w);
    if (!v || !w) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    char code[ES_STATUS_CODE_MAX] = "";
    if (by == ES_STATUS_BY_CODE) {
        snprintf(code, sizeof code, "%s", key);
    } else {
        es_value p[] = {es_v_text(serial)};
        if ((rv = es_store_query(st, "SELECT code FROM seal_certs WHERE cert_serial = ?", p, 1,
                                 code_row, v)) != ES_OK)
            goto out;
        snprintf(code, sizeof code, "%s", v->code);
        if (!code[0]) goto out; /* unknown certificate */
    }
    if ((rv = load_seal(st, code, v)) != ES_OK) goto out;
    if (!v->found) goto out; /* unknown seal */
    snprintf(out->code, sizeof out->code, "%s", v->code);
    w->at = at;
    w->now = now;
    w->serial = by == ES_STATUS_BY_CERT ? serial : NULL;
    es_value p[] = {es_v_text(code)};
    if ((rv = es_store_query(st,
                             "SELECT seq, cert_serial, state, effective_at, reason FROM "
                             "status_events WHERE code = ? ORDER BY seq",
                             p, 1, ev_row, w)) != ES_OK)
        goto out;

    const es_status_change *e_at, *e_now;
    const cert_row *c_at, *c_now;
    if (by == ES_STATUS_BY_CODE) {
        e_at = w->has_at ? &w->ev_at : NULL;
        e_now = w->has_now ? &w->ev_now : NULL;
        c_at = e_at ? cert_of(v, e_at->cert_serial) : cert_of(v, v->current);
        c_now = e_now ? cert_of(v, e_now->cert_serial) : cert_of(v, v->current);
        if (e_at) snprintf(out->cert_serial, sizeof out->cert_serial, "%s", e_at->cert_serial);
    } else {
        /* The certificate asked about: the last event naming it (a later event naming another
         * certificate means this one was replaced: its revocation says so). */
        e_at = w->has_at_cert ? &w->ev_at_cert : NULL;
        e_now = w->has_now_cert ? &w->ev_now_cert : NULL;
        c_at = c_now = cert_of(v, serial);
    }
    out->state_at = state_of(e_at, c_at, at);
    out->state_now = state_of(e_now, c_now, now);
    const cert_row *cv = c_at ? c_at : c_now;
    if (cv) {
        out->has_validity = 1;
        out->not_before = cv->not_before;
        out->not_after = cv->not_after;
    }

    /* The history: the recorded events (the latest ES_STATUS_HISTORY_MAX), then what the
     * making system did not record: the CA's revocations and the end of validity. */
    size_t first = w->n > ES_STATUS_HISTORY_MAX ? w->n - ES_STATUS_HISTORY_MAX : 0;
    out->history_complete = first == 0;
    for (size_t i = first; i < w->n; i++) history_add(out, &w->ring[i % ES_STATUS_HISTORY_MAX]);
    for (size_t i = 0; i < v->n_certs; i++) {
        const cert_row *c = &v->certs[i];
        if (c->by_ca && c->revoked_at <= now) {
            es_status_change ch = {0, ES_STATUS_REVOKED, c->revoked_at, "", ""};
            snprintf(ch.reason, sizeof ch.reason, "ca:%s", c->reason);
            snprintf(ch.cert_serial, sizeof ch.cert_serial, "%s", c->serial);
            history_add(out, &ch);
        }
    }
    const cert_row *cur = cert_of(v, by == ES_STATUS_BY_CERT ? serial : v->current);
    if (cur && cur->not_after < now && out->state_now == ES_STATUS_EXPIRED) {
        es_status_change ch = {0, ES_STATUS_EXPIRED, cur->not_after + 1, "validity", ""};
        snprintf(ch.cert_serial, sizeof ch.cert_serial, "%s", cur->serial);
        history_add(out, &ch);
    }
out:
    free(v);
    free(w);
    return rv;
}

int es_status_valid_at(es_store *st, const char *code, es_time at)
{
    es_status_result *r = malloc(sizeof *r);
    if (!r) return -1;
    es_err rv = es_status_lookup(st, ES_STATUS_BY_CODE, code, at, es_time_now(), r);
    int ok = rv != ES_OK ? -1 : es_status_state_valid(r->state_at);
    free(r);
    return ok;
}

typedef struct changes_ctx {
    es_status_change_cb cb;
    void *ctx;
} changes_ctx;

static es_err change_row(void *ctx, const es_row *r)
{
    changes_ctx *x = ctx;
    char code[ES_STATUS_CODE_MAX], state[16];
    es_status_change c;
    memset(&c, 0, sizeof c);
    c.seq = es_row_int(r, 0);
    copy_text(r, 1, code, sizeof code);
    copy_text(r, 2, c.cert_serial, sizeof c.cert_serial);
    copy_text(r, 3, state, sizeof state);
    c.effective_at = es_row_int(r, 4);
    copy_text(r, 5, c.reason, sizeof c.reason);
    c.state = es_status_state_from_name(state);
    if (c.state < 0) c.state = ES_STATUS_UNKNOWN;
    return x->cb(x->ctx, code, &c);
}

es_err es_status_changes(es_store *st, int64_t after, int64_t limit, es_status_change_cb cb,
                         void *ctx)
{
    if (limit <= 0 || limit > 10000 || !cb) return ES_ERR_ARG;
    changes_ctx x = {cb, ctx};
    es_value p[] = {es_v_int(after), es_v_int(limit)};
    return es_store_query(st,
                          "SELECT seq, code, cert_serial, state, effective_at, reason FROM "
                          "status_events WHERE seq > ? ORDER BY seq LIMIT ?",
                          p, 2, change_row, &x);
}
