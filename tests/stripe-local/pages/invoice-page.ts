import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { Billing } from '../billing.ts';
import { formatDate, formatMoney } from '../format.ts';
import type { Store } from '../store.ts';
import { StripeApiError } from '../wire.ts';
import { esc, layout, redirect, sendHtml } from './html.ts';

/**
 * An invoice's `hosted_invoice_url` (`/i/:id`, with a Pay button while it is open) and its
 * `invoice_pdf` (`/i/:id/pdf`, a real one-page PDF with the same lines).
 */

export interface InvoicePageContext {
  store: Store;
  billing: Billing;
}

export function handleInvoicePage(
  context: InvoicePageContext,
  req: IncomingMessage,
  res: ServerResponse,
  invoiceId: string,
  pdf: boolean,
): void {
  const invoice = context.store.invoices.get(invoiceId);
  if (!invoice) {
    sendHtml(res, 404, layout('Not found', '<p class="error">This invoice does not exist.</p>'));
    return;
  }
  if (pdf) {
    const body = renderPdf(invoice);
    res.writeHead(200, {
      'Content-Type': 'application/pdf',
      'Content-Disposition': `inline; filename="${invoice.number ?? invoice.id}.pdf"`,
    });
    res.end(body);
    return;
  }
  if (req.method === 'POST') {
    try {
      context.store.withRequest(null, () => context.billing.pay(invoice));
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      sendHtml(res, error.status, render(invoice, error.message));
      return;
    }
    redirect(res, `/i/${invoice.id}`);
    return;
  }
  sendHtml(res, 200, render(invoice, null));
}

function render(invoice: Stripe.Invoice, error: string | null): string {
  const rows = invoice.lines.data
    .map(
      (line) => `<tr>
  <td>${esc(line.description)}<div class="muted">${esc(formatDate(line.period.start))} – ${esc(formatDate(line.period.end))}</div></td>
  <td class="amount">${esc(formatMoney(line.amount, line.currency))}</td>
</tr>`,
    )
    .join('\n');
  return layout(
    `Invoice ${invoice.number ?? invoice.id}`,
    `<h1>Invoice ${esc(invoice.number ?? invoice.id)}</h1>
<p class="muted">${esc(invoice.customer_email ?? '')} · ${esc(formatDate(invoice.created))} · <strong>${esc(invoice.status)}</strong></p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<table>
<tbody>
${rows}
<tr class="total"><td>Total</td><td class="amount">${esc(formatMoney(invoice.total, invoice.currency))}</td></tr>
<tr class="total"><td>Amount due</td><td class="amount">${esc(formatMoney(invoice.amount_due, invoice.currency))}</td></tr>
<tr class="total"><td>Amount paid</td><td class="amount">${esc(formatMoney(invoice.amount_paid, invoice.currency))}</td></tr>
</tbody>
</table>
${invoice.status === 'open' ? '<form method="post"><button type="submit">Pay this invoice</button></form>' : ''}
<p><a href="/i/${esc(invoice.id)}/pdf">Download PDF</a></p>`,
  );
}

/** A minimal, valid PDF 1.4 with one page of text (Helvetica, ASCII only). */
function renderPdf(invoice: Stripe.Invoice): Buffer {
  const ascii = (text: string) =>
    text
      .replace(/×/g, 'x')
      .replace(/–/g, '-')
      .replace(/€/g, 'EUR ')
      .replace(/£/g, 'GBP ')
      .replace(/[^\x20-\x7e]/g, '?')
      .replace(/[\\()]/g, (char) => `\\${char}`);
  const lines = [
    `Invoice ${invoice.number ?? invoice.id}`,
    `${invoice.customer_email ?? ''}  ${formatDate(invoice.created)}  ${invoice.status ?? ''}`,
    '',
    ...invoice.lines.data.map(
      (line) => `${line.description ?? ''}   ${formatMoney(line.amount, line.currency)}`,
    ),
    '',
    `Total ${formatMoney(invoice.total, invoice.currency)}`,
    `Amount due ${formatMoney(invoice.amount_due, invoice.currency)}`,
    `Amount paid ${formatMoney(invoice.amount_paid, invoice.currency)}`,
  ];
  const content = [
    'BT',
    '/F1 11 Tf',
    '14 TL',
    '50 790 Td',
    ...lines.map((line) => `(${ascii(line)}) '`),
    'ET',
  ].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
