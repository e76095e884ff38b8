/* libFuzzer target: the readers of outside input of include/eseal/national.h on arbitrary
 * bytes: the making tables' loader (es_tables_parse, an administrator's etc/making.conf) and
 * the field checks (citizen ID, mobile, credit code, division code and prefix, as a person
 * types them into a form).
 *
 * Invariants: a file that parses has materials for every kind, each with a name, titles,
 * types it accepts and a size limit; written again (es_tables_write) it parses back to equal
 * tables; a refusal is ES_ERR_CONFIG with a reason naming the file, and nothing is returned.
 * A check that accepts has the shape its standard gives (18 characters, 11 digits, 6
 * digits); a refusal carries both an English and a Chinese reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/national.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tables(const uint8_t *data, size_t size)
{
    es_tables *t = NULL, *again = NULL;
    char why[512];
    es_err rv = es_tables_parse(es_slice_make(data, size), "fuzz", &t, why, sizeof why);
    if (rv != ES_OK) {
        if (t || (rv != ES_ERR_CONFIG && rv != ES_ERR_NOMEM) || strncmp(why, "fuzz: ", 6) != 0)
            abort();
        return;
    }
    for (size_t k = 0;; k++) {
        const char *kind = es_tables_kind_at(k, NULL, NULL);
        if (!kind) break;
        size_t n = 0;
        const es_material_spec *m = es_tables_materials(t, kind, &n);
        if (!m || n == 0) abort();
        for (size_t i = 0; i < n; i++) {
            if (!*m[i].name || !*m[i].title_zh || !*m[i].title_en || !m[i].max_bytes ||
                !*m[i].types || es_tables_material(t, kind, m[i].name) != &m[i])
                abort();
            char first[8] = "";
            size_t l = strcspn(m[i].types, ",");
            if (l >= sizeof first) abort();
            memcpy(first, m[i].types, l);
            first[l] = 0;
            if (!es_material_type_ok(&m[i], first)) abort();
        }
    }
    size_t ns = 0, nu = 0;
    const es_seal_type_spec *s = es_tables_seal_types(t, &ns);
    const es_unit_type_spec *u = es_tables_unit_types(t, &nu);
    if (!ns || !nu || es_tables_seal_type(t, s[0].code) != &s[0] ||
        !es_tables_unit_type_ok(t, u[0].name))
        abort();
    es_buf w;
    es_buf_init(&w, 4u << 20);
    if (es_tables_write(t, &w) != ES_OK) abort();
    if (es_tables_parse(es_slice_make(w.p, w.len), "again", &again, why, sizeof why) != ES_OK ||
        !es_tables_equal(t, again))
        abort();
    es_buf_cleanup(&w);
    es_tables_free(again);
    es_tables_free(t);
}

static void reason(es_err rv, const es_reason *why)
{
    if (rv == ES_OK) return;
    if (!why->en || !why->zh || !*why->en || !*why->zh) abort();
}

static void checks(const uint8_t *data, size_t size)
{
    char s[64];
    if (size >= sizeof s) size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = 0;
    es_reason why;
    es_err rv = es_idno_check_at(s, FUZZ_NOW, &why);
    reason(rv, &why);
    if (rv == ES_OK && (strlen(s) != 18 || es_idno_check_char(s) != s[17])) abort();
    rv = es_mobile_check(s, &why);
    reason(rv, &why);
    if (rv == ES_OK && strlen(s) != 11) abort();
    rv = es_uscc_check(s, &why);
    reason(rv, &why);
    if (rv == ES_OK && strlen(s) != 18) abort();
    es_division d;
    rv = es_division_find(s, &d, &why);
    if (rv != ES_OK && rv != ES_ERR_NOT_FOUND && rv != ES_ERR_ARG) abort();
    reason(rv, &why);
    if (rv == ES_OK && (strcmp(d.code, s) != 0 || d.level < 1 || d.level > 3)) abort();
    es_division list[4];
    size_t n = 0, total = 0;
    if (es_division_list(s, list, 4, &n, &total) == ES_OK) {
        if (n > 4 || n > total) abort();
        for (size_t i = 0; i < n; i++)
            if (strncmp(list[i].code, s, strlen(s)) != 0) abort();
    }
    char code[ES_SEAL_CODE_MAX];
    if (es_code_next_in(NULL, s, code) != ES_ERR_ARG) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tables(data, size);
    checks(data, size);
    return 0;
}
