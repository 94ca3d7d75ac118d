/* core/cpu.h - CPU features, detected once (cpuid + xgetbv), and the ISA level kernels use.
 *
 * The feature table is the library's only global state: filled once under pthread_once and
 * read-only afterwards. The environment variable SQZ_ISA=ref|avx2|avx512|avx512vnni lowers the
 * chosen level; a request above what the CPU (and OS) supports is clamped to the best supported
 * level, and sqz_cpu_isa_clamped() then says so. */
#ifndef SQZ_CORE_CPU_H
#define SQZ_CORE_CPU_H

typedef enum sqz_isa {
    SQZ_ISA_REF = 0,        /* portable C reference kernels */
    SQZ_ISA_AVX2 = 1,       /* AVX2 + FMA */
    SQZ_ISA_AVX512 = 2,     /* AVX-512 F/BW/VL + FMA */
    SQZ_ISA_AVX512VNNI = 3, /* the above + AVX512-VNNI */
    SQZ_ISA_COUNT = 4
} sqz_isa;

typedef struct sqz_cpu_features {
    int avx2, fma, avx512f, avx512bw, avx512vl, avx512vnni, avxvnni, avx512bf16;
} sqz_cpu_features;

/* Detected features (usable ones only: the OS must save the ymm/zmm state). */
const sqz_cpu_features *sqz_cpu_features_get(void);
/* Best level the CPU supports. */
sqz_isa sqz_cpu_isa_supported(void);
/* Level kernels use: the supported one, lowered by SQZ_ISA when set. */
sqz_isa sqz_cpu_isa(void);
/* 1 when SQZ_ISA asked for a level the CPU lacks (it was clamped), or named no level. */
int sqz_cpu_isa_clamped(void);
/* "ref", "avx2", "avx512", "avx512vnni"; "?" otherwise. */
const char *sqz_isa_name(sqz_isa isa);

#endif
