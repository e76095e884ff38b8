/* The making system's tables as configuration (docs/national.md "The making tables"): the
 * materials each kind of application needs (LD/T 01.1 Tables 1-6; suspension and restoration
 * after the 2025 measure, our convention), the seal types and the unit types. Read from an
 * INI file (etc/making.conf) or taken from the built-in defaults below, which are the same
 * content (tests/test_national.c checks that the shipped file parses to them). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/national.h"
#include "svc/national/internal.h"

/* Limits of a file: a material accepts at most this many bytes; a table has at most so many
 * rows (the loader refuses more: a configuration, not a database). */
/* A row may allow at most what the making system takes (ES_MK_MATERIAL_MAX, 20 MiB: the
 * body limit of the upload route). */
#define TABLES_MAX_MATERIAL_BYTES (20u * 1024 * 1024)
#define TABLES_MAX_ROWS           64
#define TABLES_MAX_TEXT           256

static const struct {
    const char *name, *zh, *en;
} kinds[] = {
    {"apply", "申领", "apply"},     {"change", "变更", "change"},   {"loss", "挂失", "report loss"},
    {"cancel", "注销", "cancel"},   {"renew", "续期", "renew"},     {"replace", "更换", "replace"},
    {"suspend", "停用", "suspend"}, {"restore", "恢复", "restore"},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* The file types a material may accept. */
static const char *const file_types[] = {"pdf", "ofd", "jpeg", "png"};

struct es_tables {
    es_material_spec *mat[N_KINDS];
    size_t nmat[N_KINDS];
    es_seal_type_spec *seal;
    size_t nseal;
    es_unit_type_spec *unit;
    size_t nunit;
};

/* --- the built-in defaults (the content of etc/making.conf) --- */

#define DOCS     "pdf,ofd,jpeg,png"
#define DOC_MAX  10485760u
#define SCAN_MAX 16777216u
#define AGENT_ROWS                                                                                 \
    {"agent_id_card", "经办人身份证", "the agent's identity card", 1, DOCS, DOC_MAX},              \
    {                                                                                              \
        "agent_contact", "经办人联系方式", "the agent's contact information", 1, DOCS, DOC_MAX     \
    }
#define LICENCE_ROW                                                                                \
    {                                                                                              \
        "licence", "成立该单位的有关文件、批文、编办文件或证照",                                   \
            "the documents establishing the unit: approval, staffing-office document or licence",  \
            1, DOCS, DOC_MAX                                                                       \
    }
/* LD/T 01.1 §7.5 ¶1: the imprint is collected by stamping the physical seal on a collection
 * sheet and scanning it; the kinds that make a new seal take it (required where applicable:
 * a unit with a design only has none). */
#define IMPRINT_ROW                                                                                \
    {                                                                                              \
        "imprint_sheet", "电子印章印模采集表（实物印章加盖后扫描）",                               \
            "the imprint collection sheet (stamped with the physical seal, scanned)", 0,           \
            "png,jpeg", SCAN_MAX                                                                   \
    }

static const es_material_spec def_apply[] = {
    {"application_form", "加盖公章的电子印章申请文件",
     "the seal application document bearing the unit's official seal", 1, DOCS, DOC_MAX},
    AGENT_ROWS,
    LICENCE_ROW,
    IMPRINT_ROW};
static const es_material_spec def_change[] = {
    {"change_statement", "加盖单位公章的电子印章变更原因说明书",
     "the statement of the reason for the change, bearing the unit's official seal", 1, DOCS,
     DOC_MAX},
    AGENT_ROWS,
    LICENCE_ROW,
    IMPRINT_ROW};
static const es_material_spec def_loss[] = {
    {"loss_statement", "加盖单位公章的电子印章丢失原因说明书",
     "the statement of the reason for the loss, bearing the unit's official seal", 1, DOCS,
     DOC_MAX},
    AGENT_ROWS,
    LICENCE_ROW,
    IMPRINT_ROW};
static const es_material_spec def_cancel[] = {
    {"cancel_statement", "加盖单位公章的电子印章注销原因说明书",
     "the statement of the reason for the cancellation, bearing the unit's official seal", 1, DOCS,
     DOC_MAX},
    AGENT_ROWS,
    LICENCE_ROW};
static const es_material_spec def_renew[] = {
    {"renewal_application", "加盖单位公章的电子印章续期申请书",
     "the renewal application bearing the unit's official seal", 1, DOCS, DOC_MAX},
    AGENT_ROWS};
static const es_material_spec def_replace[] = {
    {"replace_statement", "加盖单位公章的电子印章更换原因说明书",
     "the statement of the reason for the replacement, bearing the unit's official seal", 1, DOCS,
     DOC_MAX},
    AGENT_ROWS,
    LICENCE_ROW,
    IMPRINT_ROW};
/* Not in LD/T 01.1: the 2025 measure names suspension and restoration without a table; ours
 * follow Table 5 (an application bearing the official seal, the agent's identity card and
 * contact information). */
static const es_material_spec def_suspend[] = {
    {"suspension_application", "加盖单位公章的电子印章停用申请书",
     "the suspension application bearing the unit's official seal", 1, DOCS, DOC_MAX},
    AGENT_ROWS};
static const es_material_spec def_restore[] = {
    {"restoration_application", "加盖单位公章的电子印章恢复申请书",
     "the restoration application bearing the unit's official seal", 1, DOCS, DOC_MAX},
    AGENT_ROWS};

static const struct {
    const es_material_spec *v;
    size_t n;
    const char *table; /* the comment over the kind's rows in the written file */
} def_mat[N_KINDS] = {
    {def_apply, sizeof def_apply / sizeof def_apply[0],
     "LD/T 01.1-2022 表1 电子印章申领需提交的材料 (+ §7.5 印模采集表)"},
    {def_change, sizeof def_change / sizeof def_change[0],
     "LD/T 01.1-2022 表2 电子印章变更需提交的材料 (+ §7.5 印模采集表: a new seal follows)"},
    {def_loss, sizeof def_loss / sizeof def_loss[0],
     "LD/T 01.1-2022 表3 电子印章挂失需提交的材料 (+ §7.5 印模采集表: a new seal follows)"},
    {def_cancel, sizeof def_cancel / sizeof def_cancel[0],
     "LD/T 01.1-2022 表4 电子印章注销需提交的材料"},
    {def_renew, sizeof def_renew / sizeof def_renew[0], "LD/T 01.1-2022 表5 电子印章续期申请材料"},
    {def_replace, sizeof def_replace / sizeof def_replace[0],
     "LD/T 01.1-2022 表6 电子印章更换申请需提交的材料 (+ §7.5 印模采集表: a new seal follows)"},
    {def_suspend, sizeof def_suspend / sizeof def_suspend[0],
     "停用 (2025 measure, art. 17): not in LD/T 01.1; our convention after 表5"},
    {def_restore, sizeof def_restore / sizeof def_restore[0],
     "恢复 (2025 measure, art. 17): not in LD/T 01.1; our convention after 表5"},
};

/* SES_ESPropertyInfo.type: no national table exists (docs/national.md); 1 and 2 keep GM/T
 * 0031-2014's unit and personal seal, the rest are the 2025 measure's categories (art. 3) in
 * our own numbering. */
static const es_seal_type_spec def_seal[] = {
    {1, "法定名称章", "legal-name seal"},    {2, "个人名章", "personal name seal"},
    {3, "内设机构章", "internal-body seal"}, {4, "分支机构章", "branch seal"},
    {5, "业务专用章", "business seal"},      {6, "合同专用章", "contract seal"},
    {7, "财务专用章", "finance seal"},       {8, "发票专用章", "invoice seal"},
};

/* LD/T 01.1 §7.5 ¶4: 单位类型（国家行政机关或事业单位）. */
static const es_unit_type_spec def_unit[] = {
    {"organ", "国家行政机关", "state administrative organ"},
    {"institution", "事业单位", "public institution"},
};

/* --- building and freeing --- */

static void free_mat(es_material_spec *m)
{
    free((char *)m->name);
    free((char *)m->title_zh);
    free((char *)m->title_en);
    free((char *)m->types);
}

void es_tables_free(es_tables *t)
{
    if (!t) return;
    for (size_t k = 0; k < N_KINDS; k++) {
        for (size_t i = 0; i < t->nmat[k]; i++) free_mat(&t->mat[k][i]);
        free(t->mat[k]);
    }
    for (size_t i = 0; i < t->nseal; i++) {
        free((char *)t->seal[i].name_zh);
        free((char *)t->seal[i].name_en);
    }
    free(t->seal);
    for (size_t i = 0; i < t->nunit; i++) {
        free((char *)t->unit[i].name);
        free((char *)t->unit[i].name_zh);
        free((char *)t->unit[i].name_en);
    }
    free(t->unit);
    free(t);
}

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Appends one row to an array of rows of size sz (grown by realloc). NULL when out of memory. */
static void *grow(void *arr, size_t *n, size_t sz)
{
    void *p = realloc(arr, (*n + 1) * sz);
    if (!p) return NULL;
    memset((char *)p + *n * sz, 0, sz);
    (*n)++;
    return p;
}

static es_err builtin(es_tables **out)
{
    es_tables *t = calloc(1, sizeof *t);
    if (!t) return ES_ERR_NOMEM;
    for (size_t k = 0; k < N_KINDS; k++) {
        t->mat[k] = calloc(def_mat[k].n, sizeof *t->mat[k]);
        if (!t->mat[k]) goto nomem;
        for (size_t i = 0; i < def_mat[k].n; i++) {
            const es_material_spec *d = &def_mat[k].v[i];
            es_material_spec *m = &t->mat[k][i];
            t->nmat[k]++;
            m->name = dup(d->name);
            m->title_zh = dup(d->title_zh);
            m->title_en = dup(d->title_en);
            m->types = dup(d->types);
            m->required = d->required;
            m->max_bytes = d->max_bytes;
            if (!m->name || !m->title_zh || !m->title_en || !m->types) goto nomem;
        }
    }
    size_t ns = sizeof def_seal / sizeof def_seal[0], nu = sizeof def_unit / sizeof def_unit[0];
    if (!(t->seal = calloc(ns, sizeof *t->seal)) || !(t->unit = calloc(nu, sizeof *t->unit)))
        goto nomem;
    for (size_t i = 0; i < ns; i++) {
        t->nseal++;
        t->seal[i].code = def_seal[i].code;
        t->seal[i].name_zh = dup(def_seal[i].name_zh);
        t->seal[i].name_en = dup(def_seal[i].name_en);
        if (!t->seal[i].name_zh || !t->seal[i].name_en) goto nomem;
    }
    for (size_t i = 0; i < nu; i++) {
        t->nunit++;
        t->unit[i].name = dup(def_unit[i].name);
        t->unit[i].name_zh = dup(def_unit[i].name_zh);
        t->unit[i].name_en = dup(def_unit[i].name_en);
        if (!t->unit[i].name || !t->unit[i].name_zh || !t->unit[i].name_en) goto nomem;
    }
    *out = t;
    return ES_OK;
nomem:
    es_tables_free(t);
    return ES_ERR_NOMEM;
}

static es_tables *process_builtin;

static void make_process_builtin(void)
{
    if (builtin(&process_builtin) != ES_OK) process_builtin = NULL;
}

const es_tables *es_tables_builtin(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (pthread_once(&once, make_process_builtin) != 0) return NULL;
    return process_builtin;
}

/* --- the file --- */

typedef enum { SEC_NONE, SEC_MATERIAL, SEC_SEAL, SEC_UNIT } sec_kind;

typedef struct parse_ctx {
    es_tables *t;
    sec_kind sec;
    size_t kind; /* SEC_MATERIAL: the kind's index */
    char section[64];
    /* keys seen in the current section */
    unsigned seen;
} parse_ctx;

enum {
    K_TITLE_ZH = 1,
    K_TITLE_EN = 2,
    K_REQUIRED = 4,
    K_TYPES = 8,
    K_MAX = 16,
    K_NAME_ZH = 32,
    K_NAME_EN = 64
};

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(why, whylen, __VA_ARGS__);                                                        \
        return ES_ERR_CONFIG;                                                                      \
    } while (0)

