// Prints one closing line for the whole test run ("tests: N passed, N failed, N skipped"),
// from vitest's JSON report plus the terminal end-to-end runs, so that CI logs end with a
// count any reader understands. Reached only when every step before it passed.
import { readFileSync } from "node:fs";

const [reportPath, e2eRuns = "0"] = process.argv.slice(2);
if (!reportPath) {
  console.error("usage: node scripts/test-summary.mjs <vitest-json-report> [e2e-runs]");
  process.exit(2);
}
const report = JSON.parse(readFileSync(reportPath, "utf8"));
const passed = report.numPassedTests + Number(e2eRuns);
const failed = report.numFailedTests;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 ? 0 : 1);
