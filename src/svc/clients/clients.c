/* API clients (business systems) and their SM2-signed requests (include/eseal/clients.h,
 * docs/api-clients.md). Every change and every refusal of a known client is audited. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eseal/audit.h"
#include "eseal/castore.h"
#include "eseal/clients.h"
#include "eseal/pki.h"
#include "svc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

/* Nonces older than twice the skew are removed once every this many authentications. */
#define NONCE_PRUNE_EVERY 64

es_err es_client_roles_check(es_roles roles, const char **why)
{
    const char *w = NULL;
    if (!roles)
        w = "a client needs at least one role";
    else if (roles & ~(es_roles)ES_CLIENT_ROLES)
        w = "a client may hold only operator, approver, reviewer and seal_issuer: administration "
            "and audit are done by people in the console";
    if (why) *why = w;
    return w ? ES_ERR_ARG : ES_OK;
}

es_actor es_actor_of_client(const es_client *c, char *name_buf, size_t cap)
{
    snprintf(name_buf, cap, "client:%s", c->name);
    es_actor a = {name_buf, c->roles, 0, 0};
    return a;
}

static int may_manage(const es_actor *by)
{
    return by && (by->is_system || es_roles_allow(by->roles, ES_PERM_CLIENTS));
}

static es_err deny(es_accounts *a, const es_actor *by, const char *what)
{
    es_err rv = es_acct_audit_denied(a, by, what);
    return rv == ES_OK ? ES_ERR_DENIED : rv;
}

static es_roles roles_parse_text(const char *t)
{
    es_roles r = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", t);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        es_role role;
        if (es_role_parse(tok, &role) == ES_OK) r |= ES_ROLE_BIT(role);
    }
    return r;
}

#define CLIENT_COLS                                                                                \
    "id, name, roles, serial, subject, not_before, not_after, disabled, revoked, created_at, "     \
    "created_by, cert"

typedef struct client_row_ctx {
    es_client *c;
    es_buf *cert;
    es_err rv;
} client_row_ctx;

static es_err fill_client(es_client *c, const es_row *r, es_buf *cert)
{
    memset(c, 0, sizeof *c);
    c->id = es_row_int(r, 0);
    snprintf(c->name, sizeof c->name, "%s", es_row_text(r, 1, NULL));
    c->roles = roles_parse_text(es_row_text(r, 2, NULL));
    snprintf(c->serial, sizeof c->serial, "%s", es_row_text(r, 3, NULL));
    snprintf(c->subject, sizeof c->subject, "%s", es_row_text(r, 4, NULL));
    c->not_before = (es_time)es_row_int(r, 5);
    c->not_after = (es_time)es_row_int(r, 6);
    c->disabled = (int)es_row_int(r, 7);
    c->revoked = (int)es_row_int(r, 8);
    c->created_at = es_row_int(r, 9);
    snprintf(c->created_by, sizeof c->created_by, "%s", es_row_text(r, 10, NULL));
    es_slice der = es_row_blob(r, 11);
    es_pki_cert pc;
    /* The key comes from the stored certificate, checked when it was registered. */
    if (es_pki_cert_parse(der, &pc) != ES_OK || !pc.is_sm2) return ES_ERR_FORMAT;
    memcpy(c->pub, pc.pub, sizeof c->pub);
    if (cert) {
        cert->len = 0;
        return es_buf_append(cert, der.p, der.len);
    }
    return ES_OK;
}

static es_err client_row(void *ctx, const es_row *r)
{
    client_row_ctx *x = ctx;
    x->rv = fill_client(x->c, r, x->cert);
    return ES_OK;
}

static es_err load_client(es_accounts *a, const char *name, es_client *c, es_buf *cert)
{
    es_value p[1] = {es_v_text(name)};
    client_row_ctx x = {c, cert, ES_ERR_NOT_FOUND};
    c->id = 0;
    es_err rv = es_store_query(a->store, "SELECT " CLIENT_COLS " FROM api_clients WHERE name = ?",
                               p, 1, client_row, &x);
    return rv != ES_OK ? rv : x.rv;
}

/* --- registration and management --- */

