#!/usr/bin/env node
/*
 * browser_test.js - headless Chromium against a running lipstream server.
 *
 * Loads the web client, connects with each codec in turn (VP8, then H.264)
 * and reads the page's getStats(): decoded video must run at >= 24 fps and
 * audio samples keep arriving (>= 5 s worth) over the measuring window.
 * With the first codec it also types text to echo and checks that the
 * received audio energy rises well above the idle silence, that the
 * subtitle shows the text (/sse) and that /is_speaking turns true then false.
 * Disconnecting must close the session on the server within 5 s (the
 * browser's DTLS close_notify ends it at once; without one the server
 * would wait for 10 s of RTCP silence).
 *
 * usage: NODE_PATH=<dir with playwright-core> node browser_test.js URL
 */
'use strict';

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.log('playwright-core is not installed (scripts/test.sh installs it into build/e2e): skipped');
  process.exit(77);
}
if (!require('fs').existsSync('/usr/bin/chromium')) {
  console.log('/usr/bin/chromium is not installed (scripts/deps.sh test): skipped');
  process.exit(77);
}

const url = process.argv[2];
const MEASURE_MS = 6000;
const SPEECH = 'Hello from the browser test. The avatar is speaking now.';

function check(ok, message) {
  if (!ok) throw new Error(message);
}

async function isSpeaking(page) {
  return page.evaluate(async () => {
    const r = await fetch('/is_speaking', { method: 'POST', body: JSON.stringify({ sessionid: lipstream.id }) });
    return (await r.json()).data;
  });
}

async function sessionsOnServer(page) {
  return page.evaluate(async () => (await (await fetch('/api/admin/sessions')).json()).data.length);
}

async function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}

async function measure(page, ms) {
  const a = await page.evaluate(() => lipstream.inboundStats());
  await page.waitForTimeout(ms);
  const b = await page.evaluate(() => lipstream.inboundStats());
  const seconds = (b.t - a.t) / 1000;
  return {
    fps: (b.framesDecoded - a.framesDecoded) / seconds,
    audioSeconds: (b.totalSamplesReceived - a.totalSamplesReceived) / 48000,
    energy: b.totalAudioEnergy - a.totalAudioEnergy,
    width: b.width,
    codec: b.codec,
  };
}

async function speechCheck(page, idleEnergy) {
  await page.fill('#text', SPEECH);
  const before = await page.evaluate(() => lipstream.inboundStats());
  await page.click('#send');
  await waitFor(() => isSpeaking(page), 10000, '/is_speaking true');
  const subtitle = await page.textContent('#subtitle');
  await waitFor(async () => !(await isSpeaking(page)), 20000, '/is_speaking false again');
  await page.waitForTimeout(500);
  const after = await page.evaluate(() => lipstream.inboundStats());
  const energy = after.totalAudioEnergy - before.totalAudioEnergy;
  const result = { idleEnergy, speechEnergy: energy, subtitle };
  check(energy > Math.max(20 * idleEnergy, 0.01), 'speech energy did not rise: ' + JSON.stringify(result));
  check(subtitle && SPEECH.startsWith(subtitle.slice(0, 10)), 'no subtitle from /sse: ' + JSON.stringify(result));
  return result;
}

async function runCodec(page, codec, withSpeech) {
  await page.selectOption('#codec', codec);
  await page.click('#connect');
  await page.waitForFunction(() => lipstream.state === 'connected', null, { timeout: 20000 });
  await page.waitForTimeout(1000);  // let the decoder settle after the first keyframe
  const m = await measure(page, MEASURE_MS);
  const result = { codec, fps: +m.fps.toFixed(2), audioSeconds: +m.audioSeconds.toFixed(2), width: m.width,
                   decoder: m.codec };
  check(m.codec.toLowerCase() === 'video/' + codec.toLowerCase(), 'negotiated ' + m.codec + ', not ' + codec);
  check(m.fps >= 24, `${codec}: ${m.fps.toFixed(2)} fps decoded (>= 24 expected)`);
  check(m.audioSeconds >= 5, `${codec}: ${m.audioSeconds.toFixed(2)} s of audio in ${MEASURE_MS / 1000} s`);
  if (withSpeech) result.speech = await speechCheck(page, m.energy);
  await page.click('#disconnect');
  await waitFor(async () => (await sessionsOnServer(page)) === 0, 5000, 'the server to close the session');
  return result;
}

async function main() {
  // playwright gives the browser a new, temporary profile directory itself
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
           '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  let failed = false;
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(url);
    for (const [codec, speech] of [['VP8', true], ['H264', false]])
      console.log(JSON.stringify(await runCodec(page, codec, speech)));
    const shown = await page.textContent('#error');
    check(!shown, 'the page shows an error: ' + shown);
  } catch (e) {
    console.error('FAIL:', e.message);
    failed = true;
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}

main();
