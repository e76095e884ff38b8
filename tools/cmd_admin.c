/* eseal admin backup | restore: consistent online backups of a daemon's store and their
 * restoration (LD/T 01.1 9.3; docs/store.md). */
#include <string.h>

#include "cli.h"
#include "eseal/audit.h"
#include "eseal/pki.h"
#include "eseal/store.h"

static const char help[] =
    "usage: eseal admin <backup|restore> [options]\n"
    "\n"
    "  backup --db URL -o FILE\n"
    "        a consistent online backup while the daemon runs: SQLite through its backup API\n"
    "        (FILE is a SQLite database), PostgreSQL through pg_dump -Fc (FILE is for\n"
    "        pg_restore); FILE is replaced whole, mode 0600\n"
    "  restore --db URL [--force] [--pub AUDIT.pub] FILE\n"
    "        restore a backup of the same kind into an empty database (--force: replace what\n"
    "        the database holds); stop the daemons first. With --pub the audit trail is\n"
    "        verified afterwards (exit 1 when it has findings)\n"
    "\n"
    "The backup holds everything in the store: accounts, clients, the audit trail, and the\n"
    "state of a CA kept there (certificates issued, revocations, CRL numbers; a directory\n"
    "CA's is DIR/ca.db: back it up with --db sqlite:DIR/ca.db). Keys are in no backup: they\n"
    "stay in their key devices (docs/ca.md \"Backup\").\n"
    "\n"
    "URL: sqlite:PATH or postgresql://USER@HOST/DB (a libpq URI; a password in it reaches\n"
    "pg_dump and pg_restore in their environment, never on a command line). pg_dump and\n"
    "pg_restore are taken from $ESEAL_PG_BINDIR, the newest /usr/lib/postgresql/N/bin, or PATH.\n"
    "\n"
    "examples:\n"
    "  eseal admin backup --db sqlite:var/eseal.db -o eseal-2026-01-01.db\n"
    "  eseal admin restore --db sqlite:restored.db --pub audit.pub eseal-2026-01-01.db\n"
    "  eseal admin backup --db postgresql://eseal@db.example/eseal -o eseal.dump\n";

static int open_store(const char *url, es_store **s)
{
    es_err rv = es_store_open(url, s);
    if (rv == ES_ERR_CONFIG)
        return cli_error("--db %s: not a store URL (sqlite:PATH or postgresql://...)", url);
    if (rv != ES_OK) return cli_error("--db: cannot open the store: %s", es_store_last_error(NULL));
    return 0;
}

/* Verifies the restored trail; 0 intact, 1 findings (printed), 3 when it cannot be read. */
static int verify_after(es_store *s, const char *pub_path)
{
    es_buf b;
    if (cli_read(pub_path, ES_MAX_CERT_DER, &b)) return EXIT_USAGE;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_err rv = es_pki_spki_read(b.p, b.len, pub);
    es_buf_cleanup(&b);
    if (rv != ES_OK) return cli_error("%s: not an SM2 public key", pub_path);
    es_audit_report rep;
    if ((rv = es_audit_verify_store(s, pub, &rep)) != ES_OK)
        return cli_error("cannot read the restored audit trail: %s", es_store_last_error(s));
    es_buf out;
    es_buf_init(&out, 64u * 1024 * 1024);
    int ret = EXIT_USAGE;
    if (es_audit_report_print(&rep, 0, &out) == ES_OK) {
        cli_out(out.p, out.len);
        ret = es_audit_report_ok(&rep) ? EXIT_PASSED : EXIT_FAILED;
    }
    es_buf_cleanup(&out);
    es_audit_report_cleanup(&rep);
    return ret;
}

int cmd_admin(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1], *db = NULL, *out = NULL, *pub = NULL, *file = NULL;
    int force = 0;
    int backup = strcmp(sub, "backup") == 0, restore = strcmp(sub, "restore") == 0;
    if (!backup && !restore) {
        fputs(help, stderr);
        return cli_error("unknown subcommand 'admin %s'", sub);
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(a, "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (backup && strcmp(a, "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (restore && strcmp(a, "--pub") == 0 && i + 1 < argc) {
            pub = argv[++i];
        } else if (restore && strcmp(a, "--force") == 0) {
            force = 1;
        } else if (a[0] == '-' && a[1]) {
            return cli_error("admin %s: unknown option %s (or it needs a value)", sub, a);
        } else if (restore && !file) {
            file = a;
        } else {
            return cli_error("admin %s: unexpected argument %s", sub, a);
        }
    }
    if (!db) return cli_error("admin %s: --db URL is needed", sub);
    if (backup && !out) return cli_error("admin backup: -o FILE is needed");
    if (restore && !file) return cli_error("admin restore: the backup FILE is needed");

    es_store *s = NULL;
    if (open_store(db, &s)) return EXIT_USAGE;
    int ret = 0;
    es_err rv;
    if (backup) {
        if ((rv = es_store_backup(s, out)) != ES_OK)
            ret = cli_error("backup failed: %s", es_store_last_error(s));
        else
            fprintf(stderr, "eseal: backup of the %s store written to %s\n", es_store_kind(s), out);
    } else if ((rv = es_store_restore(s, file, force)) != ES_OK) {
        if (rv == ES_ERR_EXISTS)
            ret = cli_error("the database is not empty: restoring would replace what it holds "
                            "(--force to do so)");
        else if (rv == ES_ERR_NOT_FOUND)
            ret = cli_error("%s: no such file", file);
        else
            ret = cli_error("restore failed: %s", es_store_last_error(s));
    } else {
        int v = 0;
        if (es_store_schema_version(s, &v) != ES_OK) v = -1;
        fprintf(stderr, "eseal: %s restored (schema version %d)\n", file, v);
        if (pub) ret = verify_after(s, pub);
    }
    es_store_close(s);
    return ret;
}
