/* A build step (cmake/national.cmake): turns data/divisions.tsv into a C table that
 * src/svc/national/division.c includes, so that the library needs no file at run time.
 *
 *   embed_divisions data/divisions.tsv OUT.h
 *
 * The TSV is checked here, and the build fails on a line that does not fit: comment lines
 * start with '#' ("# source: ..." names the package, version, licence and date), then the
 * header "code<TAB>name<TAB>full<TAB>level", then one division a line: 6 digits in ascending
 * order, a name (1-63 bytes) and a full name (1-191 bytes) of UTF-8 without quotes,
 * backslashes or control characters, and the level 1, 2 or 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *path, int line, const char *what)
{
    fprintf(stderr, "%s:%d: %s\n", path, line, what);
    return 1;
}

/* 1 when s is text we can put between quotes as it is. */
static int plain(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '?') return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: embed_divisions divisions.tsv out.h\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    FILE *out = fopen(argv[2], "w");
    if (!out) {
        perror(argv[2]);
        fclose(in);
        return 1;
    }
    char line[1024], last[7] = "";
    char source[1024] = "";
    int lineno = 0, header = 0, n = 0, rc = 0;
    fprintf(out,
            "/* Generated from %s by scripts/embed_divisions.c: do not edit. */\n"
            "static const division_row division_rows[] = {\n",
            argv[1]);
    while (fgets(line, sizeof line, in)) {
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n') line[--len] = 0;
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (line[0] == '#') {
            if (strncmp(line, "# source: ", 10) == 0) {
                snprintf(source, sizeof source, "%s", line + 10);
                if (!plain(source)) {
                    rc = fail(argv[1], lineno, "the source line holds quotes or backslashes");
                    break;
                }
            }
            continue;
        }
        if (!header) {
            if (strcmp(line, "code\tname\tfull\tlevel") != 0) {
                rc = fail(argv[1], lineno, "expected the header code<TAB>name<TAB>full<TAB>level");
                break;
            }
            header = 1;
            continue;
        }
        char *f[4], *p = line;
        int k = 0;
        for (; k < 4 && p; k++) {
            f[k] = p;
            p = strchr(p, '\t');
            if (p) *p++ = 0;
        }
        if (k != 4 || p) {
            rc = fail(argv[1], lineno, "expected 4 fields separated by tabs");
            break;
        }
        if (strlen(f[0]) != 6 || strspn(f[0], "0123456789") != 6) {
            rc = fail(argv[1], lineno, "the code is not 6 digits");
            break;
        }
        if (strcmp(f[0], last) <= 0) {
            rc = fail(argv[1], lineno, "codes must be in ascending order, each once");
            break;
        }
        memcpy(last, f[0], 7);
        if (!*f[1] || strlen(f[1]) > 63 || !plain(f[1]) || !*f[2] || strlen(f[2]) > 191 ||
            !plain(f[2])) {
            rc = fail(argv[1], lineno, "a name or full name that is empty, too long or not plain");
            break;
        }
        if (strlen(f[3]) != 1 || f[3][0] < '1' || f[3][0] > '3') {
            rc = fail(argv[1], lineno, "the level is not 1, 2 or 3");
            break;
        }
        fprintf(out, "    {\"%s\", \"%s\", \"%s\", %c},\n", f[0], f[1], f[2], f[3][0]);
        n++;
    }
    if (!rc && !header) rc = fail(argv[1], lineno, "no header line");
    if (!rc && n == 0) rc = fail(argv[1], lineno, "no divisions");
    if (!rc && !source[0]) rc = fail(argv[1], 1, "no \"# source: \" line");
    if (!rc) fprintf(out, "};\nstatic const char division_source[] = \"%s\";\n", source);
    fclose(in);
    if (fclose(out) != 0) rc = 1;
    if (rc) remove(argv[2]);
    return rc;
}
