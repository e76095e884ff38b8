/* eseal audit verify | export | list: the signed audit trail of a daemon's store, read and
 * checked offline (docs/audit.md). Nothing here writes to the trail. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "eseal/audit.h"
#include "eseal/pki.h"
#include "eseal/store.h"
#include "eseal/witness.h"

static const char help[] =
    "usage: eseal audit <verify|export|list> [options]\n"
    "\n"
    "The audit trail of an esealsd store: every record chained (SM3) and signed with the\n"
    "daemon's audit key, under a signed head (docs/audit.md).\n"
    "\n"
    "  verify (--db URL | --export FILE) --pub AUDIT.pub [--witness FILE|URL] [--json]\n"
    "        check every record's hash and signature, the chain and the head; each finding\n"
    "        names its record: changed, removed, reordered, truncated, bad_signature\n"
    "        --witness: and every checkpoint the witness outside the site holds (the\n"
    "        witness file of [audit] witness, one signed checkpoint a line, or the witness\n"
    "        esealsd at http://HOST:PORT/, read as --witness-client NAME with\n"
    "        --witness-key KEY): a trail that disagrees with one, or is shorter than the\n"
    "        newest, fails (finding: witness)\n"
    "        exit 0 intact, 1 findings, 3 when the trail cannot be read\n"
    "  export --db URL [filters] -o FILE\n"
    "        JSON Lines: a header, one line per record, the signed head (FILE - : stdout);\n"
    "        verifiable offline with verify --export\n"
    "  list --db URL [filters] [--after SEQ] [--limit N] [--json]\n"
    "        one line per record, oldest first (--json: the export's record lines)\n"
    "\n"
    "filters: --from T (at or after), --to T (before), --actor NAME, --action NAME\n"
    "URL: sqlite:PATH or postgresql://USER@HOST/DB (a libpq URI)\n"
    "T: ISO 8601 (2026-01-01, 2026-01-01T08:00:00+08:00)\n"
    "AUDIT.pub: the audit key's public key (PEM or DER SubjectPublicKeyInfo)\n"
    "\n"
    "examples:\n"
    "  eseal audit verify --db sqlite:var/eseal.db --pub audit.pub\n"
    "  eseal audit verify --db sqlite:var/eseal.db --pub audit.pub --witness "
    "/mnt/witness/site.jsonl\n"
    "  eseal audit verify --db sqlite:var/eseal.db --pub audit.pub --witness "
    "http://10.1.0.5:8440/ \\\n"
    "      --witness-client city-fz --witness-key soft:var/keys#witness\n"
    "  eseal audit export --db sqlite:var/eseal.db --from 2026-01-01 --to 2026-02-01 -o "
    "jan.jsonl\n"
    "  eseal audit verify --export jan.jsonl --pub audit.pub --json\n"
    "  eseal audit list --db postgresql://eseal@db.example/eseal --actor alice --limit 20\n";

typedef struct opts {
    const char *db, *export_file, *pub, *out, *witness, *wclient, *wkey;
    int json;
    es_audit_filter f;
} opts;

/* Parses the options every subcommand shares; the subcommand says which it accepts. Returns
 * 0 to go on, -1 after help, or an exit status. */