/* A slug: 1-32 of a-z, 0-9, '_', starting with a letter. */
static int slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TABLES_MAX_TEXT || !es_utf8_valid(s, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

/* "pdf, ofd" -> "pdf,ofd" in out, each known and once. */
static int types_norm(const char *v, char *out, size_t outlen)
{
    size_t o = 0;
    unsigned seen = 0;
    const char *p = v;
    out[0] = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
        size_t n = (size_t)(e - p), i = 0;
        for (; i < sizeof file_types / sizeof file_types[0]; i++)
            if (strlen(file_types[i]) == n && strncmp(p, file_types[i], n) == 0) break;
        if (n == 0 || i == sizeof file_types / sizeof file_types[0] || (seen & (1u << i))) return 0;
        seen |= 1u << i;
        if (o + n + 2 > outlen) return 0;
        if (o) out[o++] = ',';
        memcpy(out + o, p, n);
        o += n;
        out[o] = 0;
        while (*e == ' ' || *e == '\t') e++;
        if (!*e) return 1;
        if (*e != ',') return 0;
        p = e + 1;
    }
}

/* Checks that the section just read has every key it needs. */
static es_err section_end(parse_ctx *c, int at_end, char *why, size_t whylen)
{
    unsigned need = 0;
    if (c->sec == SEC_MATERIAL) need = K_TITLE_ZH | K_TITLE_EN | K_REQUIRED | K_TYPES | K_MAX;
    if (c->sec == SEC_SEAL || c->sec == SEC_UNIT) need = K_NAME_ZH | K_NAME_EN;
    static const struct {
        unsigned bit;
        const char *key;
    } keys[] = {{K_TITLE_ZH, "title_zh"}, {K_TITLE_EN, "title_en"}, {K_REQUIRED, "required"},
                {K_TYPES, "types"},       {K_MAX, "max_bytes"},     {K_NAME_ZH, "name_zh"},
                {K_NAME_EN, "name_en"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if ((need & keys[i].bit) && !(c->seen & keys[i].bit))
            FAIL("the section [%s] %s has no %s", c->section,
                 at_end ? "at the end of the file" : "before this line", keys[i].key);
    return ES_OK;
}

static es_err on_section(parse_ctx *c, const char *section, char *why, size_t whylen)
{
    es_tables *t = c->t;
    es_err rv = section_end(c, 0, why, whylen);
    if (rv != ES_OK) return rv;
    snprintf(c->section, sizeof c->section, "%s", section);
    c->seen = 0;
    if (strncmp(section, "material.", 9) == 0) {
        const char *k = section + 9, *dot = strchr(k, '.');
        size_t kl = dot ? (size_t)(dot - k) : 0, i = 0;
        for (; dot && i < N_KINDS; i++)
            if (strlen(kinds[i].name) == kl && strncmp(k, kinds[i].name, kl) == 0) break;
        if (!dot || i == N_KINDS)
            FAIL("[%s]: a material section is [material.KIND.NAME], KIND one of apply, change, "
                 "loss, cancel, renew, replace, suspend, restore",
                 section);
        if (!slug_ok(dot + 1))
            FAIL("[%s]: a material's name is 1-32 of a-z, 0-9 and '_', starting with a letter",
                 section);
        for (size_t j = 0; j < t->nmat[i]; j++)
            if (strcmp(t->mat[i][j].name, dot + 1) == 0) FAIL("[%s] appears twice", section);
        if (t->nmat[i] == TABLES_MAX_ROWS)
            FAIL("more than %d materials of %s", TABLES_MAX_ROWS, kinds[i].name);
        es_material_spec *m = grow(t->mat[i], &t->nmat[i], sizeof *m);
        if (!m) return ES_ERR_NOMEM;
        t->mat[i] = m;
        m = &t->mat[i][t->nmat[i] - 1];
        if (!(m->name = dup(dot + 1))) return ES_ERR_NOMEM;
        c->sec = SEC_MATERIAL;
        c->kind = i;
        return ES_OK;
    }
    if (strncmp(section, "seal_type.", 10) == 0) {
        const char *v = section + 10;
        char *end = NULL;
        long code = strtol(v, &end, 10);
        if (!*v || *end || v[0] < '1' || v[0] > '9' || strlen(v) > 10 || code < 1 ||
            code > 2147483647L)
            FAIL("[%s]: a seal type is [seal_type.CODE], CODE an integer from 1 to 2147483647 "
                 "(SES_ESPropertyInfo.type)",
                 section);
        for (size_t j = 0; j < t->nseal; j++)
            if (t->seal[j].code == (int)code) FAIL("[%s] appears twice", section);
        if (t->nseal == TABLES_MAX_ROWS) FAIL("more than %d seal types", TABLES_MAX_ROWS);
        es_seal_type_spec *s = grow(t->seal, &t->nseal, sizeof *s);
        if (!s) return ES_ERR_NOMEM;
        t->seal = s;
        t->seal[t->nseal - 1].code = (int)code;
        c->sec = SEC_SEAL;
        return ES_OK;
    }
    if (strncmp(section, "unit_type.", 10) == 0) {
        const char *v = section + 10;
        if (!slug_ok(v))
            FAIL("[%s]: a unit type is [unit_type.NAME], NAME 1-32 of a-z, 0-9 and '_'", section);
        for (size_t j = 0; j < t->nunit; j++)
            if (strcmp(t->unit[j].name, v) == 0) FAIL("[%s] appears twice", section);
        if (t->nunit == TABLES_MAX_ROWS) FAIL("more than %d unit types", TABLES_MAX_ROWS);
        es_unit_type_spec *u = grow(t->unit, &t->nunit, sizeof *u);
        if (!u) return ES_ERR_NOMEM;
        t->unit = u;
        if (!(t->unit[t->nunit - 1].name = dup(v))) return ES_ERR_NOMEM;
        c->sec = SEC_UNIT;
        return ES_OK;
    }
    FAIL("[%s]: unknown section (material.KIND.NAME, seal_type.CODE or unit_type.NAME)", section);
}

/* Sets *slot to a copy of value once. */
static es_err set_text(parse_ctx *c, unsigned bit, const char *key, const char *value,
                       const char **slot, char *why, size_t whylen)
{
    if (c->seen & bit) FAIL("%s given twice in [%s]", key, c->section);
    if (!text_ok(value))
        FAIL("%s: 1-%d bytes of UTF-8 text without control characters", key, TABLES_MAX_TEXT);
    if (!(*slot = dup(value))) return ES_ERR_NOMEM;
    c->seen |= bit;
    return ES_OK;
}

static es_err on_key(void *ctx, const char *section, const char *key, const char *value, char *why,
                     size_t whylen)
{
    parse_ctx *c = ctx;
    if (!key) return on_section(c, section, why, whylen);
    if (c->sec == SEC_MATERIAL) {
        es_material_spec *m = &c->t->mat[c->kind][c->t->nmat[c->kind] - 1];
        if (strcmp(key, "title_zh") == 0)
            return set_text(c, K_TITLE_ZH, key, value, &m->title_zh, why, whylen);
        if (strcmp(key, "title_en") == 0)
            return set_text(c, K_TITLE_EN, key, value, &m->title_en, why, whylen);
        if (strcmp(key, "required") == 0) {
            if (c->seen & K_REQUIRED) FAIL("required given twice in [%s]", section);
            if (strcmp(value, "yes") == 0)
                m->required = 1;
            else if (strcmp(value, "no") == 0)
                m->required = 0;
            else
                FAIL("required: yes (always) or no (when applicable)");
            c->seen |= K_REQUIRED;
            return ES_OK;
        }
        if (strcmp(key, "types") == 0) {
            char norm[64];
            if (c->seen & K_TYPES) FAIL("types given twice in [%s]", section);
            if (!types_norm(value, norm, sizeof norm))
                FAIL("types: a comma-separated list of pdf, ofd, jpeg, png, each once");
            if (!(m->types = dup(norm))) return ES_ERR_NOMEM;
            c->seen |= K_TYPES;
            return ES_OK;
        }
        if (strcmp(key, "max_bytes") == 0) {
            char *end = NULL;
            if (c->seen & K_MAX) FAIL("max_bytes given twice in [%s]", section);
            unsigned long long v = strtoull(value, &end, 10);
            if (value[0] < '1' || value[0] > '9' || *end || strlen(value) > 10 ||
                v > TABLES_MAX_MATERIAL_BYTES)
                FAIL("max_bytes: a number of bytes from 1 to %u", TABLES_MAX_MATERIAL_BYTES);
            m->max_bytes = (size_t)v;
            c->seen |= K_MAX;
            return ES_OK;
        }
        FAIL("unknown key %s in a material section (title_zh, title_en, required, types, "
             "max_bytes)",
             key);
    }
    if (c->sec == SEC_SEAL || c->sec == SEC_UNIT) {
        const char **zh = c->sec == SEC_SEAL ? &c->t->seal[c->t->nseal - 1].name_zh
                                             : &c->t->unit[c->t->nunit - 1].name_zh;
        const char **en = c->sec == SEC_SEAL ? &c->t->seal[c->t->nseal - 1].name_en
                                             : &c->t->unit[c->t->nunit - 1].name_en;
        if (strcmp(key, "name_zh") == 0) return set_text(c, K_NAME_ZH, key, value, zh, why, whylen);
        if (strcmp(key, "name_en") == 0) return set_text(c, K_NAME_EN, key, value, en, why, whylen);
        FAIL("unknown key %s (name_zh, name_en)", key);
    }
    FAIL("a key outside any known section");
}

es_err es_tables_parse(es_slice text, const char *name, es_tables **out, char *why, size_t whylen)
{
    char inner[300] = "";
    es_err rv;
    parse_ctx c;
    if (!out || !why || !whylen) return ES_ERR_ARG;
    *out = NULL;
    why[0] = 0;
    if (!name) name = "tables";
    memset(&c, 0, sizeof c);
    if (!(c.t = calloc(1, sizeof *c.t))) return ES_ERR_NOMEM;
    if ((rv = es_ini_parse(text, on_key, &c, inner, sizeof inner)) != ES_OK) goto fail;
    if ((rv = section_end(&c, 1, inner, sizeof inner)) != ES_OK) {
        /* Named by the file's last line, as es_ini_parse names the others. */
        size_t lines = 1;
        for (size_t i = 0; i + 1 < text.len; i++) lines += text.p[i] == '\n';
        snprintf(why, whylen, "%s: line %zu: %s", name, lines, inner);
        es_tables_free(c.t);
        return ES_ERR_CONFIG;
    }
    for (size_t k = 0; k < N_KINDS; k++)
        if (c.t->nmat[k] == 0) {
            snprintf(inner, sizeof inner, "no materials for %s (a [material.%s.NAME] section)",
                     kinds[k].name, kinds[k].name);
            rv = ES_ERR_CONFIG;
            goto fail;
        }
    if (c.t->nseal == 0 || c.t->nunit == 0) {
        snprintf(inner, sizeof inner, "no %s (a [%s.X] section)",
                 c.t->nseal == 0 ? "seal types" : "unit types",
                 c.t->nseal == 0 ? "seal_type" : "unit_type");
        rv = ES_ERR_CONFIG;
        goto fail;
    }
    *out = c.t;
    return ES_OK;
fail:
    /* es_ini_parse's failures are ES_ERR_CONFIG; out of memory stays what it is. */
    if (rv != ES_ERR_NOMEM) rv = ES_ERR_CONFIG;
    snprintf(why, whylen, "%s: %s", name, inner[0] ? inner : es_err_str(rv));
    es_tables_free(c.t);
    return rv;
}

es_err es_tables_load(const char *path, es_tables **out, char *why, size_t whylen)
{
    if (!out) return ES_ERR_ARG;
    *out = NULL;
    if (why && whylen) why[0] = 0;
    if (!path) return builtin(out);
    char dummy[8];
    if (!why || !whylen) {
        why = dummy;
        whylen = sizeof dummy;
    }
    es_buf b;
    es_buf_init(&b, 1u << 20);
    es_err rv = es_file_read(path, &b);
    if (rv != ES_OK) {
        snprintf(why, whylen, "%s: cannot read it (%s)", path, es_err_str(rv));
        es_buf_cleanup(&b);
        return rv == ES_ERR_LIMIT ? ES_ERR_CONFIG : ES_ERR_IO;
    }
    rv = es_tables_parse(es_slice_make(b.p, b.len), path, out, why, whylen);
    es_buf_cleanup(&b);
    return rv;
}

/* --- reading --- */

static int kind_index(const char *kind, size_t *k)
{
    if (!kind) return 0;
    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i].name, kind) == 0) {
            *k = i;
            return 1;
        }
    return 0;
}

