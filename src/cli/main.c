/* cli/main.c - the sqz command: dispatches to one subcommand per file (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"

static const cli_cmd *const commands[] = {
    &sqz_cmd_info, &sqz_cmd_run, &sqz_cmd_eval, &sqz_cmd_convert, &sqz_cmd_tensor, &sqz_cmd_bench,
    &sqz_cmd_train, &sqz_cmd_zoo,
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static const cli_cmd *find_command(const char *name) {
    for (int i = 0; i < n_commands; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

static void print_overview(FILE *f) {
    fprintf(f,
            "usage: sqz COMMAND [OPTIONS] [ARGS]\n"
            "       sqz help COMMAND | sqz COMMAND --help | sqz --version\n"
            "\n"
            "sqz makes neural networks smaller and faster. Commands:\n\n");
    for (int i = 0; i < n_commands; i++)
        if (!commands[i]->hidden) fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\nExit codes: 0 ok, 1 failure, 2 usage error, 65 bad input data or unsupported model,\n"
            "66 missing input, 73 cannot write output.\n");
}

static int cmd_help(int argc, char **argv) {
    if (argc < 3) {
        print_overview(stdout);
        return CLI_OK;
    }
    if (argc > 3) return cli_usage_error(NULL, "help takes one command name");
    const cli_cmd *c = find_command(argv[2]);
    if (!c) return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
    return cli_print_help(c, stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "sqz: no command given\n");
        print_overview(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("sqz %s\n", SQZ_VERSION);
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(argc, argv);
    const cli_cmd *c = find_command(name);
    if (!c) {
        if (name[0] == '-') return cli_usage_error(NULL, "unknown option '%s' (options follow the command)", name);
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    int rc = c->run(c, argc - 1, argv + 1);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sqz: cannot write to standard output\n");
        if (rc == 0) rc = CLI_CANTWRITE;
    }
    return rc;
}
