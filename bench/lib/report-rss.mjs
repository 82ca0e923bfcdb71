// Preloaded (`node --import`) where GNU time is missing: writes this process's peak RSS
// in KB to $BENCH_RSS_FILE when it exits, however it exits.
import { writeFileSync } from "node:fs";

process.on("exit", () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, `${process.resourceUsage().maxRSS}\n`);
});