const char *es_tables_kind_at(size_t i, const char **zh, const char **en)
{
    if (i >= N_KINDS) return NULL;
    if (zh) *zh = kinds[i].zh;
    if (en) *en = kinds[i].en;
    return kinds[i].name;
}

const es_material_spec *es_tables_materials(const es_tables *t, const char *kind, size_t *n)
{
    size_t k;
    if (n) *n = 0;
    if (!t || !kind_index(kind, &k)) return NULL;
    if (n) *n = t->nmat[k];
    return t->mat[k];
}

const es_material_spec *es_tables_material(const es_tables *t, const char *kind, const char *name)
{
    size_t n = 0;
    const es_material_spec *m = es_tables_materials(t, kind, &n);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(m[i].name, name) == 0) return &m[i];
    return NULL;
}

int es_material_type_ok(const es_material_spec *m, const char *type)
{
    if (!m || !type || !*type) return 0;
    size_t n = strlen(type);
    for (const char *p = m->types; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, type, n) == 0) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

const es_seal_type_spec *es_tables_seal_types(const es_tables *t, size_t *n)
{
    if (n) *n = t ? t->nseal : 0;
    return t ? t->seal : NULL;
}

const es_seal_type_spec *es_tables_seal_type(const es_tables *t, int code)
{
    for (size_t i = 0; t && i < t->nseal; i++)
        if (t->seal[i].code == code) return &t->seal[i];
    return NULL;
}

