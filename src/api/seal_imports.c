/* The import of other vendors' seals (docs/making.md "Import of other vendors' seals",
 * docs/openapi.json): POST /api/v1/seals/imports takes a batch as JSON with the files in
 * base64, GET /api/v1/seals/imports/{id} answers its report. The service
 * (src/svc/making/import.c) checks the permission, signs the importer's decision and audits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/making_import.h"

/* 500 files of 1 MiB would not fit one request: the body is at most 48 MiB (base64 included),
 * and a larger set is sent as several batches (the CLI does so). */
#define API_BODY_IMPORT (48u << 20)

static es_making making_of(es_api_ctx *app, es_accounts *a)
{
    es_making m;
    memset(&m, 0, sizeof m);
    m.a = a;
    m.ca = app->ca;
    m.maker = app->maker;
    m.maker_cert = es_slice_make(app->site.system_cert.p, app->site.system_cert.len);
    m.tables = app->making_tables;
    m.ca_lock = &app->ca_lock;
    m.decisions = app->decisions;
    m.protect = app->protect;
    m.upstream = app->upstream;
    return m;
}

static es_err reply_field(es_http_req *req, es_err rv, const char *field, const char *en,
                          const char *zh)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(es_err_name(rv)));
    if (field) json_object_set_new(o, "field", json_string(field));
    json_object_set_new(o, "message", json_string(en));
    json_object_set_new(o, "message_zh", json_string(zh));
    REFUSE(es_http_reply_json_new(req, es_err_http_status(rv), o), rv);
}

static const es_json_field import_schema[] = {
    {"vendor", ES_JSON_STRING, ES_JSON_REQUIRED, ES_IMPORT_VENDOR_MAX},
    {"files", ES_JSON_ARRAY, ES_JSON_REQUIRED, ES_IMPORT_FILES_MAX},
    {"certs", ES_JSON_ARRAY, 0, ES_IMPORT_CERTS_MAX},
    {"roots", ES_JSON_ARRAY, 0, ES_IMPORT_ROOTS_MAX},
    {"allow_unverified", ES_JSON_BOOLEAN, 0, 0},
    {"resume", ES_JSON_INTEGER, 0, 0},
    {"pin", ES_JSON_STRING, 0, 64},
    {"signature", ES_JSON_STRING, 0, 512},
    {NULL},
};
static const es_json_field file_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, ES_IMPORT_NAME_MAX},
    {"data", ES_JSON_STRING, ES_JSON_REQUIRED, ES_IMPORT_FILE_MAX / 3 * 4 + 8},
    {NULL},
};

/* The decoded bytes of a request: one buffer per file, certificate and root. */
typedef struct decoded {
    es_buf *bufs;
    size_t n;
    es_import_file *files;
    es_slice *certs, *roots;
} decoded;

static void decoded_free(decoded *d)
{
    for (size_t i = 0; i < d->n; i++) es_buf_cleanup(&d->bufs[i]);
    free(d->bufs);
    free(d->files);
    free(d->certs);
    free(d->roots);
}

static es_err b64(es_buf *b, const char *s)
{
    es_buf_init(b, ES_IMPORT_FILE_MAX + 4);
    if (!s) return ES_ERR_ARG;
    return es_base64_decode(s, strlen(s), b);
}

