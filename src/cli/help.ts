/**
 * Help texts of the command line.
 *
 * @module
 */

const COMMON = `Options for every command:
  --scenarios DIR   scenario directory (default: scenarios/ of the project)
  --patches DIR     revision directory (default: patches/ of the project)
  --revision FILE   an extra revision file, which may "extends" a shipped
                    revision (repeatable)
  -h, --help        show this help`;

/** Help of the program as a whole. */
export const MAIN_HELP = `Usage: mmbisect <command> [options]

Runs scenarios on revisions of the Linux mmu-notifier patch lineages (one
shared model of the MM, one behaviour config per revision) and diffs the
outcomes across revisions.

Commands:
  run <scenario> <revision>     run one scenario on one revision
  compare <revA> <revB>         compare two revisions on every scenario
  report                        regression report of every lineage (Markdown or JSON)
  bisect <lineage> <scenario>   first revision where a scenario's verdict changes
  explore <scenario> <revision> every schedule of a scenario's threads: always/sometimes/never

${COMMON}

From the project root, "deno task <command> ..." runs a command, for example:
  deno task report
  deno task run wp-reuse-after-fork emmu-v5

Run "mmbisect <command> --help" for a command's options and examples.
Exit status: 0 when the command ran (violations found or not), 2 on bad
input (unknown scenario or revision, invalid file, bad option).
`;

/** Help of each command. */
export const COMMAND_HELP: Record<string, string> = {
  run: `Usage: mmbisect run <scenario> <revision> [--json] [options]

Runs one scenario on one revision and prints its outcome: the verdict, every
violation, the callout trace, return values, counters and secondary MMU state.

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
`,
  compare: `Usage: mmbisect compare <revA> <revB> [--json] [options]

Runs every scenario on two revisions and classifies each scenario's change
from A to B: regression (a violation kind appears), fix (one disappears),
change (same kinds, other behaviour differs) or same. Names the config keys
that differ, and for each changed scenario the keys relevant to it.

  --json   print the comparison as canonical JSON (schema mmbisect/compare@1)

${COMMON}

Examples:
  deno task compare emmu-v4 emmu-v5
  deno task compare emmu-v5 emmu-v5-holt-guard --json
  deno task compare emmu-v5 my-fix --revision ./my-fix.json
`,
  report: `Usage: mmbisect report [--lineage L] [--format md|json] [--out PATH] [options]

Runs every scenario on every revision and reports, per lineage, the verdict
matrix, every regression and fix with the revision that introduced it, the
relevant config keys, the first violation and the command that reproduces
it, and each candidate against its parent. The output is deterministic.

  --lineage L     report only lineage L (repeatable)
  --format F      md (Markdown, default) or json (schema mmbisect/report@1)
  --out PATH      write to PATH (atomically: a temporary file in the same
                  directory renamed over PATH) instead of standard output
  --no-races      leave out the race section (every schedule of the scenarios
                  with threads, explored on every revision)

${COMMON}

Examples:
  deno task report
  deno task report --lineage emmu
  deno task report --format json --out out/report.json
`,
  bisect: `Usage: mmbisect bisect <lineage> <scenario> [--json] [options]

Walks the posted revisions of a lineage in order (candidates excluded) and
prints the first revision whose violation kinds on the scenario differ from
the first revision's: "last good / first bad" for a regression, "last bad /
first good" for a fix, with the config keys that differ between the two.

  <lineage>    a lineage name (emmu, reference, ...)
  <scenario>   a scenario id or the path of a .json file
  --json       print the bisection as canonical JSON (schema mmbisect/bisect@1)

${COMMON}

Examples:
  deno task bisect emmu wp-reuse-after-fork
  deno task bisect emmu ./my-scenario.json --json
`,
  explore:
    `Usage: mmbisect explore <scenario> <revision> [--json] [--no-reduction] [--max-runs N] [options]

Runs every schedule of the scenario's threads (its "race" and "during"
steps; every lock acquisition is a point where another thread may run) and
prints, for each violation kind reached, whether it is reached always or
sometimes (kinds not listed are never reached), the number of schedules and
distinct states explored, the largest value of each driver counter, and the
shortest schedule reaching each kind with the command that replays it.

  --json           print the result as canonical JSON (schema mmbisect/explore@1)
  --no-reduction   explore every schedule, without merging equal states
  --max-runs N     stop after N runs; the status is then "bounded"

${COMMON}

Examples:
  deno task explore race-wp-copy-refault emmu-v2
  deno task explore race-hmm-snapshot-storm hmm-range-lock
  deno task explore race-hmm-snapshot-storm hmm-sequence-retry --no-reduction --json
`,
};