/* Checks the certificate a client registers with. *why on failure. */
static es_err check_cert(es_slice cert, es_slice issuer, es_pki_cert *pc, char *subject,
                         size_t subject_len, const char **why)
{
    es_pki_cert ic;
    es_name n;
    es_buf text;
    es_time now = es_time_now();
    if (es_pki_cert_parse(cert, pc) != ES_OK) {
        *why = "the certificate is not an X.509 certificate";
        return ES_ERR_ARG;
    }
    if (!pc->is_sm2) {
        *why = "the certificate's key is not an SM2 key";
        return ES_ERR_ARG;
    }
    if (es_pki_cert_parse(issuer, &ic) != ES_OK || !ic.is_sm2) {
        *why = "the site's CA certificate cannot be read";
        return ES_ERR_CONFIG;
    }
    if (pc->issuer.len != ic.subject.len || memcmp(pc->issuer.p, ic.subject.p, ic.subject.len) ||
        es_pki_cert_verify(pc, ic.pub) != ES_OK) {
        *why = "the certificate was not issued by this site's CA (GET /api/v1/system names it)";
        return ES_ERR_ARG;
    }
    if (pc->has_basic_constraints && pc->is_ca) {
        *why = "a CA certificate cannot identify a client";
        return ES_ERR_ARG;
    }
    if (pc->has_key_usage && !(pc->key_usage & ES_KU_DIGITAL_SIGNATURE)) {
        *why = "the certificate's key usage does not allow digitalSignature";
        return ES_ERR_ARG;
    }
    if (now < pc->not_before || now > pc->not_after) {
        *why = "the certificate is not valid now";
        return ES_ERR_ARG;
    }
    if (pc->serial.len == 0 || pc->serial.len > 20) {
        *why = "the certificate's serial number is empty or longer than 20 bytes";
        return ES_ERR_ARG;
    }
    subject[0] = 0;
    es_buf_init(&text, subject_len - 1);
    if (es_pki_name_from_der(pc->subject, &n) == ES_OK && es_pki_name_print(&n, &text) == ES_OK) {
        memcpy(subject, text.p, text.len);
        subject[text.len] = 0;
    }
    es_buf_cleanup(&text);
    return ES_OK;
}

/* The checks of a registration that need no certificate: the permission, the name, the roles.
 * On a refusal *why says which (permission refusals are audited). */
static es_err register_checks(es_accounts *a, const es_actor *by, const char *name, es_roles roles,
                              const char **why)
{
    const char *reason = NULL;
    if (!may_manage(by)) return deny(a, by, "client.register");
    if (!es_account_name_valid(name) || strcmp(name, "me") == 0) {
        if (why)
            *why = strcmp(name ? name : "", "me") == 0
                       ? "\"me\" is reserved (GET /api/v1/clients/me)"
                       : "client names are 2 to 32 of a-z 0-9 . _ - starting with a letter";
        return ES_ERR_ARG;
    }
    if (es_client_roles_check(roles, &reason) != ES_OK) {
        if (why) *why = reason;
        return ES_ERR_ARG;
    }
    return ES_OK;
}