/* Decodes the request's arrays. On a bad member it has replied. */
static es_err decode(es_http_req *req, const json_t *in, decoded *d, es_import_request *rq)
{
    const json_t *files = json_object_get(in, "files"), *certs = json_object_get(in, "certs"),
                 *roots = json_object_get(in, "roots");
    size_t nf = json_array_size(files), nc = json_array_size(certs), nr = json_array_size(roots);
    memset(d, 0, sizeof *d);
    d->bufs = calloc(nf + nc + nr + 1, sizeof *d->bufs);
    d->files = calloc(nf + 1, sizeof *d->files);
    d->certs = calloc(nc + 1, sizeof *d->certs);
    d->roots = calloc(nr + 1, sizeof *d->roots);
    if (!d->bufs || !d->files || !d->certs || !d->roots) return ES_ERR_NOMEM;
    for (size_t i = 0; i < nf; i++) {
        const json_t *f = json_array_get(files, i);
        const char *fld = NULL;
        if (es_json_check(f, file_schema, &fld, NULL, 0) != ES_OK)
            return reply_field(req, ES_ERR_ARG, "files",
                               "every file is {\"name\": ..., \"data\": base64} (at most 1 MiB)",
                               "每个文件应为 {\"name\": 名称, \"data\": base64}（不超过 1 MiB）");
        es_buf *b = &d->bufs[d->n++];
        if (b64(b, json_string_value(json_object_get(f, "data"))) != ES_OK)
            return reply_field(req, ES_ERR_ARG, "files", "a file's data is not base64",
                               "文件内容不是 base64 编码");
        d->files[i].name = json_string_value(json_object_get(f, "name"));
        d->files[i].bytes = es_slice_make(b->p, b->len);
    }
    const json_t *lists[2] = {certs, roots};
    es_slice *outs[2] = {d->certs, d->roots};
    static const char *const names[2] = {"certs", "roots"};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < json_array_size(lists[k]); i++) {
            es_buf *b = &d->bufs[d->n++];
            const char *s = json_string_value(json_array_get(lists[k], i));
            if (!s || strlen(s) > ES_IMPORT_FILE_MAX / 3 * 4 + 8 || b64(b, s) != ES_OK)
                return reply_field(req, ES_ERR_ARG, names[k],
                                   "every certificate is a base64 string (DER, or PEM text)",
                                   "每个证书应为 base64 字符串（DER 或 PEM 文本）");
            outs[k][i] = es_slice_make(b->p, b->len);
        }
    rq->vendor = json_string_value(json_object_get(in, "vendor"));
    rq->files = d->files;
    rq->n_files = nf;
    rq->certs = d->certs;
    rq->n_certs = nc;
    rq->roots = d->roots;
    rq->n_roots = nr;
    rq->allow_unverified = json_is_true(json_object_get(in, "allow_unverified"));
    rq->resume = json_integer_value(json_object_get(in, "resume"));
    return ES_OK;
}

static json_t *outcome_json(const es_import_outcome *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(o->name));
    json_object_set_new(j, "sm3", json_string(o->sm3));
    json_object_set_new(j, "outcome", json_string(o->outcome));
    json_object_set_new(j, "code", o->code[0] ? json_string(o->code) : json_null());
    json_object_set_new(j, "reason", o->reason[0] ? json_string(o->reason) : json_null());
    json_object_set_new(j, "message", json_string(o->message));
    json_object_set_new(j, "message_zh", json_string(o->message_zh));
    if (!strcmp(o->outcome, "imported")) {
        json_object_set_new(j, "verified", json_boolean(o->verified));
        json_object_set_new(j, "expired", json_boolean(o->expired));
    }
    return j;
}

