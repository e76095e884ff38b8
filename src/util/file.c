/* The only file I/O of the library: whole-file reads and atomic writes for the tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eseal/util.h"

es_err es_file_read(const char *path, es_buf *b)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO;
    es_err rv = ES_OK;
    uint8_t chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rv = ES_ERR_IO;
            break;
        }
        if (n == 0) break;
        if ((rv = es_buf_append(b, chunk, (size_t)n)) != ES_OK) break;
    }
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

es_err es_file_write_mode(const char *path, const void *p, size_t len, unsigned mode)
{
    if (strcmp(path, "-") == 0) return write_all(STDOUT_FILENO, p, len);
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return ES_ERR_NOMEM;
    snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
    es_err rv = ES_ERR_IO;
    int fd = mkstemp(tmp);
    if (fd < 0) goto out;
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, p, len) != ES_OK || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        goto out;
    }
    /* The rename is durable once the directory entry is. */
    char *slash = strrchr(tmp, '/');
    if (slash) *slash = 0;
    int dfd = open(slash ? (slash == tmp ? "/" : tmp) : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rv = ES_OK;
out:
    free(tmp);
    return rv;
}