static int parse(int argc, char **argv, const char *accepts, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return -1;
        }
        const char *key = strcmp(a, "--json") == 0             ? "json"
                          : strcmp(a, "--db") == 0             ? "db"
                          : strcmp(a, "--export") == 0         ? "export"
                          : strcmp(a, "--pub") == 0            ? "pub"
                          : strcmp(a, "--witness") == 0        ? "witness"
                          : strcmp(a, "--witness-client") == 0 ? "wclient"
                          : strcmp(a, "--witness-key") == 0    ? "wkey"
                          : strcmp(a, "-o") == 0               ? "o"
                          : strcmp(a, "--from") == 0           ? "from"
                          : strcmp(a, "--to") == 0             ? "to"
                          : strcmp(a, "--actor") == 0          ? "actor"
                          : strcmp(a, "--action") == 0         ? "action"
                          : strcmp(a, "--after") == 0          ? "after"
                          : strcmp(a, "--limit") == 0          ? "limit"
                                                               : NULL;
        char want[24];
        snprintf(want, sizeof want, " %s ", key ? key : "?");
        if (!key || !strstr(accepts, want))
            return cli_error("audit %s: unknown option %s (eseal audit --help)", argv[0], a);
        if (strcmp(key, "json") == 0) {
            o->json = 1;
            continue;
        }
        if (!v) return cli_error("%s needs a value", a);
        i++;
        es_time t;
        long n;
        if (strcmp(key, "db") == 0) {
            o->db = v;
        } else if (strcmp(key, "export") == 0) {
            o->export_file = v;
        } else if (strcmp(key, "pub") == 0) {
            o->pub = v;
        } else if (strcmp(key, "witness") == 0) {
            o->witness = v;
        } else if (strcmp(key, "wclient") == 0) {
            o->wclient = v;
        } else if (strcmp(key, "wkey") == 0) {
            o->wkey = v;
        } else if (strcmp(key, "o") == 0) {
            o->out = v;
        } else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
            if (cli_time(a, v, &t)) return EXIT_USAGE;
            /* 0 means "no bound": the epoch itself is never an audit time. */
            int64_t ms = (int64_t)t * 1000;
            *(key[0] == 'f' ? &o->f.from : &o->f.to) = ms != 0 ? ms : 1;
        } else if (strcmp(key, "actor") == 0) {
            o->f.actor = v;
        } else if (strcmp(key, "action") == 0) {
            o->f.action = v;
        } else {
            if (cli_long(a, v, &n)) return EXIT_USAGE;
            *(key[1] == 'f' ? &o->f.after : &o->f.limit) = n;
        }
    }
    return 0;
}

static int open_store(const char *url, es_store **s)
{
    es_err rv = es_store_open(url, s);
    if (rv == ES_ERR_CONFIG)
        return cli_error("--db %s: not a store URL (sqlite:PATH or postgresql://...)", url);
    if (rv != ES_OK) return cli_error("--db: cannot open the store: %s", es_store_last_error(NULL));
    return 0;
}

static int store_error(es_store *s, es_err rv, const char *what)
{
    const char *why = es_store_last_error(s);
    return cli_error("%s: %s%s%s", what, es_err_str(rv), *why ? ": " : "", why);
}

static int load_pub(const char *path, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_buf b;
    if (cli_read(path, ES_MAX_CERT_DER, &b)) return EXIT_USAGE;
    es_err rv = es_pki_spki_read(b.p, b.len, pub);
    es_buf_cleanup(&b);
    if (rv != ES_OK)
        return cli_error("%s: not an SM2 public key (PEM PUBLIC KEY or DER SubjectPublicKeyInfo)",
                         path);
    return 0;
}

/* An export read line by line from a file (the verifier reads it twice). */
static es_err file_next(void *ctx, es_buf *line, int *eof)
{
    FILE *f = ctx;
    es_err rv = ES_OK;
    int c, any = 0;
    *eof = 0;
    while ((c = getc(f)) != EOF) {
        any = 1;
        if (c == '\n') return rv;
        /* Past the limit the rest of the line is skipped, and the line reported. */
        if (rv == ES_OK) rv = es_buf_append_byte(line, (uint8_t)c);
    }
    if (ferror(f)) return ES_ERR_IO;
    if (!any) *eof = 1;
    return rv;
}

static es_err file_rewind(void *ctx)
{
    return fseek(ctx, 0, SEEK_SET) == 0 ? ES_OK : ES_ERR_IO;
}

/* Standard input cannot be read twice: it is copied to a temporary file first. */
static FILE *open_export(const char *path)
{
    if (strcmp(path, "-") != 0) return fopen(path, "rb");
    FILE *t = tmpfile();
    if (!t) return NULL;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, n, t) != n) {
            fclose(t);
            return NULL;
        }
    if (ferror(stdin) || fseek(t, 0, SEEK_SET) != 0) {
        fclose(t);
        return NULL;
    }
    return t;
}

