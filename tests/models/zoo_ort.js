// tests/models/zoo_ort.js - helper of check_zoo_ort.sh and check_qdq_ort.sh: writes a seeded
// random input tensor and runs an ONNX model in ONNX Runtime (onnxruntime-node), comparing its
// first output with the one `sqz run` wrote, or writing it.
//
//   node zoo_ort.js input OUT.npy N C H W SEED
//       writes float32 (N, C, H, W) uniform in [0, 1) from a fixed generator (xorshift64*)
//   node zoo_ort.js compare MODEL.onnx INPUT.npy SQZ_OUT.npy TOL
//       prints "max_abs_err E" and exits 0 when E <= TOL and the shapes agree, 1 otherwise
//   node zoo_ort.js run MODEL.onnx INPUT.npy OUT.npy
//       writes ONNX Runtime's first output (float32) as OUT.npy (check_qdq_ort.sh compares it)
//
// onnxruntime-node is found through NODE_PATH (check_zoo_ort.sh sets it).
'use strict';
const fs = require('fs');

function fail(msg) {
    console.error('zoo_ort.js: ' + msg);
    process.exit(1);
}

// NPY version 1.0 writer: float32 little-endian, C order; header padded to 64 bytes.
function writeNpy(path, shape, data) {
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape.join(', ') +
        (shape.length === 1 ? ',' : '') + '), }';
    const pre = 10; // magic (6) + version (2) + header length (2)
    let len = dict.length + 1; // + '\n'
    const pad = (64 - ((pre + len) % 64)) % 64;
    dict += ' '.repeat(pad) + '\n';
    len = dict.length;
    const head = Buffer.alloc(pre);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head[7] = 0;
    head.writeUInt16LE(len, 8);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(path, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
}

// NPY reader for what `sqz run` and writeNpy produce: '<f4', C order, version 1-3.
function readNpy(path) {
    const b = fs.readFileSync(path);
    if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') fail(path + ': not an NPY file');
    const major = b[6];
    let hlen, off;
    if (major === 1) {
        hlen = b.readUInt16LE(8);
        off = 10;
    } else {
        if (b.length < 12) fail(path + ': truncated header');
        hlen = b.readUInt32LE(8);
        off = 12;
    }
    if (off + hlen > b.length) fail(path + ': header runs past the end of the file');
    const h = b.toString('latin1', off, off + hlen);
    const descr = /'descr':\s*'([^']*)'/.exec(h);
    const shp = /'shape':\s*\(([^)]*)\)/.exec(h);
    if (!descr || !shp) fail(path + ': cannot parse header ' + JSON.stringify(h));
    if (descr[1] !== '<f4') fail(path + ': dtype ' + descr[1] + ', expected <f4');
    if (/'fortran_order':\s*True/.test(h)) fail(path + ': fortran order is not supported');
    const shape = shp[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
    const count = shape.reduce((a, x) => a * x, 1);
    const start = off + hlen;
    if (b.length - start < count * 4) fail(path + ': ' + (b.length - start) + ' data bytes, expected ' + count * 4);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = b.readFloatLE(start + 4 * i);
    return { shape, data };
}

function makeInput(args) {
    if (args.length !== 6) fail('usage: input OUT.npy N C H W SEED');
    const [out, ...rest] = args;
    const dims = rest.slice(0, 4).map(Number);
    let s = BigInt(rest[4]) * 0x9E3779B97F4A7C15n + 1n;
    const M = (1n << 64n) - 1n;
    const count = dims.reduce((a, x) => a * x, 1);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
        s ^= s >> 12n;
        s = (s ^ (s << 25n)) & M;
        s ^= s >> 27n;
        const r = (s * 0x2545F4914F6CDD1Dn) & M;
        data[i] = Number(r >> 40n) / 16777216; // 24 bits -> [0, 1), exact in float32
    }
    writeNpy(out, dims, data);
}

async function compare(args) {
    if (args.length !== 4) fail('usage: compare MODEL.onnx INPUT.npy SQZ_OUT.npy TOL');
    const [model, inPath, sqzPath, tolStr] = args;
    const tol = Number(tolStr);
    const ort = require('onnxruntime-node');
    const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const x = readNpy(inPath);
    const feeds = {};
    feeds[sess.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
    const res = await sess.run(feeds);
    const y = res[sess.outputNames[0]];
    const ref = readNpy(sqzPath);
    const ys = Array.from(y.dims).map(Number);
    if (ys.join('x') !== ref.shape.join('x')) {
        console.log('shape mismatch: onnxruntime ' + ys.join('x') + ', sqz ' + ref.shape.join('x'));
        process.exit(1);
    }
    let err = 0;
    let bad = false;
    for (let i = 0; i < ref.data.length; i++) {
        const a = y.data[i], b = ref.data[i];
        if (!Number.isFinite(a) || !Number.isFinite(b)) bad = true;
        const d = Math.abs(a - b);
        if (d > err) err = d;
    }
    console.log('max_abs_err ' + err.toExponential(3) + (bad ? ' (non-finite values)' : ''));
    process.exit(!bad && err <= tol ? 0 : 1);
}

async function runModel(args) {
    if (args.length !== 3) fail('usage: run MODEL.onnx INPUT.npy OUT.npy');
    const [model, inPath, outPath] = args;
    const ort = require('onnxruntime-node');
    const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const x = readNpy(inPath);
    const feeds = {};
    feeds[sess.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
    const y = (await sess.run(feeds))[sess.outputNames[0]];
    if (y.type !== 'float32') fail('output type ' + y.type + ', expected float32');
    writeNpy(outPath, Array.from(y.dims).map(Number), y.data);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'input') makeInput(rest);
else if (mode === 'run') runModel(rest).catch(e => fail(String(e && e.message ? e.message : e)));
else if (mode === 'compare') compare(rest).catch(e => fail(String(e && e.message ? e.message : e)));
else fail('usage: zoo_ort.js input ... | compare ... | run ...');
