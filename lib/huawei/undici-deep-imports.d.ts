// Types for the two undici internals http-transport.ts imports directly. Importing them instead
// of the package index keeps fetch, WebSocket, caching and mock code out of the Lambda bundle
// (~477 KB instead of ~736 KB minified) and off the cold-start path.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
