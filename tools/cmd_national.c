/* eseal national: the checks of the national conventions for the counter's staff
 * (include/eseal/national.h, docs/national.md): citizen ID numbers, mobile numbers, credit
 * codes, division codes, and the making tables. Messages in Chinese and English. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "eseal/national.h"

static const char help[] =
    "usage: eseal national <check-id|check-mobile|uscc|division|divisions|tables> ...\n"
    "\n"
    "国家标准校验（柜台人员使用） / checks of the national conventions, for the counter:\n"
    "\n"
    "  check-id ID        公民身份号码（GB 11643：校验码、出生日期、省级代码）\n"
    "                     citizen ID number (GB 11643: check character, birth date, province)\n"
    "  check-mobile NUM   手机号码 / mainland mobile number (11 digits, 1[3-9])\n"
    "  uscc CODE          统一社会信用代码（GB 32100）/ unified social credit code\n"
    "  division CODE      行政区划代码（GB/T 2260）/ division code: its name and level\n"
    "  divisions PREFIX   以 PREFIX 开头的行政区划 / the divisions whose code starts so\n"
    "  tables [FILE]      制作系统配置表：无 FILE 时输出内置表（即 etc/making.conf），有 FILE\n"
    "                     时检查该文件 / the making tables: the built-in ones as INI (what\n"
    "                     etc/making.conf holds), or check FILE\n"
    "\n"
    "Exit status: 0 valid (有效), 1 invalid (无效), 3 usage.\n"
    "\n"
    "examples:\n"
    "  eseal national check-id 11010519491231002X\n"
    "  eseal national check-mobile 13800138000\n"
    "  eseal national uscc 12440300MB2C3D4E74\n"
    "  eseal national division 440305\n"
    "  eseal national divisions 4403\n"
    "  eseal national tables /etc/eseal/making.conf\n";

/* The one value of a check subcommand. */
static int one_value(int argc, char **argv, const char *what, const char **value)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return -1;
    }
    if (argc != 2) {
        fputs(help, stderr);
        return cli_error("national %s takes one %s", argv[0], what);
    }
    *value = argv[1];
    return 0;
}

static int invalid(const char *value, const es_reason *why)
{
    printf("无效 invalid: %s\n  %s\n  %s\n", value, why->zh ? why->zh : "", why->en ? why->en : "");
    return EXIT_FAILED;
}

static int run_check_id(int argc, char **argv)
{
    const char *v;
    int r = one_value(argc, argv, "citizen ID number", &v);
    if (r) return r < 0 ? 0 : r;
    es_reason why;
    if (es_idno_check(v, &why) != ES_OK) return invalid(v, &why);
    char prov[7] = {v[0], v[1], '0', '0', '0', '0', 0};
    es_division d;
    const char *pname = es_division_find(prov, &d, NULL) == ES_OK ? d.name : "台湾居民居住证";
    printf("有效 valid: %s\n  出生日期 date of birth: %.4s-%.2s-%.2s\n  省级 province: %s\n", v,
           v + 6, v + 10, v + 12, pname);
    return 0;
}

static int run_check_mobile(int argc, char **argv)
{
    const char *v;
    int r = one_value(argc, argv, "mobile number", &v);
    if (r) return r < 0 ? 0 : r;
    es_reason why;
    if (es_mobile_check(v, &why) != ES_OK) return invalid(v, &why);
    printf("有效 valid: %s\n", v);
    return 0;
}

static int run_uscc(int argc, char **argv)
{
    const char *v;
    int r = one_value(argc, argv, "unified social credit code", &v);
    if (r) return r < 0 ? 0 : r;
    es_reason why;
    if (es_uscc_check(v, &why) != ES_OK) return invalid(v, &why);
    char div[7];
    memcpy(div, v + 2, 6);
    div[6] = 0;
    es_division d;
    printf("有效 valid: %s\n  登记管理部门 registration authority code: %c, 机构类别 type: %c\n"
           "  行政区划 division: %s %s\n",
           v, v[0], v[1], div,
           es_division_find(div, &d, NULL) == ES_OK
               ? d.full
               : "（不在内置表中 / not in the built-in table）");
    return 0;
}

static const char *level_name(int level)
{
    return level == 1 ? "省级 province" : level == 2 ? "地级 prefecture" : "县级 county";
}

static int run_division(int argc, char **argv)
{
    const char *v;
    int r = one_value(argc, argv, "division code", &v);
    if (r) return r < 0 ? 0 : r;
    es_reason why;
    es_division d;
    if (es_division_find(v, &d, &why) != ES_OK) return invalid(v, &why);
    printf("%s\t%s\t%s\t%s\n", d.code, d.name, d.full, level_name(d.level));
    return 0;
}

static int run_divisions(int argc, char **argv)
{
    const char *v;
    int r = one_value(argc, argv, "code prefix (0-6 digits)", &v);
    if (r) return r < 0 ? 0 : r;
    size_t n = 0, total = 0;
    if (es_division_list(v, NULL, 0, &n, &total) != ES_OK)
        return cli_error("前缀应为 0-6 位数字 / the prefix is 0-6 digits: '%s'", v);
    for (size_t i = 0; i < es_division_count(); i++) {
        es_division d;
        if (es_division_at(i, &d) != ES_OK) break;
        if (strncmp(d.code, v, strlen(v)) != 0) continue;
        printf("%s\t%s\t%s\t%s\n", d.code, d.name, d.full, level_name(d.level));
    }
    if (total == 0) {
        printf("无 none: %s\n", v);
        return EXIT_FAILED;
    }
    fprintf(stderr, "%zu 个 divisions (%s)\n", total, es_division_source());
    return 0;
}

static int run_tables(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    if (argc > 2) return cli_error("national tables takes at most one FILE");
    char why[512];
    es_tables *t = NULL;
    es_err rv = es_tables_load(argc == 2 ? argv[1] : NULL, &t, why, sizeof why);
    if (rv != ES_OK) {
        fprintf(stderr, "eseal: 配置表无效 tables refused: %s\n", why);
        return rv == ES_ERR_CONFIG ? EXIT_FAILED : EXIT_USAGE;
    }
    if (argc == 2) {
        size_t n = 0;
        es_tables_seal_types(t, &n);
        printf("有效 valid: %s (%zu 种印章类型 seal types)\n", argv[1], n);
        for (size_t k = 0;; k++) {
            const char *zh = NULL, *kind = es_tables_kind_at(k, &zh, NULL);
            if (!kind) break;
            es_tables_materials(t, kind, &n);
            printf("  %s %s: %zu 项材料 materials\n", zh, kind, n);
        }
        es_tables_free(t);
        return 0;
    }
    es_buf out;
    es_buf_init(&out, 1u << 20);
    rv = es_tables_write(t, &out);
    es_tables_free(t);
    if (rv == ES_OK) cli_out(out.p, out.len);
    es_buf_cleanup(&out);
    return rv == ES_OK ? 0 : cli_error("%s", es_err_str(rv));
}

int cmd_national(int argc, char **argv)
{
    static const cli_cmd subs[] = {
        {"check-id", run_check_id, NULL},   {"check-mobile", run_check_mobile, NULL},
        {"uscc", run_uscc, NULL},           {"division", run_division, NULL},
        {"divisions", run_divisions, NULL}, {"tables", run_tables, NULL},
    };
    return cli_dispatch(argc, argv, "national", help, subs, sizeof subs / sizeof subs[0]);
}
