#!/usr/bin/env bash
# End-to-end test of the TUI in a real terminal: runs `noukai-top demo` in a tmux pane at
# 100x30 (Unicode) and again at 80x24 (--ascii), sends keys with send-keys and asserts on
# capture-pane text: rows appear and update, the retried step's detail lists both attempts,
# the timeline (t) and cost (c) views draw the run, e writes the export file, q exits with
# the terminal restored (same stty settings, cursor visible, shell prompt back).
# Run by `npm run test:e2e`; needs tmux (installed with apt-get when missing and allowed).
set -euo pipefail
cd "$(dirname "$0")/../.."

export LC_ALL=C.UTF-8 LANG=C.UTF-8

if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "e2e: installing tmux"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
  else
    echo "e2e: tmux is required (apt-get install -y tmux)" >&2
    exit 1
  fi
fi

# Build when dist is missing or older than any source file.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -name '*.ts*' -print -quit)" ]; then
  npm run build >/dev/null
fi

ROOT="$(pwd)"
WORK="$(mktemp -d)"
SOCKET="noukai-top-e2e-$$"
tmx() { tmux -u -L "$SOCKET" -f /dev/null "$@"; }
cleanup() {
  tmx kill-server >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

SIZE=""
PANE=""
capture() { tmx capture-pane -p -t "$PANE"; }
fail() {
  echo "e2e FAIL [$SIZE]: $*" >&2
  echo "----- screen -----" >&2
  capture >&2 || true
  exit 1
}
# wait_for REGEX SECONDS WHAT: polls the screen until an extended regex matches a line.
wait_for() {
  local deadline=$((SECONDS + $2))
  until capture | grep -Eq -- "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after $2 s waiting for $3"
    sleep 0.2
  done
}
# steps_done: N of the header's "steps N/12" (empty when not on screen).
steps_done() { capture | grep -Eo 'steps [0-9]+/12' | head -n 1 | grep -Eo '[0-9]+' | head -n 1 || true; }

run_at() {
  local cols=$1 rows=$2 flags=$3 failed_glyph=$4 done_glyph=$5 failed_bar=$6 done_bar=$7 loop_glyph=$8
  SIZE="${cols}x${rows}${flags:+ $flags}"
  PANE="e2e-${cols}x${rows}"
  echo "e2e: demo at $SIZE"
  # A clean shell: no rc files, a known prompt, no CI (Ink would only print the last frame).
  tmx new-session -d -s "$PANE" -x "$cols" -y "$rows" \
    "env -u CI -u NO_COLOR -u FORCE_COLOR PS1='E2E\$ ' bash --norc --noprofile -i"
  wait_for '^E2E\$' 10 "the shell prompt"
  tmx send-keys -t "$PANE" "cd $WORK; stty -g > $WORK/stty.before; node $ROOT/dist/cli/main.js demo --speed 4 --seed 7 $flags; echo \"exit=\$?\"; stty -g > $WORK/stty.after" Enter

  # Rows appear, then update.
  wait_for 'Load essay' 20 "the first rows"
  local first
  first="$(steps_done)"
  wait_for 'Extract claims' 30 "a later step"
  local later
  later="$(steps_done)"
  [ -n "$first" ] && [ -n "$later" ] && [ "$later" -gt "$first" ] || fail "steps done did not increase ($first -> $later)"

  # One frame on screen, never a stack of frames (the live area stays under the height).
  wait_for 'final' 40 "the final trace"
  [ "$(capture | grep -Ec 'steps [0-9]+/12')" = 1 ] || fail "the header is drawn more than once"
  if [ -n "$flags" ] && capture | LC_ALL=C grep -q '[^ -~]'; then fail "--ascii screen has non-ASCII characters"; fi

  # The retried step's detail lists both attempts.
  tmx send-keys -t "$PANE" "/extract" Enter Enter
  wait_for "^ +1 $failed_glyph failed .*INVALID_JSON_OUTPUT" 10 "attempt 1 (failed) in the detail"
  wait_for "2 $done_glyph completed" 5 "attempt 2 (completed) in the detail"
  wait_for 'incl\. failed attempts \$' 5 "the cost including failed attempts"
  tmx send-keys -t "$PANE" k
  wait_for '"code": "INVALID_JSON_OUTPUT"' 5 "attempt 1's error context"
  tmx send-keys -t "$PANE" Escape
  wait_for '^[›>] *6 Extract claims' 5 "the table again, the step selected"

  # Timeline: the axis, the retried step's failed attempt apart from the one that completed,
  # the loop on one line until x expands it, Enter into an iteration's detail and back.
  tmx send-keys -t "$PANE" t
  wait_for '^ time +\|0ms' 5 "the timeline's axis"
  wait_for "^[›>] *6 Extract claims +${failed_bar}+ *${done_bar}+ " 5 "the retried step's two attempts on one line"
  wait_for "^ *${loop_glyph} 4 Summarize chunk" 5 "the loop on one line"
  tmx send-keys -t "$PANE" g j j j x
  wait_for '^ +\[7\] ' 5 "the loop's iterations"
  tmx send-keys -t "$PANE" j Enter
  wait_for 'iteration 0 \(1/8' 5 "iteration 0's detail"
  tmx send-keys -t "$PANE" Escape
  wait_for '^ time +\|0ms' 5 "the timeline again"

  # Cost view: largest first, the failed attempts' cost apart, grouped by model with m.
  tmx send-keys -t "$PANE" c
  wait_for '^ by step +cost \$' 5 "the cost view"
  wait_for 'Extract claims .*\+\$[0-9.]+ failed' 5 "the failed attempts' cost apart"
  tmx send-keys -t "$PANE" m
  wait_for '^ by model +cost \$' 5 "the cost view by model"
  wait_for 'claude-sonnet-4 \(2\)' 5 "a model's bar"

  # e writes the export file and says so.
  tmx send-keys -t "$PANE" e
  wait_for 'wrote [^ ]+\.trace\.json' 10 "the export's confirmation"
  ls "$WORK"/*.trace.json >/dev/null 2>&1 || fail "no .trace.json in the working directory"
  rm -f "$WORK"/*.trace.json
  tmx send-keys -t "$PANE" Escape
  wait_for 'j/k move' 5 "the table again"

  # q quits: summary in the scrollback, exit 0, terminal settings and cursor restored, prompt back.
  tmx send-keys -t "$PANE" q
  wait_for '^exit=0$' 10 "the demo to exit 0"
  wait_for '^E2E\$ *$' 5 "the shell prompt after exit"
  capture | grep -q 'total: status completed' || fail "no summary after exit"
  if capture | grep -Eq 'j/k move'; then fail "the TUI's frame was left on screen"; fi
  cmp -s "$WORK/stty.before" "$WORK/stty.after" || fail "terminal settings differ after exit (raw mode left on?)"
  [ "$(tmx display -p -t "$PANE" '#{cursor_flag}')" = 1 ] || fail "the cursor is hidden after exit"
  tmx kill-session -t "$PANE"
  echo "e2e: ok at $SIZE"
}

run_at 100 30 "" "✗" "✓" "░" "█" "▸"
run_at 80 24 "--ascii" "x" "\\+" "x" "#" "\\+"
echo "e2e: all passed"
