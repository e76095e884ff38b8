/* The national conventions for the console's forms (docs/national.md "API"): the GB/T 2260
 * divisions (GET /api/v1/divisions?prefix=) and the making tables (GET
 * /api/v1/making/tables: materials per kind, seal types, unit types). Any signed-in account
 * or business system; they read built-in or configured tables only, nothing of the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/national.h"

/* The most divisions one answer lists (?limit=, default API_DIVISIONS_DEFAULT). */
#define API_DIVISIONS_MAX     1000
#define API_DIVISIONS_DEFAULT 100

/* 400 naming the field, with the reason in English and Chinese. */
static es_err reply_reason(es_http_req *req, es_err rv, const char *field, const es_reason *why)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(es_err_name(rv)));
    json_object_set_new(o, "field", json_string(field));
    json_object_set_new(o, "message", json_string(why->en));
    json_object_set_new(o, "message_zh", json_string(why->zh));
    REFUSE(es_http_reply_json_new(req, es_err_http_status(rv), o), rv);
}

/* The tables the node loaded ([making]), or the built-in ones when it loaded none. */
static const es_tables *tables_of(es_api_ctx *app)
{
    return app->making_tables ? app->making_tables : es_tables_builtin();
}

static es_err divisions_get(es_http_req *req, void *arg)
{
    (void)arg;
    const char *prefix = es_http_req_query(req, "prefix");
    const char *level_s = es_http_req_query(req, "level");
    const char *limit_s = es_http_req_query(req, "limit");
    if (!prefix) prefix = "";
    size_t plen = strlen(prefix);
    int digits = plen <= 6;
    for (size_t i = 0; digits && i < plen; i++) digits = prefix[i] >= '0' && prefix[i] <= '9';
    if (!digits) {
        es_reason why = {"prefix is 0 to 6 digits of a division code (GB/T 2260)",
                         "prefix 应为行政区划代码的前 0 至 6 位数字（GB/T 2260）"};
        return reply_reason(req, ES_ERR_ARG, "prefix", &why);
    }
    int level = 0;
    if (level_s) {
        if (strcmp(level_s, "1") && strcmp(level_s, "2") && strcmp(level_s, "3")) {
            es_reason why = {"level is 1 (province), 2 (prefecture) or 3 (county)",
                             "level 应为 1（省级）、2（地级）或 3（县级）"};
            return reply_reason(req, ES_ERR_ARG, "level", &why);
        }
        level = level_s[0] - '0';
    }
    long limit = API_DIVISIONS_DEFAULT;
    if (limit_s) {
        size_t ll = strlen(limit_s);
        int digits_only = ll >= 1 && ll <= 4 && strspn(limit_s, "0123456789") == ll;
        limit = digits_only ? strtol(limit_s, NULL, 10) : 0;
        if (limit < 1 || limit > API_DIVISIONS_MAX) {
            es_reason why = {"limit is 1 to 1000", "limit 应为 1 至 1000"};
            return reply_reason(req, ES_ERR_ARG, "limit", &why);
        }
    }
    /* The prefix's range of the table, filtered by level. */
    size_t n = 0, total = 0;
    es_err rv = es_division_list(prefix, NULL, 0, &n, &total);
    if (rv != ES_OK) return api_fail(req, rv, NULL);
    json_t *o = json_object(), *items = json_array();
    size_t matched = 0;
    for (size_t i = 0, seen = 0; i < es_division_count() && seen < total; i++) {
        es_division d;
        if (es_division_at(i, &d) != ES_OK) break;
        if (strncmp(d.code, prefix, plen) != 0) continue;
        seen++;
        if (level && d.level != level) continue;
        if (matched++ >= (size_t)limit) continue;
        json_t *it = json_object();
        json_object_set_new(it, "code", json_string(d.code));
        json_object_set_new(it, "name", json_string(d.name));
        json_object_set_new(it, "full_name", json_string(d.full));
        json_object_set_new(it, "level", json_integer(d.level));
        json_array_append_new(items, it);
    }
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "total", json_integer((json_int_t)matched));
    json_object_set_new(o, "truncated", json_boolean(matched > (size_t)limit));
    json_object_set_new(o, "source", json_string(es_division_source()));
    return es_http_reply_json_new(req, 200, o);
}

static es_err tables_get(es_http_req *req, void *arg)
{
    es_api_ctx *app = arg;
    const es_tables *t = tables_of(app);
    if (!t) return api_fail(req, ES_ERR_UNAVAILABLE, NULL);
    json_t *o = json_object(), *kinds = json_array(), *seals = json_array(), *units = json_array();
    for (size_t k = 0;; k++) {
        const char *zh = NULL, *en = NULL, *kind = es_tables_kind_at(k, &zh, &en);
        if (!kind) break;
        size_t n = 0;
        const es_material_spec *m = es_tables_materials(t, kind, &n);
        json_t *kj = json_object(), *mats = json_array();
        json_object_set_new(kj, "kind", json_string(kind));
        json_object_set_new(kj, "name_zh", json_string(zh));
        json_object_set_new(kj, "name_en", json_string(en));
        for (size_t i = 0; i < n; i++) {
            json_t *mj = json_object(), *types = json_array();
            json_object_set_new(mj, "name", json_string(m[i].name));
            json_object_set_new(mj, "title_zh", json_string(m[i].title_zh));
            json_object_set_new(mj, "title_en", json_string(m[i].title_en));
            json_object_set_new(mj, "required", json_boolean(m[i].required));
            for (const char *p = m[i].types; p && *p;) {
                const char *e = strchr(p, ',');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                json_array_append_new(types, json_stringn(p, l));
                p = e ? e + 1 : NULL;
            }
            json_object_set_new(mj, "types", types);
            json_object_set_new(mj, "max_bytes", json_integer((json_int_t)m[i].max_bytes));
            json_array_append_new(mats, mj);
        }
        json_object_set_new(kj, "materials", mats);
        json_array_append_new(kinds, kj);
    }
    size_t ns = 0, nu = 0;
    const es_seal_type_spec *s = es_tables_seal_types(t, &ns);
    for (size_t i = 0; i < ns; i++) {
        json_t *sj = json_object();
        json_object_set_new(sj, "code", json_integer(s[i].code));
        json_object_set_new(sj, "name_zh", json_string(s[i].name_zh));
        json_object_set_new(sj, "name_en", json_string(s[i].name_en));
        json_array_append_new(seals, sj);
    }
    const es_unit_type_spec *u = es_tables_unit_types(t, &nu);
    for (size_t i = 0; i < nu; i++) {
        json_t *uj = json_object();
        json_object_set_new(uj, "name", json_string(u[i].name));
        json_object_set_new(uj, "name_zh", json_string(u[i].name_zh));
        json_object_set_new(uj, "name_en", json_string(u[i].name_en));
        json_array_append_new(units, uj);
    }
    json_object_set_new(o, "kinds", kinds);
    json_object_set_new(o, "seal_types", seals);
    json_object_set_new(o, "unit_types", units);
    return es_http_reply_json_new(req, 200, o);
}

es_err es_api_national_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"GET", "/api/v1/divisions", divisions_get, 0, API_BODY_SMALL},
        {"GET", "/api/v1/making/tables", tables_get, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
