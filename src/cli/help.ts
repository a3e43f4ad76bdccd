/**
 * Help texts of the command line.
 *
 * @module
 */

const COMMON = `Options for every command:
  --scenarios DIR   scenario directory (default: scenarios/ of the project)
  --patches DIR     revision directory (default: patches/ of the project)
  --scenario FILE   an extra scenario file, added to those of --scenarios; its
                    id is its file name (repeatable)
  --revision FILE   an extra revision file, which may "extends" a shipped
                    revision (repeatable)
  --timeout SECONDS time bound of each scenario run and of each exploration
                    (default 60); a run it stops has the status timeout and
                    what it did so far, which depends on the machine's speed
  -q, --quiet       no progress line and no notices on standard error (the
                    progress line is only ever drawn on a terminal, after a
                    second)
  -h, --help        show this help`;

/** The rest of exit status 2: what only a run can tell. */
const BAD_INPUT = `, or a
     scenario whose during.at or fail its run never reaches`;

/** Exit status 3, the same for every command. */
const OUTPUT_ERROR = `
  3  output error: standard output or the --out file could not be written
     (a full disk, say); a closed pipe ends the command quietly with 3`;

/** The exit status of a command that never compares against a baseline. */
const EXIT_PLAIN = `Exit status:
  0  the command ran (whatever the verdicts)
  2  bad input: unknown scenario or revision, invalid file, bad option${BAD_INPUT}${OUTPUT_ERROR}`;

/** The exit status of a command that takes --baseline. */
const EXIT_BASELINE = `Exit status:
  0  the command ran, and with --baseline nothing regressed against it
  1  with --baseline: some scenario regressed against the baseline (a
     violation kind it lacks, or a timeout or unsupported run where it has none)
  2  bad input: unknown scenario or revision, invalid file, bad option${BAD_INPUT}${OUTPUT_ERROR}`;

/** Exit status of "report" and "merge", which also check --expect. */
const EXIT_REPORT = `Exit status:
  0  the command ran, nothing regressed against --baseline, and every cell
     matches its --expect entry
  1  with --baseline: some scenario regressed against the baseline (a
     violation kind it lacks, or a timeout or unsupported run where it has
     none); with --expect: a cell does not match its entry in the file
  2  bad input: unknown scenario or revision, invalid file, bad option${BAD_INPUT}${OUTPUT_ERROR}`;

/** The report formats and the --expect option, shared by "report" and "merge". */
const REPORT_FORMATS =
  `  --format F       md: Markdown, plain-text tables to paste into a mail (default)
                   json: schema mmbisect/report@1 (docs/report-schema.json),
                   each cell judged against the expectations
                   html: one self-contained page, no network access; click a
                   cell for its violations, callout trace, sequence diagram
                   and trace diff against the neighbouring revision
                   mail: plain text of at most 78 columns for a reply on a
                   mailing list: each regression and fix with the revision
                   that introduced it, the keys that cause it, the commands
                   that reproduce it and the citation of each pin
                   tap: TAP version 14, one test point per cell against the
                   expectations ("not ok" with the diagnosis as YAML)
                   junit: JUnit XML, one testsuite per lineage, one testcase
                   per cell against the expectations
  --expect FILE    judge every cell shown against FILE, an expectation table
                   (the format of expectations/*.json, see README.md): print a
                   summary and each mismatch on standard error, and exit 1 on
                   a mismatch; json, mail, tap and junit judge against the
                   shipped pins (expectations/emmu.json and nonlinear.json)
                   without it`;

/** The --jobs option of the commands that run a matrix. */
const JOBS = `  --jobs N         run the cells (and explorations) N at once, in this
                   process and N-1 workers (default 1: in this process, one
                   after the other; 0 or auto: one per CPU); the output is
                   the same bytes for any N, but for runs that --timeout stops`;

/** Help of the program as a whole. */
export const MAIN_HELP = `Usage: mmbisect <command> [options]

Runs scenarios on revisions of Linux MM patch lineages (one shared model of
the MM, one behaviour config per revision) and diffs the outcomes across
revisions: the 2008 mmu-notifier lineages on a 2.6.24 model, the 2002
nonlinear-mapping lineage (2.5.42-F8 to G1) on a 2.5.42 model. A scenario
runs on the revisions of its own kernel tree.

Commands:
  run <scenario> <revision>     run one scenario on one revision
  compare <revA> <revB>         compare two revisions on every scenario
  report                        regression report of every lineage (md, json, html, mail, tap, junit)
  bisect <lineage> <scenario>   first revision where a scenario's verdict changes, and later ones
  explain <scenario> <revision> why a scenario has its verdict: callouts and config keys
  explore <scenario> <revision> every schedule of a scenario's threads: always/sometimes/never
  merge <file>...               join the result sets of "report --shard" into the report
  import-patch <file.patch>...  a revision from a posted diff, compared with its base
  list <what>                   scenarios, revisions, hook-points or labels, for authors

${COMMON}

From the project root, "deno task <command> ..." runs a command, for example:
  deno task report
  deno task run wp-reuse-after-fork emmu-v5
  deno task run nl-evict-remapped-file nl-2.5.42-g1

Each cell (scenario on revision) has a status: pass, fail (violations),
unsupported (a step the revision or driver cannot run) or timeout (a bound
stopped the run).

"report", "compare" and "bisect" take --jobs N to run N at once, with
output byte-identical to one; "report --shard k/n" runs one slice of a
report on one machine of many, and "merge" joins the slices.

Run "mmbisect <command> --help" for a command's options and examples.

${EXIT_BASELINE}
  (Only "compare", "report" and "merge" check a baseline, and "report" and
  "merge" an --expect file; the other commands exit 0, 2 or 3.)
`;