/* The client's row and its audit record, inside the caller's transaction. */
static es_err register_rows(es_accounts *a, const es_actor *by, const char *name, es_roles roles,
                            es_slice cert, es_slice issuer_cert, es_client *out, const char **why)
{
    es_pki_cert pc;
    char subject[ES_CLIENT_SUBJECT_MAX + 1], serial[41], rt[256], object[64], detail[1024];
    const char *reason = NULL;
    es_err rv;
    if (check_cert(cert, issuer_cert, &pc, subject, sizeof subject, &reason) != ES_OK) {
        if (why) *why = reason;
        return ES_ERR_ARG;
    }
    /* Serials are positive INTEGERs: drop the sign octet so the hex matches the CA's index. */
    es_slice sn = pc.serial;
    while (sn.len > 1 && sn.p[0] == 0) {
        sn.p++;
        sn.len--;
    }
    es_hex_encode(sn.p, sn.len, serial);
    uint8_t kid[ES_SM3_LEN];
    char key_id[2 * ES_SM3_LEN + 1];
    if ((rv = es_sm3(pc.pub, sizeof pc.pub, kid)) != ES_OK) return rv;
    es_hex_encode(kid, sizeof kid, key_id);
    svc_roles_text(roles, rt, sizeof rt);
    es_time now = es_time_now();
    es_value p[10] = {es_v_text(name),         es_v_blob(cert.p, cert.len), es_v_int(now),
                      es_v_text(rt),           es_v_text(serial),           es_v_text(subject),
                      es_v_int(pc.not_before), es_v_int(pc.not_after),      es_v_text(by->name),
                      es_v_text(key_id)};
    snprintf(object, sizeof object, "client:%s", name);
    snprintf(detail, sizeof detail, "roles=%s serial=%s subject=%s", rt, serial, subject);
    CHECK(es_store_exec(a->store,
                        "INSERT INTO api_clients (name, cert, created_at, roles, serial, subject, "
                        "not_before, not_after, created_by, key_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        p, 10, NULL));
    CHECK(svc_audit(a, by, "client.register", object, detail));
    CHECK(load_client(a, name, out, NULL));
out:
    if (rv == ES_ERR_EXISTS && why)
        *why = "a client of that name, or with that certificate or key, is registered already";
    return rv;
}

es_err es_client_register(es_accounts *a, const es_actor *by, const char *name, es_roles roles,
                          es_slice cert, es_slice issuer_cert, es_client *out, const char **why)
{
    es_client c;
    es_err rv;
    if (why) *why = NULL;
    if ((rv = register_checks(a, by, name, roles, why)) != ES_OK) return rv;
    CHECK(es_store_begin(a->store));
    CHECK(register_rows(a, by, name, roles, cert, issuer_cert, &c, why));
    CHECK(es_store_commit(a->store));
    if (out) *out = c;
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_client_register_issue(es_accounts *a, const es_actor *by, es_ca *ca, const char *name,
                                es_roles roles, const es_ca_request *req, es_pki_lint *lint,
                                es_buf *cert, es_client *out, const char **why)
{
    es_client c;
    char serial[2 * ES_PKI_SERIAL_MAX + 1];
    es_err rv;
    if (why) *why = NULL;
    if (!ca || !req || !cert) return ES_ERR_ARG;
    if ((rv = register_checks(a, by, name, roles, why)) != ES_OK) return rv;
    /* A taken name is refused before the CA signs anything. */
    if (load_client(a, name, &c, NULL) == ES_OK) {
        if (why) *why = "a client of that name is registered already";
        return ES_ERR_EXISTS;
    }
    es_castore cs = {a->store, a->audit, by->name, NULL};
    es_ca_state st = es_castore_joined_state(&cs);
    cert->len = 0;
    /* One transaction holding the CA's lock: the certificate, its audit record, the client
     * and its audit record commit together or not at all. */
    CHECK(es_castore_begin_joined(&cs, ca));
    CHECK(es_ca_issue_in(ca, &st, req, lint, cert, serial));
    CHECK(register_rows(a, by, name, roles, es_slice_make(cert->p, cert->len), es_ca_cert(ca), &c,
                        why));
    CHECK(es_store_commit(a->store));
    if (out) *out = c;
out:
    if (rv != ES_OK) {
        es_store_rollback(a->store);
        cert->len = 0; /* never handed out: it is in no index */
    }
    return rv;
}

es_err es_client_get(es_accounts *a, const es_actor *by, const char *name, es_client *out,
                     es_buf *cert)
{
    if (!may_manage(by)) return deny(a, by, "client.get");
    return load_client(a, name, out, cert);
}

typedef struct list_ctx {
    es_client_cb cb;
    void *ctx;
    es_err rv;
} list_ctx;

static es_err list_row(void *ctx, const es_row *r)
{
    list_ctx *l = ctx;
    es_client c;
    es_err rv = fill_client(&c, r, NULL);
    if (rv != ES_OK) return rv;
    return l->cb(l->ctx, &c);
}

es_err es_client_list(es_accounts *a, const es_actor *by, const char *after, int64_t limit,
                      es_client_cb cb, void *ctx)
{
    if (!may_manage(by)) return deny(a, by, "client.list");
    es_value p[2] = {es_v_text(after ? after : ""), es_v_int(limit > 0 ? limit : INT64_MAX)};
    list_ctx l = {cb, ctx, ES_OK};
    return es_store_query(
        a->store, "SELECT " CLIENT_COLS " FROM api_clients WHERE name > ? ORDER BY name LIMIT ?", p,
        2, list_row, &l);
}

es_err es_client_set_disabled(es_accounts *a, const es_actor *by, const char *name, int disabled)
{
    es_client c;
    char object[64];
    const char *action = disabled ? "client.disable" : "client.enable";
    if (!may_manage(by)) return deny(a, by, action);
    es_err rv = load_client(a, name, &c, NULL);
    if (rv != ES_OK) return rv;
    if (!disabled && c.revoked) return ES_ERR_ARG;
    es_value p[2] = {es_v_int(disabled ? 1 : 0), es_v_int(c.id)};
    snprintf(object, sizeof object, "client:%s", name);
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, action, object, "", &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store, "UPDATE api_clients SET disabled = ? WHERE id = ?", p, 2, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_client_revoke_ca(es_accounts *a, const es_actor *by, es_ca *ca, const char *name,
                           int reason, int *cert_revoked)
{
    es_client c;
    char object[64], detail[160];
    int done = 0;
    if (cert_revoked) *cert_revoked = 0;
    if (!ca) return ES_ERR_ARG;
    if (!may_manage(by)) return deny(a, by, "client.revoke");
    es_err rv = load_client(a, name, &c, NULL);
    if (rv != ES_OK) return rv;
    if (c.revoked) return ES_ERR_REVOKED;
    es_value p[1] = {es_v_int(c.id)};
    snprintf(object, sizeof object, "client:%s", name);
    snprintf(detail, sizeof detail, "serial=%s reason=%.64s", c.serial, es_pki_reason_name(reason));
    es_castore cs = {a->store, a->audit, by->name, NULL};
    es_ca_state st = es_castore_joined_state(&cs);
    /* One transaction holding the CA's lock: the client and its certificate are revoked
     * together, or neither. A certificate this CA's index does not hold (issued elsewhere,
     * or before its state moved into this store) leaves only the client revoked. */
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, "client.revoke", object, detail, &ar));
    CHECK(es_castore_begin_joined(&cs, ca));
    CHECK(es_store_exec(a->store, "UPDATE api_clients SET disabled = 1, revoked = 1 WHERE id = ?",
                        p, 1, NULL));
    CHECK(svc_audit_append(a, &ar));
    rv = es_ca_revoke_in(ca, &st, c.serial, reason, ES_TIME_NONE);
    done = rv == ES_OK || rv == ES_ERR_REVOKED;
    if (rv == ES_ERR_REVOKED || rv == ES_ERR_NOT_FOUND) rv = ES_OK;
    if (rv != ES_OK) goto out;
    CHECK(es_store_commit(a->store));
    if (cert_revoked) *cert_revoked = done;
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_client_revoke(es_accounts *a, const es_actor *by, const char *name, const char *reason)
{
    es_client c;
    char object[64], detail[160];
    if (!may_manage(by)) return deny(a, by, "client.revoke");
    es_err rv = load_client(a, name, &c, NULL);
    if (rv != ES_OK) return rv;
    if (c.revoked) return ES_ERR_REVOKED;
    es_value p[1] = {es_v_int(c.id)};
    snprintf(object, sizeof object, "client:%s", name);
    snprintf(detail, sizeof detail, "serial=%s reason=%.64s", c.serial, reason ? reason : "");
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, "client.revoke", object, detail, &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store, "UPDATE api_clients SET disabled = 1, revoked = 1 WHERE id = ?",
                        p, 1, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

/* --- signed requests --- */

static atomic_uint_fast64_t unaudited_refusals;

int es_client_auth_is_signed(const char *h)
{
    size_t n = strlen(ES_CLIENT_SCHEME);
    /* RFC 9110 11.1: the scheme is case-insensitive. */
    return h && strncasecmp(h, ES_CLIENT_SCHEME, n) == 0 && (h[n] == ' ' || h[n] == '\t');
}

static int nonce_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Copies a parameter value (quoted or a bare token) into out. */
static const char *param_value(const char *p, char *out, size_t cap, int *ok)
{
    size_t n = 0;
    *ok = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' || (unsigned char)*p < 0x20 || n + 1 >= cap) return p;
            out[n++] = *p;
        }
        if (*p != '"') return p;
        p++;
    } else {
        for (; *p && *p != ',' && *p != ' ' && *p != '\t'; p++) {
            if (n + 1 >= cap) return p;
            out[n++] = *p;
        }
    }
    out[n] = 0;
    *ok = 1;
    return p;
}

es_err es_client_auth_parse(const char *header, es_client_auth *out, const char **why)
{
    char sig[200] = "";
    int have[4] = {0, 0, 0, 0};
    memset(out, 0, sizeof *out);
    *why = "the Authorization header is not ESEAL-SM2 client=, timestamp=, nonce=, signature=";
    if (!header || strlen(header) > ES_CLIENT_HEADER_MAX || !es_client_auth_is_signed(header))
        return ES_ERR_FORMAT;
    const char *p = header + strlen(ES_CLIENT_SCHEME);
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        const char *eq = strchr(p, '=');
        if (!eq) return ES_ERR_FORMAT;
        size_t klen = (size_t)(eq - p);
        static const char *const keys[4] = {"client", "timestamp", "nonce", "signature"};
        char *dst[4] = {out->client, out->timestamp, out->nonce, sig};
        size_t cap[4] = {sizeof out->client, sizeof out->timestamp, sizeof out->nonce, sizeof sig};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(keys[i]) == klen && strncmp(p, keys[i], klen) == 0) k = i;
        if (k < 0) {
            *why = "the Authorization header has an unknown parameter (client, timestamp, nonce "
                   "and signature are allowed)";
            return ES_ERR_FORMAT;
        }
        if (have[k]) {
            *why = "the Authorization header repeats a parameter";
            return ES_ERR_FORMAT;
        }
        int ok;
        p = param_value(eq + 1, dst[k], cap[k], &ok);
        if (!ok) {
            *why = "an Authorization header parameter is too long or badly quoted";
            return ES_ERR_FORMAT;
        }
        have[k] = 1;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == ',')
            p++;
        else if (*p)
            return ES_ERR_FORMAT;
    }
    if (!have[0] || !have[1] || !have[2] || !have[3]) {
        *why = "the Authorization header needs client, timestamp, nonce and signature";
        return ES_ERR_FORMAT;
    }
    size_t nl = strlen(out->nonce);
    for (size_t i = 0; i < nl; i++)
        if (!nonce_char(out->nonce[i])) nl = 0;
    if (nl < ES_CLIENT_NONCE_MIN || nl > ES_CLIENT_NONCE_MAX) {
        *why = "the nonce must be 16 to 64 of A-Z a-z 0-9 _ -";
        return ES_ERR_FORMAT;
    }
    es_buf raw;
    es_buf_init(&raw, 160);
    es_err rv = es_base64_decode(sig, strlen(sig), &raw);
    if (rv == ES_OK) rv = es_sm2_sig_decode(es_slice_make(raw.p, raw.len), out->r, out->s, NULL);
    es_buf_cleanup(&raw);
    if (rv != ES_OK) {
        *why = "the signature is not base64 of a DER SEQUENCE{r, s} or of raw r||s";
        return ES_ERR_FORMAT;
    }
    *why = NULL;
    return ES_OK;
}

