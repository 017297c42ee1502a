/**
 * `npm run lint`'s module-boundary check (issue 15): the conversation aggregate — conversations, messages,
 * reactions, message attachments, share links — has one owner, `src/modules/conversations/store/`. No other
 * file under src/ may query those tables, neither through drizzle's table objects nor in raw SQL. Scripts
 * (seeds, bench, drills) are exempt.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const OWNER = "src/modules/conversations/store/";
const EXEMPT = ["src/db/schema/", "src/db/client.ts"];

const TABLE_OBJECTS = ["conversations", "messages", "reactions", "messageFiles", "shareLinks"];
const TABLE_NAMES = ["conversations", "messages", "reactions", "message_files", "share_links"];

/** A value import of one of the tables from the schema (type-only imports are fine). */
const schemaImport = /import\s*\{([^}]*)\}\s*from\s*"[./]*(?:db\/)?schema(?:\/[a-z-]+)?"/g;
const rawSql = new RegExp(`\\b(?:FROM|JOIN|UPDATE|INTO)\\s+(?:${TABLE_NAMES.join("|")})\\b`, "i");

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith(".ts")) yield path;
  }
}

function touchesAggregate(text: string): string | null {
  for (const match of text.matchAll(schemaImport)) {
    const names = (match[1] ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part && !part.startsWith("type "));
    const table = names.find((name) => TABLE_OBJECTS.includes(name));
    if (table) return `imports the table object \`${table}\``;
  }
  const raw = rawSql.exec(text);
  return raw ? `raw SQL \`${raw[0]}\`` : null;
}

const problems: string[] = [];
for (const path of sourceFiles(join(ROOT, "src"))) {
  const file = relative(ROOT, path).replaceAll("\\", "/");
  if (file.startsWith(OWNER) || EXEMPT.some((prefix) => file.startsWith(prefix))) continue;
  const reason = touchesAggregate(readFileSync(path, "utf8"));
  if (!reason) continue;
  problems.push(`${file}: ${reason}. Query the conversation aggregate through ${OWNER} instead.`);
}
if (problems.length) {
  console.error(`module boundaries: ${problems.length} problem(s)\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`module boundaries: ok (the conversation aggregate is queried only in ${OWNER})`);
