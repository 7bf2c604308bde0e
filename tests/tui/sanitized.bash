#!/usr/bin/env bash
# The screen loop under the sanitizers (registered only in a build with XQ_SANITIZE, label "sanitized", which
# scripts/test runs in build-asan): `view FIXTURE --max-iterations 20` on every view at 120×40, 80×24 and 20×5
# (too small), with a filter, a layer's ops, --ascii and --no-color, and Compare of two traces (and of two
# models, refused), drawn headless into /dev/null; --once of every view in both formats; and `top --max-iterations` and `top --once` on stories260K (the sanitizer run keeps
# to small models). XQ_UI_STATS makes each run report its loop turns, which must be exactly N.
source "$(dirname "$0")/common.bash"
make_fixture "$tmp/fixture.db"
make_fixture "$tmp/fixture_b.db" fixture_b
make_fixture "$tmp/fixture_other.db" fixture_other
export XQ_UI_STATS=1 TERM=xterm-256color

loop_ok() { # what N command…: exit 0, N loop turns, at least one redraw
  local what=$1 n=$2; shift 2
  "$@" < /dev/null > /dev/null 2> "$tmp/err"; local rc=$?
  [ "$rc" = 0 ] && grep -q "ui: [1-9][0-9]* redraws, $n loop turns" "$tmp/err" ||
    { fail "$what: exit $rc"; head -20 "$tmp/err"; }
}
for size in 120x40 80x24 20x5; do
  export COLUMNS=${size%x*} LINES=${size#*x}
  for v in 1 2 3 4 5 6; do
    loop_ok "view $size --view $v" 20 "$X" view "$tmp/fixture.db" --max-iterations 20 --interval 10 --view "$v"
  done
  loop_ok "view $size filter" 20 "$X" view "$tmp/fixture.db" --max-iterations 20 --interval 10 --view 2 --filter "attend 1-2"
  loop_ok "view $size layer ops" 20 "$X" view "$tmp/fixture.db" --max-iterations 20 --interval 10 --view 2 --layer 3
  loop_ok "view $size --ascii" 20 "$X" view "$tmp/fixture.db" --max-iterations 20 --interval 10 --view 3 --ascii
  loop_ok "view $size --no-color" 20 "$X" view "$tmp/fixture.db" --max-iterations 20 --interval 10 --view 4 --no-color
  loop_ok "view A B $size" 20 "$X" view "$tmp/fixture.db" "$tmp/fixture_b.db" --max-iterations 20 --interval 10 --view 6
  loop_ok "view A B $size --ascii" 20 "$X" view "$tmp/fixture.db" "$tmp/fixture_b.db" --max-iterations 20 \
    --interval 10 --view 6 --ascii
  loop_ok "view A other $size" 20 "$X" view "$tmp/fixture.db" "$tmp/fixture_other.db" --max-iterations 20 \
    --interval 10 --view 6
done
export COLUMNS=120 LINES=40
for v in 1 2 3 4 5 6; do
  for fmt in json csv; do
    "$X" view "$tmp/fixture.db" --once --view "$v" --format "$fmt" > /dev/null 2> "$tmp/err" ||
      { fail "view --once --view $v --format $fmt"; head -20 "$tmp/err"; }
  done
done
"$X" view "$tmp/fixture.db" "$tmp/fixture.db" --once --view 6 > /dev/null 2> "$tmp/err" || fail "view A A --once"
"$X" view "$tmp/fixture.db" "$tmp/fixture_other.db" --once --view 6 > /dev/null 2> "$tmp/err"
[ $? = 2 ] || { fail "view A other --once --view 6: not exit 2"; head -20 "$tmp/err"; }
for args in "$tmp/fixture_b.db" "$tmp/fixture_b.db --layer 0" "--run-b 1"; do
  # shellcheck disable=SC2086 # the arguments are meant to split
  "$X" view "$tmp/fixture.db" $args --once --view 6 --format csv > /dev/null 2> "$tmp/err" ||
    { fail "view A $args --once --view 6"; head -20 "$tmp/err"; }
done

M=${XQ_SHARED:-$SRC/../shared}/models/stories260K/stories260K.gguf
if [ -r "$M" ]; then
  for v in 1 2 4 5; do
    loop_ok "top --view $v" 30 "$X" top -m "$M" -t 2 -n 16 -c 128 --max-iterations 30 --interval 20 --view "$v"
  done
  "$X" top -m "$M" -t 2 -n 8 -c 128 --once --view 2 --format csv < /dev/null > "$tmp/top.csv" 2> "$tmp/err" ||
    { fail "top --once"; head -20 "$tmp/err"; }
else
  echo "note: $M absent: top not run under the sanitizers"
fi
finish sanitized
