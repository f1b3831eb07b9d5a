/**
 * The self-contained HTML report: the Markdown rendered by `marked`, with
 * every chart embedded as a data: URL so the one file can be mailed or
 * uploaded as it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { marked } from 'marked';

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
code { background: #f5f5f5; padding: 0 0.2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
`;

export function reportHtml(markdown: string, outDir: string, title: string): string {
  const body = marked.parse(markdown, { async: false }) as string;
  const inlined = body.replace(/<img src="([^"]+)"/g, (match, src: string) => {
    const path = join(outDir, decodeURI(src));
    if (/^(data|https?):/.test(src) || !existsSync(path)) return match;
    return `<img src="data:image/png;base64,${readFileSync(path).toString('base64')}"`;
  });
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${inlined}\n</body>\n</html>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
