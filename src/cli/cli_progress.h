/* cli/cli_progress.h - a progress bar with rate and ETA on stderr, only when stderr is a
 * terminal (quiet in pipes and CI logs). */
#ifndef SQZ_CLI_PROGRESS_H
#define SQZ_CLI_PROGRESS_H

#include <stdint.h>

typedef struct cli_progress {
    int enabled;
    const char *label;
    const char *unit;   /* "img" */
    int64_t total;
    double start, last_draw;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, const char *unit, int64_t total);
void cli_progress_update(cli_progress *p, int64_t done);
/* Clears the bar line. */
void cli_progress_finish(cli_progress *p);

#endif
