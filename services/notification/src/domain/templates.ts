import { type EmailRequest, PermanentEmailError } from './email.js';

/** A template: a text body with `{{name}}` placeholders; the HTML body escapes every value. */
export interface Template {
  readonly id: string;
  readonly text: string;
}

/** The shop's templates. */
export const TEMPLATES: ReadonlyMap<string, Template> = new Map(
  [
    {
      id: 'order-confirmed',
      text: 'Hello {{customerId}},\n\nyour order {{orderId}} is confirmed. Total: {{total}}.\n\nThank you for shopping with us.',
    },
    {
      id: 'order-cancelled',
      text: 'Hello {{customerId}},\n\nyour order {{orderId}} was cancelled: {{reason}}.\nYou have not been charged.',
    },
    { id: 'plain', text: '{{body}}' },
  ].map((t) => [t.id, t]),
);

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * Renders a request's template into text and HTML. An unknown template or a
 * placeholder without data is a permanent failure (retrying cannot fix it).
 */
export function render(
  request: Pick<EmailRequest, 'templateId' | 'templateData'>,
  templates: ReadonlyMap<string, Template> = TEMPLATES,
): { text: string; html: string } {
  const template = templates.get(request.templateId);
  if (!template)
    throw new PermanentEmailError('NOTIFICATION_UNKNOWN_TEMPLATE', `no template ${request.templateId}`);
  const missing = new Set<string>();
  const fill = (encode: (s: string) => string) =>
    template.text.replace(PLACEHOLDER, (_, name: string) => {
      const value = request.templateData[name];
      if (value === undefined || value === null || typeof value === 'object') {
        missing.add(name);
        return '';
      }
      return encode(String(value));
    });
  const text = fill((s) => s);
  const html = `<p>${fill(escapeHtml).split('\n\n').join('</p><p>').replaceAll('\n', '<br>')}</p>`;
  if (missing.size > 0) {
    throw new PermanentEmailError(
      'NOTIFICATION_TEMPLATE_DATA',
      `template ${template.id} needs ${[...missing].join(', ')} as text or numbers`,
    );
  }
  return { text, html };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
