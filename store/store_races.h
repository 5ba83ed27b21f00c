/* Race findings from the raw `race` table (see store/store_races.c). */
#ifndef WEFT_STORE_RACES_H
#define WEFT_STORE_RACES_H

#include <sqlite3.h>
#include <stddef.h>

/*
 * Inserts one `race` finding per racing variable (and source file)
 * into schema's finding tables (which must exist). A trace without a race table
 * gets none. Returns 0, or -1 with one line in err.
 */
int store_build_race_findings(sqlite3 *db, const char *schema, char *err, size_t errlen);

#endif