/* The checkpoints of a witness file (docs/audit.md "Witness"). A witness that cannot be
 * read is an error, not a partial witness. */
static int load_witness(const opts *o, es_audit_witness *w)
{
    const char *path = o->witness;
    es_buf b;
    char why[700] = "";
    if (strncmp(path, "http://", 7) == 0) {
        if (!o->wclient || !o->wkey)
            return cli_error("--witness %s: --witness-client NAME and --witness-key KEY are "
                             "needed (this site's client at the witness)",
                             path);
        es_signer *key = NULL;
        if (cli_load_signer(o->wkey, &key)) return EXIT_USAGE;
        es_err rv = es_witness_http_fetch(path, o->wclient, key, w, why, sizeof why);
        es_signer_free(key);
        if (rv != ES_OK) {
            es_audit_witness_cleanup(w);
            return cli_error("--witness %s: %s", path, why[0] ? why : es_err_str(rv));
        }
        if (w->n == 0)
            return cli_error("--witness %s: it holds no checkpoint of %s", path, o->wclient);
        return 0;
    }
    if (o->wclient || o->wkey)
        return cli_error("--witness-client and --witness-key go with --witness http://...");
    if (cli_read(path, (size_t)ES_AUDIT_WITNESS_MAX * 1024, &b)) return EXIT_USAGE;
    es_err rv = es_audit_witness_parse(b.p, b.len, w, why, sizeof why);
    es_buf_cleanup(&b);
    if (rv != ES_OK) {
        es_audit_witness_cleanup(w);
        return cli_error("--witness %s: %s", path, why[0] ? why : es_err_str(rv));
    }
    if (w->n == 0) return cli_error("--witness %s: no checkpoint in it", path);
    return 0;
}

static int sub_verify(int argc, char **argv)
{
    opts o;
    int ret = parse(argc, argv, " db export pub witness wclient wkey json ", &o);
    if (ret) return ret < 0 ? 0 : ret;
    if (!o.db == !o.export_file) return cli_error("audit verify: one of --db URL or --export FILE");
    if (!o.pub) return cli_error("audit verify: --pub AUDIT.pub is needed (the audit public key)");
    uint8_t pub[ES_SM2_PUB_LEN];
    if (load_pub(o.pub, pub)) return EXIT_USAGE;
    es_audit_witness w = {0};
    if (o.witness && (ret = load_witness(&o, &w)) != 0) return ret;

    es_audit_report rep;
    es_err rv;
    if (o.db) {
        es_store *s = NULL;
        if (open_store(o.db, &s)) {
            es_audit_witness_cleanup(&w);
            return EXIT_USAGE;
        }
        rv = es_audit_verify_store_witness(s, pub, o.witness ? &w : NULL, &rep);
        if (rv != ES_OK) {
            ret = store_error(s, rv, "cannot read the audit trail");
            es_store_close(s);
            es_audit_witness_cleanup(&w);
            return ret;
        }
        es_store_close(s);
    } else {
        FILE *f = open_export(o.export_file);
        if (!f) {
            es_audit_witness_cleanup(&w);
            return cli_error("%s: %s", o.export_file, strerror(errno));
        }
        es_audit_lines in = {file_next, file_rewind, f};
        rv = es_audit_verify_export_witness(&in, pub, o.witness ? &w : NULL, &rep);
        fclose(f);
        if (rv != ES_OK) {
            es_audit_witness_cleanup(&w);
            return cli_error("%s: %s", o.export_file, es_err_str(rv));
        }
    }
    es_audit_witness_cleanup(&w);
    es_buf out;
    es_buf_init(&out, 64u * 1024 * 1024);
    if ((rv = es_audit_report_print(&rep, o.json, &out)) != ES_OK) {
        ret = cli_error("cannot print the report: %s", es_err_str(rv));
    } else {
        cli_out(out.p, out.len);
        ret = es_audit_report_ok(&rep) ? EXIT_PASSED : EXIT_FAILED;
    }
    es_buf_cleanup(&out);
    es_audit_report_cleanup(&rep);
    return ret;
}

