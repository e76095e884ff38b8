/* What a business system or another tier needs to know of this site (GET /api/v1/system). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static es_err system_get(es_http_req *req, void *arg)
{
    es_api_ctx *app = arg;
    char systems[64];
    if (!atomic_load(&app->ready)) return api_not_ready(req);
    es_systems_format(app->cfg.systems, systems, sizeof systems);
    es_slice root = es_ca_cert(app->ca);
    json_t *o = json_object(), *sys = json_array(), *auth = json_object();
    for (char *save = NULL, *t = strtok_r(systems, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(sys, json_string(t));
    json_object_set_new(o, "name", json_string(app->cfg.site_name));
    json_object_set_new(o, "tier", json_string(es_tier_name(app->cfg.tier)));
    /* A simulator says so wherever it answers (docs/upstream.md). */
    json_object_set_new(o, "simulator", json_boolean(app->cfg.tier == ES_TIER_NATIONAL_SIMULATOR));
    json_object_set_new(o, "division", json_string(app->cfg.division));
    json_object_set_new(o, "systems", sys);
    json_object_set_new(o, "public_url", json_string(app->public_url));
    json_object_set_new(
        o, "system_certificate",
        api_pem_json("CERTIFICATE", app->site.system_cert.p, app->site.system_cert.len));
    json_object_set_new(o, "root_certificate", api_pem_json("CERTIFICATE", root.p, root.len));
    es_buf spki;
    es_buf_init(&spki, 256);
    if (es_sm2_pub_spki(app->site.audit_pub, &spki) == ES_OK)
        json_object_set_new(o, "audit_public_key", api_pem_json("PUBLIC KEY", spki.p, spki.len));
    es_buf_cleanup(&spki);
    json_object_set_new(auth, "scheme", json_string(ES_CLIENT_SCHEME));
    json_object_set_new(auth, "sm2_id", json_string(ES_SM2_DEFAULT_ID));
    json_object_set_new(auth, "clock_skew_seconds", json_integer(app->cfg.clock_skew_seconds));
    json_object_set_new(o, "api_auth", auth);
    return es_http_reply_json_new(req, 200, o);
}

es_err es_api_system_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"GET", "/api/v1/system", system_get, ES_HTTP_PUBLIC, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
