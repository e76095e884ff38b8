/* The national platform simulator (include/eseal/upstream.h, docs/upstream.md): what an esealsd
 * of tier national-simulator answers in place of the real platform, which cannot be reached
 * and whose interface (ZWFW C 0122) is not public. A SIMULATOR: its codes are real in shape
 * (GB/T 2260 division + 8-digit serial, national.md), its police key and information are
 * random and labelled blobs, and every answer says "simulator": true. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/site.h"
#include "eseal/upstream.h"
#include "svc/internal.h"

#define SERIAL_MAX 99999999LL
#define CERT_MAX   (64u << 10)
#define SEAL_MAX   (4u << 20)
#define REASON_MAX 512
#define STATE_MAX  32
#define SIM_ISSUER "national-platform-simulator"
#define TRIES      3 /* a transaction that lost a race to the same key is run again */

/* The wire body {"key": KEY, "body": {...}} of one request. */
typedef struct wire {
    json_t *root, *body;
    const char *key;
    char sm3[65]; /* of the body in canonical form (sorted keys, compact) */
} wire;

static es_err bad(const char **field, const char *name, char *why, size_t whylen, const char *fmt,
                  const char *detail)
{
    if (field) *field = name;
    snprintf(why, whylen, fmt, name, detail ? detail : "");
    return ES_ERR_ARG;
}

static es_err wire_parse(es_slice b, wire *w, const char **field, char *why, size_t whylen)
{
    memset(w, 0, sizeof *w);
    json_error_t jerr;
    if (!b.len || b.len > ES_UPSTREAM_MAX_BODY + ES_UPSTREAM_KEY_MAX + 64)
        return bad(field, "body", why, whylen, "%s: one JSON object {\"key\", \"body\"}%s", NULL);
    w->root = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(w->root))
        return bad(field, "body", why, whylen, "%s: one JSON object {\"key\", \"body\"}%s", NULL);
    const char *name;
    json_t *v;
    json_object_foreach(w->root, name, v)
    {
        if (strcmp(name, "key") && strcmp(name, "body"))
            return bad(field, "body", why, whylen, "%s: unknown member %s", name);
    }
    w->key = json_string_value(json_object_get(w->root, "key"));
    size_t kl = w->key ? strlen(w->key) : 0;
    int key_ok = kl > 0 && kl <= ES_UPSTREAM_KEY_MAX;
    for (size_t i = 0; key_ok && i < kl; i++)
        key_ok = w->key[i] > 0x20 && w->key[i] < 0x7f && w->key[i] != '"' && w->key[i] != '\\';
    if (!key_ok)
        return bad(field, "key", why, whylen,
                   "%s: the request's idempotency key, 1 to 128 printable characters%s", NULL);
    w->body = json_object_get(w->root, "body");
    if (!json_is_object(w->body))
        return bad(field, "body", why, whylen, "%s: a JSON object%s", NULL);
    char *canon = json_dumps(w->body, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t h[ES_SM3_LEN];
    es_err rv = canon ? es_sm3(canon, strlen(canon), h) : ES_ERR_NOMEM;
    free(canon);
    if (rv != ES_OK) return rv;
    es_hex_encode(h, sizeof h, w->sm3);
    return ES_OK;
}

static void wire_free(wire *w)
{
    json_decref(w->root);
}

static int digits(const char *s, size_t n)
{
    return s && strlen(s) == n && strspn(s, "0123456789") == n;
}

static es_err answer_json(json_t *o, es_buf *answer)
{
    if (!o) return ES_ERR_NOMEM;
    json_object_set_new(o, "simulator", json_true());
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!t) return ES_ERR_NOMEM;
    es_err rv = es_buf_append_str(answer, t);
    free(t);
    return rv;
}

static json_t *time_json(int64_t t)
{
    char s[32];
    es_time_format_iso(t, s);
    return json_string(s);
}

static json_t *b64_json(es_slice s)
{
    es_buf b;
    es_buf_init(&b, 4 * s.len + 8);
    json_t *j = es_base64_encode(s.p, s.len, &b) == ES_OK && es_buf_nul(&b) == ES_OK
                    ? json_string((const char *)b.p)
                    : NULL;
    es_buf_cleanup(&b);
    return j;
}

