/*
 * Names of the schema's codes. The schema itself, raw tables tuned for
 * size and public views as the contract, is store/sql/schema.sql.
 */
#include "store/store_schema.h"
#include "store/store.h"

#include <stddef.h>

const char *store_thread_state_name(int state)
{
	switch (state) {
#define STORE_STATE_CASE(name, code, text, utf8, ascii)                                            \
	case code:                                                                                 \
		return text;
		STORE_THREAD_STATES(STORE_STATE_CASE)
#undef STORE_STATE_CASE
	}
	return "?";
}

const char *store_object_kind_name(int code)
{
	switch (code) {
#define STORE_KIND_CASE(e, c, n)                                                                   \
	case c:                                                                                    \
		return n;
		STORE_OBJECT_KINDS(STORE_KIND_CASE)
#undef STORE_KIND_CASE
	}
	return NULL;
}
