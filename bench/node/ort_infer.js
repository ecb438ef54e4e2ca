#!/usr/bin/env node
// ONNX Runtime (npm onnxruntime-node, CPU) peer of bench/infer_only: runs a model on the exact
// input tensors infer_only wrote, inference only, and prints one JSON object with the median and
// mean milliseconds per forward (each session.run timed) plus the max |difference| from
// infer_only's outputs. Driven by bench/compare.py.
//
//   node ort_infer.js MODEL.onnx TENSORS.f32 N C H W THREADS REPS [CV_OUTPUTS.f32]
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function floats(path) {
  const b = fs.readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

async function main() {
  const [model, tensorsPath, n, c, h, w, threads, reps, cvOutputs] = process.argv.slice(2);
  if (!reps) {
    console.error('usage: node ort_infer.js MODEL.onnx TENSORS.f32 N C H W THREADS REPS [CV_OUTPUTS.f32]');
    process.exit(2);
  }
  const [N, C, H, W, T, R] = [n, c, h, w, threads, reps].map(Number);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: T,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const all = floats(tensorsPath);
  const size = C * H * W;
  if (all.length !== N * size) throw new Error(`${tensorsPath}: ${all.length} floats, expected ${N * size}`);
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const feeds = [];
  for (let i = 0; i < N; i++) feeds.push({ [inputName]: new ort.Tensor('float32', all.slice(i * size, (i + 1) * size), [1, C, H, W]) });
  const outputs = [];
  for (const f of feeds) outputs.push(Array.from((await session.run(f))[outputName].data));  // warm-up
  const ms = [];
  for (let r = 0; r < R; r++) {
    for (const f of feeds) {
      const t0 = process.hrtime.bigint();
      const out = await session.run(f);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!out[outputName]) throw new Error('no output');
    }
  }
  let maxDiff = null;
  if (cvOutputs) {
    const cv = floats(cvOutputs);
    const flat = outputs.flat();
    if (cv.length !== flat.length) throw new Error(`${cvOutputs}: ${cv.length} values, ORT gave ${flat.length}`);
    maxDiff = 0;
    for (let i = 0; i < flat.length; i++) maxDiff = Math.max(maxDiff, Math.abs(flat[i] - cv[i]));
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const version = require('onnxruntime-node/package.json').version;
  console.log(JSON.stringify({ runtime: `onnxruntime-node ${version}`, threads: T, forwards: ms.length,
    median_ms: median, mean_ms: mean, max_abs_diff_vs_opencv: maxDiff }));
}

main().catch((e) => { console.error(`ort_infer: ${e.message}`); process.exit(1); });
