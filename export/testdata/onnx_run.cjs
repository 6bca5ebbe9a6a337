// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node) on the inputs
// of a JSON file and prints its outputs as JSON. Used by the export tests:
//   NODE_PATH=<dir holding onnxruntime-node> node onnx_run.cjs MODEL INPUTS.json
// INPUTS.json: {"name": {"dtype": "int64"|"float32"|"float64", "dims": [...], "data": [...]}}
// (int64 data as decimal strings).
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const [model, inputs] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(inputs, 'utf8'));
  const feeds = {};
  for (const [name, t] of Object.entries(spec)) {
    let data;
    if (t.dtype === 'int64') data = BigInt64Array.from(t.data.map(BigInt));
    else if (t.dtype === 'float64') data = Float64Array.from(t.data);
    else data = Float32Array.from(t.data);
    feeds[name] = new ort.Tensor(t.dtype, data, t.dims);
  }
  const session = await ort.InferenceSession.create(model);
  const out = await session.run(feeds);
  const res = {};
  for (const [name, t] of Object.entries(out)) res[name] = {dims: t.dims, data: Array.from(t.data, Number)};
  process.stdout.write(JSON.stringify(res));
})().catch((e) => { console.error(String(e)); process.exit(1); });
