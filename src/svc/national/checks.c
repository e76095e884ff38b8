/* Checks of the fields a person enters (LD/T 01.1 §7.5): GB 11643 citizen ID numbers, mainland
 * mobile numbers, GB 32100 unified social credit codes. Each refusal says why, in English and
 * Chinese (docs/national.md). */
#include <string.h>

#include "eseal/national.h"
#include "eseal/pki.h"
#include "svc/national/internal.h"

static es_err refuse(es_reason *why, const char *en, const char *zh)
{
    if (why) {
        why->en = en;
        why->zh = zh;
    }
    return ES_ERR_ARG;
}

static void clear(es_reason *why)
{
    if (why) why->en = why->zh = NULL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

char es_idno_check_char(const char first17[17])
{
    /* GB 11643-1999 §7 (ISO 7064 MOD 11-2): weights Wi = 2^(17-i) mod 11 for the 17 digits
     * from the left; the check character is (12 - sum mod 11) mod 11, 10 written 'X'. */
    static const char chars[] = "10X98765432";
    unsigned sum = 0, w = 1;
    for (int i = 16; i >= 0; i--) {
        w = w * 2 % 11;
        if (!is_digit(first17[i])) return 0;
        sum += (unsigned)(first17[i] - '0') * w;
    }
    return chars[sum % 11];
}

/* 1 when the first two digits name a province-level division (GB/T 2260), or 83, the prefix
 * of residence permits of Taiwan residents (GB 11643 numbers issued since 2018). */
static int province_known(const char *id)
{
    if (id[0] == '8' && id[1] == '3') return 1;
    char code[7] = {id[0], id[1], '0', '0', '0', '0', 0};
    es_division d;
    return es_division_find(code, &d, NULL) == ES_OK && d.level == 1;
}

es_err es_idno_check_at(const char *id, es_time now, es_reason *why)
{
    clear(why);
    if (!id || !*id) return refuse(why, "the citizen ID number is empty", "公民身份号码为空");
    size_t len = strnlen(id, 19);
    if (len != 18)
        return refuse(why, "a citizen ID number has 18 characters", "公民身份号码应为 18 位");
    for (int i = 0; i < 17; i++)
        if (!is_digit(id[i]))
            return refuse(why, "the first 17 characters of a citizen ID number are digits",
                          "公民身份号码前 17 位应为数字");
    if (!is_digit(id[17]) && id[17] != 'X') {
        if (id[17] == 'x')
            return refuse(why, "the check character of a citizen ID number is a capital X",
                          "公民身份号码校验码应为大写 X");
        return refuse(why, "the 18th character of a citizen ID number is a digit or X",
                      "公民身份号码第 18 位应为数字或 X");
    }
    if (!province_known(id))
        return refuse(why, "the first two digits name no province (GB/T 2260)",
                      "公民身份号码前两位不是有效的省级行政区划代码");
    int year = (id[6] - '0') * 1000 + (id[7] - '0') * 100 + (id[8] - '0') * 10 + (id[9] - '0');
    int mon = (id[10] - '0') * 10 + (id[11] - '0');
    int day = (id[12] - '0') * 10 + (id[13] - '0');
    es_time birth;
    if (year < 1900 || es_time_from_fields(year, mon, day, 0, 0, 0, &birth) != ES_OK)
        return refuse(why, "the date of birth (characters 7-14) is not a real date",
                      "出生日期码（第 7-14 位）不是有效日期");
    /* Today in China Standard Time (UTC+8): a child born today in Beijing has today's date. */
    int ty, tm, td, h, mi, s;
    es_time_to_fields(now + 8 * 3600, &ty, &tm, &td, &h, &mi, &s);
    if (year * 10000 + mon * 100 + day > ty * 10000 + tm * 100 + td)
        return refuse(why, "the date of birth (characters 7-14) is in the future",
                      "出生日期码（第 7-14 位）晚于今天");
    if (es_idno_check_char(id) != id[17])
        return refuse(why, "the check character (18th) is wrong (GB 11643)",
                      "公民身份号码校验码（第 18 位）错误");
    return ES_OK;
}

es_err es_idno_check(const char *id, es_reason *why)
{
    return es_idno_check_at(id, es_time_now(), why);
}

es_err es_mobile_check(const char *mobile, es_reason *why)
{
    clear(why);
    if (!mobile || !*mobile) return refuse(why, "the mobile number is empty", "手机号码为空");
    if (strnlen(mobile, 12) != 11)
        return refuse(why, "a mobile number has 11 digits", "手机号码应为 11 位数字");
    for (int i = 0; i < 11; i++)
        if (!is_digit(mobile[i]))
            return refuse(why, "a mobile number has digits only", "手机号码只能包含数字");
    if (mobile[0] != '1' || mobile[1] < '3')
        return refuse(why, "a mainland mobile number starts with 13 to 19",
                      "手机号码应以 13 至 19 开头");
    return ES_OK;
}

es_err es_uscc_check(const char *code, es_reason *why)
{
    /* The reasons es_pki_uscc_check gives (static English), with their Chinese. */
    static const struct {
        const char *en, *zh;
    } known[] = {
        {"shorter than 18 characters", "统一社会信用代码应为 18 位"},
        {"a character outside 0-9 and A-Z without I, O, S, V, Z",
         "统一社会信用代码只能包含数字和除 I、O、S、V、Z 以外的大写字母"},
        {"characters 3-8 are not a 6-digit division code",
         "统一社会信用代码第 3-8 位应为 6 位行政区划码"},
        {"characters 9-17 are not an organisation code with a valid GB 11714 check character",
         "统一社会信用代码第 9-17 位不是校验正确的组织机构代码（GB 11714）"},
        {"the GB 32100 check character (18th) is wrong",
         "统一社会信用代码校验码（第 18 位）错误（GB 32100）"},
    };
    clear(why);
    if (!code || !*code)
        return refuse(why, "the unified social credit code is empty", "统一社会信用代码为空");
    size_t len = strnlen(code, 19);
    if (len != 18)
        return refuse(why, "a unified social credit code has 18 characters",
                      "统一社会信用代码应为 18 位");
    for (size_t i = 0; i < len; i++)
        if (code[i] >= 'a' && code[i] <= 'z')
            return refuse(why, "a unified social credit code is written in capital letters",
                          "统一社会信用代码中的字母应为大写");
    const char *pw = NULL;
    if (es_pki_uscc_check(code, len, &pw) == ES_OK) return ES_OK;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (pw && strcmp(pw, known[i].en) == 0) return refuse(why, known[i].en, known[i].zh);
    return refuse(why, "not a valid unified social credit code (GB 32100)",
                  "统一社会信用代码无效（GB 32100）");
}
