/* http: the console's static files, embedded (web/ at build time) or from a directory.
 *
 * The path arrives as decoded segments. A segment that is empty, starts with a dot ("." and
 * ".." included, hidden files too) or holds a slash, a backslash or a control character after
 * decoding ends the lookup with "not found", so neither "../", "%2e%2e/", "..%2f" nor "//"
 * reaches a file name. From a directory, the resolved real path must still lie under the
 * directory's real path (a symbolic link out of it is refused) and be a regular file.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/internal.h"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"map", "application/json"},
    {"pdf", "application/pdf"},
    {"ofd", "application/ofd"},
};

const char *http_content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0) return types[i].type;
    }
    return "application/octet-stream";
}

static int segment_ok(const char *s)
{
    if (s[0] == '\0' || s[0] == '.') return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

es_err http_static_open(const char *dir, char *const *segs, size_t nsegs,
                        const struct es_http_asset **asset, int *fd, uint64_t *size,
                        const char **name)
{
    static char *const index_seg[] = {"index.html"};
    es_err rv = ES_ERR_NOT_FOUND;
    es_buf rel;
    char *real = NULL;
    int f = -1;

    *asset = NULL;
    *fd = -1;
    *size = 0;
    if (nsegs == 0) {
        segs = index_seg;
        nsegs = 1;
    }
    es_buf_init(&rel, PATH_MAX);
    for (size_t i = 0; i < nsegs; i++) {
        if (!segment_ok(segs[i])) goto out;
        if (es_buf_printf(&rel, "%s%s", i ? "/" : "", segs[i]) != ES_OK) goto out;
    }
    if (es_buf_nul(&rel) != ES_OK) goto out;

    if (!dir) {
        for (const struct es_http_asset *a = es_http_web_assets; a->path; a++) {
            if (strcmp(a->path, (const char *)rel.p) == 0) {
                *asset = a;
                *size = a->len;
                *name = a->path;
                rv = ES_OK;
                goto out;
            }
        }
        goto out;
    }

    es_buf full;
    es_buf_init(&full, PATH_MAX);
    if (es_buf_printf(&full, "%s/%s", dir, (const char *)rel.p) != ES_OK) {
        es_buf_cleanup(&full);
        goto out;
    }
    real = realpath((const char *)full.p, NULL);
    es_buf_cleanup(&full);
    if (!real) goto out;
    size_t dl = strlen(dir);
    if (strncmp(real, dir, dl) != 0 || real[dl] != '/') goto out;
    if ((f = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) goto out;
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) goto out;
    if ((uint64_t)st.st_size > ES_MAX_HTTP_STATIC) goto out;
    *fd = f;
    f = -1;
    *size = (uint64_t)st.st_size;
    *name = segs[nsegs - 1];
    rv = ES_OK;
out:
    if (f >= 0) close(f);
    free(real);
    es_buf_cleanup(&rel);
    return rv;
}
