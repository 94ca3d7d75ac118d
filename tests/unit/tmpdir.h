/* tests/unit/tmpdir.h - a private temporary folder for a test, removed at the end. */
#ifndef SQZ_TEST_TMPDIR_H
#define SQZ_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir_[256];

/* Creates the folder; returns its path (NULL on failure). */
static __attribute__((unused)) const char *tmpdir_make(void) {
    /* $TMPDIR, else /dev/shm (memory: the many fsyncs of atomic writes cost nothing), else /tmp */
    const char *base = getenv("TMPDIR");
    if (!base || !base[0]) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmpdir_, sizeof tmpdir_, "%s/sqztest.XXXXXX", base);
    return mkdtemp(tmpdir_) ? tmpdir_ : NULL;
}

/* tmpdir_/name in buf. */
static __attribute__((unused)) const char *tmpdir_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", tmpdir_, name);
    return buf;
}

/* Number of entries (other than . and ..) in the folder. */
static __attribute__((unused)) int tmpdir_count(void) {
    DIR *d = opendir(tmpdir_);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Removes the files in the folder (flat) and the folder. */
static __attribute__((unused)) void tmpdir_remove(void) {
    if (!tmpdir_[0]) return;
    DIR *d = opendir(tmpdir_);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", tmpdir_, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(tmpdir_);
    tmpdir_[0] = '\0';
}

/* Writes n bytes to path (plain, for crafting test inputs). */
static __attribute__((unused)) int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

#endif
