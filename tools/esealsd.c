/* esealsd: the eseal daemon (docs/esealsd.md): argument parsing, then es_node_run (src/node/).
 *
 *   esealsd [--config FILE] [--listen ADDR:PORT] [--var DIR] [--help] [--version]
 *
 * Start: configuration (embedded defaults when no file), the site (keys, passphrase, seal root:
 * made on first start), the store (opened and migrated), the audit key, on first start the
 * initial system administrator "admin" whose one-time password goes to stdout once, then the
 * HTTP server (the API under /api/v1 and the console at /). SIGINT or SIGTERM stop it.
 *
 * Output: stdout carries what an operator must see at start (what was made, the one-time
 * password, the console URL, the port); stderr carries the log. The password is never logged.
 */
#include <stdio.h>
#include <string.h>

#include "eseal/node.h"

static void usage(FILE *f)
{
    fputs("usage: esealsd [--config FILE] [--listen ADDR:PORT] [--var DIR] [--help] [--version]\n"
          "\n"
          "  --config FILE      the configuration file (etc/esealsd.conf documents every key);\n"
          "                     without it, the embedded defaults\n"
          "  --listen ADDR:PORT overrides [server] listen (port 0: any free port)\n"
          "  --var DIR          the site's directory for the defaults (store, keys, passphrase);\n"
          "                     default ./var\n"
          "  --help, --version\n"
          "\n"
          "On first start esealsd makes the site's keys, its seal root CA, its system certificate\n"
          "(var/keys/system.crt, naming [server] public_url or the configured address) and the "
          "initial system\n"
          "administrator \"admin\", whose one-time password it prints once. SIGINT or SIGTERM\n"
          "stop it.\n"
          "\n"
          "examples:\n"
          "  esealsd                                  # ./var, 127.0.0.1:8440, SQLite\n"
          "  esealsd --listen 127.0.0.1:0 --var /tmp/site\n"
          "  ESEAL_PIN=... esealsd --config /etc/eseal/esealsd.conf\n"
          "\n"
          "docs/esealsd.md: the daemon; docs/api-clients.md: business systems' signed requests.\n",
          f);
}

int main(int argc, char **argv)
{
    es_node_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("esealsd %s\n", ES_NODE_VERSION);
            return 0;
        }
        if (i + 1 < argc && strcmp(a, "--config") == 0) {
            o.config = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--listen") == 0) {
            o.listen = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--var") == 0) {
            o.var = argv[++i];
        } else {
            fprintf(stderr, "esealsd: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    return es_node_run(&o);
}
