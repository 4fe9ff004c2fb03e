// Publishes StreamerIsLive events through a Pusher server's HTTP API (POST
// /apps/:id/batch_events, signed as the Pusher HTTP API requires), round-robin over the
// benchmark's channels, in batches, from several concurrent keep-alive connections. The data is
// the recorded Kick payload in tests/fixtures/kick with the ids changed per event. Every body is
// built and signed before the first request; prints {"published": N, "seconds": S, "failed_batches": F}.
//
//   node benchmarks/node/publish.js --api=http://127.0.0.1:6001 --app-id=... --key=... \
//       --secret=... --channels=1000 --events=20000 --publishers=8
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const path = require("path");

const EVENT = "App\\Events\\StreamerIsLive";
const FIRST_CHANNEL_ID = 100001;
const FIRST_LIVESTREAM_ID = 80000000;
const SAMPLE = path.join(__dirname, "..", "..", "tests", "fixtures", "kick",
  "pusher_streamer_is_live.data.json");

function args() {
  const parsed = { batch: 100, publishers: 8 };
  for (const arg of process.argv.slice(2)) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`bad argument ${arg}`);
    parsed[match[1]] = /^\d+$/.test(match[2]) ? Number(match[2]) : match[2];
  }
  return parsed;
}

function signedPath(options, body) {
  const route = `/apps/${options["app-id"]}/batch_events`;
  const query = [
    `auth_key=${options.key}`,
    `auth_timestamp=${Math.floor(Date.now() / 1000)}`,
    "auth_version=1.0",
    `body_md5=${crypto.createHash("md5").update(body).digest("hex")}`,
  ].join("&");
  const signature = crypto.createHmac("sha256", options.secret)
    .update(`POST\n${route}\n${query}`).digest("hex");
  return `${route}?${query}&auth_signature=${signature}`;
}

function bodies(options) {
  const sample = JSON.parse(fs.readFileSync(SAMPLE, "utf8")).livestream;
  const requests = [];
  for (let start = 0; start < options.events; start += options.batch) {
    const batch = [];
    for (let i = start; i < Math.min(options.events, start + options.batch); i++) {
      const channelId = FIRST_CHANNEL_ID + (i % options.channels);
      const livestream = { ...sample, id: FIRST_LIVESTREAM_ID + i, channel_id: channelId };
      batch.push({ name: EVENT, channel: `channel.${channelId}`, data: JSON.stringify({ livestream }) });
    }
    const body = JSON.stringify({ batch });
    requests.push({ body, path: signedPath(options, body) });
  }
  return requests;
}

function post(agent, api, request) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: api.hostname, port: api.port, method: "POST", path: request.path, agent,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(request.body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("error", () => resolve(false));
    req.end(request.body);
  });
}

async function main() {
  const options = args();
  const api = new URL(options.api);
  const requests = bodies(options);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.publishers });
  let next = 0;
  let failedBatches = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++];
      if (!(await post(agent, api, request))) failedBatches += 1;
    }
  };
  await Promise.all(Array.from({ length: options.publishers }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ published: options.events, seconds, failed_batches: failedBatches }) + "\n");
  agent.destroy();
}

main();
