// Prints the failed tests of vitest JUnit reports, one block each, so the last lines of a CI log
// name what failed even when only its tail is kept. Usage: node scripts/junit-failures.mjs FILE…
import { readFileSync } from 'node:fs';

const unescapeXml = (text) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

for (const file of process.argv.slice(2)) {
  let xml;
  try {
    xml = readFileSync(file, 'utf8');
  } catch {
    console.log(`${file}: no report`);
    continue;
  }
  const cases = xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g);
  for (const [, classname, name, body] of cases) {
    const failure = body.match(/<(?:failure|error)\b([^>]*)>([\s\S]*?)<\/(?:failure|error)>/);
    if (!failure) continue;
    const message = failure[1].match(/message="([^"]*)"/)?.[1];
    const lines = unescapeXml(message ?? failure[2])
      .trim()
      .split('\n');
    const detail = lines.slice(0, 6).join('\n    ');
    console.log(`FAILED ${file}: ${unescapeXml(classname)} > ${unescapeXml(name)}\n    ${detail}`);
  }
}
