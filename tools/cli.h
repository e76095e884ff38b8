/* Shared helpers of the eseal command line: argument handling, file loading, report output.
 * Tools only parse arguments and call the library (ARCHITECTURE.md). */
#ifndef ESEAL_CLI_H
#define ESEAL_CLI_H

#include <stdio.h>

#include "eseal/crypto.h"
#include "eseal/keydev.h"
#include "eseal/seal.h"
#include "eseal/signer.h"
#include "eseal/util.h"

/* Exit statuses (README, docs/verification.md). */
#define EXIT_PASSED        0
#define EXIT_FAILED        1
#define EXIT_INDETERMINATE 2
#define EXIT_USAGE         3

typedef struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_cmd;

/* One HTTP/1.1 request to url (http://HOST:PORT; opt names the option it came from in
 * errors) with extra header lines (each ending in CRLF; may be NULL) and body (may be empty),
 * Connection: close; *status and the answer's body (binary-safe, at most about max bytes)
 * appended to out. 0, or EXIT_USAGE with the error printed. */
int cli_http(const char *url, const char *opt, const char *method, const char *path,
             const char *headers, es_slice body, size_t max, unsigned *status, es_buf *out);
/* Prints "eseal: <msg>" to stderr; returns EXIT_USAGE for convenience. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a file (limit max) or reports the error naming it. */
int cli_read(const char *path, size_t max, es_buf *out);
/* Loads a signer: a key reference (soft:, sdf:, skf:; PIN from ESEAL_PIN or a prompt) or an
 * SM2 private key file (passphrase from ESEAL_PIN when encrypted). */
int cli_load_signer(const char *path, es_signer **out);
/* A PIN source: the environment variable env (ESEAL_PIN when NULL), else a no-echo prompt on
 * the terminal. */
es_secret_src cli_secret(const char *env);
/* 1 when arg looks like a key reference. */
int cli_is_keyref(const char *arg);
/* Explains a key-device error (retries >= 0 when known); returns EXIT_USAGE. */
int cli_keydev_error(const char *ref, es_err rv, int retries);
/* Loads a certificate file (PEM or DER) as DER. */
int cli_load_cert(const char *path, es_buf *out);
/* Loads trust anchors from a file or every file of a directory. */
int cli_load_trust(const char *path, es_trust **out);
/* Parses an ISO 8601 time argument. */
int cli_time(const char *opt, const char *s, es_time *out);
/* Parses a positive integer argument. */
int cli_long(const char *opt, const char *s, long *out);
/* SM3 of a file, streamed; when keep is non-NULL and the file is small, its bytes too. */
int cli_hash_file(const char *path, uint8_t out[ES_SM3_LEN], es_buf *keep);
/* Prints the report (text or JSON) and returns the exit status for its indication. */
int cli_report(es_report *rep, int json);
/* Writes bytes to a path atomically, or reports why it could not. */
int cli_write(const char *path, const void *p, size_t len);
/* Writes bytes to standard output (nothing for len 0, whatever p is). */
void cli_out(const void *p, size_t len);
/* 1 when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

/* The first argument of a command with subcommands: none prints help on stderr and returns
 * EXIT_USAGE, -h or --help prints it on stdout and returns 0; otherwise returns -1 (argv[1]
 * names the subcommand). */
int cli_sub_help(int argc, char **argv, const char *help);
/* Runs the subcommand of subs (n of them) that argv[1] names, with argv[1] as its argv[0];
 * help as cli_sub_help; an unknown one is "unknown subcommand 'CMD SUB'" after help on stderr.
 * Returns the exit status. */
int cli_dispatch(int argc, char **argv, const char *cmd, const char *help, const cli_cmd *subs,
                 size_t n);
/* Arguments of a command that takes one FILE: -h/--help, --json when json is non-NULL, and
 * -o OUT when out is non-NULL (out_what names OUT in "-o needs <out_what>"). Anything else
 * starting with '-' is an unknown option. Returns 0 to go on (*file NULL when no FILE was
 * given), -1 after printing help, or an exit status after printing why. */
int cli_file_args(int argc, char **argv, const char *help, const char **file, int *json,
                  const char **out, const char *out_what);
/* Writes bytes to the file out, or to standard output when out is NULL. Returns 0 or an exit
 * status. */
int cli_emit(const char *out, const void *p, size_t len);
/* DER as PEM with the given label (CERTIFICATE, PUBLIC KEY...), through cli_emit. */
int cli_print_pem(const char *label, const uint8_t *der, size_t len, const char *out);
/* An SM2 public key as a PEM SubjectPublicKeyInfo, through cli_emit. */
int cli_print_pub(const uint8_t pub[ES_SM2_PUB_LEN], const char *out);

/* The paragraph of --policy and --crl in the help of every verifying command (one text). */
#define CLI_VERIFY_POLICY_HELP                                                                     \
    "--policy ldt holds the seal to LD/T 01.1 as for seals of our own roots (a broken rule is\n"   \
    "FAILED, and the maker certificate must be a making system's); the default, conventions,\n"    \
    "only warns (other vendors' seals). Check 'policy': the seal code is its certificate's\n"      \
    "CN, the seal's validity lies within its certificate's.\n"                                     \
    "--crl FILE (PEM or DER, repeatable, with --trust) asks the CRLs about every certificate\n"    \
    "of the chain as of the signing time (a seal: its making time): revoked before it, FAILED;\n"  \
    "no CRL of the issuer that is current or issued after that time, INDETERMINATE.\n"

/* Options shared by every verifying command (--json --trust --at --id, and --data when data
 * is non-NULL). Returns 0 to go on, -1 after printing help, or an exit status. */
int cli_verify_opts(int argc, char **argv, const char *help, const char **file, int *json,
                    es_trust **trust, es_verify_opts *o, const char **data);

int cmd_seal(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_ofd(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_token(int, char **);
int cmd_package(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_api(int argc, char **argv);
int cmd_errors(int argc, char **argv);
int cmd_factor(int argc, char **argv);
int cmd_national(int argc, char **argv);
int cmd_decision(int argc, char **argv);
int cmd_protect(int argc, char **argv);
int cmd_picture(int argc, char **argv);
int cmd_making(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