int es_tables_unit_type_ok(const es_tables *t, const char *unit_type)
{
    for (size_t i = 0; t && unit_type && i < t->nunit; i++)
        if (strcmp(t->unit[i].name, unit_type) == 0) return 1;
    return 0;
}

const es_unit_type_spec *es_tables_unit_types(const es_tables *t, size_t *n)
{
    if (n) *n = t ? t->nunit : 0;
    return t ? t->unit : NULL;
}

int es_tables_equal(const es_tables *a, const es_tables *b)
{
    if (!a || !b) return 0;
    for (size_t k = 0; k < N_KINDS; k++) {
        if (a->nmat[k] != b->nmat[k]) return 0;
        for (size_t i = 0; i < a->nmat[k]; i++) {
            const es_material_spec *x = &a->mat[k][i], *y = &b->mat[k][i];
            if (strcmp(x->name, y->name) || strcmp(x->title_zh, y->title_zh) ||
                strcmp(x->title_en, y->title_en) || x->required != y->required ||
                strcmp(x->types, y->types) || x->max_bytes != y->max_bytes)
                return 0;
        }
    }
    if (a->nseal != b->nseal || a->nunit != b->nunit) return 0;
    for (size_t i = 0; i < a->nseal; i++)
        if (a->seal[i].code != b->seal[i].code || strcmp(a->seal[i].name_zh, b->seal[i].name_zh) ||
            strcmp(a->seal[i].name_en, b->seal[i].name_en))
            return 0;
    for (size_t i = 0; i < a->nunit; i++)
        if (strcmp(a->unit[i].name, b->unit[i].name) ||
            strcmp(a->unit[i].name_zh, b->unit[i].name_zh) ||
            strcmp(a->unit[i].name_en, b->unit[i].name_en))
            return 0;
    return 1;
}