static json_t *sha_json(const char *hex)
{
    return json_string(hex);
}

/* ---- One request, checked before anything is read or written (es_national_request_check). */

typedef struct request {
    wire w;
    const char *division; /* code.assign */
    const char *code;     /* seal.file, seal.status */
    es_buf cert, seal;    /* seal.file: decoded */
    char cert_sm3[65], seal_sm3[65];
    const char *state, *reason; /* seal.status */
    es_time at;
} request;

static es_err b64_member(json_t *o, const char *name, es_buf *out, const char **field, char *why,
                         size_t whylen)
{
    json_t *v = json_object_get(o, name);
    out->len = 0;
    if (!json_is_string(v) ||
        es_base64_decode(json_string_value(v), json_string_length(v), out) != ES_OK ||
        out->len == 0)
        return bad(field, name, why, whylen, "%s: base64 of the DER%s", NULL);
    return ES_OK;
}

/* 1 when the certificate's subject names CN=code. */
static int cert_names(es_slice der, const char *code)
{
    es_cert_info ci;
    memset(&ci, 0, sizeof ci);
    if (es_cert_parse(der, &ci) != ES_OK) return 0;
    int found = 0;
    char want[32];
    snprintf(want, sizeof want, "CN=%s", code);
    for (const char *p = ci.subject; p && (p = strstr(p, want)); p++) {
        char after = p[strlen(want)];
        if ((p == ci.subject || p[-1] == ',' || p[-1] == ' ') &&
            (after == 0 || after == ',' || after == '+'))
            found = 1;
    }
    es_cert_info_cleanup(&ci);
    return found;
}

static es_err sm3_hex(const es_buf *b, char out[65])
{
    uint8_t h[ES_SM3_LEN];
    es_err rv = es_sm3(b->p, b->len, h);
    if (rv == ES_OK) es_hex_encode(h, sizeof h, out);
    return rv;
}

static void request_free(request *r)
{
    wire_free(&r->w);
    es_buf_cleanup(&r->cert);
    es_buf_cleanup(&r->seal);
}

/* Parses and checks the wire body of kind into r (request_free it, also on failure). */
static es_err request_parse(const char *kind, es_slice body, request *r, const char **field,
                            char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    es_buf_init(&r->cert, CERT_MAX);
    es_buf_init(&r->seal, SEAL_MAX);
    es_err rv = wire_parse(body, &r->w, field, why, whylen);
    if (rv != ES_OK) return rv;
    json_t *b = r->w.body;
    if (strcmp(kind, ES_UPSTREAM_CODE_ASSIGN) == 0) {
        r->division = json_string_value(json_object_get(b, "approver_division"));
        if (!digits(r->division, 6) || !es_division_province(r->division))
            return bad(field, "approver_division", why, whylen,
                       "%s: the approving unit's GB/T 2260 division code, 6 digits of a "
                       "province%s",
                       NULL);
        return ES_OK;
    }
    r->code = json_string_value(json_object_get(b, "code"));
    if (!digits(r->code, 14))
        return bad(field, "code", why, whylen, "%s: the 14-digit national code%s", NULL);
    if (strcmp(kind, ES_UPSTREAM_SEAL_FILE) == 0) {
        if ((rv = b64_member(b, "certificate", &r->cert, field, why, whylen)) != ES_OK ||
            (rv = b64_member(b, "seal", &r->seal, field, why, whylen)) != ES_OK)
            return rv;
        if (!cert_names(es_slice_make(r->cert.p, r->cert.len), r->code))
            return bad(field, "certificate", why, whylen,
                       "%s: a certificate whose subject is CN=the code%s", NULL);
        if ((rv = sm3_hex(&r->cert, r->cert_sm3)) != ES_OK) return rv;
        return sm3_hex(&r->seal, r->seal_sm3);
    }
    if (strcmp(kind, ES_UPSTREAM_SEAL_STATUS) != 0) return ES_ERR_ARG;
    json_t *rj = json_object_get(b, "reason"), *aj = json_object_get(b, "at");
    r->state = json_string_value(json_object_get(b, "state"));
    r->reason = rj ? json_string_value(rj) : "";
    if (!r->state || !*r->state || strlen(r->state) > STATE_MAX ||
        strspn(r->state, "abcdefghijklmnopqrstuvwxyz_") != strlen(r->state))
        return bad(field, "state", why, whylen,
                   "%s: the seal's new state (active, suspended, lost, cancelled, ...)%s", NULL);
    if (!r->reason || strlen(r->reason) > REASON_MAX)
        return bad(field, "reason", why, whylen, "%s: text of at most 512 bytes%s", NULL);
    if (json_is_integer(aj) && json_integer_value(aj) > 0) {
        r->at = json_integer_value(aj);
    } else if (!json_is_string(aj) || es_time_parse_iso(json_string_value(aj), &r->at) != ES_OK) {
        return bad(field, "at", why, whylen,
                   "%s: when the change takes effect (Unix seconds or ISO 8601)%s", NULL);
    }
    return ES_OK;
}

