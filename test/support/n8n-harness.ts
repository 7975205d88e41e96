/**
 * Runs whole workflows in-process with n8n-core's WorkflowExecute, the way n8n does, with
 * one in-memory stand-in for n8n's database: the credential store. Its credentials helper
 * follows n8n 2.41's CredentialsHelper: it runs the credential's preAuthentication when the
 * expirable field is empty or a request got 401, saves what it returns, and runs the
 * credential's `authenticate`: a function on the request options themselves, generic
 * expressions with n8n's own expression engine.
 */
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import {
	ICredentialsHelper,
	Workflow,
	createRunExecutionData,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type ICredentials,
	type IConnections,
	type IHttpRequestHelper,
	type IHttpRequestOptions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
	type IRequestOptionsSimplified,
} from 'n8n-workflow';

import { FactoriApi } from '../../credentials/FactoriApi.credentials';
import { Factori } from '../../nodes/Factori/Factori.node';

const credentialTypes: Record<string, ICredentialType> = { factoriApi: new FactoriApi() };

export class NodeTypes implements INodeTypes {
	private readonly types: Record<string, INodeType | IVersionedNodeType>;

	constructor(extra: Record<string, INodeType | IVersionedNodeType> = {}) {
		this.types = { 'n8n-nodes-factori.factori': new Factori(), ...extra };
	}

	getByName(type: string) {
		const nodeType = this.types[type];
		if (!nodeType) throw new Error(`Unknown node type ${type}`);
		return nodeType;
	}

	getByNameAndVersion(type: string, version?: number): INodeType {
		const nodeType = this.getByName(type);
		return 'nodeVersions' in nodeType ? nodeType.getNodeType(version) : nodeType;
	}

	getKnownTypes() {
		return {};
	}
}

/** The credential store: what n8n keeps, encrypted, in its database. */
export class CredentialStore extends ICredentialsHelper {
	readonly saved = new Map<string, ICredentialDataDecryptedObject>();
	/** Every preAuthentication call n8n would make, with whether it was a 401 retry. */
	readonly preAuthCalls: Array<{ expired: boolean }> = [];

	constructor(private readonly workflowFor: () => Workflow | undefined) {
		super();
	}

	put(id: string, data: ICredentialDataDecryptedObject) {
		this.saved.set(id, { ...data });
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const { authenticate } = credentialTypes[typeName];
		const options = requestOptions as IHttpRequestOptions;
		// As n8n does: a function gets the request options themselves, not a copy.
		if (typeof authenticate === 'function') return await authenticate(credentials, options);
		if (typeof authenticate !== 'object' || authenticate.type !== 'generic') return options;
		const activeWorkflow = workflow ?? this.workflowFor();
		if (!activeWorkflow || !node) throw new Error('authenticate needs the workflow and node');
		for (const [where, entries] of Object.entries(authenticate.properties)) {
			const target = ((options as unknown as Record<string, Record<string, unknown>>)[where] ??= {});
			for (const [key, value] of Object.entries(entries as Record<string, string>)) {
				target[key] = activeWorkflow.expression.getSimpleParameterValue(
					node,
					value,
					'internal',
					{ $credentials: credentials },
					undefined,
					'',
				);
			}
		}
		return options;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const credentialType = credentialTypes[typeName];
		const expirable = credentialType.properties.find(
			(property) => property.type === 'hidden' && property.typeOptions?.expirable === true,
		);
		if (!expirable || typeof credentialType.preAuthentication !== 'function') return undefined;
		if (credentials[expirable.name] !== '' && !credentialsExpired) return undefined;
		this.preAuthCalls.push({ expired: credentialsExpired });
		const output = await credentialType.preAuthentication.call(helpers, credentials);
		if (output[expirable.name] === undefined) return undefined;
		const id = node.credentials?.[typeName]?.id;
		if (id) this.saved.set(id, { ...this.saved.get(id), ...(output as ICredentialDataDecryptedObject) });
		return Object.assign(credentials, output);
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('not used by these tests');
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const data = this.saved.get(nodeCredentials.id ?? '');
		if (!data) throw new Error(`No credential ${nodeCredentials.id}`);
		// n8n fills the type's defaults into what it decrypts.
		const defaults = Object.fromEntries(
			credentialTypes[type].properties.map((property) => [property.name, property.default]),
		);
		return { ...defaults, ...data } as ICredentialDataDecryptedObject;
	}

