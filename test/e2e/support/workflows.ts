import { prepareExample, readExample, type ExampleName, type ExampleSetup } from '../../../dev/examples';
import { waitForWebhook, type StoredWorkflow } from '../../../dev/n8n-instance';
import type { SharedN8n } from './shared-n8n';

/** Saves an example workflow in n8n, prepared as the demo prepares it. */
export async function importExample(n8n: SharedN8n, name: ExampleName, setup: ExampleSetup): Promise<StoredWorkflow> {
	return await n8n.rest.createWorkflow(prepareExample(await readExample(name), setup));
}

export interface WebhookAnswer {
	status: number;
	body: unknown;
}

export class PublishedWebhook {
	constructor(
		private readonly n8n: SharedN8n,
		readonly workflow: StoredWorkflow,
		readonly path: string,
	) {}

	async post(body: unknown): Promise<WebhookAnswer> {
		const response = await fetch(`${this.n8n.url}/webhook/${this.path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		const text = await response.text();
		let parsed: unknown = text;
		try {
			parsed = JSON.parse(text);
		} catch {
			// not JSON: keep the text
		}
		return { status: response.status, body: parsed };
	}

	/** Waits until n8n serves the webhook (after publishing, or after a restart). */
	async ready(): Promise<void> {
		await waitForWebhook(this.n8n.url, this.path);
	}
}

/** Saves and publishes the webhook example under its own path. */
export async function publishWebhookExample(
	n8n: SharedN8n,
	credential: { id: string; name: string },
	path: string,
): Promise<PublishedWebhook> {
	const stored = await importExample(n8n, 'webhook', { credential, webhookPath: path, name: `webhook example (${path})` });
	await n8n.rest.activate(stored);
	const webhook = new PublishedWebhook(n8n, stored, path);
	await webhook.ready();
	return webhook;
}