es_err es_national_request_check(const char *kind, es_slice body, const char **field, char *why,
                                 size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (field) *field = NULL;
    if (!kind || !es_upstream_path(kind) || (!body.p && body.len)) return ES_ERR_ARG;
    request r;
    es_err rv = request_parse(kind, body, &r, field, why, whylen);
    request_free(&r);
    return rv;
}

/* ---- Codes. */

typedef struct code_row {
    int found;
    char code[15], sm3[65];
    es_buf key, info;
    int64_t at;
} code_row;

static es_err code_row_cb(void *ctx, const es_row *r)
{
    code_row *c = ctx;
    c->found = 1;
    snprintf(c->code, sizeof c->code, "%s", es_row_text(r, 0, NULL));
    snprintf(c->sm3, sizeof c->sm3, "%s", es_row_text(r, 1, NULL));
    es_slice k = es_row_blob(r, 2), i = es_row_blob(r, 3);
    c->key.len = c->info.len = 0;
    c->at = es_row_int(r, 4);
    es_err rv = es_buf_append(&c->key, k.p, k.len);
    return rv == ES_OK ? es_buf_append(&c->info, i.p, i.len) : rv;
}

static es_err code_find(es_store *st, const char *client, const char *key, code_row *c)
{
    es_value p[2] = {es_v_text(client), es_v_text(key)};
    c->found = 0;
    return es_store_query(st,
                          "SELECT code, body_sm3, police_key, police_info, assigned_at FROM "
                          "national_codes WHERE client = ? AND req_key = ?",
                          p, 2, code_row_cb, c);
}

static es_err code_answer(const code_row *c, es_buf *answer)
{
    json_t *o = json_object();
    if (!o) return ES_ERR_NOMEM;
    json_object_set_new(o, "code", json_string(c->code));
    json_object_set_new(o, "police_key", b64_json(es_slice_make(c->key.p, c->key.len)));
    json_object_set_new(o, "police_info", b64_json(es_slice_make(c->info.p, c->info.len)));
    json_object_set_new(o, "assigned_at", time_json(c->at));
    return answer_json(o, answer);
}

/* An earlier request of the same key: its answer, or ES_ERR_IDEMPOTENCY for another body. */
static es_err repeat(es_accounts *a, const es_actor *by, const char *client, const wire *w,
                     const char *code, const char *had_sm3, const char *action, char *why,
                     size_t whylen)
{
    char object[64], detail[400];
    snprintf(object, sizeof object, "code:%s", code);
    if (strcmp(had_sm3, w->sm3) != 0) {
        snprintf(why, whylen,
                 "the key %.128s was used before with another body (the request is the same "
                 "only when the body is)",
                 w->key);
        return ES_ERR_IDEMPOTENCY;
    }
    /* Recorded: how often a parent's answer was lost and the request came again. */
    snprintf(detail, sizeof detail, "{\"client\":\"%.64s\",\"key\":\"%.128s\",\"of\":\"%s\"}",
             client, w->key, action);
    return svc_audit_alone(a, by, "national.request_repeated", object, detail);
}