	async updateCredentials(nodeCredentials: INodeCredentialsDetails, _type: string, data: ICredentialDataDecryptedObject) {
		this.saved.set(nodeCredentials.id ?? '', { ...data });
	}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getCredentialsProperties(type: string): INodeProperties[] {
		return credentialTypes[type].properties;
	}
}

export interface RunOptions {
	nodes: INode[];
	connections?: IConnections;
	/** Items handed to the first node, as if a trigger had produced them. */
	input: INodeExecutionData[];
	store: CredentialStore;
	nodeTypes?: NodeTypes;
	executionId?: string;
	signal?: AbortSignal;
}

let executionCounter = 0;

/** Runs a workflow to its end and returns n8n's run data. */
export async function runWorkflow(options: RunOptions, bindWorkflow?: (workflow: Workflow) => void): Promise<IRun> {
	const nodeTypes = options.nodeTypes ?? new NodeTypes();
	const workflow = new Workflow({
		id: 'test-workflow',
		nodes: options.nodes,
		connections: options.connections ?? {},
		nodeTypes,
		active: false,
		settings: { executionOrder: 'v1' },
	});
	bindWorkflow?.(workflow);
	const executionId = options.executionId ?? `exec-${++executionCounter}`;
	const hooks = new ExecutionLifecycleHooks('manual', executionId, {
		id: 'test-workflow',
		name: 'test',
		active: false,
		isArchived: false,
		nodes: options.nodes,
		connections: options.connections ?? {},
		createdAt: new Date(),
		updatedAt: new Date(),
		activeVersionId: null,
	});
	let resolveFinished: (run: IRun) => void = () => {};
	const finished = new Promise<IRun>((resolve) => (resolveFinished = resolve));
	hooks.addHandler('workflowExecuteAfter', (run) => resolveFinished(run));

	const additionalData = {
		credentialsHelper: options.store,
		hooks,
		executionId,
		currentNodeExecutionIndex: 0,
		restApiUrl: 'http://127.0.0.1:5678/rest',
		instanceBaseUrl: 'http://127.0.0.1:5678/',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		formBaseUrl: 'http://127.0.0.1:5678/form',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1:5678/form-test',
		mcpBaseUrl: 'http://127.0.0.1:5678/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1:5678/mcp-test',
		variables: {},
		logAiEvent: () => {},
	} as unknown as IWorkflowExecuteAdditionalData;

	const start = options.nodes[0];
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: start, data: { main: [options.input] }, source: null }],
		},
	});
	const execute = new WorkflowExecute(additionalData, 'manual', runExecutionData);
	const running = execute.processRunExecutionData(workflow);
	if (options.signal) options.signal.addEventListener('abort', () => running.cancel(), { once: true });
	await running;
	return await finished;
}

/** The items a node put on one of its outputs (0: main, 1: error output when enabled). */
export function outputOf(run: IRun, nodeName: string, output = 0): INodeExecutionData[] {
	const task = run.data.resultData.runData[nodeName]?.[0];
	return task?.data?.main?.[output] ?? [];
}

/** The error a node stopped with, if it did. */
export function errorOf(run: IRun, nodeName: string) {
	return run.data.resultData.runData[nodeName]?.[0]?.error;
}

export function factoriNode(parameters: INode['parameters'], extra: Partial<INode> = {}): INode {
	return {
		id: 'factori-node',
		name: 'Factori',
		type: 'n8n-nodes-factori.factori',
		typeVersion: 1,
		position: [0, 0],
		parameters,
		credentials: { factoriApi: { id: 'cred-1', name: 'Factori account' } },
		...extra,
	};
}
