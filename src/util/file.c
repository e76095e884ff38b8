/* The only file I/O of the library: whole-file reads and atomic writes for the tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eseal/util.h"

/* Reads straight into b, never through a stack chunk: the file may be a key or a PIN, and a
 * copy in a stack frame would outlive the call. A regular file's size is a hint, so most files
 * take one allocation. */
es_err es_file_read(const char *path, es_buf *b)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO;
    es_err rv = ES_OK;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        size_t left = b->max - b->len;
        size_t hint = (uintmax_t)st.st_size < left ? (size_t)st.st_size : left;
        if ((rv = es_buf_reserve(b, hint)) != ES_OK) goto out;
    }
    for (;;) {
        size_t left = b->max - b->len;
        size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
        if (room > left) room = left;
        if (room == 0 && left > 0) {
            if ((rv = es_buf_reserve(b, left < 65536 ? left : 65536)) != ES_OK) goto out;
            room = b->cap - b->len - 1;
            if (room > left) room = left;
        }
        if (room == 0) {
            /* Full to max: one more byte means the file is too large. */
            uint8_t probe;
            ssize_t n = read(fd, &probe, 1);
            if (n < 0 && errno == EINTR) continue;
            es_wipe(&probe, sizeof probe);
            if (n < 0)
                rv = ES_ERR_IO;
            else if (n > 0)
                rv = ES_ERR_LIMIT;
            goto out;
        }
        ssize_t n = read(fd, b->p + b->len, room);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rv = ES_ERR_IO;
            goto out;
        }
        if (n == 0) break;
        b->len += (size_t)n;
        b->p[b->len] = 0;
    }
out:
    if (fd != STDIN_FILENO) close(fd);
    return rv;
}

static es_err write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return ES_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return ES_OK;
}

es_err es_file_write(const char *path, const void *p, size_t len)
{
    /* Published files are ordinary data: 0644 less the umask. */
    mode_t um = umask(0);
    umask(um);
    return es_file_write_mode(path, p, len, 0644 & ~um);
}

es_err es_file_tmp_create(const char *path, unsigned mode, char **tmp, int *fd)
{
    *tmp = NULL;
    *fd = -1;
    size_t n = strlen(path) + 16;
    char *t = malloc(n);
    if (!t) return ES_ERR_NOMEM;
    snprintf(t, n, "%s.tmpXXXXXX", path);
    /* Next to path, so that the rename stays on one file system. mkstemp makes it 0600. */
    int f = mkstemp(t);
    if (f < 0) {
        free(t);
        return ES_ERR_IO;
    }
    if ((mode_t)mode != 0600 && fchmod(f, (mode_t)mode) != 0) {
        close(f);
        unlink(t);
        free(t);
        return ES_ERR_IO;
    }
    *tmp = t;
    *fd = f;
    return ES_OK;
}

es_err es_file_tmp_commit(const char *tmp, const char *path)
{
    /* The writer may have closed its descriptor (stdio, libzip, sqlite, pg_dump): open again
     * to make the contents durable before the rename makes them visible. */
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    int bad = fd < 0 || fsync(fd) != 0;
    if (fd >= 0) close(fd);
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e; /* callers quote strerror(errno) */
        return ES_ERR_IO;
    }
    /* The rename is durable once the directory entry is. */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return ES_OK;
}

es_err es_file_write_mode(const char *path, const void *p, size_t len, unsigned mode)
{
    if (strcmp(path, "-") == 0) return write_all(STDOUT_FILENO, p, len);
    char *tmp;
    int fd;
    es_err rv = es_file_tmp_create(path, mode, &tmp, &fd);
    if (rv != ES_OK) return rv;
    rv = write_all(fd, p, len);
    if (close(fd) != 0 && rv == ES_OK) rv = ES_ERR_IO;
    if (rv == ES_OK)
        rv = es_file_tmp_commit(tmp, path); /* removes tmp when it fails */
    else
        unlink(tmp);
    free(tmp);
    return rv;
}