/* --- writing (eseal national tables: the shipped etc/making.conf is this output) --- */

static const char file_head[] =
    "# eseal making tables (docs/national.md \"The making tables\"): what the making system\n"
    "# asks of an application. esealsd reads this file when [making] tables names it; without\n"
    "# it the built-in defaults apply, which are exactly this file's content\n"
    "# (`eseal national tables` prints them).\n"
    "#\n"
    "# Format: INI as etc/profiles.conf; lines starting with '#' or ';' are comments; unknown\n"
    "# sections and keys are errors.\n"
    "#\n"
    "#   [material.KIND.NAME]  a material an application of KIND needs (apply, change, loss,\n"
    "#                         cancel, renew, replace, suspend, restore), in the order shown\n"
    "#                         to people; NAME is its name in URLs (a-z, 0-9, '_')\n"
    "#     title_zh, title_en  what it is, as the standard's table says it\n"
    "#     required            yes: always; no: when applicable\n"
    "#     types               accepted file types: pdf, ofd, jpeg, png\n"
    "#     max_bytes           the largest file accepted\n"
    "#   [seal_type.CODE]      a seal type; CODE is SES_ESPropertyInfo.type (our numbering:\n"
    "#                         no national table exists, docs/national.md)\n"
    "#     name_zh, name_en\n"
    "#   [unit_type.NAME]      a unit type of LD/T 01.1 §7.5 (单位类型)\n"
    "#     name_zh, name_en\n";

