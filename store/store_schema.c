/*
 * Names of the schema's codes. The schema itself, raw tables tuned for
 * size and public views as the contract, is store/sql/schema.sql.
 */
#include "store/store_schema.h"
#include "store/store.h"

#include <stddef.h>
#include <string.h>

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

static const char *const finding_kind_names[] = {
#define STORE_FINDING_NAME(name, text, rebuilt, what) text,
    STORE_FINDING_KINDS(STORE_FINDING_NAME)
#undef STORE_FINDING_NAME
};

const char *store_finding_kind_name(int kind)
{
	return kind >= 0 && kind < STORE_FINDING__COUNT ? finding_kind_names[kind] : NULL;
}

int store_finding_kind_code(const char *name, size_t len)
{
	for (int k = 0; k < STORE_FINDING__COUNT; k++)
		if (strlen(finding_kind_names[k]) == len &&
		    !strncmp(name, finding_kind_names[k], len))
			return k;
	return -1;
}

const char *store_event_kind_name(int code)
{
	switch (code) {
#define STORE_KIND_CASE(e, c, n)                                                                   \
	case c:                                                                                    \
		return n;
		STORE_EVENT_KINDS(STORE_KIND_CASE)
#undef STORE_KIND_CASE
	}
	return NULL;
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
