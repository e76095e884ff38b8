/* The INI-like reader of eseal's configuration files (profiles.conf, esealsd.conf):
 * [section] lines, key = value lines, # and ; comments, a UTF-8 BOM tolerated. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "eseal/util.h"

#define INI_MAX_LINE 1024

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

es_err es_ini_parse(es_slice text, es_ini_cb cb, void *ctx, char *why, size_t whylen)
{
    char section[64] = "";
    char line[INI_MAX_LINE + 1];
    const uint8_t *p = text.p, *end = text.p + text.len;
    int lineno = 0;
    char inner[200];
    if (why && whylen) why[0] = 0;
    /* A UTF-8 byte order mark, as some editors write. */
    if (text.len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (why) snprintf(why, whylen, __VA_ARGS__);                                               \
        return ES_ERR_CONFIG;                                                                      \
    } while (0)
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (n > INI_MAX_LINE) FAIL("line %d: longer than %d bytes", lineno, INI_MAX_LINE);
        if (memchr(p, 0, n)) FAIL("line %d: a NUL byte", lineno);
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (nl ? 1 : 0);
        char *s = line;
        while (is_blank(*s)) s++;
        char *e = s + strlen(s);
        while (e > s && is_blank(e[-1])) *--e = 0;
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            if (e[-1] != ']' || e - s < 3) FAIL("line %d: a section is written [name]", lineno);
            e[-1] = 0;
            if (strlen(s + 1) >= sizeof section) FAIL("line %d: section name too long", lineno);
            for (char *c = s + 1; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
                    FAIL("line %d: section names use letters, digits, '-', '_' and '.'", lineno);
            snprintf(section, sizeof section, "%s", s + 1);
            es_err rv = cb(ctx, section, NULL, NULL, inner, sizeof inner);
            if (rv != ES_OK) FAIL("line %d: %s", lineno, inner);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) FAIL("line %d: expected 'key = value'", lineno);
        char *ke = eq;
        while (ke > s && is_blank(ke[-1])) ke--;
        *ke = 0;
        char *v = eq + 1;
        while (is_blank(*v)) v++;
        if (!*s) FAIL("line %d: a value without a key", lineno);
        for (char *c = s; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
                FAIL("line %d: '%s' is not a key name", lineno, s);
        if (!section[0]) FAIL("line %d: '%s' before any [section]", lineno, s);
        es_err rv = cb(ctx, section, s, v, inner, sizeof inner);
        if (rv != ES_OK) FAIL("line %d: %s", lineno, inner);
    }
#undef FAIL
    return ES_OK;
}
