#!/usr/bin/python3
"""usage: compare_npy.py GOT.npy EXPECTED.npy [TOL]

Prints the max abs error between two arrays and exits 0 when it is <= TOL
(default 1e-4), it is <= 1e-4 of the largest expected magnitude, and shape and
dtype match; 1 otherwise. NaN equals NaN.
"""
import sys

import numpy as np

REL_TOL = 1e-4  # max abs error / max |expected|


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: compare_npy.py GOT.npy EXPECTED.npy [TOL]")
    tol = float(sys.argv[3]) if len(sys.argv) == 4 else 1e-4
    try:
        got = np.load(sys.argv[1], allow_pickle=False)
    except Exception as e:  # unreadable output is a failure, not a crash
        print("cannot read %s: %s" % (sys.argv[1], e))
        return 1
    want = np.load(sys.argv[2], allow_pickle=False)
    if got.shape != want.shape or got.dtype != want.dtype:
        print("got %s %s, expected %s %s" % (got.dtype, got.shape, want.dtype, want.shape))
        return 1
    if got.size == 0:
        print("max abs error 0 (empty)")
        return 0
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    diff = np.where(both_nan, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = int(np.argmax(diff))
    err = float(diff.flat[worst])
    finite = np.abs(w[np.isfinite(w)])
    scale = float(finite.max()) if finite.size else 0.0
    rel = err / scale if scale > 0 else err
    print("max abs error %.3g, relative to max |expected| %.3g (index %d: got %.7g, expected %.7g)"
          % (err, rel, worst, g.flat[worst], w.flat[worst]))
    # absolute bound, and a relative one so that models with tiny outputs still test something
    return 0 if err <= tol and rel <= REL_TOL else 1


if __name__ == "__main__":
    sys.exit(main())
