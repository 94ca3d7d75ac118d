/* cli/cli_progress.c - terminal progress bar: "label [#####.....] 3200/10000  1234 img/s  ETA 5s". */
#include "cli/cli_progress.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"

void cli_progress_start(cli_progress *p, const char *label, const char *unit, int64_t total) {
    memset(p, 0, sizeof *p);
    p->enabled = cli_stderr_tty() && total > 0;
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->start = cli_now();
}

void cli_progress_update(cli_progress *p, int64_t done) {
    if (!p->enabled) return;
    double now = cli_now();
    if (done < p->total && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    double el = now - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(p->total - done) / rate : 0;
    enum { W = 30 };
    char bar[W + 1];
    int fill = (int)((double)W * (double)done / (double)p->total);
    if (fill > W) fill = W;
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = '\0';
    fprintf(stderr, "\r%s [%s] %lld/%lld  %.0f %s/s  ETA %.0fs   ", p->label, bar, (long long)done,
            (long long)p->total, rate, p->unit, eta);
    fflush(stderr);
}

void cli_progress_finish(cli_progress *p) {
    if (!p->enabled) return;
    fprintf(stderr, "\r%*s\r", 79, "");
    fflush(stderr);
    p->enabled = 0;
}
