// The emoclass page: a file (dropped or chosen) or a microphone recording (encoded to WAV here) is
// posted to /v1/classify?segments=1 for the result and to /v1/explain for the figure. No library,
// no build step, nothing fetched from anywhere but this server.
'use strict';

// The colours of the figure (spectro/figures/figure.cpp): Okabe-Ito, safe for colour-blind readers.
const COLOURS = {
  angry: '#d55e00', disgust: '#009e73', fear: '#cc79a7',
  happy: '#e69f00', neutral: '#56b4e9', sad: '#0072b2', surprised: '#f0e442', calm: '#8fb996',
};
const SPARE_COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#7f7f7f'];
const MAX_RECORD_S = 300;

const $ = (id) => document.getElementById(id);
let labels = [];          // the model's labels, output order (from /v1/model)
let figureUrl = null;     // object URL of the current figure
let busy = false;

function colourOf(label) {
  if (COLOURS[label]) return COLOURS[label];
  const i = Math.max(0, labels.indexOf(label));
  return SPARE_COLOURS[i % SPARE_COLOURS.length];
}

function percent(p) { return (100 * p).toFixed(1) + ' %'; }

function setStatus(text) { $('status').textContent = text; }

function showError(text) {
  const e = $('error');
  e.textContent = text;
  e.hidden = !text;
}

async function loadModel() {
  try {
    const r = await fetch('/v1/model');
    const m = await r.json();
    labels = m.labels || [];
    $('model-info').textContent = `Model: ${m.name} · labels: ${labels.join(', ')} · ` +
      `largest upload ${(m.limits.max_body_bytes / 1048576).toFixed(0)} MiB`;
  } catch (err) {
    $('model-info').textContent = 'Model: could not be read (' + err.message + ')';
  }
}

// ---- results ----

function renderBars(probabilities, emotion) {
  const list = $('bars');
  list.replaceChildren();
  const names = labels.length ? labels : Object.keys(probabilities);
  for (const label of names) {
    const p = probabilities[label] ?? 0;
    const li = document.createElement('li');
    if (label === emotion) li.className = 'top';
    const name = document.createElement('span');
    name.className = 'bar-label';
    name.textContent = label;
    const track = document.createElement('span');
    track.className = 'bar-track';
    track.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.className = 'bar-fill';
    fill.style.width = (100 * p).toFixed(2) + '%';
    fill.style.background = colourOf(label);
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = percent(p);
    li.append(name, track, value);
    li.dataset.label = label;
    list.append(li);
  }
}

function segmentProbabilities(s) {
  // Per-window probabilities when the server gives them; otherwise the window's emotion alone.
  if (s.probabilities && Object.keys(s.probabilities).length) return s.probabilities;
  if (s.emotion) return { [s.emotion]: s.confidence };
  return null;
}

function renderTimeline(segments) {
  const section = $('timeline-section');
  const strip = $('timeline');
  const body = $('timeline-table').querySelector('tbody');
  strip.replaceChildren();
  body.replaceChildren();
  if (!segments || segments.length < 2) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const tickEvery = Math.max(1, Math.ceil(segments.length / 12));
  const counts = {};
  segments.forEach((s, i) => {
    const col = document.createElement('div');
    col.className = 'window';
    col.title = `${s.start_s.toFixed(2)}–${s.end_s.toFixed(2)} s: ` +
      (s.emotion ? `${s.emotion} ${percent(s.confidence)}` : 'no speech');
    const top = document.createElement('span');
    top.className = 'window-label';
    top.textContent = s.emotion ? s.emotion.slice(0, 3) : '–';
    const stack = document.createElement('div');
    stack.className = 'window-stack';
    const probs = segmentProbabilities(s);
    if (!probs) {
      stack.classList.add('silent');
    } else {
      const names = labels.length ? labels : Object.keys(probs);
      for (const label of names) {
        const p = probs[label] ?? 0;
        if (p <= 0) continue;
        const part = document.createElement('div');
        part.style.height = (100 * p).toFixed(2) + '%';
        part.style.background = colourOf(label);
        stack.append(part);
      }
    }
    const tick = document.createElement('span');
    tick.className = 'window-tick';
    tick.textContent = i % tickEvery === 0 ? Number(s.start_s.toFixed(1)) + ' s' : '';
    col.append(top, stack, tick);
    strip.append(col);

    const row = document.createElement('tr');
    for (const text of [s.start_s.toFixed(2), s.end_s.toFixed(2), s.emotion ?? 'no speech',
                        s.emotion ? percent(s.confidence) : '']) {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
    }
    body.append(row);
    const key = s.emotion ?? 'no speech';
    counts[key] = (counts[key] || 0) + 1;
  });
  $('timeline-summary').textContent = `${segments.length} windows: ` +
    Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') + '.';
}

function renderResult(r) {
  $('answer').hidden = false;
  const emotion = $('emotion');
  emotion.textContent = r.emotion ?? 'no speech found';
  emotion.dataset.emotion = r.emotion ?? '';
  emotion.style.borderColor = r.emotion ? colourOf(r.emotion) : 'transparent';
  $('confidence').textContent = r.emotion ? percent(r.confidence) : '';
  $('details').textContent = `${r.file} · ${r.duration_s.toFixed(2)} s · ` +
    `${r.voiced_windows} of ${r.windows} windows with speech`;
  renderBars(r.probabilities || {}, r.emotion);
  renderTimeline(r.segments);
}

