/* http: strict JSON request bodies (a schema of allowed members) and pagination. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

static const char *type_name(es_json_type t)
{
    switch (t) {
    case ES_JSON_STRING:
        return "a string";
    case ES_JSON_INTEGER:
        return "an integer";
    case ES_JSON_NUMBER:
        return "a number";
    case ES_JSON_BOOLEAN:
        return "a boolean";
    case ES_JSON_OBJECT:
        return "an object";
    case ES_JSON_ARRAY:
        return "an array";
    }
    return "a value";
}

static const char *value_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

static int type_ok(es_json_type t, const json_t *v)
{
    switch (t) {
    case ES_JSON_STRING:
        return json_is_string(v);
    case ES_JSON_INTEGER:
        return json_is_integer(v);
    case ES_JSON_NUMBER:
        return json_is_number(v);
    case ES_JSON_BOOLEAN:
        return json_is_boolean(v);
    case ES_JSON_OBJECT:
        return json_is_object(v);
    case ES_JSON_ARRAY:
        return json_is_array(v);
    }
    return 0;
}

/* A member name as quoted in a message: at most 64 bytes of it, cut between UTF-8 characters
 * (the parser has checked the encoding), so a long name cannot make a long message. */
static const char *clip(const char *name, char out[72])
{
    size_t n = strlen(name);
    if (n <= 64) return name;
    n = 64;
    while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) n--;
    memcpy(out, name, n);
    memcpy(out + n, "...", 4);
    return out;
}

static es_err fail(es_err rv, const char **field, const char *f, char *msg, size_t msglen,
                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static es_err fail(es_err rv, const char **field, const char *f, char *msg, size_t msglen,
                   const char *fmt, ...)
{
    if (field) *field = f;
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

es_err es_json_check(const json_t *obj, const es_json_field *schema, const char **field, char *msg,
                     size_t msglen)
{
    const char *key;
    json_t *v;

    if (!json_is_object(obj))
        return fail(ES_ERR_JSON, field, NULL, msg, msglen, "the body must be a JSON object, not %s",
                    obj ? value_name(obj) : "nothing");
    if (!schema) return ES_OK;
    /* Members first, in the body's order: an unknown member is the likeliest mistake (a typo)
     * and says most about it. */
    json_object_foreach((json_t *)obj, key, v)
    {
        const es_json_field *f;
        for (f = schema; f->name; f++)
            if (strcmp(f->name, key) == 0) break;
        if (!f->name) {
            char buf[72];
            return fail(ES_ERR_ARG, field, NULL, msg, msglen, "unknown field \"%s\"",
                        clip(key, buf));
        }
        if (json_is_null(v)) {
            if (f->flags & ES_JSON_NULLABLE) continue;
            return fail(ES_ERR_ARG, field, f->name, msg, msglen,
                        "field \"%s\" must be %s, not null", f->name, type_name(f->type));
        }
        if (!type_ok(f->type, v))
            return fail(ES_ERR_ARG, field, f->name, msg, msglen, "field \"%s\" must be %s, not %s",
                        f->name, type_name(f->type), value_name(v));
        if (f->max && f->type == ES_JSON_STRING && json_string_length(v) > f->max)
            return fail(ES_ERR_ARG, field, f->name, msg, msglen,
                        "field \"%s\" is longer than %zu bytes", f->name, f->max);
        if (f->max && f->type == ES_JSON_ARRAY && json_array_size(v) > f->max)
            return fail(ES_ERR_ARG, field, f->name, msg, msglen,
                        "field \"%s\" has more than %zu elements", f->name, f->max);
    }
    for (const es_json_field *f = schema; f->name; f++)
        if ((f->flags & ES_JSON_REQUIRED) && !json_object_get(obj, f->name))
            return fail(ES_ERR_ARG, field, f->name, msg, msglen, "field \"%s\" is required",
                        f->name);
    return ES_OK;
}

/* application/json, with parameters or none ("application/json; charset=utf-8"). */
static int is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct) return 0;
    while (*ct == ' ' || *ct == '\t') ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0) return 0;
    ct += sizeof want - 1;
    while (*ct == ' ' || *ct == '\t') ct++;
    return *ct == '\0' || *ct == ';';
}