es_err es_national_code_assign(es_accounts *a, const es_actor *by, const char *client,
                               es_slice body, es_buf *answer, int *created, const char **field,
                               char *why, size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (field) *field = NULL;
    if (created) *created = 0;
    if (!a || !a->store || !by || !client || !answer) return ES_ERR_ARG;
    es_store *st = a->store;
    request rq;
    code_row c;
    es_buf_init(&c.key, 64);
    es_buf_init(&c.info, 4096);
    es_err rv = request_parse(ES_UPSTREAM_CODE_ASSIGN, body, &rq, field, why, whylen);
    if (rv != ES_OK) goto out;
    const wire *wp = &rq.w;
    const char *division = rq.division;
    for (int attempt = 0; attempt < TRIES; attempt++) {
        if ((rv = es_store_begin(st)) != ES_OK) goto out;
        if ((rv = code_find(st, client, wp->key, &c)) != ES_OK) goto rollback;
        if (c.found) {
            es_store_rollback(st);
            rv = repeat(a, by, client, wp, c.code, c.sm3, "code.assign", why, whylen);
            if (rv == ES_OK) rv = code_answer(&c, answer);
            goto out;
        }
        /* The division's next serial, gap-free: taken in this transaction (a rollback gives it
         * back); PostgreSQL holds the division's row until commit, SQLite has one writer. */
        int64_t last = 0;
        es_value d = es_v_text(division);
        rv = es_store_query_int(st, "SELECT last FROM national_serials WHERE division = ?", &d, 1,
                                &last);
        if (rv == ES_ERR_NOT_FOUND) rv = ES_OK;
        if (rv != ES_OK) goto rollback;
        if (last >= SERIAL_MAX) {
            snprintf(why, whylen, "the serials of division %s are used up", division);
            rv = ES_ERR_LIMIT;
            goto rollback;
        }
        if ((rv = es_store_exec(st,
                                "INSERT INTO national_serials (division, last) VALUES (?, 1) "
                                "ON CONFLICT (division) DO UPDATE SET last = national_serials.last "
                                "+ 1",
                                &d, 1, NULL)) != ES_OK ||
            (rv = es_store_query_int(st, "SELECT last FROM national_serials WHERE division = ?", &d,
                                     1, &last)) != ES_OK)
            goto rollback;
        if (last > SERIAL_MAX) {
            snprintf(why, whylen, "the serials of division %s are used up", division);
            rv = ES_ERR_LIMIT;
            goto rollback;
        }
        /* last is 1..SERIAL_MAX here: 8 digits. */
        char code[32];
        snprintf(code, sizeof code, "%.6s%08lld", division, (long long)last);
        memcpy(c.code, code, 14);
        c.code[14] = 0;
        /* 公安对称密钥 and 公安印章信息: opaque to us (national.md); here random bytes and a
         * labelled text. */
        uint8_t pk[16];
        char info[400], now_iso[32];
        c.at = es_time_now();
        es_time_format_iso(c.at, now_iso);
        snprintf(info, sizeof info,
                 "{\"issuer\":\"" SIM_ISSUER "\",\"simulator\":true,\"code\":\"%s\","
                 "\"division\":\"%s\",\"assigned_at\":\"%s\"}",
                 c.code, division, now_iso);
        c.key.len = c.info.len = 0;
        if ((rv = es_random(pk, sizeof pk)) != ES_OK ||
            (rv = es_buf_append(&c.key, pk, sizeof pk)) != ES_OK ||
            (rv = es_buf_append_str(&c.info, info)) != ES_OK)
            goto rollback;
        es_wipe(pk, sizeof pk);
        char *text = json_dumps(wp->body, JSON_COMPACT);
        if (!text) {
            rv = ES_ERR_NOMEM;
            goto rollback;
        }
        es_value p[9] = {es_v_text(c.code),
                         es_v_text(division),
                         es_v_text(client),
                         es_v_text(wp->key),
                         es_v_text(wp->sm3),
                         es_v_text(text),
                         es_v_blob(c.key.p, c.key.len),
                         es_v_blob(c.info.p, c.info.len),
                         es_v_int(c.at)};
        rv = es_store_exec(st,
                           "INSERT INTO national_codes (code, division, client, req_key, body_sm3, "
                           "body, police_key, police_info, assigned_at) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           p, 9, NULL);
        free(text);
        if (rv == ES_ERR_EXISTS) {
            /* The same key from another connection committed first: its answer, next time. */
            es_store_rollback(st);
            continue;
        }
        char object[64], detail[400];
        snprintf(object, sizeof object, "code:%s", c.code);
        snprintf(detail, sizeof detail,
                 "{\"client\":\"%.64s\",\"key\":\"%.128s\",\"division\":\"%s\",\"serial\":%lld,"
                 "\"simulator\":true}",
                 client, wp->key, division, (long long)last);
        if (rv != ES_OK ||
            (rv = svc_audit(a, by, "national.code_assign", object, detail)) != ES_OK ||
            (rv = es_store_commit(st)) != ES_OK)
            goto rollback;
        if (created) *created = 1;
        rv = code_answer(&c, answer);
        goto out;
    }
    rv = ES_ERR_BUSY;
    goto out;
rollback:
    es_store_rollback(st);
out:
    request_free(&rq);
    es_buf_cleanup_secret(&c.key);
    es_buf_cleanup(&c.info);
    return rv;
}

/* The code must be one this simulator assigned to client. */
static es_err code_of_client(es_store *st, const char *client, const char *code, char *why,
                             size_t whylen)
{
    es_value p[2] = {es_v_text(code), es_v_text(client)};
    int64_t n = 0;
    es_err rv = es_store_query_int(
        st, "SELECT count(*) FROM national_codes WHERE code = ? AND client = ?", p, 2, &n);
    if (rv == ES_OK && n == 0) {
        snprintf(why, whylen, "code %s was not assigned to %.64s", code, client);
        rv = ES_ERR_NOT_FOUND;
    }
    return rv;
}

typedef struct prior {
    int found;
    char code[15], sm3[65], state[STATE_MAX + 1];
    int64_t at;
} prior;

static es_err prior_cb(void *ctx, const es_row *r)
{
    prior *p = ctx;
    p->found = 1;
    snprintf(p->code, sizeof p->code, "%s", es_row_text(r, 0, NULL));
    snprintf(p->sm3, sizeof p->sm3, "%s", es_row_text(r, 1, NULL));
    p->at = es_row_int(r, 2);
    if (es_row_columns(r) > 3) snprintf(p->state, sizeof p->state, "%s", es_row_text(r, 3, NULL));
    return ES_OK;
}

es_err es_national_file(es_accounts *a, const es_actor *by, const char *client, es_slice body,
                        es_buf *answer, int *created, const char **field, char *why, size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (field) *field = NULL;
    if (created) *created = 0;
    if (!a || !a->store || !by || !client || !answer) return ES_ERR_ARG;
    es_store *st = a->store;
    request rq;
    prior pr = {0};
    es_err rv = request_parse(ES_UPSTREAM_SEAL_FILE, body, &rq, field, why, whylen);
    if (rv != ES_OK) goto out;
    const wire *wp = &rq.w;
    const char *code = rq.code, *cert_sm3 = rq.cert_sm3, *seal_sm3 = rq.seal_sm3;
    for (int attempt = 0; attempt < TRIES; attempt++) {
        es_value k[2] = {es_v_text(client), es_v_text(wp->key)};
        if ((rv = es_store_begin(st)) != ES_OK) goto out;
        pr.found = 0;
        if ((rv = es_store_query(st,
                                 "SELECT code, body_sm3, filed_at FROM national_filings WHERE "
                                 "client = ? AND req_key = ?",
                                 k, 2, prior_cb, &pr)) != ES_OK)
            goto rollback;
        if (pr.found) {
            es_store_rollback(st);
            if ((rv = repeat(a, by, client, wp, pr.code, pr.sm3, "seal.file", why, whylen)) !=
                ES_OK)
                goto out;
            break;
        }
        if ((rv = code_of_client(st, client, code, why, whylen)) != ES_OK) goto rollback;
        snprintf(pr.code, sizeof pr.code, "%s", code);
        pr.at = es_time_now();
        es_value p[7] = {es_v_text(code),    es_v_text(client),   es_v_text(wp->key),
                         es_v_text(wp->sm3), es_v_text(cert_sm3), es_v_text(seal_sm3),
                         es_v_int(pr.at)};
        rv = es_store_exec(st,
                           "INSERT INTO national_filings (code, client, req_key, body_sm3, "
                           "cert_sm3, seal_sm3, filed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           p, 7, NULL);
        if (rv == ES_ERR_EXISTS) {
            es_store_rollback(st);
            continue;
        }
        char object[64], detail[400];
        snprintf(object, sizeof object, "code:%s", code);
        snprintf(detail, sizeof detail,
                 "{\"client\":\"%.64s\",\"key\":\"%.128s\",\"certificate_sm3\":\"%s\","
                 "\"seal_sm3\":\"%s\",\"simulator\":true}",
                 client, wp->key, cert_sm3, seal_sm3);
        if (rv != ES_OK || (rv = svc_audit(a, by, "national.filing", object, detail)) != ES_OK ||
            (rv = es_store_commit(st)) != ES_OK)
            goto rollback;
        if (created) *created = 1;
        break;
    }
    if (!pr.code[0]) {
        rv = ES_ERR_BUSY;
        goto out;
    }
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "code", json_string(pr.code));
        json_object_set_new(o, "filed_at", time_json(pr.at));
    }
    rv = answer_json(o, answer);
    goto out;
rollback:
    es_store_rollback(st);
out:
    request_free(&rq);
    return rv;
}

