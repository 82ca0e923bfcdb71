// Properties of the sources that no behaviour test can show for every path at once:
// every HTTP request of the client goes through one undici dispatcher (an
// EnvHttpProxyAgent, so proxies apply and nothing bypasses the redirect rules), taken
// from the same undici package as its request function (issue 5, "Proxies").
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../cli/helpers.js";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(entry.name) ? [path] : [];
  });
}

/** Code without comments (comments may name what the code must not do). */
function code(file: string): string {
  return readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

describe("HTTP goes through one undici dispatcher", () => {
  // The embedded server (src/server) answers HTTP; it sends no request.
  const clientFiles = sourceFiles(join(ROOT, "src")).filter((file) => !file.includes(`${join("src", "server")}`));

  it("only src/api/transport.ts imports undici, and it uses EnvHttpProxyAgent's own request", () => {
    const importers = clientFiles.filter((file) => /from "undici"/.test(code(file))).map((file) => relative(ROOT, file));
    expect(importers).toEqual([join("src", "api", "transport.ts")]);
    const transport = code(join(ROOT, "src", "api", "transport.ts"));
    expect(transport).toMatch(/import \{ EnvHttpProxyAgent, type Dispatcher \} from "undici";/);
    expect(transport).toMatch(/this\.dispatcher\.request\(/);
  });

  it("no other HTTP client: no global fetch, no node:http, node:https or node:net requests", () => {
    const offenders = clientFiles.filter((file) => {
      const text = code(file);
      return /\bfetch\s*\(/.test(text) || /from "node:(http|https|net|http2|tls)"/.test(text) || /\bnew\s+EventSource\b/.test(text);
    });
    expect(offenders.map((file) => relative(ROOT, file))).toEqual([]);
  });
});
