/**
 * The example workflows in examples/, and what the demo and the end-to-end tests change in
 * them before importing: the credential to use, the folder the CSV example reads and writes,
 * and (tests only) the webhook path. Node types stay as users get them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { FactoriApi } from '../credentials/FactoriApi.credentials';
import codex from '../nodes/Factori/Factori.node.json';
import { REPO_ROOT, type WorkflowJson } from './n8n-instance';

export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

export const EXAMPLES = {
	webhook: 'webhook-enrich-contacts.json',
	spreadsheet: 'spreadsheet-enrichment.json',
	usage: 'usage-check.json',
} as const;
export type ExampleName = keyof typeof EXAMPLES;

/**
 * The node type of the Factori node in n8n when the package is installed as a community
 * package, `<package name>.<node name>`, as the node's codex states it. (Imported by its
 * full name: without `.json`, Node resolves `Factori.node` to this file before the `.ts`.)
 */
export const FACTORI_NODE_TYPE = codex.node;
export const FACTORI_CREDENTIAL_TYPE = new FactoriApi().name;

/** The folder the CSV example names: n8n's default file folder in its Docker image. */
export const EXAMPLE_FILES_DIR = '/home/node/.n8n-files';

export async function readExample(name: ExampleName): Promise<WorkflowJson> {
	return JSON.parse(await readFile(path.join(EXAMPLES_DIR, EXAMPLES[name]), 'utf8')) as WorkflowJson;
}

export interface ExampleSetup {
	credential: { id: string; name: string };
	/** Replaces EXAMPLE_FILES_DIR in the CSV example's paths. */
	filesDir?: string;
	/** Replaces the webhook path (so that two copies can be active at once). */
	webhookPath?: string;
	name?: string;
}

/** A copy of `workflow` with the Factori nodes bound to a credential and the paths set. */
export function prepareExample(workflow: WorkflowJson, setup: ExampleSetup): WorkflowJson {
	const copy = JSON.parse(JSON.stringify(workflow)) as WorkflowJson;
	if (setup.name) copy.name = setup.name;
	for (const node of copy.nodes) {
		if (node.type === FACTORI_NODE_TYPE) node.credentials = { [FACTORI_CREDENTIAL_TYPE]: setup.credential };
		if (node.type === 'n8n-nodes-base.webhook' && setup.webhookPath) node.parameters.path = setup.webhookPath;
		if (setup.filesDir) node.parameters = replaceInStrings(node.parameters, EXAMPLE_FILES_DIR, setup.filesDir) as typeof node.parameters;
	}
	return copy;
}

function replaceInStrings(value: unknown, search: string, replacement: string): unknown {
	if (typeof value === 'string') return value.split(search).join(replacement);
	if (Array.isArray(value)) return value.map((entry) => replaceInStrings(entry, search, replacement));
	if (typeof value === 'object' && value !== null) {
		return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, replaceInStrings(entry, search, replacement)]));
	}
	return value;
}

/** The production webhook path of the workflow's Webhook node. */
export function webhookPathOf(workflow: WorkflowJson): string {
	const webhook = workflow.nodes.find((node) => node.type === 'n8n-nodes-base.webhook');
	if (!webhook || typeof webhook.parameters.path !== 'string') throw new Error(`${workflow.name} has no webhook path`);
	return webhook.parameters.path;
}

/** The CSV example's paths, as its "File Paths" node sets them: inputFile, enrichedFile, failedFile. */
export function filePathsOf(workflow: WorkflowJson): Record<string, string> {
	const node = workflow.nodes.find((candidate) => candidate.name === 'File Paths');
	const assignments = (node?.parameters.assignments as { assignments?: Array<{ name: string; value: unknown }> } | undefined)?.assignments;
	if (!assignments) throw new Error(`${workflow.name} has no "File Paths" node`);
	return Object.fromEntries(assignments.map((assignment) => [assignment.name, String(assignment.value)]));
}