es_err es_national_status(es_accounts *a, const es_actor *by, const char *client, es_slice body,
                          es_buf *answer, int *created, const char **field, char *why,
                          size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (field) *field = NULL;
    if (created) *created = 0;
    if (!a || !a->store || !by || !client || !answer) return ES_ERR_ARG;
    es_store *st = a->store;
    request rq;
    prior pr = {0};
    es_err rv = request_parse(ES_UPSTREAM_SEAL_STATUS, body, &rq, field, why, whylen);
    if (rv != ES_OK) goto out;
    const wire *wp = &rq.w;
    const char *code = rq.code, *state = rq.state, *reason = rq.reason;
    es_time at = rq.at;
    for (int attempt = 0; attempt < TRIES; attempt++) {
        es_value k[2] = {es_v_text(client), es_v_text(wp->key)};
        if ((rv = es_store_begin(st)) != ES_OK) goto out;
        pr.found = 0;
        if ((rv = es_store_query(st,
                                 "SELECT code, body_sm3, recorded_at, state FROM national_status "
                                 "WHERE client = ? AND req_key = ?",
                                 k, 2, prior_cb, &pr)) != ES_OK)
            goto rollback;
        if (pr.found) {
            es_store_rollback(st);
            if ((rv = repeat(a, by, client, wp, pr.code, pr.sm3, "seal.status", why, whylen)) !=
                ES_OK)
                goto out;
            break;
        }
        if ((rv = code_of_client(st, client, code, why, whylen)) != ES_OK) goto rollback;
        snprintf(pr.code, sizeof pr.code, "%s", code);
        snprintf(pr.state, sizeof pr.state, "%s", state);
        pr.at = es_time_now();
        es_value p[8] = {es_v_text(code),    es_v_text(client), es_v_text(wp->key),
                         es_v_text(wp->sm3), es_v_text(state),  es_v_text(reason),
                         es_v_int(at),       es_v_int(pr.at)};
        rv = es_store_exec(st,
                           "INSERT INTO national_status (code, client, req_key, body_sm3, state, "
                           "reason, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           p, 8, NULL);
        if (rv == ES_ERR_EXISTS) {
            es_store_rollback(st);
            continue;
        }
        char object[64], detail[400];
        snprintf(object, sizeof object, "code:%s", code);
        snprintf(detail, sizeof detail,
                 "{\"client\":\"%.64s\",\"key\":\"%.128s\",\"state\":\"%s\",\"at\":%lld,"
                 "\"simulator\":true}",
                 client, wp->key, state, (long long)at);
        if (rv != ES_OK || (rv = svc_audit(a, by, "national.status", object, detail)) != ES_OK ||
            (rv = es_store_commit(st)) != ES_OK)
            goto rollback;
        if (created) *created = 1;
        break;
    }
    if (!pr.code[0]) {
        rv = ES_ERR_BUSY;
        goto out;
    }
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "code", json_string(pr.code));
        json_object_set_new(o, "state", json_string(pr.state));
        json_object_set_new(o, "recorded_at", time_json(pr.at));
    }
    rv = answer_json(o, answer);
    goto out;
