/**
 * A timestamp column of a raw `db.execute` row. Drizzle's mapped queries give Dates, but raw rows carry
 * timestamptz as the driver hands it over (a string with drizzle's transparent parser, a Date otherwise).
 */
export const rowDate = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