es_err es_tables_write(const es_tables *t, es_buf *out)
{
    es_err rv;
    if (!t || !out) return ES_ERR_ARG;
    if ((rv = es_buf_append_str(out, file_head)) != ES_OK) return rv;
    for (size_t k = 0; k < N_KINDS; k++) {
        rv =
            es_buf_printf(out, "\n# --- %s %s: %s\n", kinds[k].zh, kinds[k].name, def_mat[k].table);
        for (size_t i = 0; rv == ES_OK && i < t->nmat[k]; i++) {
            const es_material_spec *m = &t->mat[k][i];
            rv = es_buf_printf(out,
                               "\n[material.%s.%s]\ntitle_zh = %s\ntitle_en = %s\nrequired = "
                               "%s\ntypes = %s\nmax_bytes = %zu\n",
                               kinds[k].name, m->name, m->title_zh, m->title_en,
                               m->required ? "yes" : "no", m->types, m->max_bytes);
        }
        if (rv != ES_OK) return rv;
    }
    rv = es_buf_append_str(out, "\n# --- seal types (SES_ESPropertyInfo.type): 1 and 2 as GM/T "
                                "0031-2014 (unit, personal);\n# the rest the 2025 measure's "
                                "categories (art. 3) in our numbering\n");
    for (size_t i = 0; rv == ES_OK && i < t->nseal; i++)
        rv = es_buf_printf(out, "\n[seal_type.%d]\nname_zh = %s\nname_en = %s\n", t->seal[i].code,
                           t->seal[i].name_zh, t->seal[i].name_en);
    if (rv == ES_OK)
        rv = es_buf_append_str(
            out, "\n# --- unit types: LD/T 01.1 §7.5 单位类型（国家行政机关或事业单位）\n");
    for (size_t i = 0; rv == ES_OK && i < t->nunit; i++)
        rv = es_buf_printf(out, "\n[unit_type.%s]\nname_zh = %s\nname_en = %s\n", t->unit[i].name,
                           t->unit[i].name_zh, t->unit[i].name_en);
    return rv;
}
