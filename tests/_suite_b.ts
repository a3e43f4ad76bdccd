/**
 * One of the two suites `deno task test` runs, one per CPU at once. Each
 * test file of `tests/` is imported by exactly one of `_suite_a.ts` and
 * `_suite_b.ts` (`_suites.ts` checks it when a suite loads), so that a
 * suite loads the library once for all its files instead of once a file;
 * the files are split so that the two suites take about the same time.
 * This one holds the explorer's soundness check (`explore_test.ts`) and
 * the command line's processes (`cli_test.ts`).
 * A file still runs alone: `deno test -A tests/<file>_test.ts`.
 *
 * @module
 */
import "./_suites.ts";
import "./analysis_test.ts";
import "./anon_vma_test.ts";
import "./bisect_test.ts";
import "./bounds_test.ts";
import "./checkers_test.ts";
import "./cli_test.ts";
import "./drivers_test.ts";
import "./expected_test.ts";
import "./explore_test.ts";
import "./follow_page_test.ts";
import "./fuzz_alloc_test.ts";
import "./fuzz_input_test.ts";
import "./hugetlb_test.ts";
import "./kvm_test.ts";
import "./list_test.ts";
import "./mmap_test.ts";
import "./nonlinear_test.ts";
import "./plan_test.ts";
import "./renderers_test.ts";
import "./scenario_test.ts";
import "./user_revision_test.ts";
import "./pte_lock_test.ts";
import "./free_pgtables_test.ts";
import "./rmap_fidelity_test.ts";
import "./truncate_fault_test.ts";
import "./footprint_test.ts";
import "./determinism_test.ts";
import "./blame_test.ts";
import "./lineage_test.ts";
