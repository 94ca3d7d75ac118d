#!/bin/bash
# Feeds malformed model and data files to the sqz CLI and checks that each is
# refused cleanly: exit 65 (bad data / unsupported; 66 only for a missing
# file), exactly one line on stderr naming the file, and no output file or
# temporary file left behind. Valid controls must succeed.
# usage: run_malformed.sh SQZ SOURCE_DIR BUILD_DIR
# The ONNX/NPY/IDX cases are committed files made by make_malformed.py; the
# .sqz cases and the symbolic link are made here at test time.
set -u
SQZ=${1:?usage: run_malformed.sh SQZ SOURCE_DIR BUILD_DIR}
SRC=${2:?source dir}
BUILD=${3:?build dir}
D="$SRC/tests/malformed"
VERBOSE=${VERBOSE:-0}

mkdir -p "$BUILD" || exit 1
tmp=$(mktemp -d "$BUILD/malformed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
pass=0
fail=0

# check NAME WANT_RC NAMES CMD...
#   NAMES: '|'-separated file names, one of which the stderr line must contain.
#   Commands write into $out (emptied first); on failure it must stay empty,
#   on success (WANT_RC 0) it must hold exactly the expected output.
check() {
    local name=$1 want=$2 names=$3
    shift 3
    rm -rf "$out" && mkdir "$out"
    if [ "$1" = run_model ]; then # run_model MODEL INPUT
        set -- "$SQZ" run "$2" --input "$3" --output "$out/out.npy"
    fi
    timeout 60 "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    local rc=$? problems="" line
    line=$(head -n 1 "$tmp/stderr")
    [ "$rc" -eq "$want" ] || problems+="exit $rc, want $want; "
    if [ "$want" -ne 0 ]; then
        local n
        n=$(awk 'END { print NR }' "$tmp/stderr")
        [ "$n" -eq 1 ] || problems+="stderr has $n lines; "
        local found=0 f
        IFS='|' read -ra alts <<<"$names"
        for f in "${alts[@]}"; do
            grep -qF -- "$f" "$tmp/stderr" && found=1
        done
        [ $found -eq 1 ] || problems+="stderr does not name $names; "
        local left
        left=$(ls -A "$out")
        [ -z "$left" ] || problems+="left behind: $(echo $left); "
    fi
    if [ -z "$problems" ]; then
        pass=$((pass + 1))
        [ "$VERBOSE" = 1 ] && echo "PASS $name: $line"
    else
        fail=$((fail + 1))
        echo "FAIL $name: ${problems}stderr: $(head -c 300 "$tmp/stderr" | tr '\n' '|')"
    fi
    return 0
}

# check_ok NAME OUTPUT CMD...: a valid control must exit 0 and write OUTPUT.
check_ok() {
    local name=$1 want_out=$2
    shift 2
    check "$name" 0 "" "$@"
    if [ "$want_out" != "" ] && [ ! -s "$want_out" ]; then
        fail=$((fail + 1))
        pass=$((pass - 1))
        echo "FAIL $name: exit 0 but no $(basename "$want_out")"
    fi
}

# little-endian integers of a file: u32 FILE OFFSET, u64 FILE OFFSET
u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
# CRC-32 (zlib) of stdin as 4 little-endian bytes: gzip's trailer holds exactly that
crc_bytes() { gzip -c -n | tail -c 8 | head -c 4; }
# fix_crcs FILE: recomputes every section CRC and the header/table CRC of a .sqz
# (layout in docs/format.md), so that corruptions reach the record checks behind them
fix_crcs() {
    local f=$1 nsect toff hsize s e off size
    nsect=$(u32 "$f" 20) toff=$(u64 "$f" 24) hsize=$(u32 "$f" 16)
    for ((s = 0; s < nsect; s++)); do
        e=$((toff + 32 * s)) off=$(u64 "$f" $((toff + 32 * s + 8))) size=$(u64 "$f" $((toff + 32 * s + 16)))
        tail -c +$((off + 1)) "$f" | head -c "$size" | crc_bytes |
            dd of="$f" bs=1 seek=$((e + 24)) conv=notrunc status=none
    done
    { head -c 40 "$f"; printf '\0\0\0\0'; tail -c +45 "$f" | head -c $((hsize - 44))
      tail -c +$((toff + 1)) "$f" | head -c $((nsect * 32)); } | crc_bytes |
        dd of="$f" bs=1 seek=40 conv=notrunc status=none
}
# patch_fixed SRC DST OFFSET BYTES: patch, then make the checksums match again
patch_fixed() { patch "$@" && fix_crcs "$2"; }

# patch SRC DST OFFSET BYTES: DST = SRC with printf-escaped BYTES written at OFFSET
patch() {
    cp "$1" "$2" && printf "$4" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

# ---- valid controls (so that the refusals below are not for unrelated reasons)
check_ok control.run "$out/out.npy" run_model "$D/good.onnx" "$D/x.npy"
check_ok control.info "" "$SQZ" info "$D/good.onnx"
check_ok control.convert "$out/good.sqz" "$SQZ" convert "$D/good.onnx" "$out/good.sqz"

# ---- missing files: 66
check missing.model 66 "no_such.onnx" "$SQZ" info "$D/no_such.onnx"
check missing.run_model 66 "no_such.onnx" run_model "$D/no_such.onnx" "$D/x.npy"
check missing.input 66 "no_such.npy" run_model "$D/good.onnx" "$D/no_such.npy"

# ---- broken ONNX files
for f in truncated truncated_tiny empty random_bytes png_header negative_dim overflow_dims \
         overflow_bytes short_raw_data short_float_data bad_dtype; do
    check "onnx.$f.info" 65 "$f.onnx" "$SQZ" info "$D/$f.onnx"
    check "onnx.$f.convert" 65 "$f.onnx" "$SQZ" convert "$D/$f.onnx" "$out/out.sqz"
    check "onnx.$f.run" 65 "$f.onnx" run_model "$D/$f.onnx" "$D/x.npy"
done

# ---- external data: model in $tmp/m, data outside it
mkdir -p "$tmp/m"
cp "$D"/ext_*.onnx "$D/ext_ok.bin" "$tmp/m/"
cp "$D/ext_ok.bin" "$tmp/secret.bin"
cp "$D/ext_ok.bin" "$tmp/outside.bin"
ln -s "$tmp/outside.bin" "$tmp/m/ext_link.bin"
check_ok ext.ok.run "$out/out.npy" run_model "$tmp/m/ext_ok.onnx" "$D/x.npy"
for f in ext_dotdot ext_absolute ext_symlink ext_offset ext_length; do
    check "ext.$f.convert" 65 "$f.onnx|ext_link.bin|ext_ok.bin" \
        "$SQZ" convert "$tmp/m/$f.onnx" "$out/out.sqz"
    check "ext.$f.run" 65 "$f.onnx|ext_link.bin|ext_ok.bin" run_model "$tmp/m/$f.onnx" "$D/x.npy"
done

# ---- graph structure and unsupported operators
for f in dup_initializer dup_output_init dup_node_output cycle missing_init output_undefined \
         unsupported_op unsupported_domain; do
    check "graph.$f.run" 65 "$f.onnx" run_model "$D/$f.onnx" "$D/x.npy"
done

# ---- NPY inputs
for f in npy_truncated npy_empty npy_bad_magic npy_bad_header npy_not_dict npy_data_short \
         npy_header_past_eof npy_negative_shape npy_huge_shape npy_bad_dtype npy_big_endian \
         npy_fortran; do
    check "npy.$f" 65 "$f.npy" run_model "$D/good.onnx" "$D/$f.npy"
done

# ---- native .sqz files made from a valid one
if "$SQZ" convert "$D/good.onnx" "$tmp/good.sqz" >/dev/null 2>&1 && [ -s "$tmp/good.sqz" ]; then
    size=$(stat -c %s "$tmp/good.sqz")
    sq="$tmp/sqz"
    mkdir -p "$sq"
    check_ok sqz.control.run "$out/out.npy" run_model "$tmp/good.sqz" "$D/x.npy"
    : >"$sq/sqz_empty.sqz"
    for n in 4 16 $((size / 2)) $((size - 1)); do
        head -c "$n" "$tmp/good.sqz" >"$sq/sqz_truncated_$n.sqz"
    done
    { printf 'XSQZ'; tail -c +5 "$tmp/good.sqz"; } >"$sq/sqz_bad_magic.sqz"
    cp "$D/png_header.onnx" "$sq/sqz_png.sqz"
    # header fields (docs/format.md) set to huge values: section count, table offset, file size
    patch "$tmp/good.sqz" "$sq/sqz_nsect_huge.sqz" 20 '\377\377\377\377'
    patch "$tmp/good.sqz" "$sq/sqz_table_off_huge.sqz" 24 '\360\377\377\377\377\377\377\377'
    patch "$tmp/good.sqz" "$sq/sqz_file_size_huge.sqz" 32 '\377\377\377\377\377\377\377\177'
    patch "$tmp/good.sqz" "$sq/sqz_header_size_huge.sqz" 16 '\377\377\377\377'
    patch "$tmp/good.sqz" "$sq/sqz_version_99.sqz" 8 '\143\000'
    # the section table itself overwritten with 0xff (types, offsets, sizes)
    toff=$(od -An -t u8 -j 24 -N 8 "$tmp/good.sqz" | tr -d ' ')
    if [ -n "$toff" ] && [ "$toff" -lt "$size" ]; then
        patch "$tmp/good.sqz" "$sq/sqz_table_ff.sqz" "$toff" "$(printf '\\377%.0s' $(seq 64))"
    fi
    # records inside the GRAPH section, with checksums made valid again
    cp "$tmp/good.sqz" "$tmp/refixed.sqz" && fix_crcs "$tmp/refixed.sqz"
    if ! cmp -s "$tmp/good.sqz" "$tmp/refixed.sqz"; then
        fail=$((fail + 1))
        echo "FAIL sqz.fix_crcs: recomputing the checksums of a valid .sqz changed it (format changed?)"
    else
        goff=""
        for ((s = 0; s < $(u32 "$tmp/good.sqz" 20); s++)); do
            e=$(($(u64 "$tmp/good.sqz" 24) + 32 * s))
            [ "$(u32 "$tmp/good.sqz" $e)" = 2 ] && goff=$(u64 "$tmp/good.sqz" $((e + 8)))
        done
        if [ -n "$goff" ]; then
            grec=$(u32 "$tmp/good.sqz" "$goff")
            t0=$((goff + grec)) # first tensor record
            patch_fixed "$tmp/good.sqz" "$sq/sqz_graph_name_id.sqz" $((goff + 4)) '\360\377\377\377'
            patch_fixed "$tmp/good.sqz" "$sq/sqz_graph_tensor_count.sqz" $((goff + 32)) '\377\377\377\377'
            patch_fixed "$tmp/good.sqz" "$sq/sqz_graph_record_size.sqz" "$goff" '\370\377\377\377'
            patch_fixed "$tmp/good.sqz" "$sq/sqz_tensor_record_size.sqz" "$t0" '\370\377\377\377'
            patch_fixed "$tmp/good.sqz" "$sq/sqz_tensor_rank.sqz" $((t0 + 12)) '\377\377\377\177'
            patch_fixed "$tmp/good.sqz" "$sq/sqz_tensor_blob.sqz" $((t0 + 40)) \
                '\300\377\377\377\377\377\377\177\100\000\000\000\000\000\000\000'
            if [ "$(u32 "$tmp/good.sqz" $((t0 + 12)))" -ge 1 ] 2>/dev/null; then
                patch_fixed "$tmp/good.sqz" "$sq/sqz_tensor_dim.sqz" $((t0 + 120)) \
                    '\373\377\377\377\377\377\377\377'
            fi
        else
            fail=$((fail + 1))
            echo "FAIL sqz.graph_section: no GRAPH section found in a valid .sqz"
        fi
    fi
    for p in "$sq"/*.sqz; do
        f=$(basename "$p")
        check "sqz.${f%.sqz}.info" 65 "$f" "$SQZ" info "$p"
        check "sqz.${f%.sqz}.run" 65 "$f" run_model "$p" "$D/x.npy"
        check "sqz.${f%.sqz}.convert" 65 "$f" "$SQZ" convert "$p" "$out/out.onnx"
    done
else
    fail=$((fail + 1))
    echo "FAIL sqz: cannot make a valid .sqz with '$SQZ convert $D/good.onnx' (native cases not run)"
fi

# ---- IDX data for sqz eval
gzip -c -n "$D/images.idx" >"$tmp/images.idx.gz"
check_ok idx.control.eval "" "$SQZ" eval "$D/image_model.onnx" --data "$D/images.idx,$D/labels.idx"
check_ok idx.control.eval_gz "" "$SQZ" eval "$D/image_model.onnx" --data "$tmp/images.idx.gz,$D/labels.idx"
for f in idx_truncated.idx idx_truncated_header.idx idx_bad_magic.idx idx_bad_type.idx \
         idx_zero_rank.idx idx_overflow.idx idx_truncated_stream.idx.gz idx_gz_data_short.idx.gz \
         idx_gz_bad_magic.idx.gz; do
    check "idx.$f" 65 "$f" "$SQZ" eval "$D/image_model.onnx" --data "$D/$f,$D/labels.idx"
done
check idx.labels_short 65 "labels_short.idx" \
    "$SQZ" eval "$D/image_model.onnx" --data "$D/images.idx,$D/labels_short.idx"
check idx.missing 66 "no_such.idx" \
    "$SQZ" eval "$D/image_model.onnx" --data "$D/no_such.idx,$D/labels.idx"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
