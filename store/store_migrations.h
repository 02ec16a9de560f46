/*
 * The migrations embedded at build time (store/embed_sql.py), in version order.
 */
#ifndef CHATHUB_STORE_MIGRATIONS_H
#define CHATHUB_STORE_MIGRATIONS_H

typedef struct store_migration {
    int version;
    const char *name;
    const char *sql;
} store_migration_t;

extern const store_migration_t store_migrations[];
extern const unsigned store_migrations_count;

#endif
