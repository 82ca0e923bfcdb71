import { Agent } from "undici";
import { API_KEY } from "/work/main/bench/lib/workload.mjs";
const agent = new Agent({ bodyTimeout: 0 });
const path = "/api/v1/seq/bench/perf/ingest/runs/ingest-250000/trace/stream";
const headers = { authorization: `Bearer ${API_KEY}`, accept: "text/event-stream" };
const mode = process.argv[2];
const t0 = performance.now();
if (mode === "request") {
  const res = await agent.request({ origin: "http://127.0.0.1:8080", path, method: "GET", headers });
  let n = 0; for await (const c of res.body) n += c.length;
  console.log("request", res.statusCode, n, (performance.now() - t0).toFixed(0), "ms");
} else {
  await new Promise((resolve, reject) => {
    let n = 0, status = 0;
    agent.dispatch({ origin: "http://127.0.0.1:8080", path, method: "GET", headers }, {
      onConnect() {}, onHeaders(s) { status = s; return true; }, onData(c) { n += c.length; return true; },
      onComplete() { console.log("dispatch", status, n, (performance.now() - t0).toFixed(0), "ms"); resolve(); }, onError: reject,
    });
  });
}
await agent.close();