static es_err add_outcome(void *ctx, size_t i, size_t n, const es_import_outcome *o)
{
    (void)i;
    (void)n;
    return json_array_append_new(ctx, outcome_json(o)) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err reply_report(es_http_req *req, es_making *m, const es_actor *by, int64_t id,
                           unsigned status)
{
    es_import_batch b;
    json_t *items = json_array();
    es_err rv = es_making_import_get(m, by, id, &b, add_outcome, items);
    if (rv != ES_OK) {
        json_decref(items);
        return es_err_http_status(rv) >= 500 ? rv : api_fail(req, rv, NULL);
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(b.id));
    json_object_set_new(o, "vendor", json_string(b.vendor));
    json_object_set_new(o, "allow_unverified", json_boolean(b.allow_unverified));
    json_object_set_new(o, "files", json_integer(b.files));
    json_object_set_new(o, "done", json_integer(b.imported + b.duplicates + b.refused));
    json_object_set_new(o, "imported", json_integer(b.imported));
    json_object_set_new(o, "duplicates", json_integer(b.duplicates));
    json_object_set_new(o, "refused", json_integer(b.refused));
    json_object_set_new(o, "created_by", json_string(b.created_by));
    json_object_set_new(o, "created_at", api_time_json(b.created_at));
    json_object_set_new(o, "updated_at", api_time_json(b.updated_at));
    json_object_set_new(o, "decision", b.decision ? json_integer(b.decision) : json_null());
    json_object_set_new(o, "items", items);
    json_t *w = json_object();
    json_object_set_new(w, "import", o);
    return es_http_reply_json_new(req, status, w);
}

static es_err imports_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const api_user *su = api_user_of(req);
    if (!su || !es_roles_allow(su->u.roles, ES_PERM_SEAL_MAKE))
        return api_require(req, app, &a, ES_PERM_SEAL_MAKE, "seal.import");
    json_t *in = NULL;
    decoded d;
    es_buf sig;
    es_import_request rq;
    es_decision_proof proof;
    const char *field = NULL;
    es_reason why = {NULL, NULL};
    int64_t id = 0;
    memset(&d, 0, sizeof d);
    memset(&rq, 0, sizeof rq);
    memset(&proof, 0, sizeof proof);
    es_buf_init(&sig, 512);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(su);
    if ((rv = es_http_req_json(req, import_schema, &in)) != ES_OK) goto out;
    if ((rv = decode(req, in, &d, &rq)) != ES_OK) goto out;
    proof.pin = json_string_value(json_object_get(in, "pin"));
    const char *s = json_string_value(json_object_get(in, "signature"));
    if (s) {
        if (es_base64_decode(s, strlen(s), &sig) != ES_OK || !sig.len) {
            rv = reply_field(req, ES_ERR_ARG, "signature",
                             "signature is the DER SM2 signature in base64",
                             "signature 应为 DER 编码 SM2 签名的 base64");
            goto out;
        }
        proof.signature = es_slice_make(sig.p, sig.len);
    }
    if (!proof.pin == !s) {
        rv = reply_field(req, ES_ERR_ARG, "pin",
                         "an import is signed: give your signing PIN (pin) or a signature",
                         "导入须签名：请提供签名口令（pin）或签名值（signature）");
        goto out;
    }
    rv = es_making_import(&m, &by, &rq, &proof, &id, NULL, NULL, &field, &why);
    if (rv == ES_ERR_ARG && why.en) {
        rv = reply_field(req, rv, field, why.en, why.zh);
        goto out;
    }
    if (rv != ES_OK) {
        if (es_err_http_status(rv) < 500) rv = api_fail(req, rv, NULL);
        goto out;
    }
    rv = reply_report(req, &m, &by, id, rq.resume ? 200 : 201);
out:
    json_decref(in);
    decoded_free(&d);
    es_buf_cleanup(&sig);
    return rv;
}

static es_err imports_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const api_user *su = api_user_of(req);
    if (!su || !(es_roles_allow(su->u.roles, ES_PERM_SEAL_APPLY) ||
                 es_roles_allow(su->u.roles, ES_PERM_SEAL_REVIEW) ||
                 es_roles_allow(su->u.roles, ES_PERM_SEAL_MAKE)))
        return api_require(req, app, &a, ES_PERM_SEAL_APPLY, "seal.import_view");
    const char *s = es_http_req_param(req, "id");
    char *end = NULL;
    long long id = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || id <= 0 || strlen(s) > 18)
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "id", "an import batch number"),
               ES_ERR_ARG);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(su);
    return reply_report(req, &m, &by, id, 200);
}

es_err es_api_seal_imports_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/seals/imports", imports_create, 0, API_BODY_IMPORT},
        {"GET", "/api/v1/seals/imports/{id}", imports_get, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
