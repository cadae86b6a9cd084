// Node runs our .ts files directly: a relative import must name the `.ts` file.
// `./x.js` passes tsc and then fails at run time, so it is refused here.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"], {
  encoding: "utf8",
})
  .split("\n")
  .filter(
    (file) => file && !file.startsWith("gen/") && !file.includes("/test/gen/") && !file.endsWith(".d.ts"),
  );
const relativeJs = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)\.js["']/g;
const problems: string[] = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(relativeJs)) {
    if (!match[1]?.includes("/gen/"))
      problems.push(`${file}: import "${match[1]}.js" must name the .ts file`);
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`imports ok (${files.length} files)`);