async function postAudio(path, blob, name) {
  const form = new FormData();
  form.append('audio', blob, name);
  const response = await fetch(path, { method: 'POST', body: form });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

async function classify(blob, name) {
  if (busy) return;
  busy = true;
  document.body.classList.add('busy');
  showError('');
  setStatus(`Classifying ${name} (${(blob.size / 1024).toFixed(0)} KiB)…`);
  const img = $('figure');
  try {
    const r = await (await postAudio('/v1/classify?segments=1', blob, name)).json();
    renderResult(r);
    setStatus(r.emotion ? `${name}: ${r.emotion}, ${percent(r.confidence)}.`
                        : `${name}: no speech found.`);
    $('result').focus();
    try {
      const png = await (await postAudio('/v1/explain', blob, name)).blob();
      if (figureUrl) URL.revokeObjectURL(figureUrl);
      figureUrl = URL.createObjectURL(png);
      img.src = figureUrl;
      img.alt = `Spectrogram of ${name} with the probabilities` +
        (r.segments && r.segments.length > 1 ? ' and the timeline of windows' : '');
      img.hidden = false;
    } catch (err) {
      img.hidden = true;
      $('figure-caption').textContent = 'The figure could not be drawn: ' + err.message;
    }
  } catch (err) {
    $('answer').hidden = true;
    showError(`${name}: ${err.message}`);
    setStatus('No result.');
  } finally {
    busy = false;
    document.body.classList.remove('busy');
  }
}

// ---- file input and drop zone ----

function setupFileInput() {
  const input = $('file');
  const drop = $('drop');
  input.addEventListener('change', () => {
    if (input.files.length) classify(input.files[0], input.files[0].name);
    input.value = '';
  });
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); }
  });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) classify(file, file.name);
  });
  // A file dropped anywhere else must not make the browser navigate away from the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

// ---- microphone -> PCM -> WAV ----

// The AudioWorklet's processor, loaded from a Blob URL so the page needs no other file.
const RECORDER_WORKLET = `
class PcmTap extends AudioWorkletProcessor {
  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length) {
      const n = channels[0].length, mono = new Float32Array(n);
      for (const ch of channels) for (let i = 0; i < n; i++) mono[i] += ch[i] / channels.length;
      this.port.postMessage(mono, [mono.buffer]);
    }
    return true;
  }
}
registerProcessor('pcm-tap', PcmTap);`;

// 16-bit PCM mono WAV (RIFF) from float samples in [-1, 1].
function encodeWav(chunks, rate) {
  const n = chunks.reduce((sum, c) => sum + c.length, 0);
  const buffer = new ArrayBuffer(44 + 2 * n);
  const v = new DataView(buffer);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i)); };
  text(0, 'RIFF'); v.setUint32(4, 36 + 2 * n, true); text(8, 'WAVE');
  text(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); text(36, 'data'); v.setUint32(40, 2 * n, true);
  let at = 44;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++, at += 2) {
      const s = Math.max(-1, Math.min(1, c[i]));
      v.setInt16(at, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }
  return new Blob([buffer], { type: 'audio/wav' });
}

const recorder = { stream: null, context: null, node: null, chunks: [], samples: 0, timer: null };

async function startRecording() {
  const button = $('record');
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError('This browser gives no microphone here (it needs https or localhost).');
    return;
  }
  showError('');
  try {
    recorder.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    showError('No microphone: ' + err.message);
    return;
  }
  const context = new AudioContext();
  recorder.context = context;
  recorder.chunks = [];
  recorder.samples = 0;
  const source = context.createMediaStreamSource(recorder.stream);
  const take = (mono) => { recorder.chunks.push(mono); recorder.samples += mono.length; };
  if (context.audioWorklet) {
    const url = URL.createObjectURL(new Blob([RECORDER_WORKLET], { type: 'text/javascript' }));
    await context.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    const node = new AudioWorkletNode(context, 'pcm-tap');
    node.port.onmessage = (e) => take(e.data);
    source.connect(node);
    recorder.node = node;
  } else {
    // Older browsers: the deprecated ScriptProcessorNode does the same job.
    const node = context.createScriptProcessor(4096, source.channelCount, 1);
    node.onaudioprocess = (e) => {
      const b = e.inputBuffer, mono = new Float32Array(b.length);
      for (let c = 0; c < b.numberOfChannels; c++) {
        const d = b.getChannelData(c);
        for (let i = 0; i < d.length; i++) mono[i] += d[i] / b.numberOfChannels;
      }
      take(mono);
    };
    source.connect(node);
    node.connect(context.destination);
    recorder.node = node;
  }
  button.textContent = '■ Stop';
  button.setAttribute('aria-pressed', 'true');
  const started = performance.now();
  recorder.timer = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    $('record-status').textContent = `Recording… ${s.toFixed(0)} s`;
    if (s >= MAX_RECORD_S) stopRecording();
  }, 500);
  $('record-status').textContent = 'Recording… 0 s';
}

async function stopRecording() {
  const button = $('record');
  clearInterval(recorder.timer);
  recorder.node.disconnect();
  for (const track of recorder.stream.getTracks()) track.stop();
  const rate = recorder.context.sampleRate;
  await recorder.context.close();
  recorder.stream = null;
  button.textContent = '● Record';
  button.setAttribute('aria-pressed', 'false');
  const seconds = recorder.samples / rate;
  $('record-status').textContent = `Recorded ${seconds.toFixed(1)} s at ${rate} Hz.`;
  if (recorder.samples === 0) {
    showError('The microphone gave no audio.');
    return;
  }
  await classify(encodeWav(recorder.chunks, rate), 'recording.wav');
}

function setupRecorder() {
  $('record').addEventListener('click', () => {
    if (recorder.stream) stopRecording(); else startRecording();
  });
}

loadModel();
setupFileInput();
setupRecorder();
