/* eseal protect status | rotate | check: the keys that protect personal data at rest, their
 * rotation, and the check of every registered sealed column and record MAC (docs/protect.md). */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "eseal/protect.h"
#include "eseal/store.h"

static const char help[] =
    "usage: eseal protect <status|rotate|check> --store URL [--kek REF] [options]\n"
    "\n"
    "  status  the keys (id, purpose, state, KEK, dates), the registered tables and how many\n"
    "          blobs each data key still seals (--kek optional)\n"
    "  rotate  a new data key becomes current; the daemons go on (old blobs still open) and\n"
    "          their job \"protect-reencrypt\" rewrites the old blobs in the background, or now\n"
    "          with --reencrypt. With --new-kek REF: the keys are rewrapped from --kek to the\n"
    "          new key-encryption key instead (the data is not touched); then set\n"
    "          [keys] protect = REF in esealsd.conf and restart the daemons\n"
    "  check   opens every registered sealed column of every row and checks every record\n"
    "          MAC; lists each failure (table, row, column); exit 0 when all pass, 1 when any\n"
    "          failed\n"
    "\n"
    "  --store URL     sqlite:PATH or postgresql://... (the daemon's [store] url)\n"
    "  --kek REF       the key-encryption key, a key reference (the daemon's [keys] protect,\n"
    "                  default soft:var/keys#protect); its PIN from ESEAL_PIN or a prompt\n"
    "  --new-kek REF   rotate: the new key-encryption key; its PIN from ESEAL_NEW_PIN or a prompt\n"
    "  --reencrypt     rotate: rewrite every blob under the new data key before returning\n"
    "\n"
    "The index key (exact search) and the MAC key (record integrity) are never rotated: every\n"
    "stored index value and MAC would have to be recomputed (docs/protect.md).\n"
    "\n"
    "examples:\n"
    "  eseal protect status --store sqlite:var/eseal.db\n"
    "  ESEAL_PIN=... eseal protect rotate --store sqlite:var/eseal.db --kek soft:var/keys#protect\n"
    "  ESEAL_PIN=... ESEAL_NEW_PIN=... eseal protect rotate --store postgresql://eseal@db/eseal "
    "\\\n"
    "      --kek soft:var/keys#protect --new-kek sdf:/usr/lib/libsdf.so#5\n"
    "  ESEAL_PIN=... eseal protect check --store sqlite:var/eseal.db --kek soft:var/keys#protect\n";

static void on_fail(void *ctx, const char *table, int64_t id, const char *column, es_err rv)
{
    (void)ctx;
    printf("FAILED %s/%lld/%s: %s (%s)\n", table, (long long)id,
           column[0] ? column : "(record MAC)", es_err_str(rv), es_err_str_zh(rv));
}

static int open_kek(const char *ref, const char *pin_env, es_protect **p)
{
    char why[512] = "";
    es_secret_src pin = cli_secret(pin_env);
    es_err rv = es_protect_new(ref, &pin, 0, p, why, sizeof why);
    if (rv != ES_OK) return cli_error("--kek %s: %s", ref, why[0] ? why : es_err_str(rv));
    return 0;
}

static int load(es_protect *p, es_store *st)
{
    char why[512] = "";
    es_err rv = es_protect_setup(p, st, why, sizeof why);
    if (rv != ES_OK)
        return cli_error("%s (%s / %s)", why[0] ? why : es_err_str(rv), es_err_str(rv),
                         es_err_str_zh(rv));
    return 0;
}

