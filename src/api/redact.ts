// The one redactor for every error and log line: an API key never reaches output.
// Keys start with `nk_`. The configured key is masked literally (whatever its
// characters), and any other `nk_` token is masked by shape, which also covers a key
// the server echoes back, a key from an old config, or one in a pasted URL.
// sanitize.ts applies it to every server string it makes safe, and holds redactError.

const KEY_PREFIX = "nk_";
/** Anything shaped like a key: nk_ plus at least 4 key characters. */
const KEY_TOKEN = /nk_[A-Za-z0-9_-]{4,}/g;
/** Below this many characters after the prefix, showing the last 4 would give away too much. */
const MIN_TAIL_FOR_HINT = 12;

/** Keys registered by the clients of this process: redacted even when a caller passes none. */
const registeredKeys = new Set<string>();
/** Every registered key starts with the prefix. */
let registeredWithPrefix = true;

/** `nk_…` plus the key's last 4 characters (only `nk_…` for a key too short to hint at safely). */
export function maskKey(key: string): string {
  const tail = key.startsWith(KEY_PREFIX) ? key.slice(KEY_PREFIX.length) : key;
  return tail.length >= MIN_TAIL_FOR_HINT ? `${KEY_PREFIX}…${tail.slice(-4)}` : `${KEY_PREFIX}…`;
}

/** Makes every later redactSecrets call in this process mask `key` too (TraceClient registers its key). */
export function registerSecret(key: string): void {
  if (key.length === 0) return;
  registeredKeys.add(key);
  if (!key.startsWith(KEY_PREFIX)) registeredWithPrefix = false;
}

/** Replaces every API key in `text` by its mask; `knownKeys` are added to the registered ones. */
export function redactSecrets(text: string, knownKeys: readonly string[] = []): string {
  // Without the prefix no key shaped like one is there, nor a registered key that has
  // it (clients only take such keys): one search instead of one per key (a summary
  // of 250,000 steps is a 57 MB text).
  if (!text.includes(KEY_PREFIX) && knownKeys.length === 0 && registeredWithPrefix) return text;
  let result = text;
  const keys = knownKeys.length === 0 ? registeredKeys : new Set([...registeredKeys, ...knownKeys]);
  for (const key of keys) {
    if (key.length > 0 && result.includes(key)) result = result.replaceAll(key, maskKey(key));
  }
  if (!result.includes(KEY_PREFIX)) return result;
  return result.replace(KEY_TOKEN, maskKey);
}