es_err es_client_string_to_sign(const char *client, const char *method, const char *target,
                                const char *timestamp, const char *nonce, es_slice body,
                                es_buf *out)
{
    uint8_t h[ES_SM3_LEN];
    char hex[2 * ES_SM3_LEN + 1];
    es_err rv = es_sm3(body.len ? body.p : (const uint8_t *)"", body.len, h);
    if (rv != ES_OK) return rv;
    es_hex_encode(h, sizeof h, hex);
    const char *parts[7] = {ES_CLIENT_SCHEME, client, method, target, timestamp, nonce, hex};
    for (int i = 0; i < 7 && rv == ES_OK; i++) {
        if (i) rv = es_buf_append(out, "\n", 1);
        if (rv == ES_OK) rv = es_buf_append(out, parts[i], strlen(parts[i]));
    }
    return rv;
}

/* Refuses a known client's request: audited, unless limit says this client's refusals are
 * coming faster than it allows (then only counted: anyone who knows a client's name can make
 * refusals, and must not be able to grow the trail without bound). */
static es_err refuse(es_accounts *a, const es_client *c, es_ratelimit *limit, const char *reason,
                     const char **why)
{
    char name[ES_CLIENT_NAME_MAX + 8], object[64];
    unsigned retry = 0;
    es_actor by = es_actor_of_client(c, name, sizeof name);
    snprintf(object, sizeof object, "client:%s", c->name);
    *why = reason;
    if (limit && es_ratelimit_take_now(limit, object, &retry) == ES_ERR_LIMIT) {
        atomic_fetch_add(&unaudited_refusals, 1);
        return ES_ERR_AUTH;
    }
    es_err rv = svc_audit_alone(a, &by, "client.auth_failed", object, reason);
    return rv == ES_OK ? ES_ERR_AUTH : rv;
}

