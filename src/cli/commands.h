/* cli/commands.h - the subcommand table entries, one per cmd_*.c file. */
#ifndef SQZ_CLI_COMMANDS_H
#define SQZ_CLI_COMMANDS_H

#include "cli/cli_util.h"

extern const cli_cmd sqz_cmd_info;
extern const cli_cmd sqz_cmd_run;
extern const cli_cmd sqz_cmd_eval;
extern const cli_cmd sqz_cmd_convert;
extern const cli_cmd sqz_cmd_tensor;
extern const cli_cmd sqz_cmd_bench;
extern const cli_cmd sqz_cmd_train;
extern const cli_cmd sqz_cmd_zoo;

#endif
