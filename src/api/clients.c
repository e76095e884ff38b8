/* API clients (business systems), registered by a business administrator
 * (docs/api-clients.md): maps requests to the clients service (src/svc/clients/clients.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* ---- API clients (business systems): registered by a business administrator. */

static json_t *client_json(const es_client *c)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "roles", api_roles_json(c->roles));
    json_object_set_new(o, "serial", json_string(c->serial));
    json_object_set_new(o, "subject", json_string(c->subject));
    json_object_set_new(o, "not_before", api_time_json(c->not_before));
    json_object_set_new(o, "not_after", api_time_json(c->not_after));
    json_object_set_new(o, "disabled", json_boolean(c->disabled));
    json_object_set_new(o, "revoked", json_boolean(c->revoked));
    json_object_set_new(o, "created_at", api_time_json(c->created_at));
    json_object_set_new(o, "created_by", json_string(c->created_by));
    return o;
}

static es_err page_client(void *ctx, const es_client *c)
{
    return api_page_add(ctx, c->name, client_json(c));
}

static es_err clients_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_http_page page;
    if ((rv = api_require(req, app, &a, ES_PERM_CLIENTS, "client.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, API_PAGE_USERS, app->cfg.page_max, &page)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    api_page p = {json_array(), page.limit, 0, "", 0};
    if (!p.items) return ES_ERR_NOMEM;
    rv = es_client_list(&a, &by, page.cursor, (int64_t)page.limit + 1, page_client, &p);
    if (rv != ES_OK) {
        json_decref(p.items);
        return rv;
    }
    return es_http_reply_page(req, p.items, p.more ? p.last : NULL);
}

/* {"client": ..., "certificate": PEM}. */
static es_err reply_client(es_http_req *req, unsigned status, const es_client *c, es_slice cert)
{
    json_t *o = json_object();
    json_object_set_new(o, "client", client_json(c));
    json_object_set_new(o, "certificate", api_pem_json("CERTIFICATE", cert.p, cert.len));
    return es_http_reply_json_new(req, status, o);
}

static const es_json_field client_create_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"roles", ES_JSON_ARRAY, ES_JSON_REQUIRED, ES_ROLE_COUNT},
    {"csr", ES_JSON_STRING, 0, 16384},
    {"certificate", ES_JSON_STRING, 0, 16384},
    {"subject", ES_JSON_STRING, 0, 1024},
    {"days", ES_JSON_INTEGER, 0, 0},
    {NULL},
};

/* The CA's refusal of a certificate request: the table's reply for ES_ERR_LINT with every
 * problem, or 400 naming csr for a request that is not one or whose signature fails. Returns
 * ES_OK when rv is none of these (nothing replied). */
static es_err reply_csr_refusal(es_http_req *req, es_err rv, const es_pki_lint *lint)
{
    if (rv == ES_ERR_LINT) {
        json_t *o = json_object(), *list = json_array();
        for (size_t i = 0; i < lint->n; i++) json_array_append_new(list, json_string(lint->msg[i]));
        json_object_set_new(o, "error", json_string(es_err_name(ES_ERR_LINT)));
        json_object_set_new(o, "message", json_string(es_err_str(ES_ERR_LINT)));
        json_object_set_new(o, "message_zh", json_string(es_err_str_zh(ES_ERR_LINT)));
        json_object_set_new(o, "field", json_string("csr"));
        json_object_set_new(o, "problems", list);
        REFUSE(es_http_reply_json_new(req, es_err_http_status(ES_ERR_LINT), o), ES_ERR_LINT);
    }
    if (rv == ES_ERR_VERIFY)
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "csr",
                                       "the certificate request's signature does not verify"),
               ES_ERR_ARG);
    if (rv == ES_ERR_DER || rv == ES_ERR_DER_TAG || rv == ES_ERR_DER_DEPTH ||
        rv == ES_ERR_DER_TRAILING || rv == ES_ERR_FORMAT || rv == ES_ERR_PEM ||
        rv == ES_ERR_BASE64 || rv == ES_ERR_KEY || rv == ES_ERR_UNSUPPORTED)
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "csr",
                                       "not a PKCS#10 certificate request (PEM or DER)"),
               ES_ERR_ARG);
    return ES_OK;
}

