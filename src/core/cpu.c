/* core/cpu.c - one-time CPU feature detection (see cpu.h). */
#include "core/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SQZ_CPU_X86 1
#endif

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static sqz_cpu_features cpu_feat;
static sqz_isa cpu_supported, cpu_chosen;
static int cpu_clamped;

#ifdef SQZ_CPU_X86
static unsigned long long read_xcr0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static void detect_x86(sqz_cpu_features *f) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return;
    const unsigned long long xcr0 = read_xcr0();
    const int ymm_os = (xcr0 & 0x6) == 0x6;           /* SSE + AVX state */
    const int zmm_os = ymm_os && (xcr0 & 0xe0) == 0xe0; /* opmask + ZMM_Hi256 + Hi16_ZMM */
    if (!ymm_os) return;
    f->fma = fma;
    unsigned int maxleaf = __get_cpuid_max(0, NULL);
    if (maxleaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = (b >> 5) & 1;
    if (zmm_os) {
        f->avx512f = (b >> 16) & 1;
        f->avx512bw = (b >> 30) & 1;
        f->avx512vl = (b >> 31) & 1;
        f->avx512vnni = (c >> 11) & 1;
    }
    const unsigned int max7 = a;
    if (max7 >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f->avxvnni = (a >> 4) & 1;
        if (zmm_os) f->avx512bf16 = (a >> 5) & 1;
    }
}
#endif

static void cpu_init(void) {
    memset(&cpu_feat, 0, sizeof cpu_feat);
#ifdef SQZ_CPU_X86
    detect_x86(&cpu_feat);
#endif
    const sqz_cpu_features *f = &cpu_feat;
    sqz_isa s = SQZ_ISA_REF;
    if (f->avx2 && f->fma) s = SQZ_ISA_AVX2;
    if (s == SQZ_ISA_AVX2 && f->avx512f && f->avx512bw && f->avx512vl) s = SQZ_ISA_AVX512;
    if (s == SQZ_ISA_AVX512 && f->avx512vnni) s = SQZ_ISA_AVX512VNNI;
    cpu_supported = s;
    cpu_chosen = s;
    const char *env = getenv("SQZ_ISA");
    if (env && *env) {
        int want = -1;
        for (int i = 0; i < SQZ_ISA_COUNT; i++)
            if (!strcmp(env, sqz_isa_name((sqz_isa)i))) want = i;
        if (want < 0) cpu_clamped = 1; /* unknown name: keep the supported level */
        else if (want > (int)s) cpu_clamped = 1;
        else cpu_chosen = (sqz_isa)want;
    }
}

const sqz_cpu_features *sqz_cpu_features_get(void) {
    pthread_once(&cpu_once, cpu_init);
    return &cpu_feat;
}

sqz_isa sqz_cpu_isa_supported(void) {
    pthread_once(&cpu_once, cpu_init);
    return cpu_supported;
}

sqz_isa sqz_cpu_isa(void) {
    pthread_once(&cpu_once, cpu_init);
    return cpu_chosen;
}

int sqz_cpu_isa_clamped(void) {
    pthread_once(&cpu_once, cpu_init);
    return cpu_clamped;
}

const char *sqz_isa_name(sqz_isa isa) {
    switch (isa) {
    case SQZ_ISA_REF: return "ref";
    case SQZ_ISA_AVX2: return "avx2";
    case SQZ_ISA_AVX512: return "avx512";
    case SQZ_ISA_AVX512VNNI: return "avx512vnni";
    default: return "?";
    }
}