int cmd_protect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},   {"kek", required_argument, NULL, 'k'},
        {"new-kek", required_argument, NULL, 'n'}, {"reencrypt", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *url = NULL, *kek = NULL, *new_kek = NULL;
    int reenc = 0, c, ret = EXIT_USAGE;
    es_store *st = NULL;
    es_protect *p = NULL, *to = NULL;
    es_err rv;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    int status = !strcmp(sub, "status"), rotate = !strcmp(sub, "rotate"),
        check = !strcmp(sub, "check");
    if (!status && !rotate && !check) {
        fputs(help, stderr);
        return cli_error("unknown subcommand 'protect %s'", sub);
    }
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            url = optarg;
            break;
        case 'k':
            kek = optarg;
            break;
        case 'n':
            new_kek = optarg;
            break;
        case 'r':
            reenc = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind + 1 < argc) return cli_error("protect %s: unexpected '%s'", sub, argv[optind + 1]);
    if (!url) return cli_error("protect %s needs --store URL", sub);
    if ((new_kek || reenc) && !rotate) return cli_error("--new-kek and --reencrypt are for rotate");
    if (new_kek && reenc) return cli_error("--new-kek rewraps keys only: no --reencrypt with it");
    if (!kek && !status) kek = "soft:var/keys#protect";
    rv = es_store_open(url, &st);
    if (rv != ES_OK)
        return cli_error("--store: cannot open the store: %s", es_store_last_error(NULL));
    int version = 0;
    if ((rv = es_store_schema_version(st, &version)) != ES_OK || version < 10) {
        ret = cli_error("--store %s: no data protection tables (schema version %d; start the "
                        "daemon once)",
                        url, version);
        goto out;
    }
    if (kek && (open_kek(kek, NULL, &p) || load(p, st))) goto out;

    if (status) {
        es_buf out;
        es_buf_init(&out, 16u * 1024 * 1024);
        rv = es_protect_status(p, st, &out);
        if (rv == ES_OK) cli_out(out.p, out.len);
        es_buf_cleanup(&out);
        ret = rv == ES_OK ? EXIT_PASSED
                          : cli_error("status: %s (%s)", es_err_str(rv), es_store_last_error(st));
    } else if (rotate && new_kek) {
        char why[512] = "";
        if (open_kek(new_kek, "ESEAL_NEW_PIN", &to)) goto out;
        rv = es_protect_rekek(p, to, st, why, sizeof why);
        if (rv != ES_OK) {
            ret = cli_error("rotate --new-kek: %s", why);
            goto out;
        }
        printf("%s; KEK now %s: set [keys] protect = %s and restart the daemons\n", why,
               es_protect_kek_id(to), new_kek);
        ret = EXIT_PASSED;
    } else if (rotate) {
        int64_t id = 0;
        if ((rv = es_protect_rotate(p, st, &id)) != ES_OK) {
            ret = cli_error("rotate: %s (%s)", es_err_str(rv), es_store_last_error(st));
            goto out;
        }
        printf("data key %lld is current\n", (long long)id);
        ret = EXIT_PASSED;
        es_protect_pass pass = {0, 0, 1};
        size_t total = 0, failed = 0;
        while (reenc && pass.more) {
            if ((rv = es_protect_reencrypt(p, st, 10000, &pass)) != ES_OK) {
                ret = cli_error("re-encryption: %s (%s)", es_err_str(rv), es_store_last_error(st));
                goto out;
            }
            total += pass.rewritten;
            failed += pass.failed;
        }
        if (reenc) {
            printf("re-encrypted %zu blobs; %zu did not open (see eseal protect check)\n", total,
                   failed);
            if (failed) ret = EXIT_FAILED;
        }
    } else {
        es_protect_counts n;
        rv = es_protect_check(p, st, on_fail, NULL, &n);
        if (rv != ES_OK && rv != ES_ERR_PROTECT_CHECK) {
            ret = cli_error("check: %s (%s)", es_err_str(rv), es_store_last_error(st));
            goto out;
        }
        printf("%zu rows, %zu blobs, %zu record MACs: %zu failures\n", n.rows, n.blobs, n.macs,
               n.failures);
        printf("%s\n", n.failures ? "FAILED 校验未通过" : "PASSED 校验通过");
        ret = n.failures ? EXIT_FAILED : EXIT_PASSED;
    }
out:
    es_protect_free(to);
    es_protect_free(p);
    es_store_close(st);
    return ret;
}