rollback:
    es_store_rollback(st);
out:
    request_free(&rq);
    return rv;
}

/* ---- What the simulator holds of one code. */

typedef struct seal_ctx {
    json_t *o, *list;
} seal_ctx;

static es_err seal_code_cb(void *ctx, const es_row *r)
{
    seal_ctx *s = ctx;
    json_object_set_new(s->o, "code", json_string(es_row_text(r, 0, NULL)));
    json_object_set_new(s->o, "division", json_string(es_row_text(r, 1, NULL)));
    json_object_set_new(s->o, "client", json_string(es_row_text(r, 2, NULL)));
    json_object_set_new(s->o, "assigned_at", time_json(es_row_int(r, 3)));
    return ES_OK;
}

static es_err filing_cb(void *ctx, const es_row *r)
{
    seal_ctx *s = ctx;
    json_t *f = json_object();
    json_object_set_new(f, "client", json_string(es_row_text(r, 0, NULL)));
    json_object_set_new(f, "certificate_sm3", sha_json(es_row_text(r, 1, NULL)));
    json_object_set_new(f, "seal_sm3", sha_json(es_row_text(r, 2, NULL)));
    json_object_set_new(f, "filed_at", time_json(es_row_int(r, 3)));
    return json_array_append_new(s->list, f) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err status_cb(void *ctx, const es_row *r)
{
    seal_ctx *s = ctx;
    json_t *f = json_object();
    json_object_set_new(f, "client", json_string(es_row_text(r, 0, NULL)));
    json_object_set_new(f, "state", json_string(es_row_text(r, 1, NULL)));
    json_object_set_new(f, "reason", json_string(es_row_text(r, 2, NULL)));
    json_object_set_new(f, "at", time_json(es_row_int(r, 3)));
    json_object_set_new(f, "recorded_at", time_json(es_row_int(r, 4)));
    return json_array_append_new(s->list, f) == 0 ? ES_OK : ES_ERR_NOMEM;
}

es_err es_national_seal_get(es_store *st, const char *code, es_buf *out)
{
    if (!st || !code || !out) return ES_ERR_ARG;
    if (!digits(code, 14)) return ES_ERR_NOT_FOUND;
    seal_ctx s = {json_object(), NULL};
    es_value p = es_v_text(code);
    es_err rv = s.o ? es_store_begin_read(st) : ES_ERR_NOMEM;
    if (rv != ES_OK) goto out;
    rv = es_store_query(st,
                        "SELECT code, division, client, assigned_at FROM national_codes WHERE "
                        "code = ?",
                        &p, 1, seal_code_cb, &s);
    if (rv == ES_OK && !json_object_get(s.o, "code")) rv = ES_ERR_NOT_FOUND;
    if (rv == ES_OK) {
        s.list = json_array();
        json_object_set_new(s.o, "filings", s.list);
        rv = es_store_query(st,
                            "SELECT client, cert_sm3, seal_sm3, filed_at FROM national_filings "
                            "WHERE code = ? ORDER BY id",
                            &p, 1, filing_cb, &s);
    }
    if (rv == ES_OK) {
        s.list = json_array();
        json_object_set_new(s.o, "status", s.list);
        rv = es_store_query(st,
                            "SELECT client, state, reason, at, recorded_at FROM national_status "
                            "WHERE code = ? ORDER BY id",
                            &p, 1, status_cb, &s);
    }
    es_store_rollback(st);
    if (rv == ES_OK) {
        rv = answer_json(s.o, out);
        s.o = NULL;
    }
out:
    json_decref(s.o);
    return rv;
}
