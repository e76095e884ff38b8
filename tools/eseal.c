/* eseal: the command line. A table of subcommands; each lives in cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_cmd cmds[] = {
    {"seal", cmd_seal, "make, show, verify a seal, or extract its picture"},
    {"picture", cmd_picture, "the seal picture at 1:1: from a scan, or a standard seal drawn"},
    {"sign", cmd_sign, "sign a file with a seal (detached SES_Signature)"},
    {"verify", cmd_verify, "verify a signature (SES_Signature or GB/T 35275 SignedData)"},
    {"token", cmd_token, "USBKeys (GB/T 35291 SKF): applications, PINs, key import, certificates"},
    {"package", cmd_package, "seal delivery: request, make, import an encrypted server package"},
    {"ca", cmd_ca, "certification authority: init, issue, revoke, crl, list (docs/ca.md)"},
    {"key", cmd_key, "generate and use keys in key devices (soft, SDF, SKF)"},
    {"ofd", cmd_ofd, "sign, verify and show OFD documents (GB/T 33190), extract their seals"},
    {"inspect", cmd_inspect, "recognise a seal, signature, certificate or SignedData and print it"},
    {"audit", cmd_audit, "verify, export and list the signed audit trail (docs/audit.md)"},
    {"admin", cmd_admin, "back up and restore a daemon's store (docs/store.md)"},
    {"api", cmd_api, "sign a business system's requests to esealsd (docs/api-clients.md)"},
    {"factor", cmd_factor, "staff second factor: GM/T 0021 dynamic passwords, sign a challenge"},
    {"decision", cmd_decision, "sign a decision with one's own key, verify an exported one"},
    {"errors", cmd_errors, "the error table: codes, names, HTTP statuses, English and Chinese"},
    {"national", cmd_national,
     "national conventions: citizen ID, credit code, division codes, making tables"},
    {"protect", cmd_protect, "data at rest: key status, rotation, check (docs/protect.md)"},
    {"making", cmd_making, "the seal registry: import other vendors' seals into a daemon"},
    {"status", cmd_status,
     "seal status answers: verify one offline, ask a daemon (docs/status.md)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: eseal <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nRun 'eseal <command> --help' for a command's options and examples.\n"
               "Exit status: 0 PASSED, 1 FAILED, 2 INDETERMINATE, 3 usage or I/O error.\n"
               "\nexample:\n"
               "  eseal seal verify seal.esl --trust root.crt\n"
               "  eseal sign --seal seal.esl --key signer.key --cert signer.crt contract.pdf -o "
               "contract.sig\n"
               "  eseal verify --data contract.pdf contract.sig --trust root.crt\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("eseal 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "eseal: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
