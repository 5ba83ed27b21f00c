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
 * One read of the trace's `findings` view (suppressed ones are not in it):
 * returns how many are of the kinds in kinds_csv (NULL: none asked; the
 * list must have passed findings_parse_kinds), or -1 when the view cannot
 * be read. total (if not NULL) gets how many in all, summary (if not NULL)
 * them per kind, most first: "2 lock_order, 1 misuse" (empty for none).
 */
int findings_count(sqlite3 *db, const char *kinds_csv, int *total, char *summary, size_t len);

/* findings_count of kinds_csv alone: `weft run --fail-on`'s failing count. */
int findings_fail_status(sqlite3 *db, const char *kinds_csv);

/* Checks a suppressions file before the run: 0, or -1 with "FILE:LINE: problem" in err. */
int findings_check_suppressions(const char *path, char *err, size_t len);

#endif