es_err es_http_req_json(es_http_req *r, const es_json_field *schema, json_t **out)
{
    json_error_t jerr;
    char msg[256];
    const char *field = NULL;
    json_t *v;

    *out = NULL;
    if (!is_json_type(es_http_req_header(r, "Content-Type"))) {
        if (es_http_reply_err(r, ES_ERR_MEDIA_TYPE, "the body must be application/json") != ES_OK)
            return ES_ERR_NOMEM;
        return ES_ERR_FORMAT;
    }
    if (r->body.len == 0) {
        if (es_http_reply_err(r, ES_ERR_JSON, "the request body is empty") != ES_OK)
            return ES_ERR_NOMEM;
        return ES_ERR_FORMAT;
    }
    /* Strict: one value and nothing after it, no duplicate keys, no NUL in strings, valid
     * UTF-8 (jansson's defaults without JSON_DISABLE_EOF_CHECK and JSON_ALLOW_NUL). */
    v = json_loadb((const char *)r->body.p, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        if (es_http_reply_errf(r, ES_ERR_JSON, "malformed JSON at line %d, column %d: %s",
                               jerr.line, jerr.column, jerr.text) != ES_OK)
            return ES_ERR_NOMEM;
        return ES_ERR_FORMAT;
    }
    es_err crv = es_json_check(v, schema, &field, msg, sizeof msg);
    if (crv != ES_OK) {
        json_decref(v);
        if (es_http_reply_err_field(r, crv, field, msg) != ES_OK) return ES_ERR_NOMEM;
        return ES_ERR_FORMAT;
    }
    *out = v;
    return ES_OK;
}

static int cursor_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
        if (c == '-' || c == '_' || c == '.' || c == '~' || c == '=') continue;
        return 0;
    }
    return n > 0 && n <= ES_MAX_HTTP_CURSOR;
}

es_err es_http_req_page(es_http_req *r, unsigned def, unsigned max, es_http_page *out)
{
    const char *l = es_http_req_query(r, "limit");
    const char *c = es_http_req_query(r, "cursor");
    char why[64];
    if (max == 0) max = 1;
    if (def == 0 || def > max) def = max;
    out->limit = def;
    out->cursor = NULL;
    if (l) {
        /* Digits only and not 0; a value above max is lowered to max. */
        unsigned long long v = 0;
        size_t i;
        for (i = 0; l[i]; i++) {
            if (l[i] < '0' || l[i] > '9') goto bad_limit;
            if (v <= max) v = v * 10 + (unsigned)(l[i] - '0');
        }
        if (i == 0 || v == 0) goto bad_limit;
        out->limit = v > max ? max : (unsigned)v;
    }
    if (c) {
        if (!cursor_ok(c)) {
            if (es_http_reply_err_field(r, ES_ERR_ARG, "cursor",
                                        "cursor must be the next_cursor of a previous page") !=
                ES_OK)
                return ES_ERR_NOMEM;
            return ES_ERR_ARG;
        }
        out->cursor = c;
    }
    return ES_OK;
bad_limit:
    snprintf(why, sizeof why, "limit must be an integer from 1 to %u", max);
    if (es_http_reply_err_field(r, ES_ERR_ARG, "limit", why) != ES_OK) return ES_ERR_NOMEM;
    return ES_ERR_ARG;
}

es_err es_http_reply_page(es_http_req *r, json_t *items, const char *next_cursor)
{
    json_t *o = json_object();
    if (!o || !items) {
        json_decref(o);
        json_decref(items);
        return o ? ES_ERR_ARG : ES_ERR_NOMEM;
    }
    if (json_object_set_new(o, "items", items) != 0 ||
        json_object_set_new(o, "next_cursor",
                            next_cursor ? json_string(next_cursor) : json_null()) != 0) {
        json_decref(o);
        return ES_ERR_NOMEM;
    }
    return es_http_reply_json_new(r, 200, o);
}