static es_err file_write(void *ctx, const void *p, size_t len)
{
    return fwrite(p, 1, len, ctx) == len ? ES_OK : ES_ERR_IO;
}

static int sub_export(int argc, char **argv)
{
    opts o;
    int ret = parse(argc, argv, " db o from to actor action ", &o);
    if (ret) return ret < 0 ? 0 : ret;
    if (!o.db) return cli_error("audit export: --db URL is needed");
    if (!o.out) return cli_error("audit export: -o FILE is needed (- for standard output)");
    es_store *s = NULL;
    if (open_store(o.db, &s)) return EXIT_USAGE;

    /* A file is written whole or not at all: a temporary file (0600: the trail names people),
     * then a rename. */
    int to_stdout = strcmp(o.out, "-") == 0;
    char *tmp = NULL;
    FILE *f = stdout;
    if (!to_stdout) {
        int fd = -1;
        if (es_file_tmp_create(o.out, 0600, &tmp, &fd) != ES_OK || !(f = fdopen(fd, "wb"))) {
            ret = cli_error("%s: cannot write: %s", o.out, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            free(tmp);
            es_store_close(s);
            return ret;
        }
    }
    int64_t count = 0;
    es_err rv = es_audit_export(s, &o.f, file_write, f, &count);
    if (rv == ES_OK && fflush(f) != 0) rv = ES_ERR_IO;
    if (!to_stdout) {
        if (fclose(f) != 0 && rv == ES_OK) rv = ES_ERR_IO;
        if (rv == ES_OK) rv = es_file_tmp_commit(tmp, o.out); /* fsync, rename; tmp gone if not */
        if (rv != ES_OK) unlink(tmp);
        free(tmp);
    }
    if (rv == ES_ERR_IO)
        ret = cli_error("%s: cannot write: %s", o.out, strerror(errno));
    else if (rv == ES_ERR_FORMAT)
        ret = cli_error("a record holds text that is not UTF-8, which only tampering puts "
                        "there: run eseal audit verify --db");
    else if (rv != ES_OK)
        ret = store_error(s, rv, "cannot export the audit trail");
    else
        fprintf(stderr, "eseal: %lld record%s exported\n", (long long)count, count == 1 ? "" : "s");
    es_store_close(s);
    return ret;
}

typedef struct list_out {
    int json;
    es_buf line;
} list_out;

static es_err print_record(void *ctx, const es_audit_record *r)
{
    list_out *l = ctx;
    l->line.len = 0;
    es_err rv;
    if (l->json) {
        rv = es_audit_record_json(r, &l->line);
    } else {
        char t[32];
        es_time_format_iso(r->at / 1000, t);
        rv = es_buf_printf(&l->line, "%lld  %.19s.%03dZ  %s%s%s%s  %s  %s  %s", (long long)r->seq,
                           t, (int)(r->at % 1000), r->actor, *r->role ? " (" : "", r->role,
                           *r->role ? ")" : "", r->action, *r->object ? r->object : "-", r->detail);
    }
    if (rv == ES_OK) rv = es_buf_append_byte(&l->line, '\n');
    if (rv == ES_OK) cli_out(l->line.p, l->line.len);
    return rv;
}

static int sub_list(int argc, char **argv)
{
    opts o;
    int ret = parse(argc, argv, " db from to actor action after limit json ", &o);
    if (ret) return ret < 0 ? 0 : ret;
    if (!o.db) return cli_error("audit list: --db URL is needed");
    es_store *s = NULL;
    if (open_store(o.db, &s)) return EXIT_USAGE;
    list_out l = {o.json, {0}};
    es_buf_init(&l.line, ES_AUDIT_MAX_LINE);
    es_err rv = es_audit_list(s, &o.f, print_record, &l);
    if (rv != ES_OK) ret = store_error(s, rv, "cannot list the audit trail");
    es_buf_cleanup(&l.line);
    es_store_close(s);
    return ret;
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "verify") == 0) return sub_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0) return sub_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0) return sub_list(argc - 1, argv + 1);
    fputs(help, stderr);
    return cli_error("unknown subcommand 'audit %s'", argv[1]);
}