static es_err clients_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    es_roles roles = 0;
    const char *why = NULL;
    char loc[96], swhy[256] = "";
    es_buf der;
    es_client c;
    es_pki_lint lint;
    es_name subject;
    memset(&lint, 0, sizeof lint);
    es_buf_init(&der, 64u << 10);
    if (!atomic_load(&app->ready)) return api_not_ready(req);
    if ((rv = api_require(req, app, &a, ES_PERM_CLIENTS, "client.register")) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, client_create_schema, &in)) != ES_OK) return rv;
    if ((rv = api_roles_of(req, json_object_get(in, "roles"), &roles)) != ES_OK) goto out;
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *csr = json_string_value(json_object_get(in, "csr"));
    const char *pem = json_string_value(json_object_get(in, "certificate"));
    const char *subj = json_string_value(json_object_get(in, "subject"));
    json_t *days = json_object_get(in, "days");
    es_actor by = api_actor(api_user_of(req));
    if (!csr == !pem) {
        rv = es_http_reply_err(req, ES_ERR_ARG,
                               "give either csr (the CA issues the certificate) or certificate "
                               "(one the site's CA issued)");
        if (rv == ES_OK) rv = ES_ERR_ARG;
        goto out;
    }
    if (pem && (subj || days)) {
        rv = es_http_reply_err(req, ES_ERR_ARG,
                               "subject and days go with csr, not with certificate");
        if (rv == ES_OK) rv = ES_ERR_ARG;
        goto out;
    }
    if (csr) {
        if (subj && es_pki_name_parse(subj, &subject, swhy, sizeof swhy) != ES_OK) {
            rv = es_http_reply_err_field(req, ES_ERR_ARG, "subject", swhy);
            if (rv == ES_OK) rv = ES_ERR_ARG;
            goto out;
        }
        if (days && (json_integer_value(days) < 1 || json_integer_value(days) > 3650)) {
            rv = es_http_reply_err_field(req, ES_ERR_ARG, "days", "1 to 3650");
            if (rv == ES_OK) rv = ES_ERR_ARG;
            goto out;
        }
        es_ca_request r = {.profile = "user",
                           .subject = subj ? &subject : NULL,
                           .csr = (const uint8_t *)csr,
                           .csr_len = strlen(csr),
                           .days = days ? (long)json_integer_value(days) : 0,
                           .not_before = ES_TIME_NONE};
        /* The service issues and registers in one transaction (src/svc/clients/clients.c). */
        rv = es_client_register_issue(&a, &by, app->ca, name, roles, &r, &lint, &der, &c, &why);
        es_err replied = reply_csr_refusal(req, rv, &lint);
        if (replied != ES_OK) {
            rv = replied;
            goto out;
        }
        if (rv == ES_OK) {
            pthread_mutex_lock(&app->ca_lock);
            app->crl.len = 0; /* the CRL kept stays right, but the next one is signed anew */
            pthread_mutex_unlock(&app->ca_lock);
        }
    } else if (es_cert_to_der((const uint8_t *)pem, strlen(pem), &der) != ES_OK) {
        rv = api_fail(req, ES_ERR_ARG, "certificate is not a PEM or base64 X.509 certificate");
        goto out;
    } else {
        rv = es_client_register(&a, &by, name, roles, es_slice_make(der.p, der.len),
                                es_ca_cert(app->ca), &c, &why);
    }
    if (rv == ES_ERR_BUSY) {
        rv = es_http_add_header(req, "Retry-After", "1");
        if (rv == ES_OK) rv = es_http_reply_err(req, ES_ERR_BUSY, NULL);
        if (rv == ES_OK) rv = ES_ERR_BUSY;
        goto out;
    }
    if (rv != ES_OK) {
        rv = api_fail(req, rv, why);
        goto out;
    }
    snprintf(loc, sizeof loc, "/api/v1/clients/%s", c.name);
    if ((rv = es_http_add_header(req, "Location", loc)) != ES_OK) goto out;
    rv = reply_client(req, 201, &c, es_slice_make(der.p, der.len));
out:
    json_decref(in);
    es_buf_cleanup(&der);
    return rv;
}

static es_err clients_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_client c;
    es_buf der;
    if ((rv = api_require(req, app, &a, ES_PERM_CLIENTS, "client.get")) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    es_buf_init(&der, 64u << 10);
    rv = es_client_get(&a, &by, es_http_req_param(req, "name"), &c, &der);
    if (rv == ES_OK) rv = reply_client(req, 200, &c, es_slice_make(der.p, der.len));
    es_buf_cleanup(&der);
    return rv;
}