uint64_t es_client_unaudited_refusals(void)
{
    return atomic_load(&unaudited_refusals);
}

static atomic_uint prune_counter;

es_err es_client_authenticate(es_accounts *a, const char *header, const char *method,
                              const char *target, es_slice body, es_time now, unsigned skew,
                              es_ratelimit *audit_limit, es_client *out, const char **why)
{
    es_client_auth h;
    es_client c;
    es_time ts;
    es_buf msg;
    uint8_t e[ES_SM3_LEN];
    es_err rv = es_client_auth_parse(header, &h, why);
    if (rv != ES_OK) return ES_ERR_AUTH;
    rv = load_client(a, h.client, &c, NULL);
    if (rv == ES_ERR_NOT_FOUND) {
        /* Not audited: an unknown name is no one's security event, and auditing it would
         * let anyone fill the trail. The log has it. */
        *why = "unknown client";
        return ES_ERR_AUTH;
    }
    if (rv != ES_OK) return rv;
    if (c.revoked) return refuse(a, &c, audit_limit, "the client is revoked", why);
    if (c.disabled) return refuse(a, &c, audit_limit, "the client is disabled", why);
    if (now < c.not_before || now > c.not_after)
        return refuse(a, &c, audit_limit, "the client's certificate is outside its validity", why);
    if (es_time_parse_iso(h.timestamp, &ts) != ES_OK)
        return refuse(a, &c, audit_limit,
                      "the timestamp is not an ISO 8601 time such as 2026-11-26T19:00:00Z", why);
    if (ts > now + (es_time)skew || ts < now - (es_time)skew)
        return refuse(a, &c, audit_limit,
                      "stale request: the timestamp is too far from the server's clock", why);
    es_buf_init(&msg, 256 + ES_CLIENT_NAME_MAX + strlen(method) + strlen(target));
    rv = es_client_string_to_sign(h.client, method, target, h.timestamp, h.nonce, body, &msg);
    if (rv == ES_OK)
        rv = es_sm2_digest(c.pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), msg.p, msg.len, e);
    es_buf_cleanup(&msg);
    if (rv != ES_OK) return rv;
    if (es_sm2_verify_digest(c.pub, e, h.r, h.s) != ES_OK)
        return refuse(a, &c, audit_limit,
                      "the signature does not verify (client, method, target, timestamp, nonce "
                      "and body must be signed as sent)",
                      why);
    /* The nonce last: only a request that verifies uses one up. */
    es_value seen[3] = {es_v_int(c.id), es_v_text(h.nonce), es_v_int((int64_t)now)};
    CHECK(es_store_begin(a->store));
    rv = es_store_exec(a->store, "INSERT INTO nonces (client_id, nonce, seen_at) VALUES (?, ?, ?)",
                       seen, 3, NULL);
    if (rv == ES_ERR_EXISTS) {
        es_store_rollback(a->store);
        return refuse(a, &c, audit_limit, "replayed request: this nonce was used before", why);
    }
    if (rv != ES_OK) goto out;
    if (atomic_fetch_add(&prune_counter, 1) % NONCE_PRUNE_EVERY == 0) {
        es_value old[1] = {es_v_int((int64_t)now - 2 * (int64_t)skew - 60)};
        CHECK(es_store_exec(a->store, "DELETE FROM nonces WHERE seen_at < ?", old, 1, NULL));
    }
    CHECK(es_store_commit(a->store));
    *out = c;
    *why = NULL;
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_client_sign_request(es_signer *key, const char *client, const char *method,
                              const char *target, es_slice body, const char *timestamp,
                              const char *nonce, es_buf *out)
{
    char ts[32], nb[33];
    uint8_t rnd[16];
    es_buf msg, sig, b64;
    es_err rv;
    if (!timestamp) {
        es_time_format_iso(es_time_now(), ts);
        timestamp = ts;
    }
    if (!nonce) {
        if ((rv = es_random(rnd, sizeof rnd)) != ES_OK) return rv;
        es_hex_encode(rnd, sizeof rnd, nb);
        nonce = nb;
    }
    es_buf_init(&msg, 256 + ES_CLIENT_NAME_MAX + strlen(method) + strlen(target));
    es_buf_init(&sig, 128);
    es_buf_init(&b64, 256);
    rv = es_client_string_to_sign(client, method, target, timestamp, nonce, body, &msg);
    if (rv == ES_OK) rv = es_signer_sign_message(key, ES_SM2_DEFAULT_ID, msg.p, msg.len, &sig);
    if (rv == ES_OK) rv = es_base64_encode(sig.p, sig.len, &b64);
    if (rv == ES_OK) {
        char head[ES_CLIENT_HEADER_MAX];
        int k = snprintf(head, sizeof head,
                         ES_CLIENT_SCHEME " client=\"%s\", timestamp=\"%s\", nonce=\"%s\", "
                                          "signature=\"%.*s\"",
                         client, timestamp, nonce, (int)b64.len, (const char *)b64.p);
        rv = k > 0 && (size_t)k < sizeof head ? es_buf_append(out, head, (size_t)k) : ES_ERR_LIMIT;
    }
    es_buf_cleanup(&msg);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b64);
    return rv;
}
