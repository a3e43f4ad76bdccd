/**
 * One of the two suites `deno task test` runs, one per CPU at once. Each
 * test file of `tests/` is imported by exactly one of `_suite_a.ts` and
 * `_suite_b.ts` (`_suites.ts` checks it when a suite loads), so that a
 * suite loads the library once for all its files instead of once a file;
 * the files are split so that the two suites take about the same time.
 * This one holds the whole report's processes (`merge_test.ts`), the
 * reproducers (`reproduce_test.ts`) and the documentation's examples
 * (`examples_test.ts`).
 * A file still runs alone: `deno test -A tests/<file>_test.ts`.
 *
 * @module
 */
import "./_suites.ts";
import "./bad_input_test.ts";
import "./callout_mutation_test.ts";
import "./canonical_json_test.ts";
import "./ci_output_test.ts";
import "./diff_test.ts";
import "./examples_test.ts";
import "./explain_test.ts";
import "./fault_fidelity_test.ts";
import "./fuzz_valid_test.ts";
import "./html_test.ts";
import "./import_patch_test.ts";
import "./jobs_test.ts";
import "./locks_test.ts";
import "./merge_test.ts";
import "./nonlinear_mutation_test.ts";
import "./page_alloc_test.ts";
import "./progress_test.ts";
import "./reads_test.ts";
import "./report_schema_test.ts";
import "./reproduce_test.ts";
import "./revision_test.ts";
import "./scenario_format_test.ts";
import "./schema_test.ts";
import "./source_map_test.ts";
import "./summary_test.ts";
import "./truncate_test.ts";
import "./vma_ops_test.ts";
