// pusher-js (the official JavaScript client) under measurement, one per process: the same
// scenarios and JSON lines as benchmarks/pusher/client.py (see its docstring). Times are
// CLOCK_MONOTONIC seconds (process.hrtime), the clock Python's time.monotonic() reads.
//
//   node benchmarks/node/client.js --scenario=receive --url=ws://... --channels=1000 --events=20000
"use strict";

const Pusher = require("pusher-js");

const EVENT = "App\\Events\\StreamerIsLive";
const FIRST_CHANNEL_ID = 100001;

function args() {
  const parsed = { channels: 1, events: 0, quiet: 2, timeout: 120 };
  for (const arg of process.argv.slice(2)) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`bad argument ${arg}`);
    const [, key, value] = match;
    parsed[key] = ["scenario", "url"].includes(key) ? value : Number(value);
  }
  return parsed;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

function main() {
  const options = args();
  const url = new URL(options.url);
  const key = url.pathname.split("/").pop();
  const started = now();
  const pusher = new Pusher(key, {
    cluster: "mt1",
    wsHost: url.hostname,
    wsPort: Number(url.port),
    forceTLS: false,
    enabledTransports: ["ws"],
    disableStats: true,
  });

  const confirmed = new Set();
  let allConfirmed = false;
  let dropped = false;
  let received = 0;
  let first = 0;
  let last = 0;
  let cpuBefore = 0;
  let finished = false;

  const finish = (message, code = 0) => {
    if (finished) return;
    finished = true;
    say(message);
    pusher.disconnect();
    process.exit(code);
  };

  const onConfirmed = () => {
    if (confirmed.size < options.channels) {
      if (allConfirmed) dropped = true;
      return;
    }
    if (!allConfirmed) {
      allConfirmed = true;
      say({ subscribed: options.channels, seconds: now() - started });
      say({ ready: true });
      if (options.scenario === "subscribe") finish({ done: true });
      if (options.scenario === "idle") clearInterval(ticker); // nothing of ours runs while idle
    } else if (dropped && options.scenario === "reconnect") {
      finish({ resubscribed: now() });
    }
  };

  const onEvent = (data) => {
    const livestream = data.livestream;
    if (!livestream.channel_id || !livestream.id) return;
    const at = now();
    received += 1;
    if (received === 1) {
      first = at;
      cpuBefore = cpuSeconds();
    }
    last = at;
    if (received === options.events && options.scenario === "receive") report();
  };

  const report = () =>
    finish({ received, first, last, cpu: cpuSeconds() - cpuBefore });

  pusher.connection.bind("state_change", ({ current }) => {
    if (current !== "connected") {
      confirmed.clear();
      onConfirmed();
    }
  });
  for (let i = 0; i < options.channels; i++) {
    const channel = pusher.subscribe(`channel.${FIRST_CHANNEL_ID + i}`);
    channel.bind(EVENT, onEvent);
    channel.bind("pusher:subscription_succeeded", () => {
      confirmed.add(channel.name);
      onConfirmed();
    });
  }

  const deadline = now() + options.timeout;
  const ticker = setInterval(() => {
    const at = now();
    if (options.scenario === "receive" && received > 0 && at - last > options.quiet) report();
    if (at > deadline) {
      if (options.scenario === "receive" && allConfirmed) report();
      else finish({ error: `timed out after ${options.timeout} s` }, 1);
    }
  }, 250);

  process.stdin.on("end", () => finish({ stopped: true }));
  process.stdin.resume();
}

main();