/** Help of each command. */
export const COMMAND_HELP: Record<string, string> = {
  run: `Usage: mmbisect run <scenario> <revision> [--json] [options]

Runs one scenario on one revision and prints its outcome: the verdict, every
violation, the callout trace, return values, counters and secondary MMU state;
for a 2.5.42 scenario also what a read finds through each mapped address at
the end (a file page, SIGSEGV, SIGBUS or hang). Both must be of one kernel tree.

  <scenario>   a scenario id (scenarios/<id>.json) or the path of a .json file
  <revision>   a revision id (patches/<id>.json, or one from --revision), or
               the path of a revision .json file
  --json       print the outcome as canonical JSON (schema mmbisect/outcome@1)
  --schedule S replay one schedule of the scenario's threads: the thread
               chosen at each point where several can run, comma-separated
               ("-" for none), as "explore" prints it; lock acquisitions
               are scheduling points in this mode

${COMMON}

Examples:
  deno task run wp-reuse-after-fork emmu-v5
  deno task run race-wp-copy-refault emmu-v2 --schedule cpu0,cpu0,cpu0,cpu0,cpu0,cpu0,cpu0,vcpu0
  deno task run wp-reuse-after-fork emmu-v5 --json
  deno task run ./my-scenario.json mainline-2.6.27
  deno task run wp-reuse-after-fork my-fix --revision ./my-fix.json

${EXIT_PLAIN}
`,
  compare: `Usage: mmbisect compare <revA> <revB> [--json] [--baseline REV] [options]

Runs every scenario on two revisions and classifies each scenario's change
from A to B: regression (a violation kind appears), fix (one disappears),
both (one appears and another disappears), change (same kinds, other
behaviour differs) or same; the summary counts each scenario once. The text
leads with the regressions and fixes, each with the smallest set of the
differing config keys that alone flips the verdict ("caused by": A with
those keys of B, run) and the other differing keys apart ("also differ"),
then names the scenarios that only changed, grouped by what differs, and
those that stayed the same; --json holds every detail.

  --json           print the comparison as canonical JSON (schema
                   mmbisect/compare@1; with --baseline, a "baseline" field)
  --baseline REV   one of the two revisions: list the scenarios where the
                   other regressed against it, and exit 1 if there is one
  --races          also explore every schedule of the race scenarios on both
                   revisions and list those whose always/sometimes/never
                   verdicts differ, each with the keys that cause it
${JOBS}

${COMMON}

Examples:
  deno task compare emmu-v4 emmu-v5
  deno task compare emmu-v5 emmu-v5-holt-guard --json
  deno task compare mmun-v3 mmun-v3-rcu --races --jobs auto
  deno task compare emmu-v5 my-fix --revision ./my-fix.json --baseline emmu-v5

${EXIT_BASELINE}
`,
  report: `Usage: mmbisect report [--lineage L] [--format F] [--out PATH] [--baseline REV]
                       [--expect FILE] [--jobs N] [--shard k/n] [options]

Runs every scenario on every revision of its kernel tree and reports, per
lineage, the verdict matrix, every regression and fix with the revision that
introduced it, the config keys that cause it, the first violation and the
command that reproduces it, and each candidate against its parent. When the
nonlinear lineage is shown, the report ends with the F8 cover letter's cost
claims measured on its first revision. The output is deterministic.

  --lineage L      report only lineage L (repeatable)
${REPORT_FORMATS}
  --out PATH       write to PATH (atomically: a temporary file in the same
                   directory renamed over PATH) instead of standard output;
                   --format and --out may each be given more than once, the
                   n-th --out getting the n-th --format, to write several
                   formats of one run (every text is rendered before the
                   first is written)
  --baseline REV   check against REV the revisions after it in its lineage
                   (the posted ones, and candidates that follow REV or them)
                   and those of --revision, never the ones before it (each
                   runs, shown or not); exit 1 if a scenario regressed
  --no-races       leave out the race section (every schedule of the scenarios
                   with threads, explored on every revision)
${JOBS}
  --shard k/n      run only the k-th of n slices of the report's cells and
                   explorations (those whose index in the run order, from 0,
                   is k-1 modulo n) and write their results as a JSON result
                   set (schema mmbisect/results@1, docs/results-schema.json)
                   for "merge", which joins the n slices into this report;
                   --format json is the default and the only format then, and
                   --baseline and --expect are checked by "merge", not here

${COMMON}

Examples:
  deno task report
  deno task report --lineage emmu
  deno task report --format json --out out/report.json
  deno task report --format html --out out/report.html
  deno task report --lineage emmu --baseline emmu-v5 --no-races --quiet
  deno task report --lineage emmu --baseline emmu-v5 --revision ./my-fix.json \\
    --format mail
  deno task report --lineage emmu --format tap --expect ./my-pins.json
  deno task report --jobs 1   (the task gives --jobs auto: one job per CPU)
  deno task report --shard 1/2 --out out/shard-1.json   (on one machine)
  deno task report --shard 2/2 --out out/shard-2.json   (on another)
  deno task merge out/shard-1.json out/shard-2.json --out out/report.md

${EXIT_REPORT}
  With --shard, exit status 1 is left to "merge": a slice checks no baseline.
`,
  bisect: `Usage: mmbisect bisect <lineage> <scenario> [--json] [options]

Walks the posted revisions of a lineage in order (candidates excluded) and
prints the first revision whose violation kinds on the scenario differ from
the first revision's: "last good / first bad" for a regression, "last bad /
first good" for a fix, "last unchanged / first changed" where kinds both
appear and disappear, with the config keys that cause the change ("caused
by") and the others that differ between the two. Every later verdict change
along the lineage follows ("regressed in", "fixed in"), with its causes.

  <lineage>    a lineage name (emmu, reference, ...)
  <scenario>   a scenario id or the path of a .json file
  --json       print the bisection as canonical JSON (schema mmbisect/bisect@1)
${JOBS}

${COMMON}

Examples:
  deno task bisect emmu wp-reuse-after-fork
  deno task bisect emmu mremap-move --jobs 2
  deno task bisect emmu ./my-scenario.json --json

${EXIT_PLAIN}
`,
  explain: `Usage: mmbisect explain <scenario> <revision> [--json] [options]

Why a scenario has its verdict on a revision: for each violation, the
callouts made during the step that observed it (those whose range or address
covers the violation's marked *) and the revision's config keys of the kernel
paths those callouts come from; then the config of the other paths the
scenario exercises (a path with no callout configured shows as such) and the
notifier chain's keys.

  <scenario>   a scenario id or the path of a .json file
  <revision>   a revision id, or the path of a revision .json file
  --json       print the explanation as canonical JSON (schema mmbisect/explain@1)

${COMMON}

Examples:
  deno task explain wp-reuse-after-fork emmu-v5
  deno task explain mremap-move emmu-v2 --json

${EXIT_PLAIN}
`,
  explore:
    `Usage: mmbisect explore <scenario> <revision> [--json] [--no-reduction | --partial-order] [--max-runs N] [options]

Runs every schedule of the scenario's threads (its "race" and "during"
steps; every lock acquisition is a point where another thread may run) and
prints, for each violation kind reached, whether it is reached always or
sometimes (kinds not listed are never reached), the number of schedules and
distinct states explored, the largest value of each driver counter, and the
shortest schedule reaching each kind (the fewest steps, then the fewest
choices) with the command that replays it.

  --json           print the result as canonical JSON (schema mmbisect/explore@1)
  --no-reduction   explore every schedule, without merging equal states
  --partial-order  also skip orders of steps that commute, as their recorded
                   footprints show (same endings, verdicts and shortest
                   schedules' steps; a shortest schedule may have more
                   choices; slower on the shipped races)
  --max-runs N     stop after N runs; the status is then "bounded"
                   (with --timeout, the status is "timeout" when the time
                   bound comes first; either way the result holds what the
                   schedules explored so far found)

${COMMON}

Examples:
  deno task explore race-wp-copy-refault emmu-v2
  deno task explore race-hmm-snapshot-storm hmm-range-lock
  deno task explore race-hmm-snapshot-storm hmm-sequence-retry --no-reduction --json
  deno task explore race-unregister-dispatch emmu-v2 --partial-order

${EXIT_PLAIN}
`,
  "import-patch": `Usage: mmbisect import-patch <file.patch>... [--base R] [--out FILE] [options]

Reads a unified diff (one patch, or a series: several patches in one file,
split at mbox "From " lines, or several files, applied in the order given)
against the modelled 2.6.24 tree, and writes a revision file that extends
the base revision: every notifier call a hunk adds or removes, placed at the
hook point its context lines identify (the anchors of docs/source-map.json:
the kernel line each point follows or precedes), in the function the hunk
header names or else in the file. Its range, atomic argument and condition
are read from the C; each callout cites its hunk ("file @@ -a,b +c,d @@").
Then compares the new revision with the base, as "compare" does.

Read: mmu_notifier(invalidate_range_begin, mm, start, end, atomic) (EMMU),
mmu_notifier(invalidate_page, mm, address), mmu_rmap_notifier(...),
mmu_notifier_invalidate_range_start/end(mm, start, end),
mmu_notifier_invalidate_page(mm, address), mmu_notifier_age_page(...),
mmu_notifier_release(mm), ptep_clear_flush_notify() and
ptep_clear_flush_young_notify(). A call a hunk removes must be one the base
(or an earlier patch of the series) makes there; a call moved from one
patch to the next is a removal and an addition.

Nothing is guessed: a call whose context matches no hook point, or several,
or whose range, atomic argument or condition is not one the model computes
there, is listed with the reason on standard error, no file is written, and
the exit status is 1. Hunks without a notifier call (includes, declarations,
the notifier's own code) are listed as skipped.

  <file.patch>...  the patch files
  --base R         the revision the patch applies on (default mainline-2.6.27)
  --out FILE       the revision file to write (default: <patch name>.json in
                   the current directory); its name gives the revision's id
${JOBS}

${COMMON}

Examples:
  deno task import-patch fix.patch --base emmu-v5 --out out/fix.json
  deno task import-patch 1.patch 2.patch --base emmu-v4

Exit status:
  0  the revision was written and compared with the base
  1  a call could not be placed, or no hunk adds or removes one (nothing is
     written)
  2  bad input: a patch file that cannot be read or holds no well-formed
     unified diff, an unknown base revision, a bad option${OUTPUT_ERROR}
`,
  merge: `Usage: mmbisect merge <file>... [--format F] [--expect FILE] [--out PATH] [options]

Joins the result sets that "report --shard k/n" wrote, one for each of the n
shards, into the whole report: the same bytes "report" writes without
--shard. The report's options (--lineage, --baseline, --no-races, --timeout)
come from the result sets: a --timeout given to merge is refused, as the
causes of each verdict change are searched with the shards' time bound, as
"report" searches them. The scenarios and revisions are loaded again, as
"report" loads them (--scenarios, --patches, --revision), for the text of
the report, and must have the content hashes the shards ran on.

  <file>...        the result sets of shards 1/n to n/n, in any order
  --format F       md (default), json, html, mail, tap or junit, as for "report"
  --expect FILE    judge every cell against an expectation table, as for "report"
  --out PATH       write to PATH (atomically) instead of standard output;
                   several --format, each with its --out, as for "report"

Refused as bad input, with one line naming the file: a file that is not a
result set (a whole report, say) or is of another schema version, result
sets run with other options or on other scenarios or revisions (than each
other, or than those loaded here), of another shard count, the same shard
twice, or a shard missing.

${COMMON}

Examples:
  deno task merge out/shard-1.json out/shard-2.json
  deno task merge out/shard-*.json --format html --out out/report.html
after, on one machine each (or one after the other):
  deno task report --shard 1/2 --out out/shard-1.json
  deno task report --shard 2/2 --out out/shard-2.json

${EXIT_REPORT}
`,
  list: `Usage: mmbisect list <what> [--json] [options]

Lists what a scenario or revision author can name:
  scenarios     every scenario: kernel tree, the paths it exercises, its purpose
  revisions     every revision: lineage, kernel tree, the revision it follows
                (* a candidate), title
  hook-points   every hook point of every kernel path (2.6.24 tree; a 2.5.42
                revision selects nonlinear variants instead): the ranges in
                scope and where it is in v2.6.24 (--json: every tree, guards
                and argument expressions too)
  labels        the scheduling-point labels a step's "during.at" can name, as
                the scenarios' runs pass them, with the scenarios that do

Filters of "list scenarios" (all must match):
  --path P      scenarios that exercise the kernel path P (their "exercises")
  --kind K      scenarios that show the violation kind K on some revision
                (runs them; "seen on" lists the revisions)
  --lineage L   scenarios of the kernel tree of lineage L (with --kind: the
                kind seen on a revision of L)
  --json        the rows as JSON (schema mmbisect/list-<what>@1)

${COMMON}

Examples:
  deno task list scenarios --path do_wp_page
  deno task list scenarios --kind unbalanced-range --lineage emmu
  deno task list hook-points --json
  deno task list scenarios --scenario ./my-race.json --revision ./my-fix.json

${EXIT_PLAIN}
`,
};
