/*
 * findings_cli: what `weft run --fail-on KINDS --suppressions FILE` needs
 * around store_build_findings (docs/FINDINGS.md).
 */
#ifndef WEFT_FINDINGS_CLI_H
#define WEFT_FINDINGS_CLI_H

#include <stddef.h>
#include <sqlite3.h>

/*
 * Validates a comma-separated list of finding kinds (race, lock_order,
 * deadlock, misuse, or "all"). Returns 0, or -1 with one line in err.
 */
int findings_parse_kinds(const char *csv, char *err, size_t len);

/*
 * How many findings of the listed kinds the trace's `findings` view holds
 * (suppressed ones are not in the view); -1 when the view cannot be read.
 * kinds_csv must have passed findings_parse_kinds.
 */
int findings_fail_status(sqlite3 *db, const char *kinds_csv);

/*
 * The trace's findings (suppressed ones are not in the view), per kind, as
 * "2 lock_order, 1 misuse" in out (most first). Returns how many in all, 0
 * with out empty, or -1 when the view cannot be read.
 */
int findings_summary(sqlite3 *db, char *out, size_t len);

/* Checks a suppressions file before the run: 0, or -1 with "FILE:LINE: problem" in err. */
int findings_check_suppressions(const char *path, char *err, size_t len);

#endif
