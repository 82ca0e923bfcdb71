// `npm run bench`: measures every figure of issue 6 side by side and prints one table
// (median of N runs, min–max, ratio, target, PASS/FAIL), also written to bench/results.md.
//
//   node --expose-gc bench/run.mjs [--only ingest,render] [--quick] [--runs N] [--out FILE]
//
// The trace server runs in its own process on 127.0.0.1:8080 (the SDK's `env: "dev"`
// address); every sample runs in a fresh child process.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, spawnLongLived } from "./lib/proc.mjs";
import { errorRow, machineDescription, markdownTable } from "./lib/report.mjs";

const FIGURES = ["ingest", "frames", "command", "render", "burst", "idle", "startup", "memory"];
const PORT = 8080;

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    out: { type: "string", default: join(ROOT, "bench", "results.md") },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: node --expose-gc bench/run.mjs [--only ${FIGURES.join(",")}] [--quick] [--runs N] [--out FILE]\n`);
  process.exit(0);
}
const selected = values.only ? values.only.split(",").map((s) => s.trim()) : FIGURES;
const unknown = selected.filter((name) => !FIGURES.includes(name));
if (unknown.length) {
  process.stderr.write(`bench: unknown figure ${unknown.join(", ")} (known: ${FIGURES.join(", ")})\n`);
  process.exit(2);
}
const runs = values.runs ? Number(values.runs) : values.quick ? 1 : 5;
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write("bench: --runs must be a positive integer\n");
  process.exit(2);
}

function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function startServer() {
  const child = spawnLongLived(process.execPath, [join(ROOT, "bench", "lib", "server.mjs"), String(PORT)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]).port);
    });
    child.once("exit", (code) => reject(new Error(`bench server exited ${code} (is 127.0.0.1:${PORT} in use?)`)));
  });
  return { child, baseUrl: `http://127.0.0.1:${port}/api/v1`, origin: `http://127.0.0.1:${port}` };
}

const server = await startServer();
const ctx = {
  runs,
  quick: values.quick,
  baseUrl: server.baseUrl,
  log,
  /** Has the server build and cache a workload before anything is timed. */
  async prepare(executionId) {
    const response = await fetch(`${server.origin}/_bench/prepare?id=${encodeURIComponent(executionId)}`);
    if (!response.ok) throw new Error(`server cannot prepare ${executionId}: ${response.status}`);
    await response.arrayBuffer();
  },
};

const machine = machineDescription();
log(`${machine.cpus} CPUs (${machine.model}), ${machine.memoryGb} GB, Node ${machine.node}, load ${machine.load}; runs=${runs}${values.quick ? " quick" : ""}`);
const rows = [];
const startedAt = Date.now();
try {
  for (const name of selected) {
    const figureStarted = Date.now();
    log(`figure ${name}`);
    try {
      const figure = await import(`./figures/${name}.mjs`);
      rows.push(...(await figure.run(ctx)));
    } catch (error) {
      log(`figure ${name} failed: ${error?.stack ?? error}`);
      rows.push(errorRow(name, error));
    }
    log(`figure ${name} took ${((Date.now() - figureStarted) / 1000).toFixed(1)} s`);
  }
} finally {
  server.child.kill("SIGTERM");
}

const table = markdownTable(rows, runs);
const failed = rows.filter((r) => r.pass === false);
const report = [
  `Measured ${new Date(startedAt).toISOString().slice(0, 16).replace("T", " ")} UTC in ${((Date.now() - startedAt) / 1000).toFixed(0)} s:`,
  `${machine.cpus} CPUs (${machine.model}), ${machine.memoryGb} GB RAM, ${machine.platform}, Node ${machine.node};`,
  `load average ${machine.load} at the start, ${machineDescription().load} at the end. Median of ${runs} run${runs > 1 ? "s" : ""} (min–max)${values.quick ? ", --quick" : ""}; ratio = how many times better noukai-top is than the baseline (speed, or RSS).`,
  "",
  table,
  "",
].join("\n");
process.stdout.write(`\n${report}\n${failed.length ? `${failed.length} target(s) missed.` : "All targets hold."}\n`);
writeFileSync(values.out, report);
log(`wrote ${values.out}`);
process.exitCode = failed.length ? 1 : 0;
