/*
 * client.js - lipstream's browser client.
 *
 * Connect: a peer connection with a receive-only video transceiver, then a
 * receive-only audio one (the order the server expects), optionally steered
 * to VP8 or H.264 with setCodecPreferences. The offer is sent only once ICE
 * gathering is complete (non-trickle; 3 s at most), and the server's single
 * answer holds its candidates. Then every control is one call of the HTTP
 * API with the session id; speech events arrive over /sse and drive the
 * speaking badge and the subtitles; getStats() feeds the stats line.
 *
 * window.lipstream exposes the state for tests and the console.
 */
'use strict';

const $ = (id) => document.getElementById(id);
const session = { pc: null, id: null, events: null, statsTimer: null, lastStats: null, state: 'disconnected' };
window.lipstream = session;

// --- messages -----------------------------------------------------------------

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

function setState(state) {
  session.state = state;
  $('state').textContent = state;
  $('state').className = 'badge ' + state;
  const live = state === 'connected' || state === 'connecting';
  $('connect').disabled = live;
  $('disconnect').disabled = !live;
  for (const id of ['send', 'stop', 'upload', 'action', 'record-start', 'record-stop'])
    $(id).disabled = state !== 'connected';
}

/* POSTs JSON (or a FormData) and returns the answer; throws a readable Error. */
async function api(path, body) {
  const isForm = body instanceof FormData;
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: isForm ? {} : { 'Content-Type': 'application/json' },
      body: isForm ? body : JSON.stringify(body),
    });
  } catch (e) {
    throw new Error(`${path}: the server cannot be reached (${e.message})`);
  }
  let answer;
  try {
    answer = await response.json();
  } catch (e) {
    throw new Error(`${path}: HTTP ${response.status} without a JSON answer`);
  }
  if (!response.ok || (answer.code !== undefined && answer.code !== 0))
    throw new Error(`${path}: ${answer.msg || 'HTTP ' + response.status}`);
  return answer;
}

async function run(action) {
  showError('');
  try {
    await action();
  } catch (e) {
    showError(e.message);
  }
}

// --- connecting -----------------------------------------------------------------

function preferCodec(transceiver, name) {
  if (!name || !RTCRtpReceiver.getCapabilities || !transceiver.setCodecPreferences) return;
  const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
  const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/' + name.toLowerCase());
  const others = codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/' + name.toLowerCase());
  if (wanted.length) transceiver.setCodecPreferences(wanted.concat(others));
}

function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs);
  });
}

async function connect() {
  const config = $('stun').checked ? { iceServers: [{ urls: 'stun:stun.l.google.com:19302' }] } : {};
  const pc = new RTCPeerConnection(config);
  session.pc = pc;
  setState('connecting');

  const video = pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  preferCodec(video, $('codec').value);
  pc.addEventListener('track', (e) => {
    if (e.streams && e.streams[0]) $('video').srcObject = e.streams[0];
  });
  pc.addEventListener('connectionstatechange', () => {
    if (session.pc !== pc) return;
    if (pc.connectionState === 'connected') setState('connected');
    if (pc.connectionState === 'failed') {
      showError('The WebRTC connection failed (no route between browser and server; try STUN).');
      disconnect('failed');
    }
  });

  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc, 3000);
  const body = { sdp: pc.localDescription.sdp, type: pc.localDescription.type };
  if ($('avatar').value.trim()) body.avatar = $('avatar').value.trim();
  let answer;
  try {
    answer = await api('/offer', body);
  } catch (e) {
    disconnect('failed');
    throw e;
  }
  session.id = answer.sessionid;
  $('sessionid').textContent = answer.sessionid;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  listenToEvents();
  session.statsTimer = setInterval(updateStats, 1000);
}

function disconnect(state) {
  if (session.events) session.events.close();
  if (session.pc) session.pc.close();
  clearInterval(session.statsTimer);
  Object.assign(session, { pc: null, id: null, events: null, statsTimer: null, lastStats: null });
  $('video').srcObject = null;
  $('sessionid').textContent = '-';
  $('subtitle').textContent = '';
  $('speaking').hidden = true;
  $('stats').textContent = 'no connection';
  setState(state || 'disconnected');
}

