import http from "node:http";
import { API_KEY } from "./lib/workload.mjs";
const path = "/api/v1/seq/bench/perf/ingest/runs/ingest-250000/trace/stream";
const t0 = performance.now();
http.get({host:"127.0.0.1",port:8080,path, headers: { authorization: `Bearer ${API_KEY}`, accept: "text/event-stream" } }, (res) => {
  let n = 0, c=0; res.on("data", (ch) => { n += ch.length; c++; }); res.on("end", () => console.log("http", res.statusCode, n, c, (performance.now() - t0).toFixed(0), "ms"));
});