/* A business system's own record. */
static es_err clients_me(es_http_req *req, void *arg)
{
    (void)arg;
    const api_user *su = api_user_of(req);
    if (!su->is_client)
        REFUSE(es_http_reply_err(req, ES_ERR_DENIED,
                                 "only a signed request of an API client has a client record"),
               ES_ERR_DENIED);
    json_t *o = json_object(), *c = client_json(&su->client);
    json_object_set_new(c, "permissions", api_perms_json(su->client.roles));
    json_object_set_new(o, "client", c);
    return es_http_reply_json_new(req, 200, o);
}

static es_err client_set_disabled(es_http_req *req, void *arg, int disabled)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    es_client c;
    if ((rv = api_require(req, app, &a, ES_PERM_CLIENTS,
                          disabled ? "client.disable" : "client.enable")) != ES_OK)
        return rv;
    if ((rv = api_no_body(req)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_client_set_disabled(&a, &by, name, disabled);
    if (rv == ES_ERR_ARG) return api_fail(req, rv, "a revoked client cannot be enabled");
    if (rv == ES_OK) rv = es_client_get(&a, &by, name, &c, NULL);
    if (rv != ES_OK) return rv;
    json_t *o = json_object();
    json_object_set_new(o, "client", client_json(&c));
    return es_http_reply_json_new(req, 200, o);
}

static es_err clients_disable(es_http_req *req, void *arg)
{
    return client_set_disabled(req, arg, 1);
}

static es_err clients_enable(es_http_req *req, void *arg)
{
    return client_set_disabled(req, arg, 0);
}

static const es_json_field revoke_schema[] = {
    {"reason", ES_JSON_STRING, 0, 64},
    {NULL},
};

/* Revokes for good: the client is refused from now on and its certificate is revoked at the
 * CA (it appears on the next CRL). */
static es_err clients_revoke(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    json_t *in = NULL;
    es_client c;
    int reason = ES_REASON_CESSATION;
    if (!atomic_load(&app->ready)) return api_not_ready(req);
    if ((rv = api_require(req, app, &a, ES_PERM_CLIENTS, "client.revoke")) != ES_OK) return rv;
    if (es_http_req_body(req).len && (rv = es_http_req_json(req, revoke_schema, &in)) != ES_OK)
        return rv;
    const char *rname = json_string_value(json_object_get(in, "reason"));
    if (rname && ((reason = es_pki_reason_from_name(rname)) < 0 ||
                  reason == ES_REASON_REMOVE_FROM_CRL || reason == ES_REASON_CERTIFICATE_HOLD)) {
        json_decref(in);
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "reason",
                                       "an RFC 5280 revocation reason such as keyCompromise, "
                                       "superseded or cessationOfOperation"),
               ES_ERR_ARG);
    }
    es_actor by = api_actor(api_user_of(req));
    int cert_revoked = 0;
    /* The client and its certificate in one transaction (src/svc/clients/clients.c). */
    rv = es_client_revoke_ca(&a, &by, app->ca, name, reason, &cert_revoked);
    json_decref(in);
    if (rv == ES_ERR_REVOKED) return api_fail(req, rv, "the client is revoked already");
    if (rv == ES_ERR_BUSY) {
        if ((rv = es_http_add_header(req, "Retry-After", "1")) != ES_OK) return rv;
        REFUSE(es_http_reply_err(req, ES_ERR_BUSY, NULL), ES_ERR_BUSY);
    }
    if (rv == ES_OK) rv = es_client_get(&a, &by, name, &c, NULL);
    if (rv != ES_OK) return rv;
    pthread_mutex_lock(&app->ca_lock);
    app->crl.len = 0; /* the next GET /ca/crl signs one that lists it */
    pthread_mutex_unlock(&app->ca_lock);
    json_t *o = json_object();
    json_object_set_new(o, "client", client_json(&c));
    json_object_set_new(o, "certificate_revoked", json_boolean(cert_revoked));
    return es_http_reply_json_new(req, 200, o);
}

es_err es_api_clients_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"GET", "/api/v1/clients", clients_list, 0, API_BODY_SMALL},
        {"POST", "/api/v1/clients", clients_create, 0, API_BODY_PEM},
        {"GET", "/api/v1/clients/me", clients_me, 0, API_BODY_SMALL},
        {"GET", "/api/v1/clients/{name}", clients_get, 0, API_BODY_SMALL},
        {"POST", "/api/v1/clients/{name}/disable", clients_disable, 0, API_BODY_SMALL},
        {"POST", "/api/v1/clients/{name}/enable", clients_enable, 0, API_BODY_SMALL},
        {"POST", "/api/v1/clients/{name}/revoke", clients_revoke, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
