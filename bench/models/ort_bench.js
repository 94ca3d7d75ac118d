#!/usr/bin/env node
// bench/models/ort_bench.js - ONNX Runtime (node) side of bench/models/run.sh.
//
//   node ort_bench.js MODEL --batch B --runs R --warmup W
//       random float inputs uniform in [0,1) (integer inputs zero), symbolic first dimension = B,
//       other symbolic dimensions = 1; prints one JSON line {median_ms, min_ms, max_ms, ...}.
//   node ort_bench.js MODEL --input IN.npy --output OUT.npy
//       runs once on IN.npy (float32, C order) and writes the first output as float32 .npy.
//
// One thread (intraOpNumThreads = interOpNumThreads = 1), sequential execution, graph
// optimization level 'all'. onnxruntime-node is looked up in ORT_DIR (default: bench/out/ort).
'use strict';
const path = require('path');

const ortDir = process.env.ORT_DIR || path.join(__dirname, '..', 'out', 'ort');
const ort = require(require.resolve('onnxruntime-node', { paths: [ortDir] }));

function parseArgs(argv) {
  const a = { batch: 1, runs: 10, warmup: 2, input: null, output: null, model: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const need = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--batch') a.batch = parseInt(need(), 10);
    else if (k === '--runs') a.runs = parseInt(need(), 10);
    else if (k === '--warmup') a.warmup = parseInt(need(), 10);
    else if (k === '--input') a.input = need();
    else if (k === '--output') a.output = need();
    else if (!a.model) a.model = k;
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.model) throw new Error('usage: ort_bench.js MODEL [--batch B --runs R --warmup W | --input F --output F]');
  if (!(a.batch >= 1 && a.runs >= 1 && a.warmup >= 0)) throw new Error('bad --batch/--runs/--warmup');
  return a;
}

const { readNpy, writeNpy } = require('./npy');

// Random feeds from the model's input metadata.
function makeFeeds(session, batch) {
  const feeds = {};
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (const meta of session.inputMetadata) {
    const dims = meta.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? batch : 1));
    const n = dims.reduce((p, d) => p * d, 1);
    let t;
    if (meta.type === 'float32') {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = rnd();
      t = new ort.Tensor('float32', a, dims);
    } else if (meta.type === 'int64') {
      t = new ort.Tensor('int64', new BigInt64Array(n), dims);
    } else if (meta.type === 'int32') {
      t = new ort.Tensor('int32', new Int32Array(n), dims);
    } else {
      throw new Error(`input ${meta.name}: type ${meta.type} not handled`);
    }
    feeds[meta.name] = t;
  }
  return feeds;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  if (a.input) {
    const x = readNpy(a.input);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) };
    const out = await session.run(feeds);
    const y = out[session.outputNames[0]];
    writeNpy(a.output || 'ort_out.npy', y.dims, y.data);
    return;
  }
  const feeds = makeFeeds(session, a.batch);
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const lat = [];
  for (let i = 0; i < a.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const s = lat.slice().sort((p, q) => p - q);
  const h = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
  const version = require(require.resolve('onnxruntime-node/package.json', { paths: [ortDir] })).version;
  console.log(JSON.stringify({
    model: a.model, batch: a.batch, runs: a.runs, warmup: a.warmup, threads: 1,
    median_ms: median, min_ms: s[0], max_ms: s[s.length - 1],
    mean_ms: lat.reduce((p, v) => p + v, 0) / lat.length, throughput: (a.batch * 1000) / median,
    ort_version: version,
  }));
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e.message}`);
  process.exit(1);
});
