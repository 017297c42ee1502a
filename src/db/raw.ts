import type { SQL } from "drizzle-orm";
import type { DbOrTx } from "./client";

/** The rows of a raw statement (`db.execute` answers the driver's result object). */
export async function rawRows<T extends Record<string, unknown>>(db: DbOrTx, query: SQL): Promise<T[]> {
  return (await db.execute<T>(query)).rows as T[];
}

/**
 * A timestamp column of a raw row. Drizzle's mapped queries give Dates, but raw rows carry timestamptz as
 * the driver hands it over (a string with drizzle's transparent parser, a Date otherwise).
 */
export const rowDate = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
