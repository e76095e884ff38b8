/* Verification reports: building, the overall indication, JSON and text rendering. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/report.h"

const char *es_result_name(es_result r)
{
    switch (r) {
    case ES_PASSED:
        return "PASSED";
    case ES_FAILED:
        return "FAILED";
    case ES_INDETERMINATE:
        return "INDETERMINATE";
    case ES_WARNING:
        return "WARNING";
    case ES_SKIPPED:
        return "SKIPPED";
    }
    return "?";
}

void es_report_init(es_report *r)
{
    memset(r, 0, sizeof *r);
    r->indication = ES_INDETERMINATE;
}

static void kv_cleanup(es_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void es_report_cleanup(es_report *r)
{
    for (size_t i = 0; i < r->n_entries; i++) {
        es_entry *e = &r->entries[i];
        free(e->id);
        free(e->kind);
        for (size_t j = 0; j < e->n_checks; j++) {
            free(e->checks[j].name);
            free(e->checks[j].detail);
        }
        free(e->checks);
        kv_cleanup(&e->seal);
        kv_cleanup(&e->signer);
    }
    free(r->entries);
    free(r->file);
    es_report_init(r);
}

es_err es_report_set_file(es_report *r, const char *file)
{
    char *f = strdup(file ? file : "-");
    if (!f) return ES_ERR_NOMEM;
    free(r->file);
    r->file = f;
    return ES_OK;
}

es_err es_report_add_entry(es_report *r, const char *id, const char *kind, es_entry **out)
{
    es_entry *n = realloc(r->entries, (r->n_entries + 1) * sizeof *n);
    if (!n) return ES_ERR_NOMEM;
    r->entries = n;
    es_entry *e = &n[r->n_entries];
    memset(e, 0, sizeof *e);
    e->indication = ES_INDETERMINATE;
    e->id = strdup(id ? id : "-");
    e->kind = strdup(kind ? kind : "unknown");
    if (!e->id || !e->kind) {
        free(e->id);
        free(e->kind);
        return ES_ERR_NOMEM;
    }
    r->n_entries++;
    *out = e;
    return ES_OK;
}

es_err es_entry_set(es_entry *e, const char *name, es_result result, const char *fmt, ...)
{
    char *detail = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(detail = malloc((size_t)n + 1))) return ES_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(detail, (size_t)n + 1, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < e->n_checks; i++) {
        if (strcmp(e->checks[i].name, name) == 0) {
            free(e->checks[i].detail);
            e->checks[i].detail = detail;
            e->checks[i].result = result;
            return ES_OK;
        }
    }
    es_check *c = realloc(e->checks, (e->n_checks + 1) * sizeof *c);
    char *nm = strdup(name);
    if (!c || !nm) {
        if (c) e->checks = c;
        free(nm);
        free(detail);
        return ES_ERR_NOMEM;
    }
    e->checks = c;
    c[e->n_checks].name = nm;
    c[e->n_checks].result = result;
    c[e->n_checks].detail = detail;
    e->n_checks++;
    return ES_OK;
}

const es_check *es_entry_get(const es_entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_checks; i++)
        if (strcmp(e->checks[i].name, name) == 0) return &e->checks[i];
    return NULL;
}

static es_err kv_push(es_kvlist *l, const char *key, char *value, int is_number)
{
    if (!value) return ES_ERR_NOMEM;
    es_kv *n = realloc(l->items, (l->n + 1) * sizeof *n);
    char *k = strdup(key);
    if (!n || !k) {
        if (n) l->items = n;
        free(k);
        free(value);
        return ES_ERR_NOMEM;
    }
    l->items = n;
    n[l->n].key = k;
    n[l->n].value = value;
    n[l->n].is_number = is_number;
    l->n++;
    return ES_OK;
}

es_err es_kv_add(es_kvlist *l, const char *key, const char *value)
{
    return kv_push(l, key, strdup(value ? value : ""), 0);
}

es_err es_kv_add_num(es_kvlist *l, const char *key, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v);
    return kv_push(l, key, strdup(tmp), 1);
}

es_err es_kv_add_slice(es_kvlist *l, const char *key, es_slice v)
{
    char *s = es_slice_strdup(v);
    return s ? kv_push(l, key, s, 0) : ES_ERR_NOMEM;
}

es_err es_kv_add_time(es_kvlist *l, const char *key, es_time t)
{
    char buf[32] = "unknown";
    if (t != ES_TIME_NONE) es_time_format_iso(t, buf);
    return es_kv_add(l, key, buf);
}

const char *es_kv_get(const es_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0) return l->items[i].value;
    return "";
}

static int severity(es_result r)
{
    return r == ES_FAILED ? 2 : r == ES_INDETERMINATE ? 1 : 0;
}

void es_report_finish(es_report *r)
{
    int worst = r->n_entries ? 0 : 1;
    for (size_t i = 0; i < r->n_entries; i++) {
        es_entry *e = &r->entries[i];
        int w = 0;
        for (size_t j = 0; j < e->n_checks; j++)
            if (severity(e->checks[j].result) > w) w = severity(e->checks[j].result);
        e->indication = w == 2 ? ES_FAILED : w == 1 ? ES_INDETERMINATE : ES_PASSED;
        if (w > worst) worst = w;
    }
    r->indication = worst == 2 ? ES_FAILED : worst == 1 ? ES_INDETERMINATE : ES_PASSED;
}

es_err es_json_str(es_buf *out, const char *s, size_t len)
{
    es_err rv = es_buf_append_byte(out, '"');
    for (size_t i = 0; i < len && rv == ES_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rv = es_buf_append(out, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            rv = es_buf_printf(out, "\\u%04x", c);
        } else {
            rv = es_buf_append_byte(out, c);
        }
    }
    if (rv == ES_OK) rv = es_buf_append_byte(out, '"');
    return rv;
}

static es_err json_cstr(es_buf *out, const char *s)
{
    return es_json_str(out, s, strlen(s));
}

static es_err json_kv(es_buf *out, const es_kvlist *l)
{
    es_err rv = es_buf_append_byte(out, '{');
    for (size_t i = 0; i < l->n && rv == ES_OK; i++) {
        if (i) rv = es_buf_append_byte(out, ',');
        if (rv == ES_OK) rv = json_cstr(out, l->items[i].key);
        if (rv == ES_OK) rv = es_buf_append_byte(out, ':');
        if (rv == ES_OK)
            rv = l->items[i].is_number ? es_buf_append_str(out, l->items[i].value)
                                       : json_cstr(out, l->items[i].value);
    }
    if (rv == ES_OK) rv = es_buf_append_byte(out, '}');
    return rv;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) return rv;                                                        \
    } while (0)

es_err es_report_json(const es_report *r, es_buf *out)
{
    es_err rv;
    TRY(es_buf_append_str(out, "{\"file\":"));
    TRY(json_cstr(out, r->file ? r->file : "-"));
    TRY(es_buf_printf(out, ",\"indication\":\"%s\",\"signatures\":[",
                      es_result_name(r->indication)));
    for (size_t i = 0; i < r->n_entries; i++) {
        const es_entry *e = &r->entries[i];
        if (i) TRY(es_buf_append_byte(out, ','));
        TRY(es_buf_append_str(out, "{\"id\":"));
        TRY(json_cstr(out, e->id));
        TRY(es_buf_append_str(out, ",\"kind\":"));
        TRY(json_cstr(out, e->kind));
        TRY(es_buf_printf(out, ",\"indication\":\"%s\",\"checks\":[",
                          es_result_name(e->indication)));
        for (size_t j = 0; j < e->n_checks; j++) {
            if (j) TRY(es_buf_append_byte(out, ','));
            TRY(es_buf_append_str(out, "{\"name\":"));
            TRY(json_cstr(out, e->checks[j].name));
            TRY(es_buf_printf(
                out, ",\"result\":\"%s\",\"detail\":", es_result_name(e->checks[j].result)));
            TRY(json_cstr(out, e->checks[j].detail));
            TRY(es_buf_append_byte(out, '}'));
        }
        TRY(es_buf_append_str(out, "],\"seal\":"));
        TRY(json_kv(out, &e->seal));
        TRY(es_buf_append_str(out, ",\"signer\":"));
        TRY(json_kv(out, &e->signer));
        TRY(es_buf_append_str(out, ",\"quirks\":["));
        int first = 1;
        for (int b = 0; b < ES_QUIRK_COUNT; b++) {
            if (!(e->quirks & ES_QUIRK(b))) continue;
            if (!first) TRY(es_buf_append_byte(out, ','));
            first = 0;
            TRY(json_cstr(out, es_quirk_name(b)));
        }
        TRY(es_buf_append_str(out, "]}"));
    }
    TRY(es_buf_append_str(out, "]}\n"));
    return ES_OK;
}

es_err es_report_text(const es_report *r, es_buf *out)
{
    es_err rv;
    TRY(es_buf_printf(out, "%s: %s\n", r->file ? r->file : "-", es_result_name(r->indication)));
    for (size_t i = 0; i < r->n_entries; i++) {
        const es_entry *e = &r->entries[i];
        TRY(es_buf_printf(out, "\n%s %s: %s\n", e->kind, e->id, es_result_name(e->indication)));
        const es_kvlist *lists[2] = {&e->seal, &e->signer};
        const char *titles[2] = {"seal", "signer"};
        for (int l = 0; l < 2; l++) {
            if (!lists[l]->n) continue;
            TRY(es_buf_printf(out, "  %s:\n", titles[l]));
            for (size_t k = 0; k < lists[l]->n; k++)
                TRY(es_buf_printf(out, "    %-16s %s\n", lists[l]->items[k].key,
                                  lists[l]->items[k].value));
        }
        TRY(es_buf_append_str(out, "  checks:\n"));
        for (size_t j = 0; j < e->n_checks; j++)
            TRY(es_buf_printf(out, "    %-21s %-13s %s\n", e->checks[j].name,
                              es_result_name(e->checks[j].result), e->checks[j].detail));
        if (e->quirks) {
            TRY(es_buf_append_str(out, "  tolerated:\n"));
            for (int b = 0; b < ES_QUIRK_COUNT; b++)
                if (e->quirks & ES_QUIRK(b))
                    TRY(es_buf_printf(out, "    %-21s %s\n", es_quirk_name(b), es_quirk_text(b)));
        }
    }
    return ES_OK;
}

char *es_slice_strdup(es_slice s)
{
    char *out = malloc(s.len + 1);
    if (!out) return NULL;
    size_t i = 0, o = 0;
    while (i < s.len) {
        uint8_t c = s.p[i];
        uint32_t cp = 0;
        size_t n = es_utf8_next(s.p + i, s.len - i, &cp);
        /* Control characters would break the one-line report: replaced like broken bytes. */
        int ok = n > 0 && !(cp < 0x20 || cp == 0x7f);
        if (ok) {
            memcpy(out + o, s.p + i, n);
            o += n;
            i += n;
        } else {
            out[o++] = c == 0 ? ' ' : '?';
            i++;
        }
    }
    out[o] = 0;
    return out;
}
