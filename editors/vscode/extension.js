// The flowc extension: starts `flowc lsp` over stdio for .flow files, and folds by brackets.
// Plain JavaScript, no build step.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.languages.registerFoldingRangeProvider(
      { language: 'flow' },
      {
        provideFoldingRanges(document) {
          return foldingRanges(document.getText()).map(
            ([start, end, comment]) =>
              new vscode.FoldingRange(start, end, comment ? vscode.FoldingRangeKind.Comment : undefined),
          );
        },
      },
    ),
  );

  const command = vscode.workspace.getConfiguration('flowc').get('path') || 'flowc';
  const serverOptions = {
    run: { command, args: ['lsp'] },
    debug: { command, args: ['lsp'] },
  };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'flow' }],
  };
  const starting = new LanguageClient('flowc', 'flowc language server', serverOptions, clientOptions);
  try {
    await starting.start();
    client = starting;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    vscode.window.showErrorMessage(
      `flowc: could not start \`${command} lsp\` (${message}). Install flowc (\`cargo install --path .\` ` +
        'at the root of the flowc repository) or set `flowc.path` to the executable.',
    );
  }
}

async function deactivate() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

/**
 * Folding ranges of a .flow text, as [startLine, endLine, isComment]: every `{ [ (` closed on a later
 * line, every block comment over several lines, and every statement continued on indented lines
 * (`logs` then `  | parse …`). Strings and comments are skipped when matching brackets.
 * @param {string} text
 * @returns {Array<[number, number, boolean]>}
 */
function foldingRanges(text) {
  /** @type {Array<[number, number, boolean]>} */
  const ranges = [];
  /** @type {number[]} */
  const open = [];
  let line = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
    } else if (c === '"') {
      // Strings stay on one line.
      for (i++; i < text.length && text[i] !== '"' && text[i] !== '\n'; i++) {
        if (text[i] === '\\' && text[i + 1] !== '\n') i++;
      }
      if (text[i] === '\n') line++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const start = line;
      for (i += 2; i < text.length && !(text[i] === '*' && text[i + 1] === '/'); i++) {
        if (text[i] === '\n') line++;
      }
      i++;
      if (line > start) ranges.push([start, line, true]);
    } else if (c === '{' || c === '[' || c === '(') {
      open.push(line);
    } else if (c === '}' || c === ']' || c === ')') {
      const start = open.pop();
      // The closing line stays visible.
      if (start !== undefined && line - 1 > start) ranges.push([start, line - 1, false]);
    }
  }
  // A statement at the left margin continued on indented lines that are not inside its brackets.
  const lines = text.split('\n');
  for (let l = 0; l < lines.length; l++) {
    if (!/^[A-Za-z_]/.test(lines[l]) || /[{[(]\s*(\/\/.*)?$/.test(lines[l])) continue;
    let end = l;
    while (end + 1 < lines.length && /^\s+\S/.test(lines[end + 1]) && !/^\s*[}\])]/.test(lines[end + 1])) end++;
    if (end > l && !ranges.some(([s, e]) => s === l && e === end)) ranges.push([l, end, false]);
  }
  return ranges;
}

module.exports = { activate, deactivate, foldingRanges };
