// A small XML 1.0 well-formedness check for the JUnit report: one root, balanced and properly
// nested tags, quoted attributes without raw `<` or `&`, known entities only, no raw `<`/`&` in
// text, no characters XML forbids. Returns the problems found (empty when well-formed).

const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
const ENTITY = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

export function parseXml(xml: string): { root: XmlElement | undefined; problems: string[] } {
  const problems: string[] = [];
  if (FORBIDDEN.test(xml)) problems.push('contains a character XML 1.0 forbids');
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const tag = new RegExp(`^<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"<]*")*)\\s*(/?)>`);
  while (rest.length > 0) {
    const lt = rest.indexOf('<');
    const text = lt === -1 ? rest : rest.slice(0, lt);
    if (text.replace(ENTITY, '').includes('&')) problems.push(`unescaped & in text: ${text.slice(0, 40)}`);
    if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root: ${text.slice(0, 40)}`);
    if (stack.length > 0) stack[stack.length - 1]!.text += decode(text);
    if (lt === -1) break;
    rest = rest.slice(lt);
    const match = tag.exec(rest);
    if (!match) {
      problems.push(`malformed tag at: ${rest.slice(0, 60)}`);
      break;
    }
    const [whole, closing, name, attrText, selfClosing] = match;
    rest = rest.slice(whole.length);
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) problems.push(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of attrText!.matchAll(new RegExp(`(${NAME})\\s*=\\s*"([^"]*)"`, 'g'))) {
      if (a[1]! in attributes) problems.push(`duplicate attribute ${a[1]} on <${name}>`);
      if (a[2]!.replace(ENTITY, '').includes('&')) problems.push(`unescaped & in attribute ${a[1]}`);
      attributes[a[1]!] = decode(a[2]!);
    }
    const element: XmlElement = { name: name!, attributes, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(element);
    else if (root) problems.push(`second root element <${name}>`);
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) problems.push(`unclosed <${stack.map((e) => e.name).join('>, <')}>`);
  if (!root) problems.push('no root element');
  return { root, problems };
}

function decode(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#10;/g, '\n')
    .replace(/&amp;/g, '&');
}
