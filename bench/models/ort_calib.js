#!/usr/bin/env node
// bench/models/ort_calib.js - ONNX Runtime (node) helper of bench/models/quantize_qdq.py and
// bench/models/run_int8.sh.
//
//   node ort_calib.js minmax MODEL IN.npy OUT.json [--chunk C]
//       runs MODEL (graph optimizations disabled, so every tensor is computed as written) on the
//       samples of IN.npy (float32, C order, first axis = samples) in chunks of C (default 8),
//       and writes {output name: [min, max]} over all samples for every float output of MODEL.
//       quantize_qdq.py adds the tensors it calibrates as graph outputs.
//   node ort_calib.js ops MODEL OUT.onnx
//       loads MODEL as ort_bench.js does (1 thread, graph optimization level 'all') and saves
//       the optimized graph to OUT.onnx, to see which nodes ONNX Runtime fused into integer ops.
//
// onnxruntime-node is looked up in ORT_DIR (default: bench/out/ort).
'use strict';
const fs = require('fs');
const path = require('path');

const ortDir = process.env.ORT_DIR || path.join(__dirname, '..', 'out', 'ort');
const ort = require(require.resolve('onnxruntime-node', { paths: [ortDir] }));

const { readNpy } = require('./npy');

async function minmax(model, input, output, chunk) {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'disabled',
  });
  const x = readNpy(input);
  const n = x.dims[0];
  const per = x.data.length / n;
  const range = {};
  for (let s = 0; s < n; s += chunk) {
    const b = Math.min(chunk, n - s);
    const dims = [b, ...x.dims.slice(1)];
    const t = new ort.Tensor('float32', x.data.subarray(s * per, (s + b) * per), dims);
    const out = await session.run({ [session.inputNames[0]]: t });
    for (const name of session.outputNames) {
      const y = out[name];
      if (y.type !== 'float32') continue;
      let lo = Infinity;
      let hi = -Infinity;
      const d = y.data;
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const r = range[name];
      range[name] = r ? [Math.min(r[0], lo), Math.max(r[1], hi)] : [lo, hi];
    }
  }
  fs.writeFileSync(output, JSON.stringify(range));
}

async function ops(model, output) {
  await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: output,
    logSeverityLevel: 3,
  });
  if (!fs.existsSync(output)) throw new Error(`onnxruntime did not write ${output}`);
}

async function main() {
  const a = process.argv.slice(2);
  if (a[0] === 'minmax' && (a.length === 4 || (a.length === 6 && a[4] === '--chunk'))) {
    const chunk = a.length === 6 ? parseInt(a[5], 10) : 8;
    if (!(chunk >= 1)) throw new Error('bad --chunk');
    await minmax(a[1], a[2], a[3], chunk);
  } else if (a[0] === 'ops' && a.length === 3) {
    await ops(a[1], a[2]);
  } else {
    throw new Error('usage: ort_calib.js minmax MODEL IN.npy OUT.json [--chunk C] | ops MODEL OUT.onnx');
  }
}

main().catch((e) => {
  console.error(`ort_calib.js: ${e.message}`);
  process.exit(1);
});
