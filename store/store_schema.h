/* Internal to store/: the schema text. */
#ifndef WEFT_STORE_SCHEMA_H
#define WEFT_STORE_SCHEMA_H

extern const char store_schema_sql[];

#endif
