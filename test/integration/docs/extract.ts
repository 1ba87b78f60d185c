// The commands documented in README.md and docs/*.md, read from their fenced code blocks, and the
// check of a synopsis against the options the real `harmonia` program declares.

/** A fenced code block: where it starts, its info string, its text (the fence's indentation removed). */
export interface Block {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  /** The `docs-test:` HTML comment just before the block (`<!-- docs-test: synopsis (why) -->`), if any. */
  marker?: string;
}

/** One documented command: a `harmonia` / `bin/harmonia` line, a `curl` call, or a whole Python block. */
export interface DocCommand {
  doc: string;
  /** 1-based line where the command starts. */
  line: number;
  kind: 'harmonia' | 'curl' | 'python';
  /** The command as the shell reads it: continuations joined, a trailing comment left out. */
  text: string;
  /** Placeholders (DIR, FILE, [..], a | b, ...) or an exempting marker: checked, not run. */
  synopsis: boolean;
  /** The reason of the `docs-test: synopsis (...)` marker that exempts this command's block. */
  exempt?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/;
const MARKER = /^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$/;

export function fencedBlocks(markdown: string, doc: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]);
      if (close && close[2][0] === fence[0] && close[2].length >= fence.length && close[3] === '') break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const marker = k >= 0 ? MARKER.exec(lines[k])?.[1] : undefined;
    blocks.push({ doc, line: i + 1, lang, text: body.join('\n'), ...(marker ? { marker } : {}) });
    i = j;
  }
  return blocks;
}

/**
 * Splits shell text into simple commands the way bash reads them: `\`-newline continues a line,
 * quotes span lines, `#` at the start of a word begins a comment, and a newline or `&&` outside
 * quotes ends a command. Each command comes with the line it starts on (0-based in the text).
 */
export function shellCommands(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let cur = '';
  let start = 0;
  let line = 0;
  let quote: '"' | "'" | undefined;
  const end = (): void => {
    const t = cur.trim();
    if (t) out.push({ text: t, line: start });
    cur = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (cur.trim() === '' && c !== '\n') start = line;
    if (quote) {
      if (c === '\\' && quote === '"' && i + 1 < text.length) {
        cur += c + text[++i];
        if (text[i] === '\n') line++;
        continue;
      }
      if (c === quote) quote = undefined;
      if (c === '\n') line++;
      cur += c;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i++;
      line++;
      cur += ' ';
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      cur += c;
      continue;
    }
    if (c === '#' && (cur === '' || /\s$/.test(cur))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '&' && text[i + 1] === '&') {
      i++;
      end();
      continue;
    }
    if (c === '\n') {
      line++;
      end();
      continue;
    }
    cur += c;
  }
  end();
  return out;
}

/** Shell words with their quotes removed (no expansion): enough to read a command's subcommand and flags. */
export function words(command: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (const c of command) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur ??= '';
    } else if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** The command with its quoted strings blanked: placeholders are looked for outside quotes only. */
function unquoted(command: string): string {
  return command.replace(/'[^']*'|"[^"]*"/g, "''");
}

/** Names that stand for a value the reader supplies (as in `--store DIR`, `--top K`). */
const PLACEHOLDER_WORDS = ['DIR', 'FILE', 'N', 'K', 'B', 'STORE', 'VERSION', 'NAME', 'COLUMN', 'COL', 'ID', 'SYMBOLS', 'URL', 'TOKEN'];
const PLACEHOLDER = new RegExp(`[[\\]()|]|\\.\\.\\.|…|(^|[\\s=,])(${PLACEHOLDER_WORDS.join('|')})([\\s,.]|$)`);

/** Whether a command is written with placeholders (a synopsis), so that it can be checked but not run. */
export function isSynopsis(command: string): boolean {
  return PLACEHOLDER.test(unquoted(command));
}

const HARMONIA = /^(bin\/)?harmonia\s/;

/** Every documented command of one markdown file, in document order. */
export function documentedCommands(markdown: string, doc: string): DocCommand[] {
  const out: DocCommand[] = [];
  for (const b of fencedBlocks(markdown, doc)) {
    const exempt = b.marker ? /^synopsis\s*\((.+)\)$/.exec(b.marker)?.[1] : undefined;
    if (b.marker && !exempt) throw new Error(`${doc}:${b.line - 1}: unknown docs-test marker "${b.marker}" (expected: synopsis (reason))`);
    if (b.lang === 'python') {
      if (/127\.0\.0\.1:3000/.test(b.text)) out.push({ doc, line: b.line + 1, kind: 'python', text: b.text, synopsis: Boolean(exempt), ...(exempt ? { exempt } : {}) });
      continue;
    }
    for (const c of shellCommands(b.text)) {
      const kind = HARMONIA.test(c.text) ? 'harmonia' : /^curl\s/.test(c.text) && /127\.0\.0\.1:3000/.test(c.text) ? 'curl' : undefined;
      if (!kind) continue;
      out.push({ doc, line: b.line + 1 + c.line, kind, text: c.text, synopsis: Boolean(exempt) || isSynopsis(c.text), ...(exempt ? { exempt } : {}) });
    }
  }
  return out;
}

/** An option as the program declares it: whether it takes a value (`<v>` required, `[v]` optional). */
export interface OptionSpec {
  long: string;
  short?: string;
  value: 'required' | 'optional' | 'none';
}

export interface CommandSpec {
  name: string;
  options: OptionSpec[];
  commands: CommandSpec[];
}

/**
 * Problems of one documented command against the program: an unknown subcommand or option, and in
 * a synopsis, a flag written with a value that takes none (or without one where one is required).
 */
export function checkCommand(command: DocCommand, program: CommandSpec): string[] {
  const where = `${command.doc}:${command.line}`;
  const w = words(command.text).slice(1);
  let spec = program;
  const path: string[] = [];
  while (spec.commands.length && w.length && !w[0].startsWith('-')) {
    const sub = spec.commands.find((c) => c.name === w[0]);
    if (!sub) return [`${where}: harmonia ${[...path, w[0]].join(' ')}: no such command (known: ${spec.commands.map((c) => c.name).join(', ')})`];
    spec = sub;
    path.push(w.shift()!);
  }
  const name = ['harmonia', ...path].join(' ');
  if (spec.commands.length) return [`${where}: ${name}: a subcommand is missing (one of ${spec.commands.map((c) => c.name).join(', ')})`];
  const problems: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const raw = w[i].replace(/^[[(]+/, '');
    if (!raw.startsWith('--')) continue;
    const closed = /[\])]$/.test(raw);
    const flag = raw.replace(/[\])]+$/, '').split('=')[0];
    if (flag === '--help' || flag === '--version') continue;
    const option = spec.options.find((o) => o.long === flag);
    if (!option) {
      problems.push(`${where}: ${name}: unknown option ${flag} (options: ${spec.options.map((o) => o.long).join(', ')})`);
      continue;
    }
    if (!command.synopsis) continue;
    const next = w[i + 1];
    const valued = raw.includes('=') || (!closed && next !== undefined && next !== '|' && !/^[[(]*-/.test(next));
    if (valued && option.value === 'none') problems.push(`${where}: ${name}: ${flag} takes no value, but the synopsis gives it "${next}"`);
    if (!valued && option.value === 'required') problems.push(`${where}: ${name}: ${flag} needs a value, but the synopsis gives none`);
  }
  return problems;
}