// --- speech events (/sse) ---------------------------------------------------------

function listenToEvents() {
  const events = new EventSource('/sse?sessionid=' + encodeURIComponent(session.id));
  session.events = events;
  events.onmessage = (e) => {
    let event;
    try {
      event = JSON.parse(e.data);
    } catch (err) {
      return;
    }
    if (event.status === 'start') {
      $('speaking').hidden = false;
      $('subtitle').textContent = event.text || '';
    } else if (event.status === 'end') {
      $('speaking').hidden = true;
      $('subtitle').textContent = '';
    }
  };
}

// --- statistics -----------------------------------------------------------------------

/* The numbers of the inbound streams and the selected candidate pair. */
async function inboundStats() {
  const out = { t: performance.now(), framesDecoded: 0, framesPerSecond: 0, width: 0, height: 0, videoBytes: 0,
                totalSamplesReceived: 0, totalAudioEnergy: 0, audioLevel: 0, rtt: null, codec: '' };
  if (!session.pc) return out;
  const report = await session.pc.getStats();
  const codecs = {};
  report.forEach((s) => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      Object.assign(out, { framesDecoded: s.framesDecoded || 0, framesPerSecond: s.framesPerSecond || 0,
                           width: s.frameWidth || 0, height: s.frameHeight || 0, videoBytes: s.bytesReceived || 0,
                           codec: codecs[s.codecId] || '' });
    } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      Object.assign(out, { totalSamplesReceived: s.totalSamplesReceived || 0,
                           totalAudioEnergy: s.totalAudioEnergy || 0, audioLevel: s.audioLevel || 0 });
    } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      out.rtt = s.currentRoundTripTime;
    }
  });
  return out;
}
session.inboundStats = inboundStats;

async function updateStats() {
  const now = await inboundStats();
  const last = session.lastStats;
  session.lastStats = now;
  if (!last) return;
  const seconds = (now.t - last.t) / 1000;
  const kbps = ((now.videoBytes - last.videoBytes) * 8) / 1000 / seconds;
  $('stats').textContent =
    `video ${now.codec.replace('video/', '')} ${now.width}x${now.height}  ` +
    `${((now.framesDecoded - last.framesDecoded) / seconds).toFixed(1)} fps  ${kbps.toFixed(0)} kbit/s\n` +
    `audio level ${now.audioLevel.toFixed(3)}  RTT ${now.rtt == null ? '-' : (now.rtt * 1000).toFixed(0) + ' ms'}`;
}

// --- controls -----------------------------------------------------------------------------

$('connect').onclick = () => run(connect);
$('disconnect').onclick = () => disconnect();
$('send').onclick = () => run(async () => {
  const text = $('text').value.trim();
  if (!text) throw new Error('Type something to say first.');
  await api('/human', { sessionid: session.id, text, type: $('mode').value, interrupt: $('interrupt').checked });
});
$('stop').onclick = () => run(() => api('/interrupt_talk', { sessionid: session.id }));
$('upload').onclick = () => run(async () => {
  const file = $('audiofile').files[0];
  if (!file) throw new Error('Choose an audio file first.');
  const form = new FormData();
  form.append('sessionid', session.id);
  form.append('file', file, file.name);
  await api('/humanaudio', form);
});
$('action').onclick = () => run(() =>
  api('/set_audiotype', { sessionid: session.id, audiotype: parseInt($('audiotype').value, 10) || 0 }));
$('record-start').onclick = () => run(() => api('/record', { sessionid: session.id, type: 'start_record' }));
$('record-stop').onclick = () => run(async () => {
  await api('/record', { sessionid: session.id, type: 'end_record' });
  $('record-download').href = '/record/' + encodeURIComponent(session.id);
  $('record-download').hidden = false;
});
window.addEventListener('beforeunload', () => disconnect());
setState('disconnected');
